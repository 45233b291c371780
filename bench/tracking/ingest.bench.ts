/**
 * Benchmark (issue 5, item 9): metric ingestion from NATS into the store.
 *
 * Two designs in the same run, on the same servers, with the same workload:
 *   batched    the tracking service itself (apps/tracking-service/src/main.ts as a process):
 *              points accumulated across messages, one chunk document per run per batch, acks
 *              after the write
 *   per-point  bench/tracking/per-point-consumer.ts: one insert per point (unique run/key/step)
 *   insert-many bench/tracking/insert-many-consumer.ts: the fair baseline — one unordered
 *              insertMany per fetched batch of messages (unique run/key/step), acks after it
 *
 * For each, two measurements:
 *   1. sustained throughput: a backlog of BENCH_BACKLOG_POINTS is published first, then the
 *      consumer process starts. Acks happen only after the write, so the durable consumer's ack
 *      floor is "stored so far"; sampled every 100 ms, the rate is the slope from 20 % to 100 %
 *      of the backlog (the first 20 % include process start and JIT warm-up; the whole-drain rate
 *      is printed too). Then the stored points are counted.
 *   2. latency at an offered rate: BENCH_RATE_POINTS points/s for BENCH_DURATION_S, published
 *      through the kit's publisher as the training service publishes them. Latency = the time the
 *      point is queryable − the time in the message (set when the publish is issued). batched:
 *      when WatchRun (keys: loss, one point per message) delivers it to watch-latency.ts, a probe
 *      process of its own — the service notifies watchers right after the write returns, so this
 *      includes the gRPC stream; per-point: when its insert returned (measured in the consumer). Points not stored BENCH_SETTLE_S after
 *      publishing stopped count as "not stored" and the p99 then reads "> …".
 *
 * CPU seconds of every process involved (the consumer, FerretDB, nats-server, this publisher) are
 * read from /proc for each phase: on a shared machine the wall-clock rates move with the other
 * load, the CPU cost per point does not, and it says what two idle cores would sustain.
 *
 * Workload: BENCH_RUNS runs, each message one step of one run with BENCH_KEYS values (loss,
 * grad_norm, learning_rate, epoch, tokens_per_second, system/*: what a trainer logs), runs
 * interleaved. Servers: a private nats-server and FerretDB (SQLite) in a temporary directory, so
 * other work on the shared ones neither disturbs nor is disturbed (BENCH_SERVERS=shared uses
 * MEDTUNE_NATS_URL / MEDTUNE_MONGODB_URI; CPU figures then miss the servers).
 *
 *   npx tsx bench/tracking/ingest.bench.ts
 *   BENCH_MODES=batched BENCH_RATE_POINTS=80000 npx tsx bench/tracking/ingest.bench.ts
 *   BENCH_PROFILE_DIR=/tmp/prof ...   # CPU profile of the tracking service (node --cpu-prof)
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { cpus, homedir, loadavg, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { MongoClient } from 'mongodb';
import { JOB_STATE_SUBJECTS, STREAMS, SUBJECTS, health, tracking, training } from '@medtune/contracts';
import { createClient, createLogger, createPublisher, ensureStreams, natsNamespace, type Publisher } from '@medtune/kit';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const env = process.env;
const RUNS = Number(env['BENCH_RUNS'] ?? 20);
const KEYS = Number(env['BENCH_KEYS'] ?? 8);
const BACKLOG_POINTS = Number(env['BENCH_BACKLOG_POINTS'] ?? 400_000);
const RATE_POINTS = Number(env['BENCH_RATE_POINTS'] ?? 50_000);
const DURATION_S = Number(env['BENCH_DURATION_S'] ?? 20);
const SETTLE_S = Number(env['BENCH_SETTLE_S'] ?? 10);
const MODES = (env['BENCH_MODES'] ?? 'batched,insert-many,per-point').split(',').filter(Boolean) as Mode[];
const TARGET = { pointsPerSecond: 50_000, p99Ms: 250 };
const KEY_NAMES = ['loss', 'grad_norm', 'learning_rate', 'epoch', 'tokens_per_second', 'system/cpu_percent', 'system/rss_bytes', 'peak_gpu_memory_bytes'];
const keyNames = Array.from({ length: KEYS }, (_, i) => KEY_NAMES[i] ?? `extra/k${i}`);
const log = createLogger({ service: 'bench-tracking', level: 'warn' });
const TICKS = 100; // getconf CLK_TCK on Linux

type Mode = 'batched' | 'per-point' | 'insert-many';
/** The baselines store one document per point in metric_points and measure latency per point. */
const perPointDocs = (mode: Mode) => mode !== 'batched';

