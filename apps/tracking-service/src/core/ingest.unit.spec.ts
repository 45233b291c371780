import { describe, expect, it, vi } from 'vitest';
import { evaluation, events, tracking, training } from '@medtune/contracts';
import { MemoryDirtyMarks, MemoryMetricLog, MemoryRunRepo } from './memory';
import { coreHarness } from './testing';
import { watchRun } from './watch';

const { RunStatus, RunKind } = tracking;
const { JobState } = training;

const job = training.Job.fromPartial({
  jobId: 'job_1',
  trackingRunId: 'job_1',
  displayName: 'seed recipe',
  experiment: 'medical-o1',
  baseModel: '/models/tiny-qwen2',
  datasetDigest: 'sha256:abc',
  hyperparameters: { batchSize: 2, gradientAccumulationSteps: 4, learningRate: 2e-4, optimizer: 'adamw_8bit', numTrainEpochs: 3, precision: 1 },
  lora: { r: 32, alpha: 16, dropout: 0, targetModules: ['q_proj', 'v_proj'] },
  tags: { team: 'med' },
});
const stateEvt = (state: training.JobState, sequence: number, j: training.Job = job) => events.JobStateChanged.fromPartial({ job: { ...j, state }, state, sequence });
const metricsEvt = (step: number, values: Record<string, number>, sequence = step + 100) => events.MetricsLogged.fromPartial({ jobId: 'job_1', runId: 'job_1', step, values, sequence, time: new Date('2030-01-01T00:00:00Z') });
const statuses = (h: ReturnType<typeof coreHarness>) => h.publisher.published.map((p) => [p.entry.kind, tracking.RunStatus[p.entry.status]]);

