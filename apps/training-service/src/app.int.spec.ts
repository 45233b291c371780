// The training service over its real transports — gRPC on port 0, NATS JetStream, FerretDB — with
// the worker and the dataset service as gRPC stand-ins the test scripts (src/testing/stand-ins.ts),
// so every fault can be placed exactly: a worker that goes silent, a service killed with SIGKILL
// between two events. The same scenarios with the real Python worker: training.e2e.int.spec.ts.
import { resolve } from 'node:path';
import { dataset, events, training } from '@medtune/contracts';
import { createClient, createLogger, InvalidArgumentError, type KitClient, type Logger } from '@medtune/kit';
import { collectEvents, freePort, printLogsOnFailure, startProcess, testMongo, testNats, waitFor, type TestMongo, type TestNats } from '@medtune/testing';
import { status, type ServiceError } from '@grpc/grpc-js';
import { beforeAll, describe, expect, it } from 'vitest';
import { startTraining, type TrainingApp } from './app';
import { loadTrainingConfig } from './config';
import { FakeWorker } from './core/testing/fakes';
import { serveDatasetVersions, serveFakeWorker, type StandIn } from './testing/stand-ins';
import { storedMessages } from '@medtune/testing';

printLogsOnFailure();
const S = training.JobState;
const DIGEST = 'fe'.repeat(32);
const IMPORTING = 'cc'.repeat(32);
const repoRoot = resolve(import.meta.dirname, '../../..');

let nats: TestNats;
let mongo: TestMongo;
let datasets: StandIn;
const log: Logger = createLogger({ service: 'training-int-test', level: 'warn' });

function env(db: string): Record<string, string> {
  return {
    MEDTUNE_TRAINING_GRPC_ADDR: '127.0.0.1:0',
    MEDTUNE_NATS_URL: nats.url,
    MEDTUNE_NATS_NAMESPACE: nats.id,
    MEDTUNE_MONGODB_URI: mongo.uri,
    MEDTUNE_TRAINING_DB: db,
    MEDTUNE_TRAINING_DATASET_ADDR: datasets.address,
    MEDTUNE_TRAINING_ARTIFACT_ROOT: 'file:///tmp/medtune-test-artifacts',
    MEDTUNE_TRAINING_HEARTBEAT_INTERVAL: '200',
    MEDTUNE_TRAINING_WORKER_LEASE: '1500',
    MEDTUNE_TRAINING_SCHEDULE_INTERVAL: '200',
    MEDTUNE_TRAINING_OUTBOX_INTERVAL: '500',
    MEDTUNE_TRAINING_WATCH_POLL: '100',
    MEDTUNE_TRAINING_WORKER_BACKOFF: '100',
    // The stand-in workers "load" /models/tiny, which is no directory here.
    MEDTUNE_TRAINING_MODEL_CHECK: 'off',
    MEDTUNE_LOG_LEVEL: 'warn',
  };
}

async function startApp(db: string): Promise<{ app: TrainingApp; jobs: KitClient<typeof training.TrainingServiceService>; registry: KitClient<typeof training.WorkerRegistryServiceService>; stop(): Promise<void> }> {
  const app = await startTraining(loadTrainingConfig(env(db)), log);
  const addr = `127.0.0.1:${app.port}`;
  const jobs = createClient(training.TrainingServiceClient, addr, { defaultDeadlineMs: 10_000 });
  const registry = createClient(training.WorkerRegistryServiceClient, addr, { defaultDeadlineMs: 10_000 });
  return {
    app,
    jobs,
    registry,
    async stop() {
      jobs.close();
      registry.close();
      await app.server.health.shutdown();
      await Promise.all([app.stopBackground(), app.server.shutdown({ graceMs: 500 })]);
      await app.nc.drain();
      await app.mongo.close();
    },
  };
}

/** A scripted worker served over gRPC, registered with the service and heartbeating until stopped. */
async function startWorker(id: string, registry: KitClient<typeof training.WorkerRegistryServiceService>) {
  const fake = new FakeWorker(id);
  const standIn = await serveFakeWorker(fake, log);
  const info = () => ({ ...fake.info(standIn.address), busy: [...fake.jobs.values()].some((j) => j.state <= 3) });
  await registry.unary('registerWorker', { info: info() });
  let beating = true;
  const timer = setInterval(() => {
    if (beating) void registry.unary('heartbeat', { info: info() }).catch(() => undefined);
  }, 200);
  return {
    fake,
    address: standIn.address,
    /** The worker "dies": no more heartbeats, and its streams fail. */
    async kill() {
      beating = false;
      fake.down = true;
      clearInterval(timer);
      await standIn.stop();
    },
    async stop() {
      clearInterval(timer);
      await standIn.stop();
    },
  };
}