interface Servers {
  natsUrl: string;
  mongoUri: string;
  /** Process groups of the servers (private servers only), for CPU accounting. */
  groups: Record<string, number>;
  stop(): Promise<void>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function freePort(): Promise<number> {
  return new Promise((ok, fail) => {
    const s = createServer();
    s.once('error', fail);
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      s.close(() => (a && typeof a === 'object' ? ok(a.port) : fail(new Error('no port'))));
    });
  });
}

/** Spawns a process in its own process group (its pid is the group id). */
function startChild(cmd: string, args: string[], extraEnv: Record<string, string> = {}, output: 'ignore' | 'inherit' = 'ignore'): ChildProcess {
  return spawn(cmd, args, { cwd: root, env: { ...env, ...extraEnv }, stdio: ['ignore', output, 'inherit'], detached: true });
}

async function stopChild(p: ChildProcess, timeoutMs = 15_000): Promise<void> {
  if (p.exitCode !== null || p.signalCode !== null) return;
  const exited = new Promise((r) => p.once('exit', r));
  process.kill(-p.pid!, 'SIGTERM');
  await Promise.race([exited, sleep(timeoutMs)]);
  if (p.exitCode === null && p.signalCode === null) process.kill(-p.pid!, 'SIGKILL');
}

async function until(what: string, check: () => Promise<boolean>, timeoutMs = 60_000, everyMs = 100): Promise<void> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    if (await check().catch(() => false)) return;
    if (Date.now() > end) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await sleep(everyMs);
  }
}

/** CPU seconds (user + system) used so far by every process of a process group. */
function groupCpu(pgid: number): number {
  let ticks = 0;
  for (const pid of readdirSync('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(f[2]) === pgid) ticks += Number(f[11]) + Number(f[12]); // pgrp, utime, stime
    } catch {
      // gone meanwhile
    }
  }
  return ticks / TICKS;
}

/** CPU seconds of the named process groups and of this process. */
function cpuSnapshot(groups: Record<string, number>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [name, pgid] of Object.entries(groups)) out[name] = groupCpu(pgid);
  const self = process.cpuUsage();
  out['publisher'] = (self.user + self.system) / 1e6;
  return out;
}

function cpuDelta(a: Record<string, number>, b: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.keys(b).map((k) => [k, (b[k] ?? 0) - (a[k] ?? 0)]));
}

