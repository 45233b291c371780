/**
 * The job state machine: which transitions are allowed, which states are final, and which states
 * hold a worker. Every state change goes through {@link canTransition}, so an event that arrives
 * late (a worker's RUNNING after the job was cancelled) cannot move a job backwards.
 */
import { training } from '@medtune/contracts';

const S = training.JobState;
type State = training.JobState;

/** Allowed transitions: from → the states it may enter. */
const NEXT: ReadonlyMap<State, ReadonlySet<State>> = new Map<State, ReadonlySet<State>>([
  [S.JOB_STATE_VALIDATING, new Set([S.JOB_STATE_QUEUED, S.JOB_STATE_FAILED, S.JOB_STATE_CANCELLED])],
  // QUEUED → FAILED: the worker refused the job as invalid (INVALID_ARGUMENT / FAILED_PRECONDITION).
  [S.JOB_STATE_QUEUED, new Set([S.JOB_STATE_STARTING, S.JOB_STATE_CANCELLED, S.JOB_STATE_FAILED])],
  [
    S.JOB_STATE_STARTING,
    new Set([S.JOB_STATE_RUNNING, S.JOB_STATE_UPLOADING, S.JOB_STATE_SUCCEEDED, S.JOB_STATE_FAILED, S.JOB_STATE_CANCEL_REQUESTED, S.JOB_STATE_CANCELLED, S.JOB_STATE_RECOVERING]),
  ],
  [
    S.JOB_STATE_RUNNING,
    new Set([S.JOB_STATE_UPLOADING, S.JOB_STATE_SUCCEEDED, S.JOB_STATE_FAILED, S.JOB_STATE_CANCEL_REQUESTED, S.JOB_STATE_CANCELLED, S.JOB_STATE_RECOVERING]),
  ],
  [S.JOB_STATE_UPLOADING, new Set([S.JOB_STATE_SUCCEEDED, S.JOB_STATE_FAILED, S.JOB_STATE_CANCEL_REQUESTED, S.JOB_STATE_CANCELLED, S.JOB_STATE_RECOVERING])],
  // A cancel can lose the race against the end of training: the job then ends as the worker says.
  [S.JOB_STATE_CANCEL_REQUESTED, new Set([S.JOB_STATE_CANCELLED, S.JOB_STATE_SUCCEEDED, S.JOB_STATE_FAILED])],
  [S.JOB_STATE_RECOVERING, new Set([S.JOB_STATE_STARTING, S.JOB_STATE_CANCELLED, S.JOB_STATE_FAILED])],
  [S.JOB_STATE_SUCCEEDED, new Set()],
  [S.JOB_STATE_FAILED, new Set()],
  [S.JOB_STATE_CANCELLED, new Set()],
]);

/** True when a job in `from` may enter `to`. */
export function canTransition(from: State, to: State): boolean {
  return NEXT.get(from)?.has(to) ?? false;
}

/** States a job never leaves. */
export const TERMINAL_STATES: readonly State[] = [S.JOB_STATE_SUCCEEDED, S.JOB_STATE_FAILED, S.JOB_STATE_CANCELLED];

/** True for SUCCEEDED, FAILED and CANCELLED. */
export function isTerminal(state: State): boolean {
  return TERMINAL_STATES.includes(state);
}

/** States in which a worker runs the job and the orchestrator follows its event stream. */
export const ON_WORKER_STATES: readonly State[] = [S.JOB_STATE_STARTING, S.JOB_STATE_RUNNING, S.JOB_STATE_UPLOADING, S.JOB_STATE_CANCEL_REQUESTED];

/** True while a worker runs the job. */
export function isOnWorker(state: State): boolean {
  return ON_WORKER_STATES.includes(state);
}

/** States waiting for a worker: the scheduler's queue. */
export const WAITING_STATES: readonly State[] = [S.JOB_STATE_QUEUED, S.JOB_STATE_RECOVERING];

/** "cancel_requested" for JOB_STATE_CANCEL_REQUESTED: how logs and messages name a state. */
export function stateName(state: State): string {
  return (S[state] ?? `JOB_STATE_${state}`).replace(/^JOB_STATE_/, '').toLowerCase();
}
