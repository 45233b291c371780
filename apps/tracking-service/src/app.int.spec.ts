/**
 * The tracking service against real servers: FerretDB, NATS JetStream and gRPC on port 0. Job,
 * progress, metric and evaluation events are published by the test through the kit's publisher
 * exactly as the training and evaluation services publish them (subjects from the catalog, ce-id
 * `<job>:<sequence>`, Nats-Msg-Id = ce-id).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jetstreamManager } from '@nats-io/jetstream';
import { JOB_STATE_SUBJECTS, SUBJECTS, evaluation, events, tracking, training } from '@medtune/contracts';
import { InvalidArgumentError, NotFoundError, createClient, createLogger, createPublisher, natsNamespace, type KitClient, type Publisher } from '@medtune/kit';
import { collectEvents, testMongo, testNats, waitFor, type EventCollector, type TestMongo, type TestNats } from '@medtune/testing';
import { startTracking, type TrackingApp } from './app';
import { loadTrackingConfig, type TrackingConfig } from './config';
import { MongoMetricLog } from './repo/metric-log';

type Client = KitClient<typeof tracking.TrackingServiceService>;
const { RunStatus, RunKind, FilterField, Comparator } = tracking;
const { JobState } = training;
const log = createLogger({ service: 'tracking-service-test', level: 'warn' });

let nats: TestNats;
let mongo: TestMongo;
let cfg: TrackingConfig;
let app: TrackingApp;
let client: Client;
let collector: EventCollector;
let trainingPub: Publisher;
let evaluationPub: Publisher;

async function stopApp(a: TrackingApp): Promise<void> {
  await Promise.all([...a.consumers.map((c) => c.stop()), a.server.shutdown({ graceMs: 2_000 })]);
  await a.stopBackground();
  await a.nc.drain();
  await a.mongo.close();
}

beforeAll(async () => {
  nats = await testNats();
  mongo = await testMongo();
  cfg = loadTrackingConfig({
    MEDTUNE_TRACKING_GRPC_ADDR: '127.0.0.1:0',
    MEDTUNE_TRACKING_DB: mongo.dbName,
    MEDTUNE_NATS_URL: nats.url,
    MEDTUNE_MONGODB_URI: mongo.uri,
    MEDTUNE_NATS_NAMESPACE: nats.id,
    MEDTUNE_TRACKING_CRASH_TIMEOUT: '1500ms',
    MEDTUNE_TRACKING_CRASH_SWEEP_INTERVAL: '100ms',
    MEDTUNE_TRACKING_SUMMARY_INTERVAL: '100ms',
    MEDTUNE_TRACKING_WATCH_POLL: '200ms',
    MEDTUNE_TRACKING_WATCH_END_GRACE: '300ms',
    MEDTUNE_TRACKING_METRIC_BATCH_DELAY: '10ms',
    MEDTUNE_LOG_LEVEL: 'warn',
  });
  collector = await collectEvents(nats.nc, nats.subject('medtune.tracking.>'));
  app = await startTracking(cfg, log);
  client = createClient(tracking.TrackingServiceClient, `127.0.0.1:${app.port}`, { defaultDeadlineMs: 30_000 });
  const namespace = natsNamespace(nats.id);
  trainingPub = createPublisher(nats.nc, { source: 'medtune/training-service', namespace });
  evaluationPub = createPublisher(nats.nc, { source: 'medtune/evaluation-service', namespace });
});

afterAll(async () => {
  client?.close();
  if (app) await stopApp(app);
  await collector?.stop();
  await nats?.cleanup();
  await mongo?.cleanup();
});

function jobOf(jobId: string, o: Partial<training.Job> = {}): training.Job {
  return training.Job.fromPartial({
    jobId,
    trackingRunId: jobId,
    displayName: `job ${jobId}`,
    experiment: 'medical-o1',
    baseModel: '/models/tiny-qwen2',
    datasetDigest: 'sha256:d1',
    hyperparameters: { batchSize: 2, gradientAccumulationSteps: 4, warmupSteps: 5, learningRate: 2e-4, optimizer: 'adamw_8bit', weightDecay: 0.01, seed: 8137, loggingSteps: 10, numTrainEpochs: 3 },
    lora: { r: 32, alpha: 16, dropout: 0, bias: 'none', targetModules: ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj'], randomState: 8137 },
    tags: { owner: 'tests' },
    ...o,
  });
}

/** Publishes a job state change the way the training service does. */
async function publishState(job: training.Job, state: training.JobState, sequence: number): Promise<void> {
  const spec = JOB_STATE_SUBJECTS.get(state)!;
  await trainingPub.publish(spec, { job: { ...job, state, lastSequence: sequence }, previousState: 0, state, reason: 'test', time: new Date(), sequence }, { id: `${job.jobId}:${sequence}` });
}

