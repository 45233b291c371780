import { common, events, trainer, training } from '@medtune/contracts';
import { describe, expect, it } from 'vitest';
import { resolveBackend, resolveExports, resolveHyperparameters, resolveLora } from './defaults';
import type { JobRecord } from './model';
import { canTransition, isTerminal } from './state-machine';
import { acceptDispatch, applyWorkerEvent, applyWorkerEvents, beginDispatch, deferDispatch, loseWorker, newJobRecord, rejectDispatch, requestCancel } from './transitions';

const S = training.JobState;
const W = trainer.WorkerJobState;
const t0 = new Date('2025-01-01T00:00:00Z');
const t1 = new Date('2025-01-01T00:00:01Z');

function queued(maxRetries = 2): JobRecord {
  const req = training.CreateJobRequest.fromPartial({ idempotencyKey: 'k', datasetDigest: 'd'.repeat(64), baseModel: '/m', tags: { team: 'a' } });
  return newJobRecord(
    {
      jobId: 'job_1',
      request: req,
      spec: {
        hyperparameters: resolveHyperparameters(undefined),
        lora: resolveLora(undefined),
        exports: resolveExports(undefined),
        backend: resolveBackend(0),
        maxRetries,
        experiment: 'default',
      },
      requestHash: 'h',
      datasetDigest: 'd'.repeat(64),
      validatedSince: t0,
    },
    t1,
  );
}

/** Stores a draft as the repository would: rev + 1, outbox emptied (published). */
function stored(r: JobRecord): JobRecord {
  return { ...r, rev: r.rev + 1, outbox: [] };
}

function running(maxRetries = 2, attempt = 1): JobRecord {
  let r = queued(maxRetries);
  if (attempt > 1) r = { ...r, job: { ...r.job, state: S.JOB_STATE_RECOVERING, attempt: attempt - 1 } };
  r = stored(beginDispatch(stored(r), { workerId: 'w1', address: 'h:1' }, t1)!.record);
  r = stored(acceptDispatch(r, r.dispatch!, t1)!.record);
  const ev: trainer.JobEvent = { jobId: 'job_1', sequence: 1, attempt, time: t1, payload: { $case: 'stateChanged', stateChanged: { state: W.WORKER_JOB_STATE_RUNNING, reason: 'go', failure: undefined } } };
  const res = applyWorkerEvent(r, { workerId: 'w1', attempt }, ev, t1);
  if (res.kind !== 'applied') throw new Error(res.kind);
  return stored(res.draft.record);
}

function workerEvent(sequence: number, payload: trainer.JobEvent['payload'], attempt = 1): trainer.JobEvent {
  return { jobId: 'job_1', sequence, attempt, time: t1, payload };
}

describe('state machine', () => {
  it('allows the lifecycle and refuses going back', () => {
    expect(canTransition(S.JOB_STATE_QUEUED, S.JOB_STATE_STARTING)).toBe(true);
    expect(canTransition(S.JOB_STATE_RUNNING, S.JOB_STATE_RECOVERING)).toBe(true);
    expect(canTransition(S.JOB_STATE_RECOVERING, S.JOB_STATE_STARTING)).toBe(true);
    expect(canTransition(S.JOB_STATE_RUNNING, S.JOB_STATE_QUEUED)).toBe(false);
    expect(canTransition(S.JOB_STATE_CANCELLED, S.JOB_STATE_RUNNING)).toBe(false);
    expect(canTransition(S.JOB_STATE_SUCCEEDED, S.JOB_STATE_FAILED)).toBe(false);
    expect(isTerminal(S.JOB_STATE_FAILED)).toBe(true);
  });
});

