/**
 * Benchmark (issue 5, item 9): metric ingestion from NATS into the store.
 *
 * Two designs in the same run, on the same servers, with the same workload:
 *   batched    the tracking service itself (apps/tracking-service/src/main.ts as a process):
 *              points accumulated across messages, one chunk per run per batch, ack after the write
 *   per-point  bench/tracking/per-point-consumer.ts: one insert per point (unique run/key/step index)
 *
 * For each, two measurements:
 *   1. sustained throughput: a backlog of BENCH_BACKLOG_POINTS is published first, then the
 *      consumer starts; points/s = points / (last ack − first delivery), read from the durable
 *      consumer's state (acks happen only after the write), then the stored counts are checked.
 *   2. latency at an offered rate: BENCH_RATE_POINTS points/s for BENCH_DURATION_S, published
 *      through the kit's publisher as the training service publishes; latency = time the point is
 *      queryable − time it was published (the message's `time`). batched: when WatchRun delivers
 *      it (the service notifies watchers right after the write returns, so this includes the gRPC
 *      stream); per-point: when its insert returned (measured in the consumer). Points not stored
 *      BENCH_SETTLE_S after publishing stopped count as "not stored" (p99 then reads "> …").
 *
 * Workload: BENCH_RUNS runs, each message one step of one run with BENCH_KEYS values (loss,
 * grad_norm, learning_rate, epoch, tokens_per_second, system/*: what a trainer logs), runs
 * interleaved. Servers: a private nats-server and FerretDB (SQLite) in a temporary directory
 * (BENCH_SERVERS=shared uses MEDTUNE_NATS_URL / MEDTUNE_MONGODB_URI instead).
 *
 *   npx tsx bench/tracking/ingest.bench.ts
 *   BENCH_MODES=batched BENCH_RATE_POINTS=80000 npx tsx bench/tracking/ingest.bench.ts
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { cpus, loadavg, tmpdir, homedir } from 'node:os';
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
const BACKLOG_POINTS = Number(env['BENCH_BACKLOG_POINTS'] ?? 200_000);
const RATE_POINTS = Number(env['BENCH_RATE_POINTS'] ?? 50_000);
const DURATION_S = Number(env['BENCH_DURATION_S'] ?? 20);
const SETTLE_S = Number(env['BENCH_SETTLE_S'] ?? 10);
const MODES = (env['BENCH_MODES'] ?? 'batched,per-point').split(',').filter(Boolean) as Mode[];
const TARGET = { pointsPerSecond: 50_000, p99Ms: 250 };
const KEY_NAMES = ['loss', 'grad_norm', 'learning_rate', 'epoch', 'tokens_per_second', 'system/cpu_percent', 'system/rss_bytes', 'peak_gpu_memory_bytes'];
const keyNames = Array.from({ length: KEYS }, (_, i) => KEY_NAMES[i] ?? `extra/k${i}`);
const tsx = join(root, 'node_modules/.bin/tsx');
const log = createLogger({ service: 'bench-tracking', level: 'warn' });

type Mode = 'batched' | 'per-point';

interface Servers {
  natsUrl: string;
  mongoUri: string;
  stop(): Promise<void>;
}

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

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function startChild(cmd: string, args: string[], extraEnv: Record<string, string> = {}, quiet = true): ChildProcess {
  return spawn(cmd, args, { cwd: root, env: { ...env, ...extraEnv }, stdio: ['ignore', quiet ? 'ignore' : 'inherit', 'inherit'], detached: true });
}

async function stopChild(p: ChildProcess, timeoutMs = 15_000): Promise<void> {
  if (p.exitCode !== null || p.signalCode !== null) return;
  const exited = new Promise((r) => p.once('exit', r));
  process.kill(-p.pid!, 'SIGTERM');
  await Promise.race([exited, sleep(timeoutMs)]);
  if (p.exitCode === null && p.signalCode === null) process.kill(-p.pid!, 'SIGKILL');
}

async function until(what: string, check: () => Promise<boolean>, timeoutMs = 60_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    if (await check().catch(() => false)) return;
    if (Date.now() > end) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await sleep(100);
  }
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
    async stop() {
      await Promise.all([stopChild(nats), stopChild(ferret)]);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

function metricsMessage(run: number, step: number, time: Date) {
  const runId = `job_bench_${String(run).padStart(3, '0')}`;
  const values: Record<string, number> = {};
  keyNames.forEach((k, i) => (values[k] = i === 0 ? 3 / (step + 1) : step * (i + 1) + run / 1_000));
  return { runId, message: { jobId: runId, runId, sequence: step + 10, step, values, time } };
}

/** Publishes `count` messages as fast as the stream acks them (bounded in flight); returns msgs/s. */
async function publishBacklog(pub: Publisher, firstStep: number, count: number): Promise<number> {
  const started = performance.now();
  let next = 0;
  const worker = async () => {
    while (next < count) {
      const i = next++;
      const run = i % RUNS;
      const step = firstStep + Math.floor(i / RUNS);
      const { runId, message } = metricsMessage(run, step, new Date());
      await pub.publish(SUBJECTS.trainingMetricsLogged, message, { id: `${runId}:m${step}` });
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
      const { runId, message } = metricsMessage(i % RUNS, firstStep + Math.floor(i / RUNS), new Date());
      inflight++;
      const p = pub.publish(SUBJECTS.trainingMetricsLogged, message, { id: `${runId}:m${message.step}` }).finally(() => inflight--);
      pending.push(p);
    }
    await sleep(2);
  }
  await Promise.all(pending);
  return { sent, achieved: sent / ((performance.now() - started) / 1_000), behindMax };
}