describe('training jobs', () => {
  it('a job opens its run with params, tags and experiment; the run follows the job and records every metric', async () => {
    const h = coreHarness();
    const { ingest, core } = h;
    await ingest.onJobStateChanged(stateEvt(JobState.JOB_STATE_QUEUED, 2));
    let run = (await core.getRun({ runId: 'job_1' })).run!;
    expect(run).toMatchObject({ experiment: 'medical-o1', name: 'seed recipe', kind: RunKind.RUN_KIND_TRAINING, status: RunStatus.RUN_STATUS_SCHEDULED, sourceId: 'job_1', tags: { team: 'med' } });
    expect(run.params).toMatchObject({
      learning_rate: '0.0002',
      batch_size: '2',
      gradient_accumulation_steps: '4',
      optimizer: 'adamw_8bit',
      num_train_epochs: '3',
      precision: 'auto',
      'lora.r': '32',
      'lora.alpha': '16',
      'lora.dropout': '0',
      'lora.target_modules': 'q_proj,v_proj',
      base_model: '/models/tiny-qwen2',
      dataset_digest: 'sha256:abc',
      backend: 'auto',
    });
    await ingest.onJobStateChanged(stateEvt(JobState.JOB_STATE_STARTING, 3));
    await ingest.onJobStateChanged(stateEvt(JobState.JOB_STATE_RUNNING, 4));
    for (let step = 10; step <= 50; step += 10) await ingest.onMetricsLogged(metricsEvt(step, { loss: 3 - step / 50, learning_rate: 2e-4, grad_norm: 0.5 }));
    await ingest.onMetricsLogged(metricsEvt(30, { loss: 3 - 30 / 50, learning_rate: 2e-4, grad_norm: 0.5 })); // redelivered
    await ingest.onJobStateChanged(stateEvt(JobState.JOB_STATE_UPLOADING, 60));
    await ingest.onJobStateChanged(stateEvt(JobState.JOB_STATE_SUCCEEDED, 61));
    await ingest.onJobStateChanged(stateEvt(JobState.JOB_STATE_RUNNING, 4)); // late redelivery: ignored
    run = (await core.getRun({ runId: 'job_1' })).run!;
    expect(run.status).toBe(RunStatus.RUN_STATUS_FINISHED);
    expect(run.endTime).toBeInstanceOf(Date);
    expect(run.metrics.find((m) => m.key === 'loss')).toEqual({ key: 'loss', last: 2, min: 2, max: 2.8, lastStep: 50, count: 5 });
    expect(h.metrics.pointsOf('job_1')).toHaveLength(15);
    await vi.waitFor(() =>
      expect(statuses(h)).toEqual([
        ['created', 'RUN_STATUS_SCHEDULED'],
        ['status_changed', 'RUN_STATUS_RUNNING'],
        ['status_changed', 'RUN_STATUS_FINISHED'],
      ]),
    );
    // The summaries are written to the run; the writer forgets the finished run; no dirty mark is left.
    await core.liveness.persist();
    expect((await h.runs.get('job_1'))!.metrics.find((m) => m.key === 'loss')!.count).toBe(5);
    expect(core.writer.cachedSummaries('job_1')).toBeUndefined();
    expect(await h.dirty.list()).toEqual([]);
  });

  it('params are written once: a later event never changes one, but may add missing ones', async () => {
    const h = coreHarness();
    await h.ingest.onJobStateChanged(stateEvt(JobState.JOB_STATE_QUEUED, 1, { ...job, baseModel: '' }));
    await h.ingest.onJobStateChanged(stateEvt(JobState.JOB_STATE_RUNNING, 2, { ...job, hyperparameters: { ...job.hyperparameters, learningRate: 1 } }));
    const params = (await h.core.getRun({ runId: 'job_1' })).run!.params;
    expect(params['learning_rate']).toBe('0.0002');
    expect(params['base_model']).toBe('/models/tiny-qwen2');
  });

  it('metrics that arrive before the job event are kept and show in the run once it exists', async () => {
    const h = coreHarness();
    await h.ingest.onMetricsLogged(metricsEvt(10, { loss: 1.5 }));
    await h.ingest.onJobStateChanged(stateEvt(JobState.JOB_STATE_RUNNING, 5));
    expect((await h.core.getRun({ runId: 'job_1' })).run!.metrics).toEqual([{ key: 'loss', last: 1.5, min: 1.5, max: 1.5, lastStep: 10, count: 1 }]);
  });

  it('a non-finite value is not stored; the rest of the step is, and the run says what was rejected', async () => {
    const h = coreHarness();
    await h.ingest.onJobStateChanged(stateEvt(JobState.JOB_STATE_RUNNING, 1));
    await h.ingest.onMetricsLogged(metricsEvt(10, { loss: NaN, grad_norm: Infinity, learning_rate: 1e-4 }));
    expect(h.metrics.pointsOf('job_1')).toEqual(['learning_rate@10=0.0001']);
    const tags = (await h.core.getRun({ runId: 'job_1' })).run!.tags;
    expect(tags['rejected_metric.loss']).toContain('NaN at step 10');
    expect(tags['rejected_metric.grad_norm']).toContain('Infinity at step 10');
  });

  it('crashes when heartbeats stop while running, and runs again when they resume (recovered elsewhere)', async () => {
    const h = coreHarness({ crashTimeoutMs: 60_000 });
    const { ingest, core } = h;
    await ingest.onJobStateChanged(stateEvt(JobState.JOB_STATE_RUNNING, 1));
    h.advance(50_000);
    ingest.onJobProgressed(events.JobProgressed.fromPartial({ jobId: 'job_1', runId: 'job_1', sequence: 2 }));
    h.advance(50_000); // 100 s after start, 50 s after the progress event
    await core.liveness.sweep();
    expect((await core.getRun({ runId: 'job_1' })).run!.status).toBe(RunStatus.RUN_STATUS_RUNNING);
    await ingest.onJobStateChanged(stateEvt(JobState.JOB_STATE_RECOVERING, 3)); // worker lost: not a heartbeat
    h.advance(11_000);
    await core.liveness.sweep();
    expect((await core.getRun({ runId: 'job_1' })).run!.status).toBe(RunStatus.RUN_STATUS_CRASHED);
    await ingest.onJobStateChanged(stateEvt(JobState.JOB_STATE_STARTING, 4)); // a starting job does not revive it
    expect((await core.getRun({ runId: 'job_1' })).run!.status).toBe(RunStatus.RUN_STATUS_CRASHED);
    await ingest.onMetricsLogged(metricsEvt(60, { loss: 1 }));
    await core.liveness.persist();
    expect((await core.getRun({ runId: 'job_1' })).run!.status).toBe(RunStatus.RUN_STATUS_RUNNING);
    await vi.waitFor(() =>
      expect(statuses(h).slice(-2)).toEqual([
        ['status_changed', 'RUN_STATUS_CRASHED'],
        ['status_changed', 'RUN_STATUS_RUNNING'],
      ]),
    );
  });

  it('does not crash an uploading job (silent by nature) nor a run nobody heartbeats', async () => {
    const h = coreHarness({ crashTimeoutMs: 1_000 });
    await h.ingest.onJobStateChanged(stateEvt(JobState.JOB_STATE_UPLOADING, 7));
    await h.core.createRun({ runId: 'manual', experiment: '', name: '', kind: 0, params: {}, tags: {}, parentRunId: '', sourceId: '', status: 0 });
    h.advance(10_000);
    await h.core.liveness.sweep();
    expect((await h.core.getRun({ runId: 'job_1' })).run!.status).toBe(RunStatus.RUN_STATUS_RUNNING);
    expect((await h.core.getRun({ runId: 'manual' })).run!.status).toBe(RunStatus.RUN_STATUS_RUNNING);
    // The Heartbeat RPC arms a manual run; silence then crashes it; a heartbeat revives it.
    expect((await h.core.heartbeat({ runId: 'manual' })).status).toBe(RunStatus.RUN_STATUS_RUNNING);
    h.advance(2_000);
    await h.core.liveness.sweep();
    expect((await h.core.getRun({ runId: 'manual' })).run!.status).toBe(RunStatus.RUN_STATUS_CRASHED);
    expect((await h.core.heartbeat({ runId: 'manual' })).status).toBe(RunStatus.RUN_STATUS_RUNNING);
  });

  it('maps failed and cancelled jobs; a job cancelled while queued ends KILLED without running', async () => {
    const h = coreHarness();
    await h.ingest.onJobStateChanged(stateEvt(JobState.JOB_STATE_RUNNING, 1));
    await h.ingest.onJobStateChanged(stateEvt(JobState.JOB_STATE_FAILED, 2));
    expect((await h.core.getRun({ runId: 'job_1' })).run!.status).toBe(RunStatus.RUN_STATUS_FAILED);
    const j2 = { ...job, jobId: 'job_2', trackingRunId: 'job_2' };
    await h.ingest.onJobStateChanged(stateEvt(JobState.JOB_STATE_QUEUED, 1, j2));
    await h.ingest.onJobStateChanged(stateEvt(JobState.JOB_STATE_CANCELLED, 2, j2));
    const run = (await h.core.getRun({ runId: 'job_2' })).run!;
    expect(run.status).toBe(RunStatus.RUN_STATUS_KILLED);
    expect(run.startTime).toBeUndefined();
  });
});

