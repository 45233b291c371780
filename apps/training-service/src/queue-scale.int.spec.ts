// Issue 17, "hold 10,000 queued jobs" at a size CI can afford: 3,000 valid queued jobs seeded in
// bulk (no events published: the scheduler must find them in the store) under the real training
// service (gRPC, NATS JetStream, FerretDB), 10 workers served over gRPC that end each job shortly
// after StartJob. Before the queue index a pass read occupancy and a queue page by whole-collection
// scans and wrote each dispatch with a filter FerretDB decodes the whole collection for (the bench
// measured 0 dispatches in 4.5 min at 10,000 jobs). Here dispatch must proceed, in queue order,
// and a job queued through CreateJob (its event on NATS) must overtake the seeded ones by priority.
import { dataset, training } from '@medtune/contracts';
import { createClient, createLogger, isFerretDb, type Logger } from '@medtune/kit';
import { printLogsOnFailure, randomId, testMongo, testNats, waitFor, type TestMongo, type TestNats } from '@medtune/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTraining, type TrainingApp } from './app';
import { loadTrainingConfig } from './config';
import { FakeWorker } from './core/testing/fakes';
import { seedQueuedJobs } from './testing/seed';
import { serveDatasetVersions, serveFakeWorker, type StandIn } from './testing/stand-ins';

printLogsOnFailure();
const DIGEST = 'cd'.repeat(32);
const QUEUED = 3_000;
const URGENT = 10;
const WORKERS = 10;
const log: Logger = createLogger({ service: 'queue-scale-test', level: 'warn' });

let nats: TestNats;
let mongo: TestMongo;
let datasets: StandIn;
let app: TrainingApp;
const fleet: Array<{ fake: FakeWorker; standIn: StandIn }> = [];
/** Job ids in the order the workers accepted them. */
const startedOrder: string[] = [];
let seeded: string[] = [];

beforeAll(async () => {
  nats = await testNats();
  mongo = await testMongo();
  datasets = await serveDatasetVersions(new Map([[DIGEST, dataset.VersionState.VERSION_STATE_READY]]), log);
  const db = mongo.dbNameFor('queue_scale');
  // The newest URGENT jobs carry a higher priority: they must go first.
  seeded = await seedQueuedJobs(mongo.client.db(db), (await isFerretDb(mongo.client)) ? 'ferretdb' : 'mongodb', QUEUED, DIGEST, (i) => (i >= QUEUED - URGENT ? 5 : 0));
  app = await startTraining(
    loadTrainingConfig({
      MEDTUNE_TRAINING_GRPC_ADDR: '127.0.0.1:0',
      MEDTUNE_NATS_URL: nats.url,
      MEDTUNE_NATS_NAMESPACE: nats.id,
      MEDTUNE_MONGODB_URI: mongo.uri,
      MEDTUNE_TRAINING_DB: db,
      MEDTUNE_TRAINING_DATASET_ADDR: datasets.address,
      MEDTUNE_TRAINING_ARTIFACT_ROOT: 'file:///tmp/medtune-test-artifacts',
      MEDTUNE_TRAINING_HEARTBEAT_INTERVAL: '2000',
      MEDTUNE_TRAINING_WORKER_LEASE: '60000',
      MEDTUNE_TRAINING_SCHEDULE_INTERVAL: '500',
      MEDTUNE_TRAINING_WORKER_BACKOFF: '100',
      MEDTUNE_TRAINING_MODEL_CHECK: 'off',
      MEDTUNE_LEASE_TTL: '30s',
      MEDTUNE_LOG_LEVEL: 'warn',
    }),
    log,
  );
  for (let i = 0; i < WORKERS; i++) {
    const fake = new FakeWorker(`scale-w${i}`);
    const start = fake.startJob.bind(fake);
    fake.startJob = async (req, options) => {
      const res = await start(req, options);
      if (res.created) {
        startedOrder.push(req.jobId);
        setTimeout(() => fake.succeed(req.jobId, 1), 100).unref();
      }
      return res;
    };
    fleet.push({ fake, standIn: await serveFakeWorker(fake, log) });
  }
  return async () => {
    await app?.server.shutdown({ graceMs: 200 });
    await app?.stopBackground();
    await app?.nc.drain();
    await app?.mongo.close();
    for (const w of fleet) await w.standIn.stop();
    await datasets?.stop();
    await mongo?.cleanup();
    await nats?.cleanup();
  };
}, 120_000);
afterAll(() => undefined);

describe(`scheduler over ${QUEUED} queued jobs seeded in bulk (FerretDB)`, () => {
  it('loads them once into its queue index and dispatches in priority, then queue order; a CreateJob event overtakes by priority', async () => {
    expect(app.mongo.store).toBe('ferretdb');
    expect(app.core.index?.loaded).toBe(true);
    expect(app.core.index?.waitingCount).toBe(QUEUED);

    const addr = `127.0.0.1:${app.port}`;
    const registry = createClient(training.WorkerRegistryServiceClient, addr, { defaultDeadlineMs: 30_000 });
    const jobsClient = createClient(training.TrainingServiceClient, addr, { defaultDeadlineMs: 30_000 });
    try {
      for (const w of fleet) await registry.unary('registerWorker', { info: w.fake.info(w.standIn.address) });
      // A later job through the API (published job.queued: the index learns it from NATS), most urgent of all.
      const created = await jobsClient.unary('createJob', training.CreateJobRequest.fromPartial({ idempotencyKey: `urgent-${randomId()}`, datasetDigest: DIGEST, baseModel: '/models/tiny', priority: 9, hyperparameters: { maxSteps: 1 } }));
      const urgentApi = created.job!.jobId;

      const target = 4 * WORKERS;
      await waitFor(() => startedOrder.length >= target, 50_000, { message: () => `${target} jobs started (have ${startedOrder.length})` });

      const urgentSeeded = new Set(seeded.slice(QUEUED - URGENT));
      // The seeded urgent ones went first (only the API job, more urgent still, may come among them).
      const first = new Set(startedOrder.slice(0, URGENT + 1));
      for (const id of urgentSeeded) expect(first.has(id)).toBe(true);
      // The API job started within the first passes after its event, ahead of every priority-0 job started after it.
      const at = startedOrder.indexOf(urgentApi);
      expect(at).toBeGreaterThanOrEqual(0);
      expect(at).toBeLessThan(URGENT + WORKERS);
      // The priority-0 jobs started are the oldest seeded ones (queue order), none skipped far ahead.
      const normal = startedOrder.filter((id) => !urgentSeeded.has(id) && id !== urgentApi);
      const firstNormal = new Set(seeded.slice(0, normal.length + WORKERS));
      for (const id of normal) expect(firstNormal.has(id)).toBe(true);
      // The jobs ended and left the index; the queue shrank by as many.
      await waitFor(async () => (await jobsClient.unary('getJob', { jobId: startedOrder[0]! })).job?.state === training.JobState.JOB_STATE_SUCCEEDED, 30_000);
      expect(app.core.index!.waitingCount).toBeLessThanOrEqual(QUEUED + 1 - target);
    } finally {
      registry.close();
      jobsClient.close();
    }
  }, 90_000);
});
