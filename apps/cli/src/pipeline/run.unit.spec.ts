/**
 * `medtune run` over in-memory fakes of the five services: the path where the evaluation
 * service's automation is absent (the CLI evaluates the version and compares by itself), a failed
 * job (exit 5 with the failure class's advice), and a rejected import (exit 4 with the rows).
 */
import { common, dataset, evaluation, registry, training, trainer } from '@medtune/contracts';
import { describe, expect, it } from 'vitest';
import type { Clients } from '../clients';
import type { CliContext } from '../context';
import { CliError, EXIT } from '../exit';
import { Output } from '../output';
import { runPipeline } from './run';
import { parsePipeline } from './spec';

type Handlers = Record<string, (req: any) => unknown>;
const fake = (h: Handlers) => ({
  unary: async (m: string, req: unknown) => {
    if (!h[m]) throw new Error(`unexpected call ${m}`);
    return h[m]!(req);
  },
  async *serverStream(m: string, req: unknown) {
    if (!h[m]) throw new Error(`unexpected stream ${m}`);
    yield* h[m]!(req) as unknown[];
  },
  clientStream: async () => {
    throw new Error('unexpected');
  },
});

const DIGEST = 'ab'.repeat(32);
const pipeline = parsePipeline(
  ['name: p', 'base_model: ./m', 'dataset: { name: d, path: d.json }', 'training: { max_steps: 2 }', 'evaluation: { set: mcq, set_path: e.jsonl, automation_timeout_s: 1 }', 'register: { metric: accuracy }'].join('\n'),
  '/w/pipeline.yaml',
  {},
);
const version = dataset.DatasetVersion.fromPartial({ digest: DIGEST, datasetName: 'd', rowCount: 10, trainRows: 9, evalRows: 1, tokenStats: { p50: 100, max: 120 } });
const scores = (accuracy: number) => evaluation.Scores.fromPartial({ items: 4, accuracy, formatCompliance: 1 });
const evalDone = (id: string, accuracy: number, extra: object = {}) => evaluation.Evaluation.fromPartial({ evaluationId: id, status: evaluation.EvaluationStatus.EVALUATION_STATUS_COMPLETED, itemsDone: 4, itemsTotal: 4, scores: scores(accuracy), evalSet: 'mcq', ...extra });
const jobEvent = (seq: number, payload: training.JobEvent['payload']) => ({ event: training.JobEvent.fromPartial({ jobId: 'job_1', sequence: seq, payload }) });

function context(h: Record<keyof Omit<Clients, 'address' | 'close'>, Handlers>) {
  let err = '';
  let out = '';
  const io = { stdout: { write: (s: string) => (out += s) }, stderr: { write: (s: string) => (err += s) }, env: {}, cwd: '/w' };
  const ctx: CliContext = {
    io,
    out: new Output(io, { json: true, quiet: false }),
    cfg: {} as CliContext['cfg'],
    clients: { dataset: fake(h.dataset), training: fake(h.training), tracking: fake(h.tracking), evaluation: fake(h.evaluation), registry: fake(h.registry), address: () => 'x', close: () => undefined } as unknown as Clients,
    signal: new AbortController().signal,
    sleep: (ms) => new Promise((r) => setTimeout(r, Math.min(ms, 20))),
  };
  return { ctx, out: () => out, err: () => err };
}

const importOk: Handlers = { importDataset: () => [{ event: { $case: 'progress', progress: { phase: 'reading', rowsRead: 10, bytesRead: 100, totalBytes: 100 } } }, { event: { $case: 'result', result: { version, created: true } } }] };

