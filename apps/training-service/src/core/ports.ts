/**
 * What the core needs from the outside, as interfaces: the Mongo repositories, the NATS publisher,
 * the trainer workers' gRPC API and the dataset service's. main.ts passes the real adapters in; the
 * unit tests pass in-memory fakes.
 */
import type { dataset, trainer, training } from '@medtune/contracts';
import type { JobRecord, StoredJobEvent, WorkerRecord } from './model';

/** Filter of {@link JobRepository.list}. */
export interface JobQuery {
  states?: readonly training.JobState[];
  datasetDigest?: string;
  experiment?: string;
  /** Every one of these tags must match. */
  tags?: Readonly<Record<string, string>>;
  /** Only jobs whose id sorts before this one (ids are time-sortable: newest first paging). */
  beforeJobId?: string;
  limit: number;
}

/** Thrown by {@link JobRepository.insert} when the idempotency key is taken. */
export class IdempotencyKeyTakenError extends Error {
  constructor(readonly idempotencyKey: string) {
    super(`idempotency key ${JSON.stringify(idempotencyKey)} is taken`);
    this.name = 'IdempotencyKeyTakenError';
  }
}

/** Job documents. */
export interface JobRepository {
  /** Stores a new job; throws {@link IdempotencyKeyTakenError} when its key exists. */
  insert(record: JobRecord): Promise<void>;
  get(jobId: string): Promise<JobRecord | undefined>;
  getByIdempotencyKey(key: string): Promise<JobRecord | undefined>;
  /** Replaces the job when its stored rev is `expectedRev`; false when someone else wrote first. */
  replace(record: JobRecord, expectedRev: number): Promise<boolean>;
  /**
   * Removes outbox entries with these sequences (after they were logged and published) from the
   * record as stored at `record.rev`; does nothing if the record changed since (the entries are
   * then flushed once more, harmlessly).
   */
  removeFromOutbox(record: JobRecord, seqs: readonly number[]): Promise<void>;
  /** Jobs with a non-empty outbox (the startup sweep). */
  withPendingOutbox(): Promise<JobRecord[]>;
  /**
   * Jobs in these states, priority descending then queuedAt ascending (the `queue` index); with a
   * page, only `limit` of them after the first `skip` (the scheduler fetches as many as it has
   * free slots).
   */
  findInStates(states: readonly training.JobState[], page?: { limit: number; skip?: number }): Promise<JobRecord[]>;
  /** Jobs that hold one of these workers. */
  findOccupying(workerIds: readonly string[]): Promise<JobRecord[]>;
  /** Newest first. */
  list(query: JobQuery): Promise<JobRecord[]>;
}

/** The job event log (what WatchJob re-serves). */
export interface JobEventRepository {
  /**
   * Stores an event; a second insert of the same (job, seq) or of the same
   * (job, attempt, workerSeq > 0) is ignored (returns false).
   */
  insert(jobId: string, event: StoredJobEvent): Promise<boolean>;
  /** Stores several events (same rules as insert: repeats are ignored). */
  insertAll(jobId: string, events: readonly StoredJobEvent[]): Promise<void>;
  /** Events with seq >= fromSeq, ascending, at most `limit`. */
  listFrom(jobId: string, fromSeq: number, limit: number): Promise<StoredJobEvent[]>;
  /** Events of one kind, ascending by seq. */
  listKind(jobId: string, kind: StoredJobEvent['kind']): Promise<StoredJobEvent[]>;
}

/** Registered workers. */
export interface WorkerRepository {
  /** Creates or replaces the worker's registration (not lost, heartbeat now). */
  upsert(record: WorkerRecord): Promise<void>;
  get(workerId: string): Promise<WorkerRecord | undefined>;
  /** Updates info and lastHeartbeat of a worker that is not lost; false when unknown or lost. */
  heartbeat(workerId: string, info: trainer.WorkerInfo, at: Date): Promise<boolean>;
  /** Marks it lost if its last heartbeat is still `lastHeartbeat`; false when it heartbeated since. */
  markLost(workerId: string, lastHeartbeat: Date): Promise<boolean>;
  list(includeLost: boolean): Promise<WorkerRecord[]>;
}

/** Publishes a NATS message with a message id (JetStream de-duplicates by it). */
export interface EventPublisher {
  publish(message: { subject: string; data: Uint8Array }, id: string): Promise<void>;
}

/** A trainer worker's API, as the orchestrator uses it. Errors are the kit's DomainError classes. */
export interface WorkerClient {
  /** StartJob; `deadlineMs` overrides the client's default (dispatch uses a short one). */
  startJob(req: trainer.StartJobRequest, options?: { deadlineMs?: number }): Promise<trainer.StartJobResponse>;
  getJob(jobId: string): Promise<trainer.WorkerJob>;
  cancelJob(jobId: string, reason: string): Promise<trainer.WorkerJob>;
  /** The worker's events from `fromSequence`, following live until the job ends or `signal` aborts. */
  watchJob(jobId: string, fromSequence: number, signal: AbortSignal): AsyncIterable<trainer.JobEvent>;
}

/** Gives the client of the worker at an address (clients are cached and closed by the factory). */
export type WorkerClientFactory = (address: string) => WorkerClient;

/** The dataset service, as the orchestrator uses it. */
export interface DatasetClient {
  /** GetVersion; NotFoundError when unknown, UnavailableError when unreachable. */
  getVersion(digest: string): Promise<dataset.GetVersionResponse>;
}

/** What CreateJob learns about a base model before any worker loads it. */
export type ModelFacts =
  | { readonly kind: 'missing'; readonly reason: string }
  | {
      readonly kind: 'model';
      readonly dir: string;
      /** config.json's model_type ('' when absent). */
      readonly modelType: string;
      /** Names of the model's modules (full dotted paths or bare names); absent when unknown. */
      readonly modules?: readonly string[];
    };

/** Inspects base models (local files; a worker's answer could stand behind the same port). */
export interface ModelInspector {
  /** Undefined when this base model cannot be checked here (a hub id). */
  inspect(baseModel: string): Promise<ModelFacts | undefined>;
}

/** Where the workers reach the dataset service and put their artifacts. */
export interface DispatchSettings {
  /** host:port of the dataset service as the workers see it. */
  readonly datasetAddress: string;
  /** Bearer token the workers use with the dataset service, when access control is on. */
  readonly datasetAuthToken?: string;
  /** Mints the short-lived data credential of one job (its version only); preferred over datasetAuthToken. */
  readonly datasetCredential?: (jobId: string, versionDigest: string) => Promise<string>;
  /** e.g. file:///var/medtune/artifacts; the worker writes under <root>/<job_id>/. */
  readonly artifactRoot: string;
}

/**
 * Changes of jobs written by any replica (the job.<state> events on NATS): the scheduler lease
 * holder reads a job it has not seen at that sequence and updates its queue index (queue-index.ts).
 * Best effort: a missed message is repaired by the index's reconcile scan.
 */
export interface JobChangeFeed {
  /** Calls `listener` for each job event; returns the unsubscribe function. */
  subscribe(listener: (jobId: string, sequence: number) => void): () => void;
}