describe('newJobRecord', () => {
  it('enters VALIDATING then QUEUED with a timestamp each, as events 1 and 2 with their subjects', () => {
    const r = queued();
    expect(r.job.state).toBe(S.JOB_STATE_QUEUED);
    expect(r.job.history.map((h) => [h.state, h.time])).toEqual([
      [S.JOB_STATE_VALIDATING, t0],
      [S.JOB_STATE_QUEUED, t1],
    ]);
    expect(r.job.lastSequence).toBe(2);
    expect(r.job.trackingRunId).toBe('job_1');
    expect(r.outbox.map((e) => [e.seq, e.kind, e.publish?.subject])).toEqual([
      [1, 'state', 'medtune.training.job.validating'],
      [2, 'state', 'medtune.training.job.queued'],
    ]);
    const queuedEvent = events.JobStateChanged.decode(r.outbox[1]!.publish!.data);
    expect(queuedEvent).toMatchObject({ previousState: S.JOB_STATE_VALIDATING, state: S.JOB_STATE_QUEUED, sequence: 2 });
    expect(queuedEvent.job?.jobId).toBe('job_1');
    expect(queuedEvent.job?.lora?.r).toBe(32);
  });
});

describe('requestCancel', () => {
  it('ends a queued job at once', () => {
    const d = requestCancel(stored(queued()), 'no longer needed', t1);
    expect(d.askWorker).toBe(false);
    expect(d.draft?.job.state).toBe(S.JOB_STATE_CANCELLED);
    expect(d.draft?.record.outbox.map((e) => e.publish?.subject)).toEqual(['medtune.training.job.cancelled']);
  });

  it('asks the worker of a running job, and is idempotent once asked', () => {
    const d = requestCancel(running(), '', t1);
    expect(d.askWorker).toBe(true);
    expect(d.draft?.job.state).toBe(S.JOB_STATE_CANCEL_REQUESTED);
    const again = requestCancel(stored(d.draft!.record), '', t1);
    expect(again).toEqual({ askWorker: false });
  });

  it('leaves a finished job as it is', () => {
    const done = stored(requestCancel(stored(queued()), '', t1).draft!.record);
    expect(requestCancel(done, '', t1)).toEqual({ askWorker: false });
  });

  it('ends a recovering job at once', () => {
    const r = stored(loseWorker(running(), 'w1', 'lost', t1)!.record);
    expect(r.job.state).toBe(S.JOB_STATE_RECOVERING);
    expect(requestCancel(r, '', t1).draft?.job.state).toBe(S.JOB_STATE_CANCELLED);
  });
});