/** A private nats-server (JetStream) and FerretDB (SQLite) in a temporary directory. */
async function privateServers(): Promise<Servers> {
  const dir = mkdtempSync(join(tmpdir(), 'medtune-bench-tracking-'));
  const natsPort = await freePort();
  const mongoPort = await freePort();
  const natsBin = ['/usr/sbin/nats-server', '/usr/bin/nats-server'].find(existsSync) ?? 'nats-server';
  const ferretBin = env['MEDTUNE_FERRETDB_BIN'] ?? join(homedir(), '.cache/medtune/bin/ferretdb-v1.24.2');
  if (!existsSync(ferretBin)) throw new Error(`FerretDB binary not found at ${ferretBin}: run tools/infra/infra.sh install (or set MEDTUNE_FERRETDB_BIN)`);
  mkdirSync(join(dir, 'ferret'), { recursive: true });
  mkdirSync(join(dir, 'state'), { recursive: true });
  const nats = startChild(natsBin, ['-js', '-a', '127.0.0.1', '-p', String(natsPort), '-sd', join(dir, 'nats')]);
  const ferret = startChild(ferretBin, ['--handler=sqlite', `--sqlite-url=file:${join(dir, 'ferret')}/`, `--listen-addr=127.0.0.1:${mongoPort}`, `--state-dir=${join(dir, 'state')}`, '--telemetry=disable', '--debug-addr=-', '--log-level=error']);
  const natsUrl = `nats://127.0.0.1:${natsPort}`;
  const mongoUri = `mongodb://127.0.0.1:${mongoPort}/`;
  await until('nats-server', async () => {
    const nc = await connect({ servers: natsUrl, timeout: 1_000 });
    await nc.close();
    return true;
  });
  await until('FerretDB', async () => {
    const c = new MongoClient(mongoUri, { serverSelectionTimeoutMS: 1_000 });
    await c.db('admin').command({ ping: 1 });
    await c.close();
    return true;
  });
  return {
    natsUrl,
    mongoUri,
    groups: { ferretdb: ferret.pid!, nats: nats.pid! },
    async stop() {
      await Promise.all([stopChild(nats), stopChild(ferret)]);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

const runName = (run: number) => `job_bench_${String(run).padStart(3, '0')}`;

function metricsMessage(run: number, step: number) {
  const runId = runName(run);
  const values: Record<string, number> = {};
  keyNames.forEach((k, i) => (values[k] = i === 0 ? 3 / (step + 1) : step * (i + 1) + run / 1_000));
  return { runId, message: { jobId: runId, runId, sequence: step + 10, step, values, time: new Date() } };
}

/** Publishes `count` messages as fast as the stream acks them (256 in flight); returns msgs/s. */
async function publishBacklog(pub: Publisher, count: number): Promise<number> {
  const started = performance.now();
  let next = 0;
  const worker = async () => {
    while (next < count) {
      const i = next++;
      const { runId, message } = metricsMessage(i % RUNS, Math.floor(i / RUNS));
      await pub.publish(SUBJECTS.trainingMetricsLogged, message, { id: `${runId}:m${message.step}` });
    }
  };
  await Promise.all(Array.from({ length: 256 }, worker));
  return count / ((performance.now() - started) / 1_000);
}

/** Publishes at `msgsPerSecond` for `seconds` (paced every 2 ms, at most 2048 in flight). */
async function publishPaced(pub: Publisher, firstStep: number, msgsPerSecond: number, seconds: number): Promise<{ sent: number; achieved: number; behindMax: number }> {
  const total = Math.round(msgsPerSecond * seconds);
  const started = performance.now();
  let sent = 0;
  let inflight = 0;
  let behindMax = 0;
  const pending: Promise<unknown>[] = [];
  while (sent < total) {
    const due = Math.min(total, Math.floor(((performance.now() - started) / 1_000) * msgsPerSecond));
    behindMax = Math.max(behindMax, due - sent);
    while (sent < due && inflight < 2_048) {
      const i = sent++;
      const { runId, message } = metricsMessage(i % RUNS, firstStep + Math.floor(i / RUNS));
      inflight++;
      pending.push(pub.publish(SUBJECTS.trainingMetricsLogged, message, { id: `${runId}:m${message.step}` }).finally(() => inflight--));
    }
    await sleep(2);
  }
  await Promise.all(pending);
  return { sent, achieved: sent / ((performance.now() - started) / 1_000), behindMax };
}

function percentile(sorted: ArrayLike<number>, q: number): number {
  if (!sorted.length) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)]!;
}

interface Result {
  mode: Mode;
  backlogPoints: number;
  drainSteady: number;
  drainWhole: number;
  drainCpu: Record<string, number>;
  storedAfterDrain: number;
  offered: number;
  achievedOffer: number;
  messages: number;
  storedInTime: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  p99Bound: boolean;
  latencyCpu: Record<string, number>;
  latencyPoints: number;
  load: string;
}

async function benchMode(mode: Mode, servers: Servers): Promise<Result> {
  const ns = `b${randomBytes(5).toString('hex')}`;
  const db = `${ns}_${mode === 'batched' ? 'tracking' : mode === 'per-point' ? 'perpoint' : 'insertmany'}`;
  const namespace = natsNamespace(ns);
  const nc = await connect({ servers: servers.natsUrl, name: 'bench-publisher' });
  await ensureStreams(nc, [STREAMS.training, STREAMS.tracking, STREAMS.evaluation], { namespace, log });
  const pub = createPublisher(nc, { source: 'medtune/training-service', namespace });
  const jsm = await jetstreamManager(nc);
  const stream = namespace.streamPrefix + STREAMS.training.name;
  const durable = mode === 'batched' ? 'tracking-metrics' : mode === 'per-point' ? 'bench-per-point' : 'bench-insert-many';
  const latencyFile = join(tmpdir(), `${ns}-latency.json`);
  const addr = `127.0.0.1:${await freePort()}`;

  // The runs exist (their jobs are running), as in production.
  for (let run = 0; run < RUNS; run++) {
    const jobId = runName(run);
    const job = training.Job.fromPartial({ jobId, trackingRunId: jobId, experiment: 'bench', state: training.JobState.JOB_STATE_RUNNING });
    await pub.publish(JOB_STATE_SUBJECTS.get(training.JobState.JOB_STATE_RUNNING)!, { job, state: training.JobState.JOB_STATE_RUNNING, previousState: 0, reason: 'bench', time: new Date(), sequence: 1 }, { id: `${jobId}:1` });
  }
  const backlogMsgs = Math.round(BACKLOG_POINTS / KEYS);
  const publishRate = await publishBacklog(pub, backlogMsgs);
  console.log(`[${mode}] backlog: ${backlogMsgs} messages (${backlogMsgs * KEYS} points) published at ${publishRate.toFixed(0)} msgs/s`);

  const profile = env['BENCH_PROFILE_DIR'] && mode === 'batched' ? ['--cpu-prof', `--cpu-prof-dir=${env['BENCH_PROFILE_DIR']}`] : [];
  const script = mode === 'batched' ? 'apps/tracking-service/src/main.ts' : mode === 'per-point' ? 'bench/tracking/per-point-consumer.ts' : 'bench/tracking/insert-many-consumer.ts';
  const child = startChild(
    process.execPath,
    [...profile, '--import', 'tsx', script],
    {
      MEDTUNE_TRACKING_GRPC_ADDR: addr,
      MEDTUNE_NATS_URL: servers.natsUrl,
      MEDTUNE_MONGODB_URI: servers.mongoUri,
      MEDTUNE_NATS_NAMESPACE: ns,
      MEDTUNE_TRACKING_DB: db,
      MEDTUNE_TRACKING_CRASH_TIMEOUT: '1h',
      MEDTUNE_LOG_LEVEL: env['BENCH_SERVICE_LOG_LEVEL'] ?? 'warn',
      BENCH_DB: db,
      BENCH_LATENCY_FILE: latencyFile,
    },
    'inherit',
  );
  const groups = { ...servers.groups, consumer: child.pid! };

  // 1. Drain the backlog. Acks follow the writes: the ack floor is what is stored.
  const samples: [number, number][] = [];
  let cpuAt20: Record<string, number> | undefined;
  await until(
    `${mode}: backlog drained`,
    async () => {
      const info = await jsm.consumers.info(stream, durable);
      const acked = info.ack_floor.consumer_seq;
      samples.push([performance.now(), acked]);
      if (!cpuAt20 && acked >= backlogMsgs * 0.2) cpuAt20 = cpuSnapshot(groups);
      return info.num_pending === 0 && info.num_ack_pending === 0 && acked >= backlogMsgs;
    },
    900_000,
  );
  const cpuAtEnd = cpuSnapshot(groups);
  const firstMoving = samples.find(([, n]) => n > 0) ?? samples[0]!;
  const from20 = samples.find(([, n]) => n >= backlogMsgs * 0.2)!;
  const end = samples[samples.length - 1]!;
  const drainWhole = (backlogMsgs * KEYS) / ((end[0] - firstMoving[0]) / 1_000);
  const drainSteady = ((end[1] - from20[1]) * KEYS) / ((end[0] - from20[0]) / 1_000);
  const drainCpu = cpuDelta(cpuAt20!, cpuAtEnd);
  drainCpu['points'] = (end[1] - from20[1]) * KEYS;

  const mongo = new MongoClient(servers.mongoUri);
  const storedNow = async (): Promise<number> => {
    if (perPointDocs(mode)) return mongo.db(db).collection('metric_points').countDocuments();
    const c = createClient(tracking.TrackingServiceClient, addr, { defaultDeadlineMs: 30_000 });
    let n = 0;
    for (let run = 0; run < RUNS; run++) for (const m of (await c.unary('getRun', { runId: runName(run) })).run!.metrics) n += m.count;
    c.close();
    return n;
  };
  if (mode === 'batched') {
    const h = createClient(health.HealthClient, addr, { defaultDeadlineMs: 2_000 });
    await until('tracking service health', async () => (await h.unary('check', { service: '' })).status === health.HealthCheckResponse_ServingStatus.SERVING);
    h.close();
  }
  const storedAfterDrain = await storedNow();
  console.log(`[${mode}] drained ${backlogMsgs * KEYS} points: ${drainSteady.toFixed(0)} points/s steady (${drainWhole.toFixed(0)} over the whole drain); stored: ${storedAfterDrain}`);

  // 2. Latency at the offered rate.
  const firstStep = Math.ceil(backlogMsgs / RUNS) + 1;
  const latencies: number[] = [];
  let watcher: ChildProcess | undefined;
  let publishStart = Number.MAX_SAFE_INTEGER;
  const watchFile = join(tmpdir(), `${ns}-watch.json`);
  if (mode === 'batched') {
    watcher = spawn(process.execPath, ['--import', 'tsx', 'bench/tracking/watch-latency.ts'], {
      cwd: root,
      env: { ...env, BENCH_ADDR: addr, BENCH_RUN_IDS: Array.from({ length: RUNS }, (_, r) => runName(r)).join(','), BENCH_LATENCY_FILE: watchFile },
      stdio: ['ignore', 'pipe', 'inherit'],
      detached: true,
    });
    await new Promise<void>((ok, fail) => {
      watcher!.stdout!.on('data', (d: Buffer) => d.toString().includes('watching') && ok());
      watcher!.once('exit', () => fail(new Error('the watch-latency probe exited')));
    });
  }
  const cpuBefore = cpuSnapshot(groups);
  publishStart = Date.now();
  const paced = await publishPaced(pub, firstStep, RATE_POINTS / KEYS, DURATION_S);
  console.log(`[${mode}] published ${paced.sent * KEYS} points at ${(paced.achieved * KEYS).toFixed(0)} points/s (offered ${RATE_POINTS}); at most ${paced.behindMax} messages behind the pace`);
  const settleEnd = Date.now() + SETTLE_S * 1_000;
  await until(
    `${mode}: settle`,
    async () => {
      const info = await jsm.consumers.info(stream, durable);
      return (info.num_pending === 0 && info.num_ack_pending === 0) || Date.now() > settleEnd;
    },
    (SETTLE_S + 60) * 1_000,
  );
  await sleep(200); // the last watch messages
  const latencyCpu = cpuDelta(cpuBefore, cpuSnapshot(groups));
  const load = loadavg().map((x) => x.toFixed(1)).join(' ');
  if (watcher) await stopChild(watcher, 30_000);
  await stopChild(child, 60_000);
  // per-point: every point's latency; batched: one (the loss point) per message.
  const perMessage = perPointDocs(mode) ? KEYS : 1;
  const file = perPointDocs(mode) ? latencyFile : watchFile;
  const flat = JSON.parse(readFileSync(file, 'utf8')) as number[];
  for (let i = 0; i < flat.length; i += 2) if (flat[i]! >= publishStart) latencies.push(flat[i + 1]!);
  rmSync(file, { force: true });
  const expected = paced.sent * perMessage;
  const sorted = Float64Array.from(latencies).sort();
  // Points not stored in time count as slower than everything measured.
  const all = Float64Array.from([...sorted, ...new Array<number>(Math.max(0, expected - sorted.length)).fill(Infinity)]);
  const p99 = percentile(all, 0.99);
  // Per point stored (the per-point consumer stores only part of what is offered).
  latencyCpu['points'] = Math.max(1, Math.round((sorted.length / perMessage) * KEYS));

  await mongo.db(db).dropDatabase().catch(() => undefined);
  await mongo.close();
  for await (const s of jsm.streams.list()) if (s.config.name.startsWith(namespace.streamPrefix)) await jsm.streams.delete(s.config.name);
  await nc.close();
  return {
    mode,
    backlogPoints: backlogMsgs * KEYS,
    drainSteady,
    drainWhole,
    drainCpu,
    storedAfterDrain,
    offered: RATE_POINTS,
    achievedOffer: paced.achieved * KEYS,
    messages: paced.sent,
    storedInTime: Math.round((sorted.length / perMessage) * KEYS),
    p50Ms: percentile(all, 0.5),
    p99Ms: Number.isFinite(p99) ? p99 : (sorted.at(-1) ?? NaN),
    maxMs: sorted.at(-1) ?? NaN,
    p99Bound: !Number.isFinite(p99),
    latencyCpu,
    latencyPoints: paced.sent * KEYS,
    load,
  };
}

function cpuLine(cpu: Record<string, number>): string {
  const points = cpu['points'] ?? 1;
  const parts = Object.entries(cpu)
    .filter(([k]) => k !== 'points')
    .map(([k, v]) => `${k} ${((v / points) * 100_000).toFixed(2)}`);
  const total = Object.entries(cpu).reduce((s, [k, v]) => (k === 'points' ? s : s + v), 0);
  const ingest = total - (cpu['publisher'] ?? 0);
  return `CPU s per 100k points: ${parts.join(', ')}; ingestion (all but the publisher) ${((ingest / points) * 100_000).toFixed(2)} → 2 idle cores ≈ ${f0((2 * points) / ingest)} points/s`;
}

const f0 = (x: number) => (Number.isFinite(x) ? x.toFixed(0) : '-');

console.log(
  `tracking ingestion benchmark: ${cpus().length} cores (${cpus()[0]?.model ?? '?'}), runs ${RUNS}, keys/message ${KEYS}, backlog ${BACKLOG_POINTS} points, offered ${RATE_POINTS} points/s for ${DURATION_S} s; load avg ${loadavg()
    .map((x) => x.toFixed(1))
    .join(' ')}`,
);
const servers: Servers =
  env['BENCH_SERVERS'] === 'shared'
    ? { natsUrl: env['MEDTUNE_NATS_URL'] ?? 'nats://127.0.0.1:4222', mongoUri: env['MEDTUNE_MONGODB_URI'] ?? 'mongodb://127.0.0.1:27017', groups: {}, stop: async () => undefined }
    : await privateServers();
const results: Result[] = [];
try {
  for (const mode of MODES) results.push(await benchMode(mode, servers));
} finally {
  await servers.stop();
}

console.log('\nmode        sustained points/s (whole drain)   offered → achieved   stored in time       p50 ms    p99 ms    max ms   load avg');
for (const r of results) {
  const p99 = r.p99Bound ? `> ${f0(r.p99Ms)}` : f0(r.p99Ms);
  console.log(
    `${r.mode.padEnd(11)} ${f0(r.drainSteady).padStart(17)} (${f0(r.drainWhole).padStart(11)})   ${f0(r.offered).padStart(6)} → ${f0(r.achievedOffer).padStart(6)}/s   ${String(r.storedInTime).padStart(8)}/${String(r.messages * KEYS).padEnd(8)} ${f0(r.p50Ms).padStart(8)} ${p99.padStart(9)} ${f0(r.maxMs).padStart(9)}   ${r.load}`,
  );
}
for (const r of results) {
  console.log(`${r.mode} drain:   ${cpuLine(r.drainCpu)}`);
  console.log(`${r.mode} latency: ${cpuLine(r.latencyCpu)}`);
}
const b = results.find((r) => r.mode === 'batched');
const p = results.find((r) => r.mode === 'per-point');
const im = results.find((r) => r.mode === 'insert-many');
if (b && p) console.log(`\nbatched / per-point sustained throughput: ${(b.drainSteady / p.drainSteady).toFixed(1)}x (the old baseline)`);
if (b && im) console.log(`batched / insert-many sustained throughput: ${(b.drainSteady / im.drainSteady).toFixed(2)}x (the fair baseline)${b.drainSteady < im.drainSteady ? ' — medtune LOSES on raw throughput here' : ''}`);
if (b) {
  const okRate = b.drainSteady >= TARGET.pointsPerSecond;
  const okP99 = !b.p99Bound && b.p99Ms <= TARGET.p99Ms && b.storedInTime === b.messages * KEYS;
  console.log(
    `target ≥ ${TARGET.pointsPerSecond} points/s sustained: ${okRate ? 'met' : 'MISSED'} (${f0(b.drainSteady)}); p99 ≤ ${TARGET.p99Ms} ms at ${RATE_POINTS} points/s offered (${f0(b.achievedOffer)} achieved): ${okP99 ? 'met' : 'MISSED'} (${b.p99Bound ? '> ' : ''}${f0(b.p99Ms)} ms)`,
  );
}