describe('summaries', () => {
  it('reach the run even when the writer forgets the run while its write is in flight', async () => {
    const h = coreHarness();
    await h.ingest.onJobStateChanged(stateEvt(JobState.JOB_STATE_RUNNING, 1));
    const append = h.metrics.append.bind(h.metrics);
    let release: (() => void) | undefined;
    h.metrics.append = async (chunks) => {
      await new Promise<void>((r) => (release = r));
      return append(chunks);
    };
    const writing = h.ingest.onMetricsLogged(metricsEvt(10, { loss: 1.25 }));
    await vi.waitFor(() => expect(release).toBeDefined());
    h.core.writer.evict('job_1'); // e.g. the run just finished and its final summaries were written
    release!();
    await writing;
    await h.core.liveness.persist();
    expect((await h.runs.get('job_1'))!.metrics).toEqual([{ key: 'loss', last: 1.25, min: 1.25, max: 1.25, lastStep: 10, count: 1 }]);
  });
});

describe('evaluations', () => {
  it('an evaluation run hangs under its training run, in its experiment, with its scores as metrics', async () => {
    const h = coreHarness();
    await h.ingest.onJobStateChanged(stateEvt(JobState.JOB_STATE_SUCCEEDED, 9));
    const e = evaluation.Evaluation.fromPartial({
      evaluationId: 'eval_1',
      trackingRunId: 'job_1',
      registryName: 'medical-r1',
      registryVersion: 3,
      baseModel: '/models/tiny-qwen2',
      evalSet: 'seed-question',
      templateName: 'medical-o1-zh',
      generation: { maxNewTokens: 1200 },
      status: evaluation.EvaluationStatus.EVALUATION_STATUS_RUNNING,
    });
    await h.ingest.onEvaluationChanged({ evaluation: e });
    const done = { ...e, status: evaluation.EvaluationStatus.EVALUATION_STATUS_COMPLETED, scores: { items: 8, accuracy: 0.75, formatCompliance: 1, completionTokensP50: 300, completionTokensP90: 500, completionTokensP99: 600, truncatedShare: 0, unparsedAnswers: 0 } };
    await h.ingest.onEvaluationChanged({ evaluation: done });
    await h.ingest.onEvaluationChanged({ evaluation: done }); // redelivered
    await h.ingest.onEvaluationChanged({ evaluation: e }); // late RUNNING: ignored
    const run = (await h.core.getRun({ runId: 'eval_1' })).run!;
    expect(run).toMatchObject({ parentRunId: 'job_1', experiment: 'medical-o1', kind: RunKind.RUN_KIND_EVALUATION, status: RunStatus.RUN_STATUS_FINISHED });
    expect(run.params).toMatchObject({ model: 'medical-r1@3', eval_set: 'seed-question', 'generation.max_new_tokens': '1200' });
    expect(run.metrics.find((m) => m.key === 'accuracy')).toMatchObject({ last: 0.75, count: 1, lastStep: 0 });
    expect(run.metrics.find((m) => m.key === 'format_compliance')).toMatchObject({ last: 1 });
    const children = await h.core.searchRuns({ experiments: [], statuses: [], filters: [], orderBy: '', pageSize: 0, pageToken: '', kind: RunKind.RUN_KIND_EVALUATION });
    expect(children.runs.map((r) => r.runId)).toEqual(['eval_1']);
  });
});