function services(over: { job?: training.Job; events?: unknown[]; evaluation?: Handlers } = {}) {
  const calls: { method: string; req: any }[] = [];
  const rec = (method: string, f: (req: any) => unknown) => (req: any) => {
    calls.push({ method, req });
    return f(req);
  };
  const job = over.job ?? training.Job.fromPartial({ jobId: 'job_1', state: training.JobState.JOB_STATE_SUCCEEDED, trackingRunId: 'job_1', latestMetrics: { loss: 11.5 } });
  const ready = registry.ModelVersion.fromPartial({ name: 'p', version: 1, status: registry.ModelVersionStatus.MODEL_VERSION_STATUS_READY, idempotencyKey: 'job_1', artifacts: [{ kind: common.ArtifactKind.ARTIFACT_KIND_ADAPTER, uri: 'file:///a', sha256: 'f'.repeat(64) }] });
  const handlers = {
    dataset: importOk,
    training: {
      createJob: rec('createJob', () => ({ job: { ...job, state: training.JobState.JOB_STATE_QUEUED }, created: true })),
      watchJob: () =>
        over.events ?? [
          jobEvent(1, { $case: 'stateChanged', stateChanged: { state: training.JobState.JOB_STATE_RUNNING, reason: 'training' } }),
          jobEvent(2, { $case: 'workerEvent', workerEvent: trainer.JobEvent.fromPartial({ payload: { $case: 'metrics', metrics: { step: 2, values: { loss: 11.5 } } } }) }),
          jobEvent(3, { $case: 'stateChanged', stateChanged: { state: job.state, reason: 'done' } }),
        ],
      getJob: () => ({ job }),
    },
    tracking: {},
    evaluation: {
      createEvalSet: rec('createEvalSet', () => ({ evalSet: { name: 'mcq', itemCount: 4 }, created: true })),
      startEvaluation: rec('startEvaluation', (req) => ({ evaluation: evalDone(req.model.ref.$case === 'baseModel' ? 'ev_base' : 'ev_after', 0), created: true })),
      watchEvaluation: (req: { evaluationId: string }) => [{ evaluation: req.evaluationId === 'ev_base' ? evalDone('ev_base', 0.25) : evalDone('ev_after', 0.5, { registryName: 'p', registryVersion: 1 }) }],
      listEvaluations: () => ({ evaluations: [] }),
      listComparisons: () => ({ comparisons: [] }),
      compareEvaluations: rec('compareEvaluations', (req) => ({ comparison: evaluation.Comparison.fromPartial({ comparisonId: 'cmp_1', baselineEvaluationId: req.baselineEvaluationId, candidateEvaluationId: req.candidateEvaluationId, deltas: { accuracy: 0.25 } }) })),
      ...over.evaluation,
    },
    registry: {
      createRegisteredModel: rec('createRegisteredModel', (req) => ({ model: { name: 'p', promotionPolicy: req.promotionPolicy }, created: true })),
      listModelVersions: () => ({ versions: [ready] }),
      getRegisteredModel: () => ({ model: { name: 'p', aliases: {} } }),
      listAliasHistory: () => ({ changes: [] }),
    },
  };
  return { handlers, calls };
}

describe('medtune run (fakes)', () => {
  it('evaluates the version and compares by itself when the automation does not, and says so', async () => {
    const { handlers, calls } = services();
    const { ctx, err } = context(handlers);
    const t0 = Date.now();
    const s = await runPipeline(ctx, pipeline, { fresh: false, pollMs: 20 });
    expect(Date.now() - t0).toBeLessThan(5_000);
    expect(s.evaluation).toMatchObject({ evaluationId: 'ev_after', startedBy: 'cli' });
    expect(s.comparison).toEqual({ comparisonId: 'cmp_1', deltas: { accuracy: 0.25 } });
    expect(calls.find((c) => c.method === 'compareEvaluations')?.req).toEqual({ baselineEvaluationId: 'ev_base', candidateEvaluationId: 'ev_after' });
    const after = calls.filter((c) => c.method === 'startEvaluation').map((c) => c.req)[1];
    expect(after.model.ref).toEqual({ $case: 'registry', registry: { name: 'p', selector: { $case: 'version', version: 1 } } });
    expect(after.idempotencyKey).toMatch(/^pipeline\/p\/[0-9a-f]{16}\/after\/v1$/);
    expect(calls.find((c) => c.method === 'createJob')?.req).toMatchObject({ datasetDigest: DIGEST, registerAs: 'p', hyperparameters: { maxSteps: 2 } });
    expect(calls.find((c) => c.method === 'createRegisteredModel')?.req.promotionPolicy).toMatchObject({ alias: 'champion', metric: 'accuracy', evalSet: 'mcq' });
    expect(err()).toMatch(/did not start an evaluation within 1s; starting it/);
    expect(s.alias).toEqual({ alias: 'champion', version: 0, movedToThis: false });
  });

  it('a failed job ends the run with exit 5, the failure and whose move it is', async () => {
    const failed = training.Job.fromPartial({ jobId: 'job_1', state: training.JobState.JOB_STATE_FAILED, failure: { class: common.FailureClass.FAILURE_CLASS_RESOURCE, message: 'out of memory at step 1' } });
    const { handlers } = services({ job: failed });
    const { ctx } = context(handlers);
    const e = (await runPipeline(ctx, pipeline, { fresh: false, pollMs: 20 }).catch((x: unknown) => x)) as CliError;
    expect(e).toBeInstanceOf(CliError);
    expect(e.exitCode).toBe(EXIT.FAILED);
    expect(e.message).toBe('job job_1 failed: resource: out of memory at step 1');
    expect(e.hint).toMatch(/smaller settings/);
  });

  it('a rejected import ends the run with exit 4 and the rows to fix', async () => {
    const { handlers } = services();
    handlers.dataset = {
      importDataset: () => [{ event: { $case: 'result', result: { created: false, report: { reportId: 'rpt_1', rejected: true, rejectionReason: '2 invalid rows', rowsTotal: 10, rowsInvalid: 2, firstIssues: [{ row: 3, column: 'Response', message: 'column Response: empty', fatal: true }] } } } }],
    };
    const { ctx } = context(handlers);
    const e = (await runPipeline(ctx, pipeline, { fresh: false, pollMs: 20 }).catch((x: unknown) => x)) as CliError;
    expect(e.exitCode).toBe(EXIT.INVALID_INPUT);
    expect(e.message).toContain('import rejected: 2 invalid rows (2 of 10 rows invalid)');
    expect(e.message).toContain('row 3, Response: column Response: empty');
    expect(e.hint).toContain('medtune datasets report rpt_1');
  });
});
