/**
 * Benchmark: ResolveModel by alias under open-loop load, beside a plain unary call on the same
 * gRPC server (grpc.health.v1 Check: an in-memory lookup, i.e. an echo) as the baseline, in the
 * same run. Target (issue 6): p99 <= 5 ms at 1,000 requests/s on loopback.
 *
 * It starts the real registry service as a process twice: with its alias cache (default) and with
 * the cache off (MEDTUNE_REGISTRY_RESOLVE_CACHE_TTL=0, every lookup reads the store), so the
 * store's share of the latency is visible. Needs NATS and MongoDB / FerretDB
 * (tools/infra/infra.sh up, or MEDTUNE_NATS_URL / MEDTUNE_MONGODB_URI).
 *
 * The fair phase (issue 17 item 6; BENCH_MANY=0 skips it): BENCH_MODELS models (default 100),
 * each with a READY version and aliases (champion on all, staging on half), served by
 * BENCH_REPLICAS registry processes (default 2) on one database; every request picks a random
 * (model, champion | staging | latest | v1) and the next replica in turn, so lookups hit cold and
 * expired cache entries of several processes, not one cached alias — with the cache (default TTL)
 * and with the cache off at BENCH_STORE_RATE. Baseline: the echo on the same replicas, same run.
 *
 *   npx tsx bench/registry/resolve-bench.ts            # 1000/s, 20 s measured after 3 s warm-up
 *   BENCH_RATE=2000 BENCH_DURATION_S=30 npx tsx bench/registry/resolve-bench.ts
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { cpus, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { health, registry } from '@medtune/contracts';
import { createClient } from '@medtune/kit';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { MongoClient } from 'mongodb';
import { openLoop, type LoadResult } from './load';
import { writeAdapter } from './fixtures';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const natsUrl = process.env['MEDTUNE_NATS_URL'] ?? 'nats://127.0.0.1:4222';
const mongoUri = process.env['MEDTUNE_MONGODB_URI'] ?? 'mongodb://127.0.0.1:27017';
const rate = Number(process.env['BENCH_RATE'] ?? 1000);
const durationS = Number(process.env['BENCH_DURATION_S'] ?? 20);
const warmupS = Number(process.env['BENCH_WARMUP_S'] ?? 3);
// Without the cache every lookup goes to the store; FerretDB (one serialised connection) cannot
// take 1,000/s, so that phase runs at a rate it can sustain, to show the store's own latency.
const storeRate = Number(process.env['BENCH_STORE_RATE'] ?? 100);
// How to start the registry: tsx on the sources by default; a bundled build elsewhere
// (e.g. BENCH_REGISTRY_CMD="node /tmp/registry.mjs" on a machine without node_modules).
const spin = process.env['BENCH_SPIN'] === '1';
const rounds = Number(process.env['BENCH_ROUNDS'] ?? 2);
const many = process.env['BENCH_MANY'] !== '0';
const models = Number(process.env['BENCH_MODELS'] ?? 100);
const replicas = Number(process.env['BENCH_REPLICAS'] ?? 2);
const registryCmd = process.env['BENCH_REGISTRY_CMD']?.split(' ').filter(Boolean) ?? [join(root, 'node_modules/.bin/tsx'), 'apps/registry-service/src/main.ts'];

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

interface Started {
  proc: ChildProcess;
  addr: string;
  db: string;
  ns: string;
}

async function startRegistry(label: string, extraEnv: Record<string, string>, shared?: { ns: string; db: string }): Promise<Started> {
  const port = await freePort();
  const ns = shared?.ns ?? `b${randomBytes(5).toString('hex')}`;
  const db = shared?.db ?? `${ns}_registry`;
  const proc = spawn(registryCmd[0]!, registryCmd.slice(1), {
    cwd: root,
    env: {
      ...process.env,
      MEDTUNE_REGISTRY_GRPC_ADDR: `127.0.0.1:${port}`,
      MEDTUNE_NATS_URL: natsUrl,
      MEDTUNE_MONGODB_URI: mongoUri,
      MEDTUNE_NATS_NAMESPACE: ns,
      MEDTUNE_REGISTRY_DB: db,
      MEDTUNE_LOG_LEVEL: 'warn',
      ...extraEnv,
    },
    stdio: ['ignore', 'inherit', 'inherit'],
    detached: true,
  });
  const addr = `127.0.0.1:${port}`;
  const h = createClient(health.HealthClient, addr, { defaultDeadlineMs: 1_000, retry: false });
  const until = Date.now() + 60_000;
  for (;;) {
    const st = await h.unary('check', { service: '' }).catch(() => undefined);
    if (st?.status === health.HealthCheckResponse_ServingStatus.SERVING) break;
    if (proc.exitCode !== null || Date.now() > until) throw new Error(`registry (${label}) did not start`);
    await new Promise((r) => setTimeout(r, 200));
  }
  h.close();
  return { proc, addr, db, ns };
}

async function stopRegistry(s: Started): Promise<void> {
  if (s.proc.exitCode !== null) return;
  const exited = new Promise((r) => s.proc.once('exit', r));
  process.kill(-s.proc.pid!, 'SIGTERM');
  await Promise.race([exited, new Promise((r) => setTimeout(r, 10_000))]);
  if (s.proc.exitCode === null) process.kill(-s.proc.pid!, 'SIGKILL');
}

async function prepare(addr: string, artifactRoot: string): Promise<void> {
  const c = createClient(registry.RegistryServiceClient, addr, { defaultDeadlineMs: 10_000 });
  const { artifact } = writeAdapter(artifactRoot);
  await c.unary('createModelVersion', { name: 'bench-model', idempotencyKey: 'bench-1', artifacts: [artifact], tags: {}, lineage: undefined });
  const until = Date.now() + 30_000;
  while ((await c.unary('getModelVersion', { name: 'bench-model', version: 1 })).version?.status !== registry.ModelVersionStatus.MODEL_VERSION_STATUS_READY) {
    if (Date.now() > until) throw new Error('bench version did not become READY');
    await new Promise((r) => setTimeout(r, 100));
  }
  await c.unary('setAlias', { name: 'bench-model', alias: 'champion', version: 1, reason: 'bench', actor: 'bench' });
  c.close();
}

async function measure(label: string, addr: string, rate: number): Promise<LoadResult[]> {
  // Two channels, one per kind of call, each with the kit's deadline (and no retries), the same for both.
  const echo = createClient(health.HealthClient, addr, { defaultDeadlineMs: 5_000, retry: false });
  const reg = createClient(registry.RegistryServiceClient, addr, { defaultDeadlineMs: 5_000, retry: false });
  const ref = { ref: { name: 'bench-model', selector: { $case: 'alias' as const, alias: 'champion' } } };
  const check = (await reg.unary('resolveModel', ref)).version;
  if (check?.version !== 1) throw new Error('resolve returned the wrong version');
  const o = { rate, durationS, warmupS, spin };
  // Alternating rounds, so that drift in the machine's load shows as variance, not as a bias.
  const results: LoadResult[] = [];
  for (let round = 1; round <= (rate === storeRate ? 1 : rounds); round++) {
    results.push(await openLoop(`${label}: health Check (echo baseline) #${round}`, () => echo.unary('check', { service: '' }), o));
    results.push(await openLoop(`${label}: ResolveModel bench-model@champion #${round}`, () => reg.unary('resolveModel', ref), o));
  }
  echo.close();
  reg.close();
  return results;
}

/** Many models with a version and aliases each, made through the first replica. */
async function prepareMany(addr: string, artifactRoot: string): Promise<void> {
  const c = createClient(registry.RegistryServiceClient, addr, { defaultDeadlineMs: 30_000 });
  const { artifact } = writeAdapter(artifactRoot);
  for (let i = 0; i < models; i++) {
    await c.unary('createModelVersion', { name: `m${i}`, idempotencyKey: `many-${i}`, artifacts: [artifact], tags: {}, lineage: undefined });
  }
  const until = Date.now() + 300_000;
  for (let i = 0; i < models; i++) {
    while ((await c.unary('getModelVersion', { name: `m${i}`, version: 1 })).version?.status !== registry.ModelVersionStatus.MODEL_VERSION_STATUS_READY) {
      if (Date.now() > until) throw new Error(`m${i} v1 did not become READY`);
      await new Promise((r) => setTimeout(r, 100));
    }
    await c.unary('setAlias', { name: `m${i}`, alias: 'champion', version: 1, reason: 'bench', actor: 'bench' });
    if (i % 2 === 0) await c.unary('setAlias', { name: `m${i}`, alias: 'staging', version: 1, reason: 'bench', actor: 'bench' });
  }
  c.close();
}