const createReq = (partial: Parameters<typeof training.CreateJobRequest.fromPartial>[0] = {}) =>
  training.CreateJobRequest.fromPartial({ idempotencyKey: `k-${Math.random()}`, datasetDigest: DIGEST, baseModel: '/models/tiny', ...partial });

beforeAll(async () => {
  nats = await testNats();
  mongo = await testMongo();
  datasets = await serveDatasetVersions(
    new Map([
      [DIGEST, dataset.VersionState.VERSION_STATE_READY],
      [IMPORTING, dataset.VersionState.VERSION_STATE_IMPORTING],
    ]),
    log,
  );
  return async () => {
    await datasets.stop();
    await nats.cleanup();
    await mongo.cleanup();
  };
});

describe('training service over gRPC, NATS and FerretDB', () => {
  let svc: Awaited<ReturnType<typeof startApp>>;
  beforeAll(async () => {
    svc = await startApp(mongo.dbNameFor('api'));
    return () => svc.stop();
  });

  it('answers a bad request with INVALID_ARGUMENT naming every field', async () => {
    const err = await svc.jobs
      .unary('createJob', createReq({ lora: { r: 0, dropout: 1.5 }, hyperparameters: { learningRate: -0.1, batchSize: 0 } }))
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InvalidArgumentError);
    const e = err as InvalidArgumentError;
    expect(e.code).toBe(status.INVALID_ARGUMENT);
    // The field metadata lists every bad field; the status message names each with its reason.
    expect(e.field).toBe('hyperparameters.batch_size,hyperparameters.learning_rate,lora.r,lora.dropout');
    expect((e.cause as ServiceError).details).toBe(
      'hyperparameters.batch_size: must be >= 1 (got 0); hyperparameters.learning_rate: must be > 0 (got -0.1); lora.r: must be >= 1 (got 0); lora.dropout: must be in [0, 1) (got 1.5)',
    );
    const one = (await svc.jobs.unary('createJob', createReq({ lora: { r: 0 } })).catch((x: unknown) => x)) as InvalidArgumentError;
    expect(one.message).toBe('lora.r: must be >= 1 (got 0)');
    expect(one.field).toBe('lora.r');
  });

  it('checks the dataset version: unknown → NOT_FOUND, not READY → FAILED_PRECONDITION', async () => {
    const unknown = (await svc.jobs.unary('createJob', createReq({ datasetDigest: '00'.repeat(32) })).catch((e: { code: number }) => e)) as { code: number; message: string };
    expect(unknown.code).toBe(status.NOT_FOUND);
    expect(unknown.message).toContain('dataset_digest');
    const importing = (await svc.jobs.unary('createJob', createReq({ datasetDigest: IMPORTING })).catch((e: { code: number }) => e)) as { code: number; message: string };
    expect(importing.code).toBe(status.FAILED_PRECONDITION);
    expect(importing.message).toContain('VERSION_STATE_IMPORTING, not READY');
  });

  it('is idempotent by key; the same key with another request is ALREADY_EXISTS', async () => {
    const req = createReq({ idempotencyKey: 'pipeline-42', displayName: 'first', hyperparameters: { maxSteps: 4 } });
    const a = await svc.jobs.unary('createJob', req);
    const b = await svc.jobs.unary('createJob', req);
    expect(a.created).toBe(true);
    expect(b.created).toBe(false);
    expect(b.job?.jobId).toBe(a.job?.jobId);
    const other = (await svc.jobs.unary('createJob', { ...req, displayName: 'second' }).catch((e: { code: number }) => e)) as { code: number };
    expect(other.code).toBe(status.ALREADY_EXISTS);
    const listed = await svc.jobs.unary('listJobs', training.ListJobsRequest.fromPartial({ states: [S.JOB_STATE_QUEUED] }));
    expect(listed.jobs.filter((j) => j.idempotencyKey === 'pipeline-42')).toHaveLength(1);
    expect((await svc.jobs.unary('cancelJob', { jobId: a.job!.jobId, reason: 'test done' })).job?.state).toBe(S.JOB_STATE_CANCELLED);
  });

  it('runs a job on a worker: transitions and metrics on NATS in order, with ce-id <job>:<seq>; WatchJob re-serves them', async () => {
    const collector = await collectEvents(nats.nc, nats.subject('medtune.training.>'));
    const worker = await startWorker('w-run', svc.registry);
    try {
      const { job } = await svc.jobs.unary('createJob', createReq({ hyperparameters: { maxSteps: 3, loggingSteps: 1 } }));
      const jobId = job!.jobId;
      await waitFor(() => worker.fake.jobs.has(jobId));
      worker.fake.succeed(jobId, 3);
      const done = await collector.waitFor(nats.subject('medtune.training.job.succeeded'));
      const mine = collector.events.filter((e) => e.id?.startsWith(`${jobId}:`));
      expect(mine.map((e) => e.subject.slice(nats.subjectPrefix.length))).toEqual([
        'medtune.training.job.validating',
        'medtune.training.job.queued',
        'medtune.training.job.starting',
        'medtune.training.job.running',
        'medtune.training.metrics.logged',
        'medtune.training.metrics.logged',
        'medtune.training.metrics.logged',
        'medtune.training.job.uploading',
        'medtune.training.job.succeeded',
      ]);
      for (const e of mine) {
        expect(e.headers['Nats-Msg-Id']).toBe(e.id);
        expect(e.headers['ce-source']).toBe('medtune/training-service');
      }
      const final = events.JobStateChanged.decode(done.data);
      expect(final.job?.artifacts).toHaveLength(1);
      const metric = events.MetricsLogged.decode(mine[4]!.data);
      expect(metric).toMatchObject({ jobId, runId: jobId, step: 1, values: { loss: 9 } });

      const watched: training.JobEvent[] = [];
      for await (const res of svc.jobs.serverStream('watchJob', { jobId, fromSequence: 0 })) watched.push(res.event!);
      expect(watched.map((e) => e.sequence)).toEqual(Array.from({ length: watched.length }, (_, i) => i + 1));
      expect(watched.at(-1)?.payload).toMatchObject({ $case: 'stateChanged', stateChanged: { state: S.JOB_STATE_SUCCEEDED } });
      const got = (await svc.jobs.unary('getJob', { jobId })).job!;
      expect(got.lastSequence).toBe(watched.length);
      expect(got.history.map((h) => h.state)).toEqual([
        S.JOB_STATE_VALIDATING,
        S.JOB_STATE_QUEUED,
        S.JOB_STATE_STARTING,
        S.JOB_STATE_RUNNING,
        S.JOB_STATE_UPLOADING,
        S.JOB_STATE_SUCCEEDED,
      ]);
      const workers = await svc.registry.unary('listWorkers', { includeLost: false });
      expect(workers.workers.map((w) => w.info?.workerId)).toContain('w-run');
    } finally {
      await collector.stop();
      await worker.stop();
    }
  });

  it('recovers a job whose worker stops heartbeating: RECOVERING, then resumed on another worker from its checkpoint', async () => {
    const w1 = await startWorker('w-lost-1', svc.registry);
    const { job } = await svc.jobs.unary('createJob', createReq({ maxRetries: 1 }));
    const jobId = job!.jobId;
    await waitFor(() => w1.fake.jobs.has(jobId));
    w1.fake.emitState(jobId, 2, 'training');
    w1.fake.emitCheckpoint(jobId, 5);
    await waitFor(async () => (await svc.jobs.unary('listCheckpoints', { jobId })).checkpoints.length === 1);
    await w1.kill();
    const w2 = await startWorker('w-lost-2', svc.registry);
    try {
      await waitFor(() => w2.fake.jobs.has(jobId), 10_000);
      expect(w2.fake.startCalls[0]).toMatchObject({ attempt: 2, spec: { resumeFromCheckpoint: `file:///tmp/ckpt/${jobId}/a1/step-5` } });
      w2.fake.succeed(jobId, 1);
      await waitFor(async () => (await svc.jobs.unary('getJob', { jobId })).job?.state === S.JOB_STATE_SUCCEEDED);
      const got = (await svc.jobs.unary('getJob', { jobId })).job!;
      expect(got.history.map((h) => h.state)).toContain(S.JOB_STATE_RECOVERING);
      expect(got.history.find((h) => h.state === S.JOB_STATE_RECOVERING)?.reason).toContain('worker w-lost-1 lost');
      expect(got).toMatchObject({ attempt: 2, workerId: 'w-lost-2' });
      const lost = await svc.registry.unary('listWorkers', { includeLost: true });
      expect(lost.workers.find((w) => w.info?.workerId === 'w-lost-1')?.lost).toBe(true);
    } finally {
      await w2.stop();
    }
  });
});

