// Scheduler load bench (issue 17): the real training service in-process (gRPC, NATS, FerretDB),
// BENCH_WORKERS simulated workers (each a real gRPC TrainerService server around a scripted loop
// that emits real job events and ends each job after BENCH_HOLD_MS), BENCH_JOBS queued jobs.
// Measures, per phase: dispatch rate (jobs started / s), time from a worker becoming free to its
// next StartJob (min / median / p99 / max), wall time and process CPU per scheduling pass. Phase 2
// adds one worker whose address is a black hole (accepts TCP, never answers). Baseline in the
// same run: bare StartJob calls from one client to the same worker servers, as fast as they go
// (the floor any scheduler pays per dispatch).
//
// Setup, not measured: the queue is seeded in bulk (BENCH_SEED=bulk, the default): valid job
// records made by the same code CreateJob uses (resolved spec, request hash, VALIDATING → QUEUED
// transitions), stored with the repository's insertMany in batches of 500 with their event log,
// before the service starts; their job.created / job.queued events are not published. BENCH_SEED=rpc queues them through
// CreateJob instead (8 lanes), as the first version of this bench did.
//
//   tools/infra/infra.sh up && npx tsx bench/scheduler/run.ts
//   BENCH_WORKERS=100 BENCH_JOBS=10000 BENCH_PHASE_S=30 BENCH_HOLD_MS=300 (defaults)
import { createServer, type Server } from 'node:net';
import { loadavg } from 'node:os';
import { dataset, trainer, training } from '@medtune/contracts';
import { createClient, createLogger, isFerretDb } from '@medtune/kit';
import { randomId, testMongo, testNats } from '@medtune/testing';
// The bench measures the scheduler's CPU per pass in this process, so it lives in the training
// service's project and composes the service in-process (bench/scheduler/ runs it).
import { startTraining } from '../src/app';
import { loadTrainingConfig } from '../src/config';
import { FakeWorker } from '../src/core/testing/fakes';
import { seedQueuedJobs } from '../src/testing/seed';
import { serveDatasetVersions, serveFakeWorker, type StandIn } from '../src/testing/stand-ins';

const WORKERS = Number(process.env['BENCH_WORKERS'] ?? 100);
const JOBS = Number(process.env['BENCH_JOBS'] ?? 10_000);
const PHASE_S = Number(process.env['BENCH_PHASE_S'] ?? 30);
const HOLD_MS = Number(process.env['BENCH_HOLD_MS'] ?? 300);
const SEED = process.env['BENCH_SEED'] ?? 'bulk';
/** Heartbeat interval of the workers (default: the service's default, 5 s; earlier runs used 2 s). */
const BEAT_MS = Number(process.env['BENCH_HEARTBEAT_MS'] ?? 5_000);
const DIGEST = 'be'.repeat(32);
const log = createLogger({ service: 'scheduler-bench', level: 'warn' });

function stats(xs: number[]): string {
  if (xs.length === 0) return 'n=0';
  const s = [...xs].sort((a, b) => a - b);
  const q = (p: number) => s[Math.min(s.length - 1, Math.floor(p * s.length))]!;
  return `n=${s.length} min ${s[0]!.toFixed(1)} median ${q(0.5).toFixed(1)} p99 ${q(0.99).toFixed(1)} max ${s[s.length - 1]!.toFixed(1)}`;
}