async function measureMany(label: string, addrs: string[], rate: number): Promise<LoadResult[]> {
  const echo = addrs.map((a) => createClient(health.HealthClient, a, { defaultDeadlineMs: 5_000, retry: false }));
  const reg = addrs.map((a) => createClient(registry.RegistryServiceClient, a, { defaultDeadlineMs: 5_000, retry: false }));
  let next = 0;
  const pick = <T>(xs: T[]): T => xs[next++ % xs.length]!;
  const ref = () => {
    const i = Math.floor(Math.random() * models);
    const k = Math.floor(Math.random() * 4);
    const selector =
      k === 0 ? { $case: 'alias' as const, alias: 'champion' } : k === 1 && i % 2 === 0 ? { $case: 'alias' as const, alias: 'staging' } : k === 3 ? { $case: 'version' as const, version: 1 } : { $case: 'alias' as const, alias: 'latest' };
    return { ref: { name: `m${i}`, selector } };
  };
  const o = { rate, durationS, warmupS, spin };
  const results = [
    await openLoop(`${label}: health Check (echo), ${addrs.length} replicas`, () => pick(echo).unary('check', { service: '' }), o),
    await openLoop(`${label}: ResolveModel, ${models} models x 4 refs, ${addrs.length} replicas`, () => pick(reg).unary('resolveModel', ref()), o),
  ];
  for (const c of [...echo, ...reg]) c.close();
  return results;
}