describe('restarts', () => {
  it('recomputes the summaries of runs a dead process left dirty', async () => {
    const metrics = new MemoryMetricLog();
    const runs = new MemoryRunRepo();
    const dirty = new MemoryDirtyMarks();
    const first = coreHarness({ metrics, runs, dirty });
    await first.ingest.onJobStateChanged(stateEvt(JobState.JOB_STATE_RUNNING, 1));
    await first.ingest.onMetricsLogged(metricsEvt(10, { loss: 2 }));
    await first.ingest.onMetricsLogged(metricsEvt(20, { loss: 1 }));
    // Died before writing the summaries: the stored run shows none.
    expect((await runs.get('job_1'))!.metrics).toEqual([]);
    const second = coreHarness({ metrics, runs, dirty });
    await second.core.start();
    await second.core.stop();
    expect((await runs.get('job_1'))!.metrics).toEqual([{ key: 'loss', last: 1, min: 1, max: 2, lastStep: 20, count: 2 }]);
  });
});

describe('WatchRun', () => {
  it('sends the run, then new points as stored (filtered by key), status changes, and ends after the run ended', async () => {
    const h = coreHarness();
    await h.core.createRun({ runId: 'r', experiment: '', name: '', kind: 0, params: {}, tags: {}, parentRunId: '', sourceId: '', status: 0 });
    await h.core.logMetrics({ runId: 'r', points: [{ key: 'loss', step: 0, value: 9, time: undefined }] }); // history: not streamed
    const ac = new AbortController();
    const stream = watchRun(h.core, { runId: 'r', keys: ['loss'] }, ac.signal);
    const got: tracking.WatchRunResponse[] = [];
    const done = (async () => {
      for await (const m of stream) got.push(m);
    })();
    await vi.waitFor(() => expect(got).toHaveLength(1));
    expect(got[0]!.update).toMatchObject({ $case: 'run', run: { runId: 'r', status: RunStatus.RUN_STATUS_RUNNING } });
    await vi.waitFor(() => expect(h.core.notifier.listenerCount('r')).toBe(1));
    await h.core.logMetrics({ runId: 'r', points: [1, 2].flatMap((step) => [{ key: 'loss', step, value: step, time: undefined }, { key: 'lr', step, value: 1, time: undefined }]) });
    // Another process's write: only the poll (run's metricsSeq) can find it.
    h.metrics.injectForeign({ runId: 'r', seq: 2, series: [{ key: 'loss', steps: [3], values: [3], times: [0] }], storedAt: 0 });
    const stored = (await h.runs.get('r'))!;
    await h.runs.save({ ...stored, metricsSeq: 3 });
    await vi.waitFor(() => expect(got.filter((m) => m.update?.$case === 'metrics').flatMap((m) => (m.update?.$case === 'metrics' ? m.update.metrics.points.map((p) => `${p.key}@${p.step}`) : []))).toEqual(['loss@1', 'loss@2', 'loss@3']));
    await h.core.updateRunStatus({ runId: 'r', status: RunStatus.RUN_STATUS_FINISHED });
    await done; // ends after the grace period
    expect(got[got.length - 1]!.update).toMatchObject({ $case: 'run', run: { status: RunStatus.RUN_STATUS_FINISHED } });
    expect(h.core.notifier.listenerCount('r')).toBe(0);
  });

  it('refuses an unknown run', async () => {
    const h = coreHarness();
    const it = watchRun(h.core, { runId: 'ghost', keys: [] }, new AbortController().signal);
    await expect(it.next()).rejects.toThrow('not found');
  });
});