async function main(): Promise<void> {
  const nats = await testNats({ url: process.env['NATS_URL'] ?? 'nats://127.0.0.1:4222' });
  const mongo = await testMongo({ uri: process.env['MONGODB_URI'] ?? 'mongodb://127.0.0.1:27017' });
  const datasets = await serveDatasetVersions(new Map([[DIGEST, dataset.VersionState.VERSION_STATE_READY]]), log);
  const db = mongo.dbNameFor('sched');
  const cfg = loadTrainingConfig({
    MEDTUNE_TRAINING_GRPC_ADDR: '127.0.0.1:0',
    MEDTUNE_NATS_URL: nats.url,
    MEDTUNE_NATS_NAMESPACE: nats.id,
    // Command monitoring (the driver reads it from the URI): the bench prints where the connection's time goes.
    MEDTUNE_MONGODB_URI: `${mongo.uri}${mongo.uri.includes('?') ? '&' : '?'}monitorCommands=true`,
    MEDTUNE_TRAINING_DB: db,
    MEDTUNE_TRAINING_DATASET_ADDR: datasets.address,
    MEDTUNE_TRAINING_ARTIFACT_ROOT: 'file:///tmp/medtune-bench-artifacts',
    MEDTUNE_TRAINING_HEARTBEAT_INTERVAL: String(BEAT_MS),
    MEDTUNE_TRAINING_WORKER_LEASE: '60000',
    MEDTUNE_TRAINING_SCHEDULE_INTERVAL: '1000',
    MEDTUNE_TRAINING_WORKER_BACKOFF: '100',
    MEDTUNE_TRAINING_DISPATCH_DEADLINE: '2s',
    MEDTUNE_TRAINING_MODEL_CHECK: 'off',
    // One process, no failover measured: a long lease so a starved event loop does not drop it.
    MEDTUNE_LEASE_TTL: '60s',
    MEDTUNE_LOG_LEVEL: 'warn',
  });
  // The queue (setup, not measured), stored before the service starts so that nothing competes with it.
  const t0 = performance.now();
  if (SEED === 'bulk') {
    await seedQueuedJobs(mongo.client.db(db), (await isFerretDb(mongo.client)) ? 'ferretdb' : 'mongodb', JOBS, DIGEST);
    console.log(`seeded ${JOBS} queued jobs in bulk in ${((performance.now() - t0) / 1000).toFixed(1)} s (setup)`);
  }
  const app = await startTraining(cfg, log);
  // Where the one FerretDB connection's time goes: each command's round trip, by command and collection.
  const dbTime = new Map<string, { n: number; ms: number }>();
  const pendingCmd = new Map<number, string>();
  app.mongo.client.on('commandStarted', (e) => pendingCmd.set(e.requestId, `${e.commandName} ${String((e.command as Record<string, unknown>)[e.commandName] ?? '')}`));
  const ended = (e: { requestId: number; duration: number }) => {
    const key = pendingCmd.get(e.requestId) ?? '?';
    pendingCmd.delete(e.requestId);
    const t = dbTime.get(key) ?? { n: 0, ms: 0 };
    t.n++;
    t.ms += e.duration;
    dbTime.set(key, t);
  };
  app.mongo.client.on('commandSucceeded', ended);
  app.mongo.client.on('commandFailed', ended);
  const addr = `127.0.0.1:${app.port}`;
  const jobsClient = createClient(training.TrainingServiceClient, addr, { defaultDeadlineMs: 60_000 });
  const registry = createClient(training.WorkerRegistryServiceClient, addr, { defaultDeadlineMs: 60_000 });

  // Workers: a real gRPC server each; a StartJob schedules the job's end after HOLD_MS.
  const freedAt = new Map<string, number>();
  const waits: number[] = [];
  let started = 0;
  let counting = false;
  const fleet: Array<{ fake: FakeWorker; standIn: StandIn }> = [];
  for (let i = 0; i < WORKERS; i++) {
    const fake = new FakeWorker(`w${String(i).padStart(3, '0')}`);
    const orig = fake.startJob.bind(fake);
    fake.startJob = async (req, options) => {
      const res = await orig(req, options);
      if (res.created) {
        const t = performance.now();
        const f = freedAt.get(fake.workerId);
        if (counting && f !== undefined) waits.push(t - f);
        if (counting) started++;
        setTimeout(() => {
          freedAt.set(fake.workerId, performance.now());
          fake.succeed(req.jobId, 1);
        }, HOLD_MS).unref();
      }
      return res;
    };
    fleet.push({ fake, standIn: await serveFakeWorker(fake, log) });
  }
  const infoOf = (w: (typeof fleet)[number]) => ({ ...w.fake.info(w.standIn.address), busy: [...w.fake.jobs.values()].some((j) => j.state <= 3) });
  const tr = performance.now();
  await Promise.all(Array.from({ length: 10 }, async (_, lane) => {
    for (let i = lane; i < fleet.length; i += 10) await registry.unary('registerWorker', { info: infoOf(fleet[i]!) });
  }));
  console.log(`registered ${WORKERS} workers in ${((performance.now() - tr) / 1000).toFixed(1)} s (setup)`);
  const beat = setInterval(() => {
    for (const w of fleet) void registry.unary('heartbeat', { info: infoOf(w) }).catch(() => undefined);
  }, BEAT_MS);

  // Baseline: bare StartJob calls to the same servers (ids the workers will see once).
  const baseStart = performance.now();
  const raw = fleet.slice(0, Math.min(WORKERS, 50)).map((w) => createClient(trainer.TrainerServiceClient, w.standIn.address, { defaultDeadlineMs: 10_000 }));
  let rawCalls = 0;
  await Promise.all(raw.map(async (c, i) => {
    for (let k = 0; k < 20; k++) {
      await c.unary('getJob', { jobId: `none-${i}-${k}` }).catch(() => undefined);
      rawCalls++;
    }
  }));
  const rawRate = rawCalls / ((performance.now() - baseStart) / 1000);
  for (const c of raw) c.close();

  if (SEED !== 'bulk') {
    await Promise.all(Array.from({ length: 8 }, async (_, lane) => {
      for (let i = lane; i < JOBS; i += 8) {
        await jobsClient.unary('createJob', training.CreateJobRequest.fromPartial({ idempotencyKey: `b-${i}-${randomId()}`, datasetDigest: DIGEST, baseModel: '/models/tiny', hyperparameters: { maxSteps: 1 } }));
      }
    }));
    console.log(`queued ${JOBS} jobs through CreateJob in ${((performance.now() - t0) / 1000).toFixed(1)} s (the scheduler dispatching meanwhile)`);
  }

  const phase = async (label: string): Promise<void> => {
    waits.length = 0;
    started = 0;
    const c0 = app.core.scheduler.counters();
    // Per-pass samples: the counters' last pass, read whenever the pass count moved.
    const passMs: number[] = [];
    const passCpuMs: number[] = [];
    let seen = c0.passes;
    const sampler = setInterval(() => {
      const c = app.core.scheduler.counters();
      if (c.passes !== seen) {
        seen = c.passes;
        passMs.push(c.lastPassMs);
        passCpuMs.push(c.lastPassCpuUs / 1000);
      }
    }, 5);
    counting = true;
    dbTime.clear();
    const load0 = loadavg()[0] ?? 0;
    const p0 = performance.now();
    await new Promise((r) => setTimeout(r, PHASE_S * 1_000));
    counting = false;
    clearInterval(sampler);
    const secs = (performance.now() - p0) / 1000;
    const c1 = app.core.scheduler.counters();
    const passes = c1.passes - c0.passes;
    console.log(`\n## ${label}`);
    console.log(`load average (1 min) at start / end of the phase: ${load0.toFixed(2)} / ${(loadavg()[0] ?? 0).toFixed(2)}`);
    console.log(`dispatch rate: ${(started / secs).toFixed(1)} jobs/s (${started} in ${secs.toFixed(1)} s; ideal with ${WORKERS} workers × ${HOLD_MS} ms jobs: ${((WORKERS * 1000) / HOLD_MS).toFixed(0)}/s)`);
    console.log(`worker free -> next StartJob (ms): ${stats(waits)}`);
    console.log(`scheduler passes: ${passes}; wall per pass ${(passes ? (c1.totalPassMs - c0.totalPassMs) / passes : 0).toFixed(1)} ms; process CPU during a pass ${(passes ? (c1.totalPassCpuUs - c0.totalPassCpuUs) / passes / 1000 : 0).toFixed(1)} ms`);
    console.log(`  per pass, wall (ms): ${stats(passMs)}`);
    console.log(`  per pass, process CPU (ms): ${stats(passCpuMs)}`);
    const busy = [...dbTime].sort((a, b) => b[1].ms - a[1].ms).slice(0, 8);
    console.log(`  database time of the service's connection: ${(busy.reduce((a, [, t]) => a + t.ms, 0) / 1000).toFixed(1)} s in ${secs.toFixed(0)} s; by command:`);
    for (const [k, t] of busy) console.log(`    ${k.padEnd(26)} ${String(t.n).padStart(6)} × ${(t.ms / t.n).toFixed(1).padStart(7)} ms = ${(t.ms / 1000).toFixed(1)} s`);
    const left = app.core.index?.waitingCount ?? '?';
    console.log(`  jobs still waiting (queue index): ${left}`);
  };
  await phase(`${WORKERS} workers, ${JOBS} jobs queued`);

  // One address black-holed: TCP accepted, nothing ever answered.
  const hole: Server = createServer(() => undefined);
  await new Promise<void>((r) => hole.listen(0, '127.0.0.1', r));
  const holePort = (hole.address() as { port: number }).port;
  await registry.unary('registerWorker', { info: trainer.WorkerInfo.fromPartial({ workerId: 'black-hole', address: `127.0.0.1:${holePort}`, gpuName: 'cpu' }) });
  const holeBeat = setInterval(() => void registry.unary('heartbeat', { info: trainer.WorkerInfo.fromPartial({ workerId: 'black-hole', address: `127.0.0.1:${holePort}`, gpuName: 'cpu' }) }).catch(() => undefined), BEAT_MS);
  await phase(`the same with one worker address black-holed`);
  console.log(`unreachable now: ${app.core.scheduler.unreachable().join(', ') || '-'}`);
  console.log(`\nbaseline: bare unary calls to the worker servers from one client: ${rawRate.toFixed(0)} calls/s`);

  clearInterval(beat);
  clearInterval(holeBeat);
  hole.close();
  jobsClient.close();
  registry.close();
  await app.server.shutdown({ graceMs: 500 });
  await app.stopBackground();
  await app.nc.drain();
  await app.mongo.close();
  for (const w of fleet) await w.standIn.stop();
  await datasets.stop();
  await mongo.cleanup();
  await nats.cleanup();
}

await main();