function fmt(r: LoadResult): string {
  const ms = (x: number) => x.toFixed(2).padStart(7);
  return `${r.name.padEnd(62)} ${String(r.ok).padStart(6)}/${String(r.sent).padEnd(6)} err ${String(r.errors).padStart(4)}  ${r.achievedRate.toFixed(0).padStart(5)}/s  p50 ${ms(r.p50)}  p90 ${ms(r.p90)}  p99 ${ms(r.p99)}  p99.9 ${ms(r.p999)}  max ${ms(r.max)} ms  (p99 from send ${ms(r.p99Sent)})${r.firstError ? `  (${r.firstError})` : ''}`;
}

async function cleanup(started: Started[]): Promise<void> {
  const mongo = new MongoClient(mongoUri, { serverSelectionTimeoutMS: 3_000 });
  const nc = await connect({ servers: natsUrl });
  const jsm = await jetstreamManager(nc);
  try {
    for (const s of started) {
      await mongo.db(s.db).dropDatabase().catch(() => undefined);
      for await (const info of jsm.streams.list()) {
        if (info.config.name.startsWith(`${s.ns.toUpperCase()}_`)) await jsm.streams.delete(info.config.name);
      }
    }
  } finally {
    await mongo.close();
    await nc.drain();
  }
}

async function main(): Promise<void> {
  console.log(
    `registry ResolveModel benchmark: open loop ${rate}/s, ${durationS} s measured after ${warmupS} s warm-up, ${rounds} rounds${spin ? ', spin scheduling' : ''}; ${cpus().length} CPUs (${cpus()[0]?.model ?? '?'}), node ${process.version}`,
  );
  const artifactRoot = mkdtempSync(join(tmpdir(), 'medtune-bench-'));
  const started: Started[] = [];
  const results: LoadResult[] = [];
  try {
    // BENCH_SINGLE=0: only the many-models phase.
    for (const [label, env, r] of process.env['BENCH_SINGLE'] === '0' ? [] : ([
      ['cache on', {}, rate],
      [`cache off, ${storeRate}/s`, { MEDTUNE_REGISTRY_RESOLVE_CACHE_TTL: '0' }, storeRate],
    ] as const)) {
      const s = await startRegistry(label, env);
      started.push(s);
      await prepare(s.addr, artifactRoot);
      results.push(...(await measure(label, s.addr, r)));
      await stopRegistry(s);
    }
    if (many) {
      for (const [label, env, r] of [
        [`many, cache on (TTL 30 s + event invalidation)`, {}, rate],
        [`many, cache on, old TTL 2 s`, { MEDTUNE_REGISTRY_RESOLVE_CACHE_TTL: '2s' }, rate],
        [`many, cache off, ${storeRate}/s`, { MEDTUNE_REGISTRY_RESOLVE_CACHE_TTL: '0' }, storeRate],
      ] as const) {
        const first = await startRegistry(label, env);
        started.push(first);
        const group = [first];
        for (let k = 1; k < replicas; k++) {
          const s = await startRegistry(label, env, { ns: first.ns, db: first.db });
          started.push(s);
          group.push(s);
        }
        await prepareMany(first.addr, artifactRoot);
        results.push(...(await measureMany(label, group.map((g) => g.addr), r)));
        for (const g of group) await stopRegistry(g);
      }
    }
  } finally {
    await Promise.all(started.map(stopRegistry));
    await cleanup(started).catch((err: unknown) => console.error('cleanup failed:', err));
    rmSync(artifactRoot, { recursive: true, force: true });
  }
  for (const r of results) console.log(fmt(r));
  const cached = results.filter((r) => r.name.startsWith('cache on: ResolveModel'));
  if (cached.length > 0) {
    const worst = cached.reduce((a, b) => (b.p99 > a.p99 ? b : a));
    const verdict = worst.p99 <= 5 && cached.every((r) => r.errors === 0) ? 'MET' : 'NOT MET';
    console.log(`target p99 <= 5 ms at ${rate}/s for ResolveModel by alias (cache on), worst of ${cached.length} rounds: ${verdict} (p99 ${worst.p99.toFixed(2)} ms)`);
  }
  const fair = results.find((r) => r.name.startsWith('many, cache on: ResolveModel'));
  const fairEcho = results.find((r) => r.name.startsWith('many, cache on: health'));
  if (fair && fairEcho) {
    console.log(`fair: ${models} models, random refs, ${replicas} replicas, cache on: ResolveModel p99 ${fair.p99.toFixed(2)} ms vs echo p99 ${fairEcho.p99.toFixed(2)} ms (${(fair.p99 - fairEcho.p99).toFixed(2)} ms above the echo); target p99 <= 5 ms: ${fair.p99 <= 5 && fair.errors === 0 ? 'MET' : 'NOT MET'}`);
  }
  console.log(JSON.stringify({ rate, durationS, warmupS, results }));
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