describe('applyWorkerEvent', () => {
  it('stores each worker event once, in order, and refuses gaps', () => {
    const r = running();
    expect(r.workerSeq).toBe(1);
    const metrics = workerEvent(2, { $case: 'metrics', metrics: { step: 1, epoch: 0.1, values: { loss: 3 } } });
    const res = applyWorkerEvent(r, { workerId: 'w1', attempt: 1 }, metrics, t1);
    if (res.kind !== 'applied') throw new Error(res.kind);
    const next = stored(res.draft.record);
    expect(next.workerSeq).toBe(2);
    expect(next.job.latestMetrics).toEqual({ loss: 3 });
    const out = res.draft.record.outbox.at(-1)!;
    expect(out).toMatchObject({ seq: r.job.lastSequence + 1, workerSeq: 2, attempt: 1, kind: 'metrics' });
    expect(events.MetricsLogged.decode(out.publish!.data)).toMatchObject({ jobId: 'job_1', runId: 'job_1', step: 1, values: { loss: 3 } });
    expect(applyWorkerEvent(next, { workerId: 'w1', attempt: 1 }, metrics, t1).kind).toBe('duplicate');
    expect(applyWorkerEvent(next, { workerId: 'w1', attempt: 1 }, workerEvent(5, metrics.payload), t1)).toEqual({ kind: 'gap', expected: 3 });
    expect(applyWorkerEvent(next, { workerId: 'w2', attempt: 1 }, workerEvent(3, metrics.payload), t1).kind).toBe('stale');
    expect(applyWorkerEvent(next, { workerId: 'w1', attempt: 1 }, workerEvent(3, metrics.payload, 7), t1).kind).toBe('stale');
  });

  it("refuses an event naming another job (replayed or forged on this job's stream): nothing of it is applied", () => {
    const r = running();
    const metric = (seq: number) => workerEvent(seq, { $case: 'metrics', metrics: { step: seq, epoch: 0, values: { loss: seq } } });
    const foreign: trainer.JobEvent = { ...workerEvent(3, { $case: 'stateChanged', stateChanged: { state: W.WORKER_JOB_STATE_SUCCEEDED, reason: 'replayed', failure: undefined } }), jobId: 'job_other' };
    expect(applyWorkerEvent(r, { workerId: 'w1', attempt: 1 }, { ...metric(2), jobId: 'job_other' }, t1)).toEqual({ kind: 'foreign', jobId: 'job_other' });
    const batch = applyWorkerEvents(r, { workerId: 'w1', attempt: 1 }, [metric(2), foreign, metric(4)], t1);
    expect(batch).toMatchObject({ consumed: 1, stop: 'foreign', foreignJobId: 'job_other' });
    expect(batch.draft?.record.workerSeq).toBe(2); // the event before it is kept, the foreign one and what follows are not
    expect(batch.draft?.job.state).toBe(S.JOB_STATE_RUNNING);
  });

  it('applies a batch in one draft and stops at the first event out of order', () => {
    const r = running();
    const metric = (seq: number, attempt = 1) => workerEvent(seq, { $case: 'metrics', metrics: { step: seq, epoch: 0, values: { loss: seq } } }, attempt);
    const ok = applyWorkerEvents(r, { workerId: 'w1', attempt: 1 }, [metric(2), metric(3), metric(2), metric(4)], t1);
    expect(ok).toMatchObject({ consumed: 4, earlierUpTo: 0 });
    expect(ok.stop).toBeUndefined();
    expect(ok.draft?.record.outbox.map((e) => e.workerSeq)).toEqual([2, 3, 4]); // the repeat of 2 was skipped
    expect(ok.draft?.record.workerSeq).toBe(4);
    const gap = applyWorkerEvents(r, { workerId: 'w1', attempt: 1 }, [metric(2), metric(5), metric(6)], t1);
    expect(gap).toMatchObject({ consumed: 1, stop: 'gap' });
    expect(gap.draft?.record.workerSeq).toBe(2);
    const none = applyWorkerEvents(r, { workerId: 'w1', attempt: 1 }, [metric(1)], t1);
    expect(none.draft).toBeUndefined();
  });

  it('follows the worker to SUCCEEDED with its artifacts, freeing the worker', () => {
    let r = running();
    const steps: trainer.JobEvent['payload'][] = [
      { $case: 'stateChanged', stateChanged: { state: W.WORKER_JOB_STATE_UPLOADING, reason: '', failure: undefined } },
      { $case: 'artifactReady', artifactReady: common.Artifact.fromPartial({ kind: common.ArtifactKind.ARTIFACT_KIND_ADAPTER, uri: 'file:///a' }) },
      { $case: 'stateChanged', stateChanged: { state: W.WORKER_JOB_STATE_SUCCEEDED, reason: '', failure: undefined } },
    ];
    steps.forEach((p, i) => {
      const res = applyWorkerEvent(r, { workerId: 'w1', attempt: 1 }, workerEvent(r.workerSeq + 1, p), t1);
      if (res.kind !== 'applied') throw new Error(`${i}: ${res.kind}`);
      r = stored(res.draft.record);
    });
    expect(r.job.state).toBe(S.JOB_STATE_SUCCEEDED);
    expect(r.job.artifacts.map((a) => a.uri)).toEqual(['file:///a']);
    expect(r.occupies).toBeUndefined();
    expect(r.job.history.map((h) => h.state)).toEqual([
      S.JOB_STATE_VALIDATING,
      S.JOB_STATE_QUEUED,
      S.JOB_STATE_STARTING,
      S.JOB_STATE_RUNNING,
      S.JOB_STATE_UPLOADING,
      S.JOB_STATE_SUCCEEDED,
    ]);
  });

  it('takes the failure class of a failed worker job', () => {
    const failure = { class: common.FailureClass.FAILURE_CLASS_RESOURCE, message: 'out of memory', detail: '' };
    const res = applyWorkerEvent(running(), { workerId: 'w1', attempt: 1 }, workerEvent(2, { $case: 'stateChanged', stateChanged: { state: W.WORKER_JOB_STATE_FAILED, reason: 'oom', failure } }), t1);
    if (res.kind !== 'applied') throw new Error(res.kind);
    expect(res.draft.job.state).toBe(S.JOB_STATE_FAILED);
    expect(res.draft.job.failure).toEqual(failure);
  });

  it('treats an interrupted worker like a lost one', () => {
    const res = applyWorkerEvent(running(), { workerId: 'w1', attempt: 1 }, workerEvent(2, { $case: 'stateChanged', stateChanged: { state: W.WORKER_JOB_STATE_INTERRUPTED, reason: 'SIGTERM', failure: undefined } }), t1);
    if (res.kind !== 'applied') throw new Error(res.kind);
    expect(res.draft.job.state).toBe(S.JOB_STATE_RECOVERING);
  });
});

