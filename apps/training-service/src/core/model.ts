/**
 * What the orchestrator stores about a job: the public Job message plus the bookkeeping that
 * makes its events exactly-once (revision for compare-and-set, the outbox of events stored but not
 * yet published) and its dispatch restartable (which worker it occupies, the last worker sequence
 * stored).
 */
import type { trainer, training } from '@medtune/contracts';

/** A NATS message to publish for a stored event; its message id is `<job_id>:<sequence>`. */
export interface OutgoingMessage {
  /** The catalog subject (before any deployment prefix), e.g. medtune.training.job.queued. */
  readonly subject: string;
  /** The encoded protobuf payload. */
  readonly data: Uint8Array;
}

/** Which kind of event a stored job event is (for queries such as ListCheckpoints). */
export type JobEventKind = 'state' | 'progress' | 'metrics' | 'checkpoint' | 'artifact' | 'backend' | 'notice' | 'worker_state' | 'other';

/**
 * One event of a job, numbered by the orchestrator (1, 2, 3, ... with no gaps), as written to the
 * outbox inside the job document and then to the event log.
 */
export interface StoredJobEvent {
  /** The orchestrator's sequence. */
  readonly seq: number;
  /** Attempt the event belongs to (0 before the first dispatch). */
  readonly attempt: number;
  /** The worker's own sequence for worker events; 0 for the orchestrator's events. */
  readonly workerSeq: number;
  readonly kind: JobEventKind;
  /** The event as WatchJob serves it. */
  readonly event: training.JobEvent;
  /** The NATS message, when the event is published. */
  readonly publish?: OutgoingMessage;
}

/** A StartJob being sent: recorded before the call so a restart can finish or undo it. */
export interface Dispatch {
  readonly workerId: string;
  readonly address: string;
  /** The attempt this start is (job.attempt + 1, or 1). */
  readonly attempt: number;
  /** Checkpoint URI to resume from; empty for a fresh start. */
  readonly resumeFrom: string;
}

/** The stored job. */
export interface JobRecord {
  /** The public view; job.lastSequence is the last sequence written. */
  job: training.Job;
  /** Incremented on every write; writes compare-and-set on it (no multi-document transactions). */
  rev: number;
  /** Canonical hash of the creating request (idempotency). */
  requestHash: string;
  /** Queue order within a priority: creation time (a recovering job keeps its place). */
  queuedAt: Date;
  /** The worker this job holds (dispatch in flight or running); absent when it holds none. */
  occupies?: string;
  /** Address of job.workerId while it runs there. */
  workerAddress?: string;
  /**
   * Last worker sequence stored for the current attempt; 0 before its first event. Re-attach asks
   * from workerSeq + 1. A worker's sequences need not restart at 1 for a new attempt (the log of a
   * job resumed on the same artifact root continues), hence (attempt, workerSeq) as the event key.
   */
  workerSeq: number;
  /** Set while a StartJob is being sent. */
  dispatch?: Dispatch;
  /**
   * The worker of the last dispatch that was deferred (its StartJob timed out or the worker could
   * not take it now), and when: a timed-out StartJob may have started the attempt there, so that
   * worker's heartbeat is not told to stop the job while the scheduler offers it there again
   * (StartJob is idempotent: it attaches).
   */
  deferredTo?: { workerId: string; at: Date };
  /** URI of the newest checkpoint over all attempts. */
  lastCheckpointUri?: string;
  /**
   * Fencing token of the `training.scheduler` lease holder that last wrote the record: a process
   * whose lease lapsed (it was paused past its expiry) cannot overwrite a successor's write.
   */
  fence?: number;
  /** Events written with this version of the record and not yet in the event log / on NATS. */
  outbox: StoredJobEvent[];
}

/** A registered worker as the orchestrator stores it. */
export interface WorkerRecord {
  readonly workerId: string;
  info: trainer.WorkerInfo;
  registeredAt: Date;
  lastHeartbeat: Date;
  lost: boolean;
  /** Subject of the credential that registered it (absent without access control). */
  registeredBy?: string;
}
