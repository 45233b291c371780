// The Ray executor against a real local Ray cluster (tools/infra/ray-cluster.sh: a head and two
// worker nodes on loopback, each declaring one GPU, CPU only), the real dataset and training
// services as processes (EXECUTOR=ray), the Python trainer as each Ray job's entrypoint training
// the tiny Qwen2 model, NATS JetStream and FerretDB. One cluster for the whole file; the cases run
// in order and share it (the node killed in the recovery case stays dead for the later ones).
// Artifacts and checkpoints go to a real S3-compatible server (SeaweedFS, testS3()), so a job
// resumes on another node from an s3:// checkpoint; the credentials are in the nodes' own
// environment, never in a submission. The last case runs the whole pipeline (deploy/local/stack.sh + `medtune run`)
// with the training on the same cluster and the stack's artifact root on the same bucket
// (MEDTUNE_STACK_ARTIFACT_ROOT=s3://…): the registry registers and verifies the version from s3://,
// the stack's CPU trainer fetches it from there for the evaluation.
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { common, events, registry, training } from '@medtune/contracts';
import { createClient, type KitClient } from '@medtune/kit';
import { collectEvents, storedMessages, freePort, printLogsOnFailure, startProcess, testMongo, testNats, testS3, waitFor, type EventCollector, type RunningProcess, type TestMongo, type TestNats, type TestS3 } from '@medtune/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { medtune, startStack } from '../e2e/stack';
import { importTinyDataset, python, repoRoot, startRay, tinyModelDir, type LocalRay } from './support';

printLogsOnFailure();
const S = training.JobState;
const TERMINAL = [S.JOB_STATE_FAILED, S.JOB_STATE_SUCCEEDED, S.JOB_STATE_CANCELLED];
/** Seconds a job no node can fit waits before it fails (short here; 10 min by default). */
const UNSATISFIABLE_S = 6;
/** Steps of the job whose node is killed (a checkpoint every 3). */
const A_STEPS = 12;
/** Paths the services accept: the tiny model's cache (var/), the temp dir, the seed's data. */
const dataRoots = [join(repoRoot, 'var'), tmpdir(), join(repoRoot, '../shared')].join(':');

let nats: TestNats;
let mongo: TestMongo;
let ray: LocalRay;
let work: string;
let tinyModel: string;
let digest: string;
let datasetSvc: RunningProcess;
let trainingSvc: RunningProcess;
let trainingPort: number;
let datasetAddress: string;
let jobs: KitClient<typeof training.TrainingServiceService>;
let collector: EventCollector;
let proxy: RayProxy;
let s3: TestS3;
/** s3://<bucket>/medtune: every job's artifacts and checkpoints. */
let artifactRoot: string;

/**
 * A TCP proxy between the training service and the Ray dashboard, so a case can make Ray
 * unreachable (close) and reachable again (open) without touching the cluster.
 */
class RayProxy {
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();
  constructor(
    readonly port: number,
    private readonly target: { host: string; port: number },
  ) {}
  async open(): Promise<void> {
    const server = createServer((client) => {
      const upstream = connect(this.target.port, this.target.host);
      for (const s of [client, upstream]) {
        this.sockets.add(s);
        s.on('close', () => this.sockets.delete(s));
        s.on('error', () => s.destroy());
      }
      client.pipe(upstream).pipe(client);
    });
    await new Promise<void>((ok, fail) => server.once('error', fail).listen(this.port, '127.0.0.1', () => ok()));
    this.server = server;
  }
  async close(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    for (const s of this.sockets) s.destroy();
    if (server) await new Promise<void>((ok) => server.close(() => ok()));
  }
}

function serviceEnv(): Record<string, string> {
  return { MEDTUNE_NATS_URL: nats.url, MEDTUNE_NATS_NAMESPACE: nats.id, MEDTUNE_MONGODB_URI: mongo.uri, MEDTUNE_LOG_LEVEL: 'info', MEDTUNE_DATA_ROOTS: dataRoots };
}