async function publishMetrics(jobId: string, sequence: number, step: number, values: Record<string, number>, id = `${jobId}:${sequence}`): Promise<void> {
  await trainingPub.publish(SUBJECTS.trainingMetricsLogged, { jobId, runId: jobId, sequence, step, values, time: new Date() }, { id });
}

async function publishProgress(jobId: string, sequence: number, step: number): Promise<void> {
  await trainingPub.publish(SUBJECTS.trainingJobProgressed, { jobId, runId: jobId, attempt: 1, progress: { step, totalSteps: 100, epoch: step / 10, etaSeconds: 1, tokensPerSecond: 100 }, sequence, time: new Date() }, { id: `${jobId}:${sequence}` });
}

const run = async (runId: string) => (await client.unary('getRun', { runId })).run!;
const count = (r: tracking.Run, key: string) => r.metrics.find((m) => m.key === key)?.count ?? 0;

async function fieldOf(p: Promise<unknown>): Promise<string> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(InvalidArgumentError);
  return (err as InvalidArgumentError).field;
}

describe('training runs from job events', () => {
  const STEPS = 40;

  it('a job opens its run with its params, follows its state, and stores every metric it logged', async () => {
    const job = jobOf('job_flow');
    let seq = 0;
    await publishState(job, JobState.JOB_STATE_QUEUED, ++seq);
    await publishState(job, JobState.JOB_STATE_STARTING, ++seq);
    await publishState(job, JobState.JOB_STATE_RUNNING, ++seq);
    for (let step = 1; step <= STEPS; step++) {
      await publishProgress(job.jobId, ++seq, step);
      await publishMetrics(job.jobId, ++seq, step, { loss: 3 / step, learning_rate: 2e-4 * (1 - step / STEPS), grad_norm: 1 + (step % 3), 'system/cpu_percent': 40 + step });
    }
    await publishState(job, JobState.JOB_STATE_UPLOADING, ++seq);
    await publishState(job, JobState.JOB_STATE_SUCCEEDED, ++seq);

    const r = await waitFor(async () => {
      const x = await run('job_flow');
      return x.status === RunStatus.RUN_STATUS_FINISHED && count(x, 'loss') === STEPS && count(x, 'system/cpu_percent') === STEPS ? x : undefined;
    }, 30_000);
    expect(r).toMatchObject({ experiment: 'medical-o1', kind: RunKind.RUN_KIND_TRAINING, sourceId: 'job_flow', tags: { owner: 'tests' } });
    expect(r.params).toMatchObject({
      learning_rate: '0.0002',
      batch_size: '2',
      gradient_accumulation_steps: '4',
      warmup_steps: '5',
      optimizer: 'adamw_8bit',
      seed: '8137',
      num_train_epochs: '3',
      'lora.r': '32',
      'lora.alpha': '16',
      'lora.target_modules': 'q_proj,k_proj,v_proj,o_proj,gate_proj,up_proj,down_proj',
      base_model: '/models/tiny-qwen2',
      dataset_digest: 'sha256:d1',
    });
    expect(r.metrics.find((m) => m.key === 'loss')).toEqual({ key: 'loss', last: 3 / STEPS, min: 3 / STEPS, max: 3, lastStep: STEPS, count: STEPS });
    expect(r.endTime).toBeInstanceOf(Date);
    const history = await client.unary('getMetricHistory', { runId: 'job_flow', key: 'grad_norm', maxPoints: 0, startStep: 0, endStep: 0 });
    expect(history.totalPoints).toBe(STEPS);
    expect(history.points.map((p) => p.step)).toEqual(Array.from({ length: STEPS }, (_, i) => i + 1));

    // Run events: created, then each status change, with deterministic ids.
    await collector.waitForSequence([(e) => e.id === 'job_flow:created', (e) => e.id === 'job_flow:status:1', (e) => e.id === 'job_flow:status:2']);
    const finished = events.RunChanged.decode(collector.events.find((e) => e.id === 'job_flow:status:2')!.data);
    expect(finished.run).toMatchObject({ runId: 'job_flow', status: RunStatus.RUN_STATUS_FINISHED });
    expect(finished.previousStatus).toBe(RunStatus.RUN_STATUS_RUNNING);
    expect(collector.events.find((e) => e.id === 'job_flow:created')!.headers['ce-source']).toBe('medtune/tracking-service');
  });

  it('duplicated and redelivered metric messages never duplicate a point', async () => {
    // The same step published again under other message ids: the stream keeps both copies.
    for (let step = 1; step <= 5; step++) await publishMetrics('job_flow', 1_000 + step, step, { loss: 99 }, `dup-${step}`);
    await publishMetrics('job_flow', 2_000, STEPS + 1, { loss: 0.01 }, 'job_flow:2000');
    await waitFor(async () => count(await run('job_flow'), 'loss') === STEPS + 1, 20_000);

    // A full redelivery: the service restarts with its metric consumer reset, so JetStream
    // delivers every metric message of the stream again.
    await stopApp(app);
    const jsm = await jetstreamManager(nats.nc);
    await jsm.consumers.delete(nats.streamName('MEDTUNE_TRAINING'), 'tracking-metrics');
    app = await startTracking(cfg, log);
    client.close();
    client = createClient(tracking.TrackingServiceClient, `127.0.0.1:${app.port}`, { defaultDeadlineMs: 30_000 });
    await publishMetrics('job_flow', 3_000, STEPS + 2, { loss: 0.005 }, 'job_flow:3000'); // behind the redelivered ones
    const r = await waitFor(async () => {
      const x = await run('job_flow');
      return x.metrics.find((m) => m.key === 'loss')?.lastStep === STEPS + 2 ? x : undefined;
    }, 30_000);
    // Every message of the stream went through the new consumer (and was acked) before we count.
    await waitFor(async () => {
      const info = await jsm.consumers.info(nats.streamName('MEDTUNE_TRAINING'), 'tracking-metrics');
      return info.num_pending === 0 && info.num_ack_pending === 0 && info.delivered.consumer_seq >= STEPS + 7;
    }, 30_000);
    await new Promise((resolve) => setTimeout(resolve, 300)); // summaries are written every 100 ms
    expect((await run('job_flow')).metrics.find((m) => m.key === 'loss')).toMatchObject({ count: STEPS + 2, max: 3, min: 0.005, last: 0.005 });
    for (const key of ['learning_rate', 'grad_norm', 'system/cpu_percent']) expect(count(r, key)).toBe(STEPS);
    const stored = await new MongoMetricLog(mongo.db).read('job_flow');
    const lossSteps = stored.flatMap((c) => c.series.filter((s) => s.key === 'loss').flatMap((s) => s.steps));
    expect(lossSteps).toHaveLength(STEPS + 2);
    expect(new Set(lossSteps).size).toBe(STEPS + 2);
    const history = await client.unary('getMetricHistory', { runId: 'job_flow', key: 'loss', maxPoints: 10_000, startStep: 1, endStep: 5 });
    expect(history.points.map((p) => p.value)).toEqual([3, 1.5, 1, 0.75, 0.6]); // the first values, not the 99s
  });

  it('a job whose heartbeats stop turns CRASHED, and RUNNING again when they resume', async () => {
    const job = jobOf('job_crash');
    await publishState(job, JobState.JOB_STATE_RUNNING, 1);
    await publishProgress(job.jobId, 2, 1);
    await waitFor(async () => (await run('job_crash')).status === RunStatus.RUN_STATUS_CRASHED, 15_000);
    await collector.waitFor((e) => e.id === 'job_crash:status:1');
    expect(events.RunChanged.decode(collector.events.find((e) => e.id === 'job_crash:status:1')!.data).run!.status).toBe(RunStatus.RUN_STATUS_CRASHED);
    // The job recovered on another worker: progress again.
    await publishProgress(job.jobId, 3, 2);
    await waitFor(async () => (await run('job_crash')).status === RunStatus.RUN_STATUS_RUNNING, 15_000);
    await collector.waitFor((e) => e.id === 'job_crash:status:2');
    await publishState(job, JobState.JOB_STATE_CANCELLED, 4);
    await waitFor(async () => (await run('job_crash')).status === RunStatus.RUN_STATUS_KILLED, 15_000);
  });

  it('an evaluation run attaches to its training run', async () => {
    const e = evaluation.Evaluation.fromPartial({
      evaluationId: 'eval_after',
      trackingRunId: 'job_flow',
      registryName: 'medical-r1',
      registryVersion: 1,
      baseModel: '/models/tiny-qwen2',
      evalSet: 'seed-question',
      status: evaluation.EvaluationStatus.EVALUATION_STATUS_RUNNING,
    });
    await evaluationPub.publish(SUBJECTS.evaluationRunStarted, { evaluation: e }, { id: 'eval_after:started' });
    await evaluationPub.publish(SUBJECTS.evaluationRunCompleted, { evaluation: { ...e, status: evaluation.EvaluationStatus.EVALUATION_STATUS_COMPLETED, scores: { items: 1, formatCompliance: 1, completionTokensP50: 320, completionTokensP90: 320, completionTokensP99: 320, truncatedShare: 0, unparsedAnswers: 0 } } }, { id: 'eval_after:completed' });
    const r = await waitFor(async () => {
      const x = await run('eval_after').catch(() => undefined);
      return x?.status === RunStatus.RUN_STATUS_FINISHED && count(x, 'format_compliance') === 1 ? x : undefined;
    }, 15_000);
    expect(r).toMatchObject({ parentRunId: 'job_flow', experiment: 'medical-o1', kind: RunKind.RUN_KIND_EVALUATION });
    expect(r.params['model']).toBe('medical-r1@1');
  });

  it('an event that cannot be a run goes to the dead letters, and the consumer goes on', async () => {
    await trainingPub.publish(JOB_STATE_SUBJECTS.get(JobState.JOB_STATE_QUEUED)!, { job: undefined, previousState: 0, state: JobState.JOB_STATE_QUEUED, reason: '', time: new Date(), sequence: 1 }, { id: 'poison:1' });
    await publishState(jobOf('job_after_poison'), JobState.JOB_STATE_QUEUED, 1);
    await waitFor(async () => (await run('job_after_poison').catch(() => undefined))?.status === RunStatus.RUN_STATUS_SCHEDULED, 15_000);
    const letters = await waitFor(async () => {
      const rows = await mongo.db.collection<{ consumer: string; error: string }>('dead_letters').find({ consumer: 'tracking-jobs' }).toArray();
      return rows.length ? rows : undefined;
    }, 15_000);
    expect(letters[0]!.error).toContain('job.job_id');
  });
});