function percentile(sorted: Float64Array | number[], q: number): number {
  if (!sorted.length) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)]!;
}

interface Result {
  mode: Mode;
  backlogPoints: number;
  backlogPublishMsgsPerS: number;
  drainPointsPerS: number;
  drainSeconds: number;
  storedAfterDrain: number;
  offeredPointsPerS: number;
  publishedPoints: number;
  publishAchievedPointsPerS: number;
  storedInTime: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  p99Bound: boolean;
  load: string;
}

async function benchMode(mode: Mode, servers: Servers): Promise<Result> {
  const ns = `b${randomBytes(5).toString('hex')}`;
  const db = `${ns}_${mode === 'batched' ? 'tracking' : 'perpoint'}`;
  const namespace = natsNamespace(ns);
  const nc = await connect({ servers: servers.natsUrl, name: 'bench-publisher' });
  await ensureStreams(nc, [STREAMS.training, STREAMS.tracking, STREAMS.evaluation], { namespace, log });
  const pub = createPublisher(nc, { source: 'medtune/training-service', namespace });
  const jsm = await jetstreamManager(nc);
  const stream = namespace.streamPrefix + STREAMS.training.name;
  const durable = mode === 'batched' ? 'tracking-metrics' : 'bench-per-point';
  const latencyFile = join(tmpdir(), `${ns}-latency.json`);
  const grpcPort = await freePort();
  const addr = `127.0.0.1:${grpcPort}`;

  // The runs exist (their jobs are running), as in production.
  for (let run = 0; run < RUNS; run++) {
    const jobId = `job_bench_${String(run).padStart(3, '0')}`;
    const job = training.Job.fromPartial({ jobId, trackingRunId: jobId, experiment: 'bench', state: training.JobState.JOB_STATE_RUNNING });
    await pub.publish(JOB_STATE_SUBJECTS.get(training.JobState.JOB_STATE_RUNNING)!, { job, state: training.JobState.JOB_STATE_RUNNING, previousState: 0, reason: 'bench', time: new Date(), sequence: 1 }, { id: `${jobId}:1` });
  }

  const backlogMsgs = Math.round(BACKLOG_POINTS / KEYS);
  const publishRate = await publishBacklog(pub, 0, backlogMsgs);
  console.log(`[${mode}] backlog: ${backlogMsgs} messages (${backlogMsgs * KEYS} points) published at ${publishRate.toFixed(0)} msgs/s`);

  const child =
    mode === 'batched'
      ? startChild(tsx, ['apps/tracking-service/src/main.ts'], {
          MEDTUNE_TRACKING_GRPC_ADDR: addr,
          MEDTUNE_NATS_URL: servers.natsUrl,
          MEDTUNE_MONGODB_URI: servers.mongoUri,
          MEDTUNE_NATS_NAMESPACE: ns,
          MEDTUNE_TRACKING_DB: db,
          MEDTUNE_TRACKING_CRASH_TIMEOUT: '1h',
          MEDTUNE_LOG_LEVEL: 'warn',
        }, false)
      : startChild(tsx, ['bench/tracking/per-point-consumer.ts'], {
          MEDTUNE_NATS_URL: servers.natsUrl,
          MEDTUNE_MONGODB_URI: servers.mongoUri,
          MEDTUNE_NATS_NAMESPACE: ns,
          BENCH_DB: db,
          BENCH_LATENCY_FILE: latencyFile,
        }, false);

  // 1. Drain the backlog; acks follow the writes, so "nothing pending" means "all stored".
  let firstDelivery = 0;
  let lastAck = 0;
  await until(
    `${mode}: backlog drained`,
    async () => {
      const info = await jsm.consumers.info(stream, durable);
      if (!firstDelivery && info.delivered.stream_seq > 0) firstDelivery = performance.now();
      if (info.num_pending === 0 && info.num_ack_pending === 0 && info.delivered.consumer_seq >= backlogMsgs) {
        lastAck = performance.now();
        return true;
      }
      return false;
    },
    600_000,
  ).catch((err: unknown) => {
    throw new Error(`${String(err)}; is the consumer running? (see its output above)`);
  });
  const drainSeconds = (lastAck - firstDelivery) / 1_000;
  const drainPointsPerS = (backlogMsgs * KEYS) / drainSeconds;
  const mongo = new MongoClient(servers.mongoUri);
  const storedNow = async (): Promise<number> => {
    if (mode === 'per-point') return mongo.db(db).collection('metric_points').countDocuments();
    const c = createClient(tracking.TrackingServiceClient, addr, { defaultDeadlineMs: 30_000 });
    let n = 0;
    for (let run = 0; run < RUNS; run++) {
      const r = (await c.unary('getRun', { runId: `job_bench_${String(run).padStart(3, '0')}` })).run!;
      for (const m of r.metrics) n += m.count;
    }
    c.close();
    return n;
  };
  if (mode === 'batched') {
    const h = createClient(health.HealthClient, addr, { defaultDeadlineMs: 2_000 });
    await until('tracking service health', async () => (await h.unary('check', { service: '' })).status === health.HealthCheckResponse_ServingStatus.SERVING);
    h.close();
  }
  const storedAfterDrain = await storedNow();
  console.log(`[${mode}] drained ${backlogMsgs * KEYS} points in ${drainSeconds.toFixed(2)} s: ${drainPointsPerS.toFixed(0)} points/s; stored: ${storedAfterDrain}`);

  // 2. Latency at the offered rate.
  const firstStep = Math.ceil(backlogMsgs / RUNS) + 1;
  const latencies: number[] = [];
  const watchAbort = new AbortController();
  const watchers: Promise<void>[] = [];
  let publishStart = 0;
  if (mode === 'batched') {
    const c = createClient(tracking.TrackingServiceClient, addr, { defaultDeadlineMs: (DURATION_S + SETTLE_S + 120) * 1_000 });
    for (let run = 0; run < RUNS; run++) {
      watchers.push(
        (async () => {
          try {
            for await (const m of c.serverStream('watchRun', { runId: `job_bench_${String(run).padStart(3, '0')}`, keys: [] }, { signal: watchAbort.signal })) {
              if (m.update?.$case !== 'metrics') continue;
              const now = Date.now();
              for (const p of m.update.metrics.points) if (p.time && p.time.getTime() >= publishStart) latencies.push(now - p.time.getTime());
            }
          } catch {
            // cancelled at the end
          }
        })(),
      );
    }
    await sleep(500); // the streams are open
  }
  publishStart = Date.now();
  const paced = await publishPaced(pub, firstStep, RATE_POINTS / KEYS, DURATION_S);
  const publishedPoints = paced.sent * KEYS;
  console.log(`[${mode}] published ${publishedPoints} points at ${(paced.achieved * KEYS).toFixed(0)} points/s (offered ${RATE_POINTS}); max behind ${paced.behindMax} msgs`);
  const settleEnd = Date.now() + SETTLE_S * 1_000;
  if (mode === 'batched') {
    while (latencies.length < publishedPoints && Date.now() < settleEnd) await sleep(100);
  } else {
    await until('per-point settle', async () => {
      const info = await jsm.consumers.info(stream, durable);
      return (info.num_pending === 0 && info.num_ack_pending === 0) || Date.now() > settleEnd;
    }, (SETTLE_S + 60) * 1_000);
  }
  const load = loadavg().map((x) => x.toFixed(1)).join(' ');
  watchAbort.abort();
  await stopChild(child, 60_000);
  if (mode === 'per-point') {
    const flat = JSON.parse(readFileSync(latencyFile, 'utf8')) as number[];
    for (let i = 0; i < flat.length; i += 2) if (flat[i]! >= publishStart) latencies.push(flat[i + 1]!);
    rmSync(latencyFile, { force: true });
  }
  await Promise.all(watchers);
  const storedInTime = latencies.length;
  const sorted = Float64Array.from(latencies).sort();
  // Points not stored in time count as slower than everything measured.
  const all = [...sorted, ...new Array<number>(Math.max(0, publishedPoints - storedInTime)).fill(Infinity)];
  const p99 = percentile(all, 0.99);

  await mongo.db(db).dropDatabase().catch(() => undefined);
  await mongo.close();
  for await (const s of jsm.streams.list()) if (s.config.name.startsWith(namespace.streamPrefix)) await jsm.streams.delete(s.config.name);
  await nc.close();
  return {
    mode,
    backlogPoints: backlogMsgs * KEYS,
    backlogPublishMsgsPerS: publishRate,
    drainPointsPerS,
    drainSeconds,
    storedAfterDrain,
    offeredPointsPerS: RATE_POINTS,
    publishedPoints,
    publishAchievedPointsPerS: paced.achieved * KEYS,
    storedInTime,
    p50Ms: percentile(all, 0.5),
    p99Ms: Number.isFinite(p99) ? p99 : (sorted.at(-1) ?? NaN),
    maxMs: sorted.at(-1) ?? NaN,
    p99Bound: !Number.isFinite(p99),
    load,
  };
}

