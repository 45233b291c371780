/**
 * In-memory stand-ins for the core's ports, for unit tests only: repositories that copy on read
 * and write (like a database) and honour the same compare-and-set and unique-index rules, a
 * publisher that records, a dataset service with a table of versions, and a scripted worker.
 */
import { DeadlineExceededError, NotFoundError, ResourceExhaustedError, UnavailableError } from '@medtune/kit';
import { common, dataset, trainer, type training } from '@medtune/contracts';
import type { JobRecord, StoredJobEvent, WorkerRecord } from '../model';
import {
  type DatasetClient,
  type EventPublisher,
  IdempotencyKeyTakenError,
  type JobEventRepository,
  type JobQuery,
  type JobRepository,
  type WorkerClient,
  type WorkerRepository,
} from '../ports';

const copy = <T>(v: T): T => structuredClone(v);

/** Jobs in a Map, with the repository's ordering and CAS rules. */
export class MemoryJobRepository implements JobRepository {
  readonly rows = new Map<string, JobRecord>();
  /** Called before each replace; a test may write the row itself to force a conflict. */
  beforeReplace?: (record: JobRecord) => void;

  async insert(record: JobRecord): Promise<void> {
    for (const r of this.rows.values()) if (r.job.idempotencyKey === record.job.idempotencyKey) throw new IdempotencyKeyTakenError(record.job.idempotencyKey);
    this.rows.set(record.job.jobId, copy(record));
  }
  async get(jobId: string): Promise<JobRecord | undefined> {
    const r = this.rows.get(jobId);
    return r && copy(r);
  }
  async getByIdempotencyKey(key: string): Promise<JobRecord | undefined> {
    for (const r of this.rows.values()) if (r.job.idempotencyKey === key) return copy(r);
    return undefined;
  }
  async replace(record: JobRecord, expectedRev: number): Promise<boolean> {
    this.beforeReplace?.(record);
    const cur = this.rows.get(record.job.jobId);
    if (!cur || cur.rev !== expectedRev) return false;
    this.rows.set(record.job.jobId, copy(record));
    return true;
  }
  async removeFromOutbox(record: JobRecord, seqs: readonly number[]): Promise<void> {
    const r = this.rows.get(record.job.jobId);
    if (r && r.rev === record.rev) r.outbox = r.outbox.filter((e) => !seqs.includes(e.seq));
  }
  async withPendingOutbox(): Promise<JobRecord[]> {
    return [...this.rows.values()].filter((r) => r.outbox.length > 0).map(copy);
  }
  async findInStates(states: readonly training.JobState[], page?: { limit: number; skip?: number }): Promise<JobRecord[]> {
    const all = [...this.rows.values()]
      .filter((r) => states.includes(r.job.state))
      .sort((a, b) => b.job.priority - a.job.priority || a.queuedAt.getTime() - b.queuedAt.getTime() || a.job.jobId.localeCompare(b.job.jobId));
    const from = page?.skip ?? 0;
    return (page ? all.slice(from, from + Math.max(1, page.limit)) : all).map(copy);
  }
  async findOccupying(workerIds: readonly string[]): Promise<JobRecord[]> {
    return [...this.rows.values()].filter((r) => r.occupies !== undefined && workerIds.includes(r.occupies)).map(copy);
  }
  async list(q: JobQuery): Promise<JobRecord[]> {
    return [...this.rows.values()]
      .filter((r) => !q.states || q.states.includes(r.job.state))
      .filter((r) => !q.datasetDigest || r.job.datasetDigest === q.datasetDigest)
      .filter((r) => !q.experiment || r.job.experiment === q.experiment)
      .filter((r) => !q.tags || Object.entries(q.tags).every(([k, v]) => r.job.tags[k] === v))
      .filter((r) => !q.beforeJobId || r.job.jobId < q.beforeJobId)
      .sort((a, b) => (a.job.jobId < b.job.jobId ? 1 : -1))
      .slice(0, q.limit)
      .map(copy);
  }
}

