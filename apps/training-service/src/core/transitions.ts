/**
 * The job's decisions as pure functions: record in, draft out (or nothing to do). They hold every
 * rule about what happens when — create, dispatch, worker events, cancel, a lost worker — so the
 * service around them only loads, stores and calls.
 */
import { common, trainer, training } from '@medtune/contracts';
import { JobDraft } from './draft';
import type { Dispatch, JobRecord } from './model';
import { isOnWorker, isTerminal, WAITING_STATES } from './state-machine';
import type { ResolvedSpec } from './validation';

const S = training.JobState;
const W = trainer.WorkerJobState;

/** What CreateJob stores. */
export interface NewJobInput {
  jobId: string;
  request: training.CreateJobRequest;
  spec: ResolvedSpec;
  requestHash: string;
  /** Full digest of the READY version (the request may give a prefix). */
  datasetDigest: string;
  /** Prompt template of that version (its lineage), for the registered version's lineage. */
  templateName?: string;
  /** When validation began (VALIDATING's timestamp). */
  validatedSince: Date;
  /** Job.creator: the caller's subject ('' without access control). */
  creator?: string;
}

/**
 * A new job: VALIDATING (from when the checks began) then QUEUED, both as events. The request was
 * validated and the dataset version found READY before this is called, so nothing invalid is
 * ever stored.
 */
export function newJobRecord(input: NewJobInput, now: Date): JobRecord {
  const { request: req, spec } = input;
  const job = training.Job.fromPartial({
    jobId: input.jobId,
    idempotencyKey: req.idempotencyKey,
    displayName: req.displayName,
    state: S.JOB_STATE_UNSPECIFIED,
    datasetDigest: input.datasetDigest,
    baseModel: req.baseModel,
    hyperparameters: spec.hyperparameters,
    lora: spec.lora,
    backend: spec.backend,
    backendUsed: common.Backend.BACKEND_UNSPECIFIED,
    priority: req.priority,
    exports: spec.exports,
    experiment: spec.experiment,
    trackingRunId: input.jobId,
    registerAs: req.registerAs,
    tags: { ...req.tags },
    attempt: 0,
    maxRetries: spec.maxRetries,
    latestMetrics: {},
    lastSequence: 0,
    createTime: input.validatedSince,
    updateTime: now,
    minGpuMemoryBytes: req.minGpuMemoryBytes,
    templateName: input.templateName ?? '',
    creator: input.creator ?? '',
  });
  const draft = new JobDraft({ job, rev: 0, requestHash: input.requestHash, queuedAt: now, workerSeq: 0, outbox: [] });
  draft.transition(S.JOB_STATE_VALIDATING, 'checking the request and the dataset version', input.validatedSince);
  draft.transition(S.JOB_STATE_QUEUED, 'dataset version is READY; waiting for a worker', now);
  return draft.record;
}

/** Outcome of a cancel request. */
export interface CancelDecision {
  /** The change to store; undefined when the job is already final or already cancelling. */
  draft?: JobDraft;
  /** True when a worker runs the job and must be told to stop. */
  askWorker: boolean;
}

/** Cancel in any state: waiting jobs end at once; running ones go CANCEL_REQUESTED first. */
export function requestCancel(record: JobRecord, reason: string, now: Date): CancelDecision {
  const state = record.job.state;
  if (isTerminal(state) || state === S.JOB_STATE_CANCEL_REQUESTED) return { askWorker: false };
  const draft = new JobDraft(record);
  const why = reason || 'cancelled by request';
  if (isOnWorker(state)) {
    draft.transition(S.JOB_STATE_CANCEL_REQUESTED, why, now);
    return { draft, askWorker: true };
  }
  draft.transition(S.JOB_STATE_CANCELLED, why, now);
  return { draft, askWorker: false };
}

/** Result of applying one worker event. */
export type WorkerEventResult =
  | { kind: 'applied'; draft: JobDraft }
  /** Already stored (a re-sent event after a re-attach): skip it. */
  | { kind: 'duplicate' }
  /** From another worker, a later attempt, or a job no longer on a worker: ignore it. */
  | { kind: 'stale' }
  /**
   * From an earlier attempt: a worker that resumes a job on the same artifact root continues the
   * job's event log, so its stream starts with the earlier attempts' events. Skip them.
   */
  | { kind: 'earlier' }
  /** A sequence was skipped: re-attach from `expected`. */
  | { kind: 'gap'; expected: number }
  /**
   * Names another job than the stream it came on (a worker replaying or forging another job's
   * events, e.g. its artifacts or its SUCCEEDED): refused, never stored.
   */
  | { kind: 'foreign'; jobId: string };