describe('the API', () => {
  const create = (o: Partial<tracking.CreateRunRequest>) =>
    client.unary('createRun', tracking.CreateRunRequest.fromPartial({ experiment: 'api', ...o }));

  it('search, compare and history over gRPC', async () => {
    for (const [runId, lr, loss] of [
      ['api_a', '2e-4', [3, 2, 1]],
      ['api_b', '1e-3', [3, 2.5]],
      ['api_c', '0.0002', [4, 0.5]],
    ] as const) {
      await create({ runId, params: { lr }, tags: { stage: runId === 'api_a' ? 'champion' : 'dev' }, status: RunStatus.RUN_STATUS_FINISHED });
      expect(await client.unary('logMetrics', { runId, points: loss.map((value, step) => ({ key: 'eval/loss', step, value, time: undefined })) })).toEqual({ stored: loss.length, duplicates: 0 });
    }
    const found = await waitFor(async () => {
      const res = await client.unary('searchRuns', tracking.SearchRunsRequest.fromPartial({
        experiments: ['api'],
        filters: [{ field: FilterField.FILTER_FIELD_PARAM, key: 'lr', comparator: Comparator.COMPARATOR_EQ, value: '0.0002' }],
        orderBy: 'metric.eval/loss asc',
      }));
      return res.runs.length === 2 && res.runs.every((r) => r.metrics.length) ? res : undefined;
    });
    expect(found.runs.map((r) => r.runId)).toEqual(['api_c', 'api_a']);
    const page1 = await client.unary('searchRuns', tracking.SearchRunsRequest.fromPartial({ experiments: ['api'], orderBy: 'param.lr desc', pageSize: 2 }));
    const page2 = await client.unary('searchRuns', tracking.SearchRunsRequest.fromPartial({ experiments: ['api'], orderBy: 'param.lr desc', pageSize: 2, pageToken: page1.nextPageToken }));
    expect([...page1.runs, ...page2.runs].map((r) => r.runId)).toEqual(['api_b', 'api_a', 'api_c']);
    const cmp = await client.unary('compareRuns', { runIds: ['api_a', 'api_b'], metricKeys: ['eval/loss'] });
    expect(cmp.params).toEqual([{ key: 'lr', values: ['2e-4', '1e-3'], differs: true }]);
    expect(cmp.metrics[0]!.summaries.map((s) => s.last)).toEqual([1, 2.5]);

    await create({ runId: 'api_long' });
    const points = Array.from({ length: 5_000 }, (_, step) => ({ key: 'loss', step, value: step === 2_500 ? 50 : 1 / (step + 1), time: undefined }));
    for (let i = 0; i < points.length; i += 2_500) await client.unary('logMetrics', { runId: 'api_long', points: points.slice(i, i + 2_500) });
    const h = await client.unary('getMetricHistory', { runId: 'api_long', key: 'loss', maxPoints: 100, startStep: 0, endStep: 0 });
    expect(h.totalPoints).toBe(5_000);
    expect(h.points.length).toBeLessThanOrEqual(100);
    expect(h.points[0]!.step).toBe(0);
    expect(h.points.at(-1)!.step).toBe(4_999);
    expect(h.points.some((p) => p.step === 2_500 && p.value === 50)).toBe(true);
    await client.unary('updateRunStatus', { runId: 'api_long', status: RunStatus.RUN_STATUS_FINISHED });
  });

  it('WatchRun streams the run, then points from NATS as they are stored, then the status change', async () => {
    const job = jobOf('job_watch');
    await publishState(job, JobState.JOB_STATE_RUNNING, 1);
    await waitFor(async () => (await run('job_watch').catch(() => undefined))?.status === RunStatus.RUN_STATUS_RUNNING);
    const got: tracking.WatchRunResponse[] = [];
    const watching = (async () => {
      for await (const m of client.serverStream('watchRun', { runId: 'job_watch', keys: ['loss'] }, { deadlineMs: 30_000 })) got.push(m);
    })();
    await waitFor(() => got.length >= 1);
    expect(got[0]!.update?.$case).toBe('run');
    await new Promise((r) => setTimeout(r, 100)); // the subscription is in place before the first point
    for (let step = 1; step <= 5; step++) await publishMetrics('job_watch', 1 + step, step, { loss: step, lr: 1 });
    const streamed = () => got.flatMap((m) => (m.update?.$case === 'metrics' ? m.update.metrics.points : []));
    await waitFor(() => streamed().length === 5, 15_000);
    expect(streamed().map((p) => [p.key, p.step])).toEqual([1, 2, 3, 4, 5].map((s) => ['loss', s]));
    await publishState(job, JobState.JOB_STATE_SUCCEEDED, 10);
    await watching; // ends shortly after the run ended
    expect(got.at(-1)!.update).toMatchObject({ $case: 'run', run: { status: RunStatus.RUN_STATUS_FINISHED } });
  });

  it('bad requests get field-level errors; unknown runs NOT_FOUND', async () => {
    expect(await fieldOf(create({ runId: 'has space' }))).toBe('run_id');
    expect(await fieldOf(create({ params: { '': 'x' } }))).toBe('params[""]');
    expect(await fieldOf(client.unary('logMetrics', { runId: 'api_a', points: [{ key: 'loss', step: 1, value: Number.NaN, time: undefined }] }))).toBe('points[0].value');
    expect(await fieldOf(client.unary('getMetricHistory', { runId: 'api_a', key: 'loss', maxPoints: 1, startStep: 0, endStep: 0 }))).toBe('max_points');
    expect(await fieldOf(client.unary('searchRuns', tracking.SearchRunsRequest.fromPartial({ filters: [{ field: FilterField.FILTER_FIELD_METRIC_LAST, key: 'loss', comparator: Comparator.COMPARATOR_LT, value: 'small' }] })))).toBe('filters[0].value');
    expect(await fieldOf(client.unary('compareRuns', { runIds: ['api_a'], metricKeys: [] }))).toBe('run_ids');
    expect(await fieldOf(client.unary('setTags', { runId: 'api_a', set: { a: '1' }, remove: ['a'] }))).toBe('remove[0]');
    await expect(client.unary('getRun', { runId: 'nope' })).rejects.toBeInstanceOf(NotFoundError);
    const params = await client.unary('logParams', { runId: 'api_a', params: { lr: '2e-4', extra: '1' } });
    expect(params.written).toEqual(['extra']);
    await expect(client.unary('logParams', { runId: 'api_a', params: { lr: '5' } })).rejects.toThrow(/written once/);
  });
});