/** The event log with both unique indexes. */
export class MemoryJobEventRepository implements JobEventRepository {
  readonly rows = new Map<string, StoredJobEvent[]>();
  async insert(jobId: string, event: StoredJobEvent): Promise<boolean> {
    const list = this.rows.get(jobId) ?? [];
    if (list.some((e) => e.seq === event.seq || (event.workerSeq > 0 && e.attempt === event.attempt && e.workerSeq === event.workerSeq))) return false;
    list.push(copy(event));
    list.sort((a, b) => a.seq - b.seq);
    this.rows.set(jobId, list);
    return true;
  }
  async insertAll(jobId: string, events: readonly StoredJobEvent[]): Promise<void> {
    for (const e of events) await this.insert(jobId, e);
  }
  async listFrom(jobId: string, fromSeq: number, limit: number): Promise<StoredJobEvent[]> {
    return (this.rows.get(jobId) ?? []).filter((e) => e.seq >= fromSeq).slice(0, limit).map(copy);
  }
  async listKind(jobId: string, kind: StoredJobEvent['kind']): Promise<StoredJobEvent[]> {
    return (this.rows.get(jobId) ?? []).filter((e) => e.kind === kind).map(copy);
  }
  all(jobId: string): StoredJobEvent[] {
    return this.rows.get(jobId) ?? [];
  }
}

/** Workers in a Map. */
export class MemoryWorkerRepository implements WorkerRepository {
  readonly rows = new Map<string, WorkerRecord>();
  async upsert(record: WorkerRecord): Promise<void> {
    this.rows.set(record.workerId, copy(record));
  }
  async get(workerId: string): Promise<WorkerRecord | undefined> {
    const w = this.rows.get(workerId);
    return w && copy(w);
  }
  async heartbeat(workerId: string, info: trainer.WorkerInfo, at: Date): Promise<boolean> {
    const w = this.rows.get(workerId);
    if (!w || w.lost) return false;
    w.info = copy(info);
    w.lastHeartbeat = at;
    return true;
  }
  async markLost(workerId: string, lastHeartbeat: Date): Promise<boolean> {
    const w = this.rows.get(workerId);
    if (!w || w.lost || w.lastHeartbeat.getTime() !== lastHeartbeat.getTime()) return false;
    w.lost = true;
    return true;
  }
  async list(includeLost: boolean): Promise<WorkerRecord[]> {
    return [...this.rows.values()].filter((w) => includeLost || !w.lost).map(copy);
  }
}

/** A published message as recorded. */
export interface Published {
  subject: string;
  data: Uint8Array;
  id: string;
}

/** Records publishes; de-duplicates by id like JetStream; can be made to fail. */
export class RecordingPublisher implements EventPublisher {
  readonly messages: Published[] = [];
  readonly ids = new Set<string>();
  failing = false;
  async publish(message: { subject: string; data: Uint8Array }, id: string): Promise<void> {
    if (this.failing) throw new UnavailableError('NATS is down (test)');
    if (this.ids.has(id)) return;
    this.ids.add(id);
    this.messages.push({ ...message, id });
  }
  subjects(): string[] {
    return this.messages.map((m) => m.subject);
  }
}

/** Dataset versions by digest. */
export class FakeDatasets implements DatasetClient {
  readonly versions = new Map<string, dataset.VersionState>();
  down = false;
  calls = 0;
  async getVersion(digest: string): Promise<dataset.GetVersionResponse> {
    this.calls++;
    if (this.down) throw new UnavailableError('dataset service unreachable (test)');
    const state = this.versions.get(digest);
    if (state === undefined) throw new NotFoundError(`no version ${digest}`);
    return { version: dataset.DatasetVersion.fromPartial({ digest, state }), inUse: false };
  }
}