/**
 * Stores a worker's event under the next orchestrator sequence and follows the worker's state:
 * RUNNING, UPLOADING, SUCCEEDED (artifacts), FAILED (its failure), CANCELLED, and INTERRUPTED
 * (the worker shut down: resume elsewhere, like a lost worker).
 */
export function applyWorkerEvent(record: JobRecord, source: { workerId: string; attempt: number }, ev: trainer.JobEvent, now: Date): WorkerEventResult {
  const draft = new JobDraft(record);
  const r = applyWorkerEventTo(draft, source, ev, now);
  return r.kind === 'applied' ? { kind: 'applied', draft } : r;
}

/** Outcome of {@link applyWorkerEvents}. */
export interface WorkerBatchResult {
  /** The change, when at least one event was applied. */
  draft?: JobDraft;
  /** How many events of the batch were looked at (the rest were not, after a stop). */
  consumed: number;
  /** Highest worker sequence skipped as an earlier attempt's (0 if none). */
  earlierUpTo: number;
  /** Why the batch stopped early, if it did. */
  stop?: 'stale' | 'gap' | 'foreign';
  /** With stop 'foreign': the job id the refused event named. */
  foreignJobId?: string;
}

/**
 * Applies worker events in order to one draft (one write for the batch); stops at the first that
 * belongs to another worker or attempt, or that is out of order.
 */
export function applyWorkerEvents(record: JobRecord, source: { workerId: string; attempt: number }, evs: readonly trainer.JobEvent[], now: Date): WorkerBatchResult {
  const draft = new JobDraft(record);
  let consumed = 0;
  let earlierUpTo = 0;
  for (const ev of evs) {
    const r = applyWorkerEventTo(draft, source, ev, now);
    if (r.kind === 'stale' || r.kind === 'gap') return { ...(draft.changed ? { draft } : {}), consumed, earlierUpTo, stop: r.kind };
    if (r.kind === 'foreign') return { ...(draft.changed ? { draft } : {}), consumed, earlierUpTo, stop: r.kind, foreignJobId: r.jobId };
    consumed++;
    if (r.kind === 'earlier') earlierUpTo = ev.sequence;
  }
  return { ...(draft.changed ? { draft } : {}), consumed, earlierUpTo };
}

/** Applies one worker event to a draft (which may already hold earlier events of a batch). */
function applyWorkerEventTo(draft: JobDraft, source: { workerId: string; attempt: number }, ev: trainer.JobEvent, now: Date): WorkerEventResult | { kind: 'applied' } {
  const record = draft.record;
  const job = record.job;
  if (!isOnWorker(job.state) || job.workerId !== source.workerId || job.attempt !== source.attempt) return { kind: 'stale' };
  if (ev.jobId !== job.jobId) return { kind: 'foreign', jobId: ev.jobId };
  if (ev.attempt !== 0 && ev.attempt < job.attempt) return { kind: 'earlier' };
  if (ev.attempt > job.attempt) return { kind: 'stale' };
  if (ev.sequence <= record.workerSeq) return { kind: 'duplicate' };
  // The attempt's first event may have any sequence (the log may hold earlier attempts); after it, none may be skipped.
  if (record.workerSeq > 0 && ev.sequence !== record.workerSeq + 1) return { kind: 'gap', expected: record.workerSeq + 1 };

  draft.appendWorkerEvent(ev, now);
  record.workerSeq = ev.sequence;
  const j = draft.job;
  switch (ev.payload?.$case) {
    case 'progress':
      j.progress = ev.payload.progress;
      break;
    case 'metrics':
      j.latestMetrics = { ...j.latestMetrics, ...ev.payload.metrics.values };
      break;
    case 'checkpointSaved':
      if (ev.payload.checkpointSaved.checkpoint?.uri) record.lastCheckpointUri = ev.payload.checkpointSaved.checkpoint.uri;
      break;
    case 'artifactReady': {
      const artifact = ev.payload.artifactReady;
      // One artifact per kind: a re-export (after a resumed attempt) replaces the earlier one.
      j.artifacts = [...j.artifacts.filter((a) => a.kind !== artifact.kind), artifact];
      break;
    }
    case 'backendSelected':
      j.backendUsed = ev.payload.backendSelected.backend;
      break;
    case 'executionPlan':
      j.executionPlan = ev.payload.executionPlan;
      break;
    case 'stateChanged':
      followWorkerState(draft, ev.payload.stateChanged, now);
      break;
  }
  return { kind: 'applied' };
}