async function startTrainingService(): Promise<RunningProcess> {
  return startProcess({
    cmd: process.execPath,
    args: ['--import', 'tsx', 'apps/training-service/src/main.ts'],
    cwd: repoRoot,
    name: 'training-service',
    env: {
      ...serviceEnv(),
      MEDTUNE_TRAINING_GRPC_ADDR: `127.0.0.1:${trainingPort}`,
      MEDTUNE_TRAINING_DB: mongo.dbNameFor('training'),
      MEDTUNE_TRAINING_DATASET_ADDR: datasetAddress,
      MEDTUNE_TRAINING_ARTIFACT_ROOT: artifactRoot,
      ...s3.env,
      MEDTUNE_S3_ROOTS: artifactRoot,
      MEDTUNE_TRAINING_EXECUTOR: 'ray',
      MEDTUNE_TRAINING_RAY_ADDRESS: `http://127.0.0.1:${proxy.port}`,
      MEDTUNE_TRAINING_RAY_PYTHON: python,
      MEDTUNE_TRAINING_RAY_UNSATISFIABLE_AFTER: String(UNSATISFIABLE_S * 1000),
      MEDTUNE_TRAINING_RAY_RECONCILE_INTERVAL: '1000',
      MEDTUNE_TRAINING_HEARTBEAT_INTERVAL: '500',
      // A restarted service gives trainers 2 leases to heartbeat again; theirs back off up to 30 s.
      MEDTUNE_TRAINING_WORKER_LEASE: '10000',
      MEDTUNE_TRAINING_SCHEDULE_INTERVAL: '300',
      MEDTUNE_TRAINING_WATCH_POLL: '200',
      MEDTUNE_TRAINING_WORKER_BACKOFF: '300',
    },
    readyWhen: { grpcHealth: `127.0.0.1:${trainingPort}`, service: 'medtune.training.v1.TrainingService' },
    readyTimeoutMs: 60_000,
  });
}

function tinyJob(key: string, maxSteps: number, extra: Parameters<typeof training.CreateJobRequest.fromPartial>[0] = {}, saveSteps = 0): training.CreateJobRequest {
  return training.CreateJobRequest.fromPartial({
    idempotencyKey: key,
    datasetDigest: digest,
    baseModel: tinyModel,
    hyperparameters: { maxSteps, loggingSteps: 1, maxSeqLength: 256, gradientAccumulationSteps: 1, learningRate: 1e-2, warmupSteps: 0, saveSteps, ...(extra.hyperparameters ?? {}) },
    lora: { r: 8 },
    exports: { adapter: true, merged16bit: false },
    ...Object.fromEntries(Object.entries(extra).filter(([k]) => k !== 'hyperparameters')),
  });
}

const getJob = async (jobId: string) => (await jobs.unary('getJob', { jobId })).job!;