interface FakeWorkerJob {
  req: trainer.StartJobRequest;
  events: trainer.JobEvent[];
  state: trainer.WorkerJobState;
  wake: Set<() => void>;
}

const FINAL = [
  trainer.WorkerJobState.WORKER_JOB_STATE_SUCCEEDED,
  trainer.WorkerJobState.WORKER_JOB_STATE_FAILED,
  trainer.WorkerJobState.WORKER_JOB_STATE_CANCELLED,
  trainer.WorkerJobState.WORKER_JOB_STATE_INTERRUPTED,
];

/**
 * A scripted trainer worker: StartJob records the job and emits STARTING; the test drives the rest
 * with emit*(). `down` makes every call fail UNAVAILABLE (a dead worker); `busy` makes StartJob
 * fail RESOURCE_EXHAUSTED; `cancelEndsJob` makes CancelJob end the job CANCELLED (with a checkpoint).
 */
export class FakeWorker implements WorkerClient {
  readonly jobs = new Map<string, FakeWorkerJob>();
  readonly startCalls: trainer.StartJobRequest[] = [];
  readonly cancelCalls: string[] = [];
  down = false;
  busy = false;
  cancelEndsJob = true;
  startError?: Error;
  /** A black-holed address: StartJob answers nothing, and fails with DEADLINE_EXCEEDED at its deadline. */
  blackHoled = false;

  /**
   * `sharedLogs`: event logs by job id shared between workers, like workers on one artifact root —
   * a resumed attempt continues the job's log after the earlier attempts' events.
   */
  constructor(
    readonly workerId: string,
    private readonly sharedLogs?: Map<string, trainer.JobEvent[]>,
  ) {}

  async startJob(req: trainer.StartJobRequest, options?: { deadlineMs?: number }): Promise<trainer.StartJobResponse> {
    if (this.blackHoled) {
      await new Promise((r) => setTimeout(r, options?.deadlineMs ?? 30_000));
      throw new DeadlineExceededError('deadline exceeded (test: black-holed)');
    }
    this.check();
    this.startCalls.push(copy(req));
    if (this.startError) throw this.startError;
    const existing = this.jobs.get(req.jobId);
    if (existing) return { job: this.view(req.jobId), created: false };
    if (this.busy || [...this.jobs.values()].some((j) => !FINAL.includes(j.state))) throw new ResourceExhaustedError('busy (test)');
    const events = this.sharedLogs?.get(req.jobId) ?? [];
    this.sharedLogs?.set(req.jobId, events);
    this.jobs.set(req.jobId, { req: copy(req), events, state: trainer.WorkerJobState.WORKER_JOB_STATE_STARTING, wake: new Set() });
    this.emitState(req.jobId, trainer.WorkerJobState.WORKER_JOB_STATE_STARTING, 'loading');
    return { job: this.view(req.jobId), created: true };
  }

  async getJob(jobId: string): Promise<trainer.WorkerJob> {
    this.check();
    return this.view(jobId);
  }

  async cancelJob(jobId: string): Promise<trainer.WorkerJob> {
    this.check();
    this.cancelCalls.push(jobId);
    const j = this.need(jobId);
    if (this.cancelEndsJob && !FINAL.includes(j.state)) {
      this.emitCheckpoint(jobId, 99);
      this.emitState(jobId, trainer.WorkerJobState.WORKER_JOB_STATE_CANCELLED, 'cancelled');
    }
    return this.view(jobId);
  }

  async *watchJob(jobId: string, fromSequence: number, signal: AbortSignal): AsyncIterable<trainer.JobEvent> {
    this.check();
    const j = this.need(jobId);
    let next = Math.max(1, fromSequence);
    for (;;) {
      while (next <= j.events.length) {
        if (this.down) throw new UnavailableError('worker gone (test)');
        const ev = j.events[next - 1];
        if (ev) yield copy(ev);
        next++;
      }
      if (FINAL.includes(j.state) || signal.aborted) return;
      await new Promise<void>((resolve) => {
        const done = (): void => {
          j.wake.delete(done);
          signal.removeEventListener('abort', done);
          resolve();
        };
        j.wake.add(done);
        signal.addEventListener('abort', done);
      });
      if (this.down) throw new UnavailableError('worker gone (test)');
    }
  }