function followWorkerState(draft: JobDraft, change: trainer.StateChanged, now: Date): void {
  const state = draft.job.state;
  const reason = change.reason;
  switch (change.state) {
    case W.WORKER_JOB_STATE_RUNNING:
      if (state === S.JOB_STATE_STARTING) draft.transition(S.JOB_STATE_RUNNING, reason || 'training', now);
      break;
    case W.WORKER_JOB_STATE_UPLOADING:
      if (state === S.JOB_STATE_STARTING || state === S.JOB_STATE_RUNNING) draft.transition(S.JOB_STATE_UPLOADING, reason || 'saving artifacts', now);
      break;
    case W.WORKER_JOB_STATE_SUCCEEDED:
      draft.transition(S.JOB_STATE_SUCCEEDED, reason || 'training finished; artifacts saved', now);
      break;
    case W.WORKER_JOB_STATE_FAILED:
      fail(draft, change.failure ?? { class: common.FailureClass.FAILURE_CLASS_PLATFORM, message: reason || 'the worker reported a failure', detail: '' }, now);
      break;
    case W.WORKER_JOB_STATE_CANCELLED:
      draft.transition(S.JOB_STATE_CANCELLED, reason || 'cancelled on the worker', now);
      break;
    case W.WORKER_JOB_STATE_INTERRUPTED:
      if (state === S.JOB_STATE_CANCEL_REQUESTED) draft.transition(S.JOB_STATE_CANCELLED, `worker stopped while cancelling: ${reason}`, now);
      else recoverOrFail(draft, `worker ${draft.job.workerId} was interrupted: ${reason || 'shutting down'}`, now);
      break;
  }
}

/** FAILED with a failure class. */
export function fail(draft: JobDraft, failure: common.Failure, now: Date): boolean {
  const before = draft.job.failure;
  draft.job.failure = failure;
  const ok = draft.transition(S.JOB_STATE_FAILED, failure.message, now);
  if (!ok) draft.job.failure = before;
  return ok;
}

/**
 * The job's worker is gone: RECOVERING while retries are left (it resumes on another worker from
 * the last checkpoint), else FAILED with class PLATFORM.
 */
export function recoverOrFail(draft: JobDraft, reason: string, now: Date): void {
  const job = draft.job;
  const retriesUsed = Math.max(0, job.attempt - 1);
  if (retriesUsed < job.maxRetries) {
    draft.transition(S.JOB_STATE_RECOVERING, `${reason}; will resume on another worker (retry ${retriesUsed + 1} of ${job.maxRetries})`, now);
  } else {
    fail(
      draft,
      {
        class: common.FailureClass.FAILURE_CLASS_PLATFORM,
        message: `${reason}; no retries left (max_retries ${job.maxRetries})`,
        detail: '',
      },
      now,
    );
  }
}

/**
 * The worker the job occupies was lost (lease expired, or it no longer knows the job). A job that
 * was being cancelled ends CANCELLED; a running one recovers or fails; a dispatch that had not
 * started is simply undone.
 */
export function loseWorker(record: JobRecord, workerId: string, reason: string, now: Date): JobDraft | undefined {
  if (record.occupies !== workerId) return undefined;
  const draft = new JobDraft(record);
  const state = record.job.state;
  if (state === S.JOB_STATE_CANCEL_REQUESTED) draft.transition(S.JOB_STATE_CANCELLED, `${reason}; the cancel is complete`, now);
  else if (isOnWorker(state)) recoverOrFail(draft, reason, now);
  else {
    delete draft.record.occupies;
    delete draft.record.dispatch;
    draft.touch(now);
  }
  return draft;
}

/** The next attempt for a waiting job: 1 for a fresh one, +1 for a recovering one. */
export function nextAttempt(record: JobRecord): number {
  return record.job.state === S.JOB_STATE_RECOVERING ? record.job.attempt + 1 : Math.max(1, record.job.attempt);
}

