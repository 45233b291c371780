// Scheduler load bench (issue 17): the real training service in-process (gRPC, NATS, FerretDB),
// BENCH_WORKERS simulated workers (each a real gRPC TrainerService server around a scripted loop
// that emits real job events and ends each job after BENCH_HOLD_MS), BENCH_JOBS queued jobs.
// Measures, per phase: dispatch rate (jobs started / s), time from a worker becoming free to its
// next StartJob (min / median / p99 / max), wall time and process CPU per scheduling pass. Phase 2
// adds one worker whose address is a black hole (accepts TCP, never answers). Baseline in the
// same run: bare StartJob calls from one client to the same worker servers, as fast as they go
// (the floor any scheduler pays per dispatch).
//
//   tools/infra/infra.sh up && npx tsx bench/scheduler/run.ts
//   BENCH_WORKERS=100 BENCH_JOBS=10000 BENCH_PHASE_S=30 BENCH_HOLD_MS=300 (defaults)
import { createServer, type Server } from 'node:net';
import { dataset, trainer, training } from '@medtune/contracts';
import { createClient, createLogger } from '@medtune/kit';
import { randomId, testMongo, testNats } from '@medtune/testing';
// The bench measures the scheduler's CPU per pass in this process, so it lives in the training
// service's project and composes the service in-process (bench/scheduler/ runs it).
import { startTraining } from '../src/app';
import { loadTrainingConfig } from '../src/config';
import { FakeWorker } from '../src/core/testing/fakes';
import { serveDatasetVersions, serveFakeWorker, type StandIn } from '../src/testing/stand-ins';

const WORKERS = Number(process.env['BENCH_WORKERS'] ?? 100);
const JOBS = Number(process.env['BENCH_JOBS'] ?? 10_000);
const PHASE_S = Number(process.env['BENCH_PHASE_S'] ?? 30);
const HOLD_MS = Number(process.env['BENCH_HOLD_MS'] ?? 300);
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
    MEDTUNE_MONGODB_URI: mongo.uri,
    MEDTUNE_TRAINING_DB: db,
    MEDTUNE_TRAINING_DATASET_ADDR: datasets.address,
    MEDTUNE_TRAINING_ARTIFACT_ROOT: 'file:///tmp/medtune-bench-artifacts',
    MEDTUNE_TRAINING_HEARTBEAT_INTERVAL: '2000',
    MEDTUNE_TRAINING_WORKER_LEASE: '60000',
    MEDTUNE_TRAINING_SCHEDULE_INTERVAL: '1000',
    MEDTUNE_TRAINING_WORKER_BACKOFF: '100',
    MEDTUNE_TRAINING_DISPATCH_DEADLINE: '2s',
    MEDTUNE_TRAINING_MODEL_CHECK: 'off',
    MEDTUNE_LOG_LEVEL: 'warn',
  });
  const app = await startTraining(cfg, log);
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
  for (const w of fleet) await registry.unary('registerWorker', { info: infoOf(w) });
  const beat = setInterval(() => {
    for (const w of fleet) void registry.unary('heartbeat', { info: infoOf(w) }).catch(() => undefined);
  }, 2_000);

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

  // The queue.
  const t0 = performance.now();
  await Promise.all(Array.from({ length: 8 }, async (_, lane) => {
    for (let i = lane; i < JOBS; i += 8) {
      await jobsClient.unary('createJob', training.CreateJobRequest.fromPartial({ idempotencyKey: `b-${i}-${randomId()}`, datasetDigest: DIGEST, baseModel: '/models/tiny', hyperparameters: { maxSteps: 1 } }));
    }
  }));
  console.log(`queued ${JOBS} jobs in ${((performance.now() - t0) / 1000).toFixed(1)} s (the scheduler dispatching meanwhile)`);

  const phase = async (label: string): Promise<void> => {
    waits.length = 0;
    started = 0;
    const c0 = app.core.scheduler.counters();
    counting = true;
    const p0 = performance.now();
    await new Promise((r) => setTimeout(r, PHASE_S * 1_000));
    counting = false;
    const secs = (performance.now() - p0) / 1000;
    const c1 = app.core.scheduler.counters();
    const passes = c1.passes - c0.passes;
    console.log(`\n## ${label}`);
    console.log(`dispatch rate: ${(started / secs).toFixed(1)} jobs/s (${started} in ${secs.toFixed(1)} s; ideal with ${WORKERS} workers × ${HOLD_MS} ms jobs: ${((WORKERS * 1000) / HOLD_MS).toFixed(0)}/s)`);
    console.log(`worker free -> next StartJob (ms): ${stats(waits)}`);
    console.log(`scheduler passes: ${passes}; wall per pass ${(passes ? (c1.totalPassMs - c0.totalPassMs) / passes : 0).toFixed(1)} ms; process CPU during a pass ${(passes ? (c1.totalPassCpuUs - c0.totalPassCpuUs) / passes / 1000 : 0).toFixed(1)} ms`);
  };
  await phase(`${WORKERS} workers, ${JOBS} jobs queued`);

  // One address black-holed: TCP accepted, nothing ever answered.
  const hole: Server = createServer(() => undefined);
  await new Promise<void>((r) => hole.listen(0, '127.0.0.1', r));
  const holePort = (hole.address() as { port: number }).port;
  await registry.unary('registerWorker', { info: trainer.WorkerInfo.fromPartial({ workerId: 'black-hole', address: `127.0.0.1:${holePort}`, gpuName: 'cpu' }) });
  const holeBeat = setInterval(() => void registry.unary('heartbeat', { info: trainer.WorkerInfo.fromPartial({ workerId: 'black-hole', address: `127.0.0.1:${holePort}`, gpuName: 'cpu' }) }).catch(() => undefined), 2_000);
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