  /** Appends an event to the job's stream. */
  emit(jobId: string, payload: trainer.JobEvent['payload']): trainer.JobEvent {
    const j = this.need(jobId);
    const ev: trainer.JobEvent = { jobId, sequence: j.events.length + 1, time: new Date(), attempt: j.req.attempt, payload };
    j.events.push(ev);
    for (const w of [...j.wake]) w();
    return ev;
  }

  emitState(jobId: string, state: trainer.WorkerJobState, reason: string, failure?: common.Failure): void {
    this.need(jobId).state = state;
    this.emit(jobId, { $case: 'stateChanged', stateChanged: { state, reason, failure } });
  }

  emitMetrics(jobId: string, step: number, loss: number): void {
    this.emit(jobId, { $case: 'metrics', metrics: { step, epoch: step / 10, values: { loss } } });
  }

  emitProgress(jobId: string, step: number, total: number): void {
    this.emit(jobId, { $case: 'progress', progress: { step, totalSteps: total, epoch: step / total, etaSeconds: 1, tokensPerSecond: 100 } });
  }

  emitCheckpoint(jobId: string, step: number): void {
    const uri = `file:///tmp/ckpt/${jobId}/a${this.need(jobId).req.attempt}/step-${step}`;
    this.emit(jobId, {
      $case: 'checkpointSaved',
      checkpointSaved: { checkpoint: { step, uri, artifact: common.Artifact.fromPartial({ kind: common.ArtifactKind.ARTIFACT_KIND_CHECKPOINT, uri }), createdTime: new Date() } },
    });
  }

  /** Runs a job to success: RUNNING, `steps` metrics, UPLOADING, an adapter, SUCCEEDED. */
  succeed(jobId: string, steps = 3): void {
    this.emitState(jobId, trainer.WorkerJobState.WORKER_JOB_STATE_RUNNING, 'training');
    for (let s = 1; s <= steps; s++) this.emitMetrics(jobId, s, 10 - s);
    this.emitState(jobId, trainer.WorkerJobState.WORKER_JOB_STATE_UPLOADING, 'saving');
    this.emit(jobId, { $case: 'artifactReady', artifactReady: common.Artifact.fromPartial({ kind: common.ArtifactKind.ARTIFACT_KIND_ADAPTER, uri: `file:///tmp/a/${jobId}` }) });
    this.emitState(jobId, trainer.WorkerJobState.WORKER_JOB_STATE_SUCCEEDED, 'done');
  }

  info(address = `${this.workerId}:1`): trainer.WorkerInfo {
    return trainer.WorkerInfo.fromPartial({
      workerId: this.workerId,
      address,
      gpuName: 'cpu',
      gpuMemoryBytes: 0,
      backends: [common.Backend.BACKEND_HF],
      busy: false,
    });
  }

  private view(jobId: string): trainer.WorkerJob {
    const j = this.need(jobId);
    return trainer.WorkerJob.fromPartial({ jobId, state: j.state, attempt: j.req.attempt, lastSequence: j.events.length });
  }

  private need(jobId: string): FakeWorkerJob {
    const j = this.jobs.get(jobId);
    if (!j) throw new NotFoundError(`job ${jobId} unknown (test worker ${this.workerId})`);
    return j;
  }

  private check(): void {
    if (this.down) throw new UnavailableError(`worker ${this.workerId} unreachable (test)`);
  }
}

/** A clock the test moves by hand. */
export class ManualClock {
  constructor(private ms = Date.UTC(2025, 0, 1)) {}
  readonly now = (): Date => new Date(this.ms);
  advance(ms: number): void {
    this.ms += ms;
  }
}