async function waitForState(jobId: string, state: training.JobState, timeoutMs = 150_000): Promise<training.Job> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const job = await getJob(jobId);
    if (job.state === state) return job;
    if (TERMINAL.includes(job.state)) throw new Error(`job ${jobId} ended ${S[job.state]} while waiting for ${S[state]}: ${job.failure?.message ?? ''}`);
    if (Date.now() > deadline) throw new Error(`job ${jobId} still ${S[job.state]} after ${timeoutMs} ms (waiting for ${S[state]}; ${job.waitingReason})`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** Waits until the Ray job is in one of `statuses` (the dashboard's own answer); returns it. */
async function waitForRay(sid: string, statuses: string[], timeoutMs = 90_000) {
  let last: Awaited<ReturnType<LocalRay['job']>>;
  await waitFor(async () => {
    last = await ray.job(sid);
    return !!last && statuses.includes(last.status);
  }, timeoutMs).catch((err: unknown) => {
    throw new Error(`Ray job ${sid} is ${last?.status ?? 'unknown'}, not ${statuses.join('/')}: ${(err as Error).message}`);
  });
  return last!;
}

const sidOf = (jobId: string, attempt: number) => `medtune-${jobId}-a${attempt}`;

/** Metrics of a job as the JetStream stream stored them (what tracking consumes), in order. */
async function storedMetricsOf(jobId: string): Promise<events.MetricsLogged[]> {
  return (await storedMessages(nats.jsm, nats.streamName('MEDTUNE_TRAINING'), 'medtune.training.metrics.logged')).map((m) => events.MetricsLogged.decode(m.data)).filter((m) => m.jobId === jobId);
}

const liveMetricsOf = (jobId: string): events.MetricsLogged[] =>
  collector.events
    .filter((e) => e.subject.endsWith('medtune.training.metrics.logged'))
    .map((e) => events.MetricsLogged.decode(e.data))
    .filter((m) => m.jobId === jobId);

const execFileAsync = promisify(execFile);

/** Every log file of a stack (deploy/local/stack.sh's var/log), concatenated. */
async function readStackLogs(dir: string): Promise<string> {
  const names = await readdir(dir).catch(() => [] as string[]);
  return (await Promise.all(names.map((n) => readFile(join(dir, n), 'utf8').catch(() => '')))).join('\n');
}

/** Runs the medtune command (apps/cli/bin/medtune, a process as a user runs it) against this file's training service. */
async function cli(args: string[]): Promise<{ code: number; out: string; err: string }> {
  try {
    const r = await execFileAsync(join(repoRoot, 'apps/cli/bin/medtune'), args, {
      env: { ...process.env, MEDTUNE_TRAINING_ADDR: `127.0.0.1:${trainingPort}` },
      cwd: repoRoot,
      maxBuffer: 64 << 20,
      timeout: 300_000,
    });
    return { code: 0, out: r.stdout, err: r.stderr };
  } catch (e) {
    const x = e as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof x.code === 'number' ? x.code : -1, out: x.stdout ?? '', err: x.stderr ?? String(e) };
  }
}

/** The CLI's documented exit statuses (apps/cli/src/exit.ts) that this spec expects. */
const EXIT = { OK: 0, NOT_FOUND: 3 } as const;

beforeAll(async () => {
  nats = await testNats();
  mongo = await testMongo();
  work = mkdtempSync(join(tmpdir(), 'medtune-ray-'));
  mkdirSync(join(work, 'artifacts'));
  tinyModel = tinyModelDir();
  // The cluster, the dataset import and the proxy start together.
  const [cluster, imported] = await Promise.all([
    (async () => {
      s3 = await testS3();
      artifactRoot = `s3://${await s3.bucket('ray')}/medtune`;
      // Every node's environment (so every entrypoint's): the S3 endpoint, keys and root...
      return startRay(join(work, 'ray'), 2, 1, {
        ...s3.env,
        MEDTUNE_S3_ROOTS: artifactRoot,
        MEDTUNE_TRAINER_ARTIFACT_ROOT: join(work, 'artifacts'),
        MEDTUNE_TRAINER_LOG_LEVEL: 'info',
      });
    })(),
    importTinyDataset(work, tinyModelDir(), serviceEnv(), mongo.dbNameFor('dataset')),
  ]);
  ray = cluster;
  datasetSvc = imported.proc;
  datasetAddress = imported.address;
  digest = imported.digest;
  const dash = new URL(ray.dashboard);
  proxy = new RayProxy(await freePort(), { host: dash.hostname, port: Number(dash.port) });
  await proxy.open();
  trainingPort = await freePort();
  trainingSvc = await startTrainingService();
  jobs = createClient(training.TrainingServiceClient, `127.0.0.1:${trainingPort}`, { defaultDeadlineMs: 20_000 });
  collector = await collectEvents(nats.nc, nats.subject('medtune.training.>'));
}, 300_000);

afterAll(async () => {
  await collector?.stop();
  jobs?.close();
  await trainingSvc?.stop();
  await datasetSvc?.stop();
  await proxy?.close();
  await ray?.down();
  await s3?.stop();
  await nats?.cleanup();
  await mongo?.cleanup();
  if (work) rmSync(work, { recursive: true, force: true });
}, 120_000);

describe('the Ray executor on a real local Ray cluster (head + 2 one-GPU nodes)', () => {
  let a: string;
  let b: string;
  let cancelledWhileWaiting: string;

  it('runs two jobs side by side on the two nodes; a third waits QUEUED with the reason, and cancelling it stops its Ray job', async () => {
    a = (await jobs.unary('createJob', tinyJob('ray-a', A_STEPS, {}, 3))).job!.jobId;
    b = (await jobs.unary('createJob', tinyJob('ray-b', 2000))).job!.jobId;
    await Promise.all([waitForState(a, S.JOB_STATE_RUNNING), waitForState(b, S.JOB_STATE_RUNNING)]);
    const [ra, rb] = await Promise.all([waitForRay(sidOf(a, 1), ['RUNNING']), waitForRay(sidOf(b, 1), ['RUNNING'])]);
    const [na, nb] = await Promise.all([ray.nodeIndex(ra.driver_node_id!), ray.nodeIndex(rb.driver_node_id!)]);
    expect([na, nb].sort()).toEqual([0, 1]);
    // The trainer of each registered under its submission id.
    expect((await getJob(a)).workerId).toBe(sidOf(a, 1));
    // Nothing secret in what Ray stores of a submission (the keys are in the nodes' environment).
    expect(JSON.stringify(ra)).not.toContain(s3.secretKey);
    expect(JSON.stringify(ra)).toContain('medtune_trainer.ray_job');

    const c = (await jobs.unary('createJob', tinyJob('ray-c', 4))).job!.jobId;
    await waitFor(async () => (await getJob(c)).waitingReason.includes('waiting for 1 GPU on the Ray cluster'), 30_000);
    const waiting = await getJob(c);
    expect(waiting.state).toBe(S.JOB_STATE_QUEUED);
    expect(waiting.waitingReason).toBe(`waiting for 1 GPU on the Ray cluster (submission ${sidOf(c, 1)})`);
    expect((await ray.job(sidOf(c, 1)))?.status).toBe('PENDING');
    // The CLI shows it too.
    expect((await cli(['train', 'show', c])).out).toContain('waiting for 1 GPU on the Ray cluster');

    expect((await jobs.unary('cancelJob', { jobId: c, reason: 'not needed' })).job?.state).toBe(S.JOB_STATE_CANCELLED);
    // Ray's own stop of a job it has not placed waits for the placement: the executor drops the
    // pending job at once (a small drop job kills its unplaced supervisor) while both GPUs are
    // still busy; it ends without ever starting its entrypoint, and the drop job is deleted.
    const dropped = await waitForRay(sidOf(c, 1), ['FAILED', 'STOPPED'], 45_000);
    expect(dropped.message).toContain('Job supervisor actor died');
    expect((await Promise.all([ray.job(sidOf(a, 1)), ray.job(sidOf(b, 1))])).map((j) => j?.status)).toEqual(['RUNNING', 'RUNNING']);
    await waitFor(async () => (await ray.job(`${sidOf(c, 1)}-drop`)) === undefined, 30_000);
    cancelledWhileWaiting = c;
  }, 300_000);

  it('a node lost mid-job: RECOVERING, waits (not fails) behind the busy GPU, resumes on the other node from its checkpoint; every metric stored once', async () => {
    await collector.waitFor((e) => e.subject.endsWith('medtune.training.checkpoint.saved') && events.CheckpointSaved.decode(e.data).jobId === a, 120_000);
    const first = await ray.job(sidOf(a, 1));
    const lostNode = await ray.nodeIndex(first!.driver_node_id!);
    expect((await getJob(a)).state).toBe(S.JOB_STATE_RUNNING);
    await ray.killNode(lostNode!);
    await collector.waitFor((e) => e.subject.endsWith('medtune.training.job.recovering') && !!e.id?.startsWith(`${a}:`), 60_000);

    // The other node's GPU is busy with b: attempt 2 waits for it, longer than the unsatisfiable
    // limit, and does not fail (a node that can fit it exists).
    await waitFor(async () => (await getJob(a)).waitingReason === `waiting for 1 GPU on the Ray cluster (submission ${sidOf(a, 2)})`, 60_000);
    await new Promise((r) => setTimeout(r, (UNSATISFIABLE_S + 3) * 1000));
    expect((await getJob(a)).state).toBe(S.JOB_STATE_RECOVERING);
    expect((await ray.job(sidOf(a, 2)))?.status).toBe('PENDING');

    // Cancel b while it runs: its trainer stops, its Ray job ends, a's attempt 2 gets the GPU.
    expect(liveMetricsOf(b).length).toBeGreaterThan(0);
    expect((await jobs.unary('cancelJob', { jobId: b, reason: 'make room' })).job?.state).toBe(S.JOB_STATE_CANCEL_REQUESTED);
    const cancelled = await waitForState(b, S.JOB_STATE_CANCELLED, 60_000);
    expect(cancelled.progress?.step ?? 0).toBeLessThan(2000);
    await waitForRay(sidOf(b, 1), ['STOPPED', 'SUCCEEDED'], 60_000);

    const done = await waitForState(a, S.JOB_STATE_SUCCEEDED, 300_000);
    expect(done.attempt).toBe(2);
    expect(done.workerId).toBe(sidOf(a, 2));
    const second = await ray.job(sidOf(a, 2));
    expect(await ray.nodeIndex(second!.driver_node_id!)).toBe(1 - lostNode!);
    // Ray did not retry attempt 1 by itself: it ended, and there is one Ray job per attempt.
    expect((await ray.job(sidOf(a, 1)))?.status).toMatch(/FAILED|STOPPED/);
    expect(await ray.job(sidOf(a, 3))).toBeUndefined();

    // The job cancelled while waiting: its Ray job stayed dropped (it never took the GPU b freed).
    expect((await ray.job(sidOf(cancelledWhileWaiting, 1)))?.status).toBe('FAILED');
    const c = await getJob(cancelledWhileWaiting);
    expect(c.history.map((h) => h.state)).toEqual([S.JOB_STATE_VALIDATING, S.JOB_STATE_QUEUED, S.JOB_STATE_CANCELLED]);
    expect(liveMetricsOf(cancelledWhileWaiting)).toEqual([]);

    const restart = done.history.filter((h) => h.state === S.JOB_STATE_STARTING)[1]!;
    const resumedFrom = /resuming from (\S+)\)/.exec(restart.reason)?.[1];
    expect(resumedFrom?.startsWith(`${artifactRoot}/`)).toBe(true);
    const checkpoints = (await jobs.unary('listCheckpoints', { jobId: a })).checkpoints;
    const resumeStep = checkpoints.find((ck) => ck.uri === resumedFrom)?.step ?? 0;
    expect(resumeStep).toBeGreaterThanOrEqual(3);
    // Tracking's input: every logged step stored once (no message id twice), attempt 1 up to
    // where it died, attempt 2 from the step after the checkpoint to the end.
    const ids = (await storedMessages(nats.jsm, nats.streamName('MEDTUNE_TRAINING'))).filter((m) => m.id.startsWith(`${a}:`)).map((m) => m.id);
    expect(ids).toEqual([...new Set(ids)]);
    const steps = (await storedMetricsOf(a)).map((m) => m.step);
    // (attempt 1 may have died right at its checkpoint: then the steps simply run 1..A_STEPS.)
    const back = steps.findIndex((s, i) => i > 0 && s <= steps[i - 1]!);
    const cut = back < 0 ? resumeStep : back;
    expect(steps.slice(0, cut)).toEqual(Array.from({ length: cut }, (_, i) => i + 1));
    expect(cut).toBeGreaterThanOrEqual(resumeStep);
    expect(steps.slice(cut)).toEqual(Array.from({ length: A_STEPS - resumeStep }, (_, i) => resumeStep + 1 + i));
  }, 540_000);

  it('a job asking for more GPUs than any node has fails FAILED_PRECONDITION with a clear message', async () => {
    const big = (await jobs.unary('createJob', tinyJob('ray-big', 4, { hyperparameters: { gpus: 4, batchSize: 1 } }))).job!.jobId;
    await waitFor(async () => (await getJob(big)).waitingReason.startsWith('waiting for a Ray node that can fit 4 GPUs: GPU 4 asked, the largest node has 1'), 30_000);
    expect((await getJob(big)).state).toBe(S.JOB_STATE_QUEUED);
    const failed = await waitFor(async () => {
      const j = await getJob(big);
      return j.state === S.JOB_STATE_FAILED ? j : undefined;
    }, (UNSATISFIABLE_S + 30) * 1000);
    expect(failed.failure?.message).toMatch(
      /hyperparameters\.gpus: no node of the Ray cluster can run a job of 4 GPUs \(GPU 4 asked, the largest node has 1 \(\d alive nodes?\); waited \d+ s for one to join; nothing was submitted\)/,
    );
    // Never submitted: Ray would keep it pending (a stop waits for a placement that never comes).
    expect(await ray.job(sidOf(big, 1))).toBeUndefined();
  }, 120_000);

  it('Ray unreachable: the job stays QUEUED and is submitted once Ray answers; the service restarted mid-job re-attaches; train logs reads the Ray log', async () => {
    await proxy.close();
    const d = (await jobs.unary('createJob', tinyJob('ray-d', 6))).job!.jobId;
    await new Promise((r) => setTimeout(r, 5_000));
    expect((await getJob(d)).state).toBe(S.JOB_STATE_QUEUED);
    expect(await ray.job(sidOf(d, 1))).toBeUndefined();
    expect(trainingSvc.logs()).toMatch(/cannot be reached/);
    await proxy.open();
    await waitForState(d, S.JOB_STATE_RUNNING, 180_000);
    await waitFor(() => liveMetricsOf(d).length >= 2, 90_000, { intervalMs: 50 });

    trainingSvc.kill('SIGKILL');
    await trainingSvc.exited;
    trainingSvc = await startTrainingService();
    const done = await waitForState(d, S.JOB_STATE_SUCCEEDED, 180_000);
    expect(done.attempt).toBe(1);
    expect(trainingSvc.logs()).toContain('"reattached":1');
    const steps = (await storedMetricsOf(d)).map((m) => m.step);
    expect(steps).toEqual([1, 2, 3, 4, 5, 6]);

    const logs = await cli(['train', 'logs', d]);
    expect(logs.code).toBe(EXIT.OK);
    expect(logs.out).toContain(`medtune-trainer for job ${d}`);
    expect(logs.err).toContain(`ray job ${sidOf(d, 1)}`);
    const missing = await cli(['train', 'logs', 'job-does-not-exist']);
    expect(missing.code).toBe(EXIT.NOT_FOUND);
  }, 480_000);

  it('the whole pipeline with training on Ray and s3:// artifacts: import → train on Ray → register from s3:// → evaluate → promote', async () => {
    // The local stack (deploy/local/stack.sh: five services, a CPU trainer for the evaluations)
    // with EXECUTOR=ray on this cluster, its artifact root on the bucket, its own NATS namespace
    // and databases; `medtune run`.
    await trainingSvc.stop();
    const stackNats = await testNats();
    const stackMongo = await testMongo();
    const model = 'ray-medical';
    const file = join(work, 'pipeline.yaml');
    writeFileSync(
      file,
      [
        'version: 1',
        `name: ${model}`,
        `base_model: ${join(repoRoot, 'var/models/tiny-qwen2')}`,
        `dataset: { name: ray-medical-zh, path: ${join(repoRoot, 'examples/demo/data/train.json')}, eval_ratio: 0.1 }`,
        'training: { backend: hf, precision: fp32, max_seq_length: 512, batch_size: 2, gradient_accumulation_steps: 1, learning_rate: 1.0e-2, warmup_steps: 0, optimizer: adamw_torch, logging_steps: 1, max_steps: 3, lora: { r: 8, alpha: 16 } }',
        'export: { adapter: true, merged_16bit: true, gguf: false }',
        `evaluation: { set: ray-mcq, set_path: ${join(repoRoot, 'examples/demo/data/eval.jsonl')}, set_kind: multiple_choice, max_new_tokens: 24, automation_timeout_s: 180 }`,
        `register: { model: ${model}, metric: accuracy }`,
        '',
      ].join('\n'),
    );
    const stack = await startStack(stackNats, stackMongo, {
      MEDTUNE_VAR_DIR: join(work, 'stack'),
      MEDTUNE_TRAINING_EXECUTOR: 'ray',
      MEDTUNE_TRAINING_RAY_ADDRESS: ray.dashboard,
      MEDTUNE_TRAINING_RAY_PYTHON: python,
      MEDTUNE_TRAINING_RAY_PREFIX: 'stack',
      MEDTUNE_DATA_ROOTS: `${dataRoots}:${join(repoRoot, 'examples')}`,
      MEDTUNE_STACK_ARTIFACT_ROOT: `${artifactRoot}/stack`,
      // The registry verifies, and the stack's trainer fetches, from the bucket.
      ...s3.env,
      MEDTUNE_S3_ROOTS: artifactRoot,
    });
    try {
      const r = await medtune(stack, ['run', file, '--json']);
      expect(r.code, r.stderr.slice(-4000)).toBe(0);
      const summary = JSON.parse(r.stdout) as { job: { jobId: string; state: string }; model: { name: string; version: number; status: string }; evaluation: { evaluationId: string }; comparison: { comparisonId: string }; alias: { alias: string } };
      expect(summary.job.state).toBe('succeeded');
      expect(summary.model).toMatchObject({ name: model, version: 1, status: 'ready' });
      expect(summary.evaluation.evaluationId).toBeTruthy();
      expect(summary.comparison.comparisonId).toBeTruthy();
      expect(summary.alias.alias).toBeTruthy();
      // Trained by a Ray job (the stack's own trainer only answered the evaluations).
      expect((await ray.job(`stack-${summary.job.jobId}-a1`))?.status).toMatch(/SUCCEEDED|STOPPED/);
      // Registered and verified READY from the bucket: every artifact of the version is s3://.
      const reg = createClient(registry.RegistryServiceClient, stack.addrs.MEDTUNE_REGISTRY_ADDR!, { defaultDeadlineMs: 15_000 });
      try {
        const v = (await reg.unary('getModelVersion', { name: model, version: 1 })).version!;
        expect(v.status).toBe(registry.ModelVersionStatus.MODEL_VERSION_STATUS_READY);
        expect(v.artifacts.map((a) => a.kind).sort()).toEqual([common.ArtifactKind.ARTIFACT_KIND_ADAPTER, common.ArtifactKind.ARTIFACT_KIND_MERGED_16BIT].sort());
        for (const a of v.artifacts) expect(a.uri.startsWith(`${artifactRoot}/stack/${summary.job.jobId}/`), a.uri).toBe(true);
      } finally {
        reg.close();
      }
      // The stack's trainer loaded the version from the bucket (its s3:// cache) for the evaluation.
      const cached = await readdir(join(work, 'stack', 'artifacts', '.s3-cache')).catch(() => []);
      expect(cached.length).toBeGreaterThan(0);
      const stackLogs = await readStackLogs(join(work, 'stack', 'log'));
      expect(stackLogs).not.toContain(s3.secretKey);
    } finally {
      await stack.down().catch(() => undefined);
      await stackNats.cleanup();
      await stackMongo.cleanup();
    }
  }, 900_000);
});