const cpu = cpus()[0]?.model ?? 'unknown CPU';
console.log(`tracking ingestion benchmark: ${cpus().length} cores (${cpu}), runs ${RUNS}, keys/message ${KEYS}, backlog ${BACKLOG_POINTS} points, offered ${RATE_POINTS} points/s for ${DURATION_S} s; load avg ${loadavg().map((x) => x.toFixed(1)).join(' ')}`);
const servers: Servers =
  env['BENCH_SERVERS'] === 'shared'
    ? { natsUrl: env['MEDTUNE_NATS_URL'] ?? 'nats://127.0.0.1:4222', mongoUri: env['MEDTUNE_MONGODB_URI'] ?? 'mongodb://127.0.0.1:27017', stop: async () => undefined }
    : await privateServers();
const results: Result[] = [];
try {
  for (const mode of MODES) results.push(await benchMode(mode, servers));
} finally {
  await servers.stop();
}

const f0 = (x: number) => (Number.isFinite(x) ? x.toFixed(0) : '-');
console.log('\nmode        sustained points/s   (drain s)   offered → stored in time          p50 ms   p99 ms      max ms   load avg');
for (const r of results) {
  const p99 = r.p99Bound ? `> ${f0(r.p99Ms)}` : f0(r.p99Ms);
  console.log(
    `${r.mode.padEnd(11)} ${f0(r.drainPointsPerS).padStart(18)}   ${r.drainSeconds.toFixed(2).padStart(9)}   ${f0(r.offeredPointsPerS).padStart(6)}/s → ${String(r.storedInTime).padStart(8)}/${String(r.publishedPoints).padEnd(8)} ${f0(r.p50Ms).padStart(8)} ${p99.padStart(8)} ${f0(r.maxMs).padStart(11)}   ${r.load}`,
  );
}
const b = results.find((r) => r.mode === 'batched');
const p = results.find((r) => r.mode === 'per-point');
if (b && p) console.log(`\nbatched / per-point sustained throughput: ${(b.drainPointsPerS / p.drainPointsPerS).toFixed(1)}x`);
if (b) {
  const okRate = b.drainPointsPerS >= TARGET.pointsPerSecond;
  const okP99 = !b.p99Bound && b.p99Ms <= TARGET.p99Ms && b.storedInTime === b.publishedPoints;
  console.log(`target ≥ ${TARGET.pointsPerSecond} points/s: ${okRate ? 'met' : 'MISSED'} (${f0(b.drainPointsPerS)}); p99 ≤ ${TARGET.p99Ms} ms at ${RATE_POINTS} points/s: ${okP99 ? 'met' : 'MISSED'} (${b.p99Bound ? '> ' : ''}${f0(b.p99Ms)} ms)`);
}
