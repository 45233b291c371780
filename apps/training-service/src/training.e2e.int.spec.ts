// The training service with everything real: the dataset service and the training service as
// processes (main.ts), the Python trainer worker (`python -m medtune_trainer`) training the tiny
// Qwen2 model on CPU with the real tokenizer, NATS JetStream and FerretDB. Jobs are kept tiny
// (24 rows, 256 tokens, a handful of steps, logging every step) so the file stays near a minute or two.
import { mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { dataset, events, trainer, training } from '@medtune/contracts';
import { createClient, type KitClient } from '@medtune/kit';
import {
  collectEvents,
  freePort,
  printLogsOnFailure,
  startProcess,
  startTrainerWorker,
  testMongo,
  testNats,
  waitFor,
  type EventCollector,
  type RunningProcess,
  type TestMongo,
  type TestNats,
} from '@medtune/testing';
import { status } from '@grpc/grpc-js';
import { beforeAll, describe, expect, it } from 'vitest';
import { storedMessages } from '@medtune/testing';

printLogsOnFailure();
const S = training.JobState;
const repoRoot = resolve(import.meta.dirname, '../../..');
const python = resolve(repoRoot, 'python-services/.venv/bin/python');
const sharedDir = resolve(repoRoot, '../shared');

let nats: TestNats;
let mongo: TestMongo;
let work: string;
let tinyModel: string;
let digest: string;
let datasetSvc: RunningProcess;
let trainingSvc: RunningProcess;
let trainingPort: number;
let datasetAddress: string;
let jobs: KitClient<typeof training.TrainingServiceService>;
let collector: EventCollector;
const workers: RunningProcess[] = [];
/** Worker id → its process and address; two workers so that a lost one has a successor. */
const fleet = new Map<string, { proc: RunningProcess; address: string }>();

/**
 * The tiny model, built by the trainer's own script once per version of that script (cached under
 * the git-ignored var/, keyed by the builder's source).
 */
function tinyModelDir(): string {
  const builder = ['python-services/trainer/scripts/make_tiny_model.py', 'python-services/trainer/src/medtune_trainer/tiny_model.py'];
  const key = createHash('sha256')
    .update(builder.map((f) => readFileSync(resolve(repoRoot, f))).join('\0'))
    .digest('hex')
    .slice(0, 12);
  const dir = resolve(repoRoot, `var/cache/tiny-qwen2-${key}`);
  if (existsSync(join(dir, 'config.json')) && existsSync(join(dir, 'tokenizer.json'))) return dir;
  if (!existsSync(python)) throw new Error(`no trainer venv at ${python}: run tools/python/setup.sh`);
  const tmp = `${dir}.tmp-${process.pid}`;
  const out = spawnSync(python, ['python-services/trainer/scripts/make_tiny_model.py', '--out', tmp], { cwd: repoRoot, encoding: 'utf8' });
  if (out.status !== 0) throw new Error(`make_tiny_model.py failed:\n${out.stderr}`);
  mkdirSync(resolve(dir, '..'), { recursive: true });
  rmSync(dir, { recursive: true, force: true });
  renameSync(tmp, dir);
  return dir;
}

function serviceEnv(): Record<string, string> {
  return { MEDTUNE_NATS_URL: nats.url, MEDTUNE_NATS_NAMESPACE: nats.id, MEDTUNE_MONGODB_URI: mongo.uri, MEDTUNE_LOG_LEVEL: 'info' };
}

async function startTrainingService(datasetAddr: string): Promise<RunningProcess> {
  return startProcess({
    // node runs main.ts itself (tsx as a loader), so a SIGKILL hits the service and nothing else.
    cmd: process.execPath,
    args: ['--import', 'tsx', 'apps/training-service/src/main.ts'],
    cwd: repoRoot,
    name: 'training-service',
    env: {
      ...serviceEnv(),
      MEDTUNE_TRAINING_GRPC_ADDR: `127.0.0.1:${trainingPort}`,
      MEDTUNE_TRAINING_DB: mongo.dbNameFor('training'),
      MEDTUNE_TRAINING_DATASET_ADDR: datasetAddr,
      MEDTUNE_TRAINING_ARTIFACT_ROOT: pathToFileURL(join(work, 'artifacts')).href,
      MEDTUNE_TRAINING_HEARTBEAT_INTERVAL: '500',
      MEDTUNE_TRAINING_WORKER_LEASE: '4000',
      MEDTUNE_TRAINING_SCHEDULE_INTERVAL: '300',
      MEDTUNE_TRAINING_WATCH_POLL: '200',
      MEDTUNE_TRAINING_WORKER_BACKOFF: '300',
    },
    readyWhen: { grpcHealth: `127.0.0.1:${trainingPort}`, service: 'medtune.training.v1.TrainingService' },
    readyTimeoutMs: 30_000,
  });
}

async function startWorker(id: string): Promise<{ proc: RunningProcess; address: string }> {
  const { proc, addr } = await startTrainerWorker({ workerId: id, artifactRoot: join(work, 'artifacts'), trainingAddr: `127.0.0.1:${trainingPort}`, readyTimeoutMs: 90_000 });
  workers.push(proc);
  const w = { proc, address: addr };
  fleet.set(id, w);
  return w;
}

/** Small, fast settings on the seed's recipe: only length and logging change. */
function tinyJob(key: string, maxSteps: number, extra: Parameters<typeof training.CreateJobRequest.fromPartial>[0] = {}, extraSaveSteps = 0): training.CreateJobRequest {
  return training.CreateJobRequest.fromPartial({
    idempotencyKey: key,
    datasetDigest: digest,
    baseModel: tinyModel,
    hyperparameters: { maxSteps, loggingSteps: 1, maxSeqLength: 256, gradientAccumulationSteps: 1, learningRate: 1e-2, warmupSteps: 0, saveSteps: extraSaveSteps },
    lora: { r: 8 },
    exports: { adapter: true, merged16bit: false },
    ...extra,
  });
}

/** The job.<state> events of a job as the stream stored them, in order. */
async function jobStatesOf(jobId: string): Promise<string[]> {
  return (await storedMessages(nats.jsm, nats.streamName('MEDTUNE_TRAINING')))
    .filter((m) => m.id.startsWith(`${jobId}:`) && m.subject.includes('.training.job.') && !m.subject.endsWith('.progressed'))
    .map((m) => m.subject.slice(m.subject.lastIndexOf('.') + 1));
}

/** Metrics of a job as delivered to a core-NATS subscriber (for waiting on progress). */
const metricsOf = (jobId: string): events.MetricsLogged[] =>
  collector.events
    .filter((e) => e.subject.endsWith('medtune.training.metrics.logged'))
    .map((e) => events.MetricsLogged.decode(e.data))
    .filter((m) => m.jobId === jobId);

/**
 * Metrics of a job as the JetStream stream stored them (what tracking consumes). A publish retried
 * after a crash reaches core subscribers twice but is stored once (same Nats-Msg-Id).
 */
async function storedMetricsOf(jobId: string): Promise<{ id: string; metric: events.MetricsLogged }[]> {
  return (await storedMessages(nats.jsm, nats.streamName('MEDTUNE_TRAINING'), 'medtune.training.metrics.logged'))
    .map((m) => ({ id: m.id, metric: events.MetricsLogged.decode(m.data) }))
    .filter((m) => m.metric.jobId === jobId);
}

const stepOf = (e: trainer.JobEvent): number => (e.payload?.$case === 'metrics' ? e.payload.metrics.step : -1);

/** Polls GetJob until the job is in `state`; fails at once when it ends in another final state. */
async function waitForState(jobId: string, state: training.JobState, timeoutMs = 90_000): Promise<training.Job> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const job = (await jobs.unary('getJob', { jobId })).job!;
    if (job.state === state) return job;
    if ([S.JOB_STATE_FAILED, S.JOB_STATE_SUCCEEDED, S.JOB_STATE_CANCELLED].includes(job.state)) {
      throw new Error(`job ${jobId} ended ${training.JobState[job.state]} while waiting for ${training.JobState[state]}: ${job.failure?.message ?? ''}`);
    }
    if (Date.now() > deadline) throw new Error(`job ${jobId} still ${training.JobState[job.state]} after ${timeoutMs} ms (waiting for ${training.JobState[state]})`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** The worker's own event log of a job (what it logged), read through its WatchJob. */
async function workerLog(address: string, jobId: string): Promise<trainer.JobEvent[]> {
  const client = createClient(trainer.TrainerServiceClient, address, { defaultDeadlineMs: 20_000 });
  try {
    const out: trainer.JobEvent[] = [];
    for await (const res of client.serverStream('watchJob', { jobId, fromSequence: 1 })) if (res.event) out.push(res.event);
    return out;
  } finally {
    client.close();
  }
}

beforeAll(async () => {
  nats = await testNats();
  mongo = await testMongo();
  work = mkdtempSync(join(tmpdir(), 'medtune-training-e2e-'));
  tinyModel = tinyModelDir();

  // 24 rows of the seed's data, shortened so that rows fit 256 tokens with the template (the full
  // rows are 445+ tokens, and a worker refuses a job whose every row is longer than max_seq_length).
  type Row = { Question: string; Complex_CoT: string; Response: string };
  const rows = JSON.parse(readFileSync(join(sharedDir, 'data/sft/medical_o1_sft_Chinese_subset916.json'), 'utf8')) as Row[];
  const short = rows.slice(0, 24).map((r) => ({ Question: r.Question.slice(0, 50), Complex_CoT: r.Complex_CoT.slice(0, 50), Response: r.Response.slice(0, 30) }));
  const file = join(work, 'rows.jsonl');
  writeFileSync(file, short.map((r) => JSON.stringify(r)).join('\n') + '\n');

  const datasetPort = await freePort();
  datasetSvc = await startProcess({
    cmd: process.execPath,
    args: ['--import', 'tsx', 'apps/dataset-service/src/main.ts'],
    cwd: repoRoot,
    name: 'dataset-service',
    env: { ...serviceEnv(), MEDTUNE_DATASET_GRPC_ADDR: `127.0.0.1:${datasetPort}`, MEDTUNE_DATASET_DB: mongo.dbNameFor('dataset') },
    readyWhen: { grpcHealth: `127.0.0.1:${datasetPort}`, service: 'medtune.dataset.v1.DatasetService' },
    readyTimeoutMs: 30_000,
  });
  const ds = createClient(dataset.DatasetServiceClient, `127.0.0.1:${datasetPort}`, { defaultDeadlineMs: 60_000 });
  let result: dataset.ImportResult | undefined;
  for await (const res of ds.serverStream('importDataset', {
    path: file,
    options: dataset.ImportOptions.fromPartial({ datasetName: 'e2e-training', tokenizerDir: tinyModel, maxSeqLength: 256, evalRatio: 0.1 }),
  })) {
    if (res.event?.$case === 'result') result = res.event.result;
  }
  ds.close();
  if (!result?.version) throw new Error(`import failed: ${JSON.stringify(result?.report)}`);
  digest = result.version.digest;

  trainingPort = await freePort();
  datasetAddress = `127.0.0.1:${datasetPort}`;
  trainingSvc = await startTrainingService(datasetAddress);
  jobs = createClient(training.TrainingServiceClient, `127.0.0.1:${trainingPort}`, { defaultDeadlineMs: 20_000 });
  collector = await collectEvents(nats.nc, nats.subject('medtune.training.>'));
  // Both workers start together (their Python + torch start-up overlaps); jobs go to either.
  await Promise.all([startWorker('w-e2e-a'), startWorker('w-e2e-b')]);

  return async () => {
    await collector?.stop();
    jobs?.close();
    for (const w of workers) await w.stop();
    await trainingSvc?.stop();
    await datasetSvc?.stop();
    await nats.cleanup();
    await mongo.cleanup();
    rmSync(work, { recursive: true, force: true });
  };
}, 240_000);

/** The worker a job ran on (last attempt). */
const workerOf = (job: training.Job) => {
  const w = fleet.get(job.workerId);
  if (!w) throw new Error(`job ${job.jobId} ran on unknown worker ${job.workerId}`);
  return w;
};

describe('training with the real worker, dataset service, NATS and FerretDB', () => {

  it('rejects bad requests with field-level errors and checks the dataset version', async () => {
    const bad = (await jobs.unary('createJob', tinyJob('bad-1', 4, { lora: { r: 0 }, hyperparameters: { learningRate: -1, maxSeqLength: 8 } })).catch((e: unknown) => e)) as {
      code: number;
      cause: { details: string };
    };
    expect(bad.code).toBe(status.INVALID_ARGUMENT);
    expect(bad.cause.details).toBe('hyperparameters.learning_rate: must be > 0 (got -1); hyperparameters.max_seq_length: must be >= 16 (got 8); lora.r: must be >= 1 (got 0)');
    const unknown = (await jobs.unary('createJob', tinyJob('bad-2', 4, { datasetDigest: '0'.repeat(64) })).catch((e: unknown) => e)) as { code: number };
    expect(unknown.code).toBe(status.NOT_FOUND);
    expect((await jobs.unary('listJobs', training.ListJobsRequest.fromPartial({}))).jobs).toEqual([]);
  });

  it('runs a job: queued → starting → running → uploading → succeeded, every metric the worker logged on NATS once', async () => {
    const first = await jobs.unary('createJob', tinyJob('happy', 4));
    const again = await jobs.unary('createJob', tinyJob('happy', 4));
    expect(again).toMatchObject({ created: false, job: { jobId: first.job!.jobId } });
    const jobId = first.job!.jobId;
    const done = await waitForState(jobId, S.JOB_STATE_SUCCEEDED);
    await collector.waitFor((e) => e.id === `${jobId}:${done.lastSequence}`);

    expect(await jobStatesOf(jobId)).toEqual(['validating', 'queued', 'starting', 'running', 'uploading', 'succeeded']);
    const logged = (await workerLog(workerOf(done).address, jobId)).filter((e) => e.payload?.$case === 'metrics');
    expect(logged.length).toBe(4);
    const stored = await storedMetricsOf(jobId);
    expect(stored.map((m) => m.metric.step)).toEqual(logged.map(stepOf));
    expect(stored.every((m) => m.metric.runId === jobId && typeof m.metric.values.loss === 'number' && m.id === `${jobId}:${m.metric.sequence}`)).toBe(true);
    expect(done.artifacts.map((a) => a.kind)).toContain(1 /* ADAPTER */);
    expect(done.backendUsed).toBe(3 /* HF on CPU */);
    expect(done.history.map((h) => h.state)).toEqual([
      S.JOB_STATE_VALIDATING,
      S.JOB_STATE_QUEUED,
      S.JOB_STATE_STARTING,
      S.JOB_STATE_RUNNING,
      S.JOB_STATE_UPLOADING,
      S.JOB_STATE_SUCCEEDED,
    ]);
    const watched: number[] = [];
    for await (const res of jobs.serverStream('watchJob', { jobId, fromSequence: 1 })) watched.push(res.event!.sequence);
    expect(watched).toEqual(Array.from({ length: done.lastSequence }, (_, i) => i + 1));
  }, 180_000);

  it('cancels a queued job at once and a running one through the worker', async () => {
    // No worker has a petabyte of GPU memory: this one stays queued.
    const queued = (await jobs.unary('createJob', tinyJob('cancel-queued', 4, { minGpuMemoryBytes: 1e15 }))).job!.jobId;
    const long = (await jobs.unary('createJob', tinyJob('cancel-running', 400))).job!.jobId;
    await waitForState(long, S.JOB_STATE_RUNNING);
    expect((await jobs.unary('getJob', { jobId: queued })).job?.state).toBe(S.JOB_STATE_QUEUED);
    expect((await jobs.unary('cancelJob', { jobId: queued, reason: 'not needed' })).job?.state).toBe(S.JOB_STATE_CANCELLED);
    await waitFor(() => metricsOf(long).length >= 1, 60_000);
    expect((await jobs.unary('cancelJob', { jobId: long, reason: 'stop' })).job?.state).toBe(S.JOB_STATE_CANCEL_REQUESTED);
    const cancelled = await waitForState(long, S.JOB_STATE_CANCELLED);
    expect(cancelled.history.map((h) => h.state).slice(-2)).toEqual([S.JOB_STATE_CANCEL_REQUESTED, S.JOB_STATE_CANCELLED]);
    expect(await jobStatesOf(queued)).toEqual(['validating', 'queued', 'cancelled']);
    expect((await jobStatesOf(long)).slice(-2)).toEqual(['cancel_requested', 'cancelled']);
    expect(cancelled.progress?.step ?? 0).toBeLessThan(400);
  }, 180_000);

  it('survives a SIGKILL of the training service mid-job: the job completes, every metric published exactly once', async () => {
    const jobId = (await jobs.unary('createJob', tinyJob('service-kill', 6))).job!.jobId;
    await waitFor(() => metricsOf(jobId).length >= 2, 90_000, { intervalMs: 20 });
    trainingSvc.kill('SIGKILL');
    expect((await trainingSvc.exited).signal).toBe('SIGKILL');
    trainingSvc = await startTrainingService(datasetAddress);
    const done = await waitForState(jobId, S.JOB_STATE_SUCCEEDED);
    await collector.waitFor((e) => e.id === `${jobId}:${done.lastSequence}`);

    const logged = (await workerLog(workerOf(done).address, jobId)).filter((e) => e.payload?.$case === 'metrics');
    const stored = await storedMetricsOf(jobId);
    expect(logged.length).toBe(6);
    expect(stored.length).toBe(logged.length);
    expect(stored.map((m) => m.metric.step)).toEqual(logged.map(stepOf));
    const jobMessages = (await storedMessages(nats.jsm, nats.streamName('MEDTUNE_TRAINING'))).filter((m) => m.id.startsWith(`${jobId}:`));
    expect(jobMessages.map((m) => m.id)).toEqual([...new Set(jobMessages.map((m) => m.id))]);
    expect(await jobStatesOf(jobId)).toEqual(['validating', 'queued', 'starting', 'running', 'uploading', 'succeeded']);
    expect(trainingSvc.logs()).toContain('"reattached":1');
  }, 180_000);

  it('moves the job of a killed worker to RECOVERING and resumes it on a second worker from its checkpoint', async () => {
    const jobId = (await jobs.unary('createJob', tinyJob('worker-kill', 8, {}, 2))).job!.jobId;
    await collector.waitFor((e) => e.subject.endsWith('medtune.training.checkpoint.saved') && events.CheckpointSaved.decode(e.data).jobId === jobId, 90_000);
    const firstJob = (await jobs.unary('getJob', { jobId })).job!;
    const first = workerOf(firstJob);
    const onWorker = createClient(trainer.TrainerServiceClient, first.address, { defaultDeadlineMs: 5_000 });
    const before = (await onWorker.unary('getJob', { jobId })).job!;
    onWorker.close();
    // The kill must land mid-training for this test to mean anything.
    expect(before.state).toBe(trainer.WorkerJobState.WORKER_JOB_STATE_RUNNING);
    first.proc.kill('SIGKILL');
    await first.proc.exited;
    // RECOVERING is brief (the idle worker takes the job at once): wait for its event, not a poll.
    await collector.waitFor((e) => e.subject.endsWith('medtune.training.job.recovering') && !!e.id?.startsWith(`${jobId}:`), 30_000);
    const done = await waitForState(jobId, S.JOB_STATE_SUCCEEDED, 120_000);

    expect(done.attempt).toBe(2);
    expect(done.workerId).not.toBe(firstJob.workerId);
    const second = workerOf(done);
    // A StartJob to the second worker that misses its deadline (a fresh worker on a loaded machine)
    // sends the job back to RECOVERING and the scheduler tries again: a legal detour, kept apart.
    const collapsed: string[] = [];
    let detours = 0;
    for (const st of await jobStatesOf(jobId)) {
      if ((st === 'recovering' || st === 'queued') && collapsed.at(-1) === 'starting' && collapsed.at(-2) === st) {
        collapsed.pop();
        detours++;
        continue;
      }
      collapsed.push(st);
    }
    expect(collapsed).toEqual(['validating', 'queued', 'starting', 'running', 'recovering', 'starting', 'running', 'uploading', 'succeeded']);
    expect(detours).toBeLessThanOrEqual(2);
    const restart = done.history.filter((h) => h.state === S.JOB_STATE_STARTING).at(-1)!;
    const resumedFrom = /resuming from (\S+)\)/.exec(restart.reason)?.[1];
    expect(resumedFrom).toBeTruthy();
    const checkpoints = (await jobs.unary('listCheckpoints', { jobId })).checkpoints;
    const resumeStep = checkpoints.find((c) => c.uri === resumedFrom)?.step;
    expect(resumeStep).toBeGreaterThanOrEqual(2);
    // Attempt 2 continues after the checkpoint's step, not from step 1.
    const log = await workerLog(second.address, jobId);
    const secondSteps = log.filter((e) => e.attempt === 2 && e.payload?.$case === 'metrics').map(stepOf);
    expect(secondSteps[0]).toBe(resumeStep! + 1);
    expect(secondSteps.at(-1)).toBe(8);
    const stored = (await storedMetricsOf(jobId)).map((m) => m.metric.step);
    expect(stored.slice(-secondSteps.length)).toEqual(secondSteps);
  }, 240_000);
});