describe('training service killed with SIGKILL mid-job (main.ts as a child process)', () => {
  it('re-attaches after a restart: every metric the worker logged is published exactly once', async () => {
    const db = mongo.dbNameFor('kill');
    // One fixed port, so the clients reach whichever service process is up.
    const port = await freePort();
    const start = () =>
      startProcess({
        // node itself runs main.ts (tsx as a loader, not a parent process), so SIGKILL hits the service.
        cmd: process.execPath,
        args: ['--import', 'tsx', 'apps/training-service/src/main.ts'],
        cwd: repoRoot,
        env: { ...env(db), MEDTUNE_TRAINING_GRPC_ADDR: `127.0.0.1:${port}`, MEDTUNE_LOG_LEVEL: 'info' },
        name: 'training-service',
        readyWhen: { grpcHealth: `127.0.0.1:${port}`, service: 'medtune.training.v1.TrainingService' },
        readyTimeoutMs: 30_000,
      });
    let proc = await start();
    // Reconnect quickly once the service is back (grpc-js backs off up to minutes by default).
    const fastReconnect = { channelOptions: { 'grpc.initial_reconnect_backoff_ms': 100, 'grpc.max_reconnect_backoff_ms': 500 } };
    const jobs = createClient(training.TrainingServiceClient, `127.0.0.1:${port}`, { defaultDeadlineMs: 10_000, ...fastReconnect });
    const registry = createClient(training.WorkerRegistryServiceClient, `127.0.0.1:${port}`, { defaultDeadlineMs: 10_000, ...fastReconnect });
    const collector = await collectEvents(nats.nc, nats.subject('medtune.training.>'));
    const worker = await startWorker('w-kill', registry);
    try {
      const { job } = await jobs.unary('createJob', createReq());
      const jobId = job!.jobId;
      await waitFor(() => worker.fake.jobs.has(jobId));
      worker.fake.emitState(jobId, 2, 'training');
      // The worker logs a metric every 10 ms throughout: the kill lands while events are being
      // stored and published, and more are logged while the service is down.
      const STEPS = 60;
      const logging = (async () => {
        for (let step = 1; step <= STEPS; step++) {
          worker.fake.emitMetrics(jobId, step, 1 / step);
          await new Promise((r) => setTimeout(r, 10));
        }
      })();
      await collector.waitFor((e) => e.subject.endsWith('metrics.logged') && events.MetricsLogged.decode(e.data).step >= 10);
      proc.kill('SIGKILL');
      expect((await proc.exited).signal).toBe('SIGKILL');
      proc = await start();
      await logging;
      worker.fake.succeed(jobId, 0);
      await collector.waitFor(nats.subject('medtune.training.job.succeeded'), 20_000);

      // Count what the stream stored: a core-NATS subscriber also sees a publish that was retried
      // after the kill and dropped by JetStream as a duplicate of its Nats-Msg-Id.
      const stored = (await storedMessages(nats.jsm, nats.streamName('MEDTUNE_TRAINING'), 'medtune.training.metrics.logged'))
        .map((m) => ({ id: m.id, metric: events.MetricsLogged.decode(m.data) }))
        .filter((m) => m.metric.jobId === jobId);
      expect(stored.map((m) => m.metric.step)).toEqual(Array.from({ length: STEPS }, (_, i) => i + 1));
      expect(stored.map((m) => m.id)).toEqual(stored.map((m) => `${jobId}:${m.metric.sequence}`));
      const watched: number[] = [];
      for await (const res of jobs.serverStream('watchJob', { jobId, fromSequence: 1 })) watched.push(res.event!.sequence);
      expect(watched).toEqual(Array.from({ length: watched.length }, (_, i) => i + 1));
      expect(proc.logs()).toContain('"reattached":1');
    } finally {
      await collector.stop();
      await worker.stop();
      jobs.close();
      registry.close();
      await proc.stop();
    }
  });
});