/** Claims a worker for a waiting job before StartJob is sent (no event: nothing happened yet). */
export function beginDispatch(record: JobRecord, worker: { workerId: string; address: string }, now: Date): JobDraft | undefined {
  if (!WAITING_STATES.includes(record.job.state) || record.occupies) return undefined;
  const draft = new JobDraft(record);
  const recovering = record.job.state === S.JOB_STATE_RECOVERING;
  draft.record.occupies = worker.workerId;
  draft.record.dispatch = {
    workerId: worker.workerId,
    address: worker.address,
    attempt: nextAttempt(record),
    resumeFrom: recovering ? (record.lastCheckpointUri ?? '') : '',
  };
  draft.touch(now);
  return draft;
}

/** True when the record's pending dispatch is `d`. */
function sameDispatch(record: JobRecord, d: Dispatch): boolean {
  const r = record.dispatch;
  return !!r && r.workerId === d.workerId && r.attempt === d.attempt && r.address === d.address;
}

/** The worker accepted StartJob: STARTING on it, attempt set, worker sequence from 0. */
export function acceptDispatch(record: JobRecord, d: Dispatch, now: Date): JobDraft | undefined {
  if (!sameDispatch(record, d) || !WAITING_STATES.includes(record.job.state)) return undefined;
  const draft = new JobDraft(record);
  const j = draft.job;
  j.workerId = d.workerId;
  j.attempt = d.attempt;
  j.progress = undefined;
  j.waitingReason = '';
  draft.record.workerSeq = 0;
  draft.record.workerAddress = d.address;
  delete draft.record.dispatch;
  const resume = d.resumeFrom ? `, resuming from ${d.resumeFrom}` : '';
  draft.transition(S.JOB_STATE_STARTING, `started on worker ${d.workerId} (attempt ${d.attempt}${resume})`, now);
  return draft;
}

/** The worker refused the job for a reason no other worker would fix: FAILED. */
export function rejectDispatch(record: JobRecord, d: Dispatch, failure: common.Failure, now: Date): JobDraft | undefined {
  if (!sameDispatch(record, d)) return undefined;
  const draft = new JobDraft(record);
  delete draft.record.dispatch;
  delete draft.record.occupies;
  fail(draft, failure, now);
  return draft;
}

/** The worker could not take the job now (busy, unreachable): back to waiting, same state. */
export function deferDispatch(record: JobRecord, d: Dispatch, now: Date): JobDraft | undefined {
  if (!sameDispatch(record, d)) return undefined;
  const draft = new JobDraft(record);
  delete draft.record.dispatch;
  delete draft.record.occupies;
  draft.record.deferredTo = { workerId: d.workerId, at: now };
  draft.touch(now);
  return draft;
}

/**
 * The worker's job ended but its final state event never reached us (the stream closed early):
 * take the end from the worker's GetJob.
 */
export function settleFromWorkerJob(record: JobRecord, wj: trainer.WorkerJob, now: Date): JobDraft | undefined {
  if (!isOnWorker(record.job.state) || wj.attempt !== record.job.attempt) return undefined;
  const draft = new JobDraft(record);
  const j = draft.job;
  if (wj.artifacts.length > 0) j.artifacts = wj.artifacts;
  if (wj.progress) j.progress = wj.progress;
  const why = 'final state read from the worker';
  switch (wj.state) {
    case W.WORKER_JOB_STATE_SUCCEEDED:
      draft.transition(S.JOB_STATE_SUCCEEDED, why, now);
      break;
    case W.WORKER_JOB_STATE_FAILED:
      fail(draft, wj.failure ?? { class: common.FailureClass.FAILURE_CLASS_PLATFORM, message: 'the worker reported a failure', detail: '' }, now);
      break;
    case W.WORKER_JOB_STATE_CANCELLED:
      draft.transition(S.JOB_STATE_CANCELLED, why, now);
      break;
    case W.WORKER_JOB_STATE_INTERRUPTED:
      if (record.job.state === S.JOB_STATE_CANCEL_REQUESTED) draft.transition(S.JOB_STATE_CANCELLED, why, now);
      else recoverOrFail(draft, `worker ${record.job.workerId} was interrupted`, now);
      break;
    default:
      return undefined;
  }
  return draft;
}