describe('dispatch and recovery', () => {
  it('claims the worker before StartJob and numbers attempts', () => {
    const d = beginDispatch(stored(queued()), { workerId: 'w1', address: 'h:1' }, t1)!;
    expect(d.record.occupies).toBe('w1');
    expect(d.record.dispatch).toEqual({ workerId: 'w1', address: 'h:1', attempt: 1, resumeFrom: '' });
    expect(d.record.outbox).toEqual([]); // a claim is no event
    expect(d.job.lastSequence).toBe(2);
    expect(beginDispatch(stored(d.record), { workerId: 'w2', address: 'h:2' }, t1)).toBeUndefined();
    const back = deferDispatch(stored(d.record), d.record.dispatch!, t1)!;
    expect(back.record.occupies).toBeUndefined();
    expect(back.job.state).toBe(S.JOB_STATE_QUEUED);
  });

  it('resumes a lost job from its last checkpoint with attempt + 1, up to max_retries, then fails as platform', () => {
    let r = running(1);
    const ck = applyWorkerEvent(
      r,
      { workerId: 'w1', attempt: 1 },
      workerEvent(2, { $case: 'checkpointSaved', checkpointSaved: { checkpoint: { step: 4, uri: 'file:///ck/4', artifact: undefined, createdTime: t1 } } }),
      t1,
    );
    if (ck.kind !== 'applied') throw new Error(ck.kind);
    expect(ck.draft.record.outbox.at(-1)?.publish?.subject).toBe('medtune.training.checkpoint.saved');
    r = stored(loseWorker(stored(ck.draft.record), 'w1', 'worker w1 lost', t1)!.record);
    expect(r.job.state).toBe(S.JOB_STATE_RECOVERING);
    expect(r.occupies).toBeUndefined();

    const d = beginDispatch(r, { workerId: 'w2', address: 'h:2' }, t1)!;
    expect(d.record.dispatch).toMatchObject({ workerId: 'w2', attempt: 2, resumeFrom: 'file:///ck/4' });
    r = stored(acceptDispatch(stored(d.record), d.record.dispatch!, t1)!.record);
    expect(r.job).toMatchObject({ state: S.JOB_STATE_STARTING, attempt: 2, workerId: 'w2' });
    expect(r.workerSeq).toBe(0);

    const failed = loseWorker(r, 'w2', 'worker w2 lost', t1)!;
    expect(failed.job.state).toBe(S.JOB_STATE_FAILED);
    expect(failed.job.failure?.class).toBe(common.FailureClass.FAILURE_CLASS_PLATFORM);
    expect(failed.job.failure?.message).toContain('no retries left');
  });

  it('fails a job the worker refuses, and ignores a lost worker the job does not hold', () => {
    const d = beginDispatch(stored(queued()), { workerId: 'w1', address: 'h:1' }, t1)!;
    const rejected = rejectDispatch(stored(d.record), d.record.dispatch!, { class: common.FailureClass.FAILURE_CLASS_USER_ERROR, message: 'bad model path', detail: '' }, t1)!;
    expect(rejected.job.state).toBe(S.JOB_STATE_FAILED);
    expect(rejected.job.failure?.class).toBe(common.FailureClass.FAILURE_CLASS_USER_ERROR);
    expect(loseWorker(running(), 'w9', 'x', t1)).toBeUndefined();
  });

  it('ends a job being cancelled when its worker is lost', () => {
    const cancelling = stored(requestCancel(running(), '', t1).draft!.record);
    expect(loseWorker(cancelling, 'w1', 'lost', t1)?.job.state).toBe(S.JOB_STATE_CANCELLED);
  });
});
