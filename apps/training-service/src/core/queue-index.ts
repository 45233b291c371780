/**
 * The scheduler's in-memory index of active jobs (waiting and on a worker), kept by the
 * `training.scheduler` lease holder so that a pass reads no collection: on FerretDB every filter but
 * an exact `_id` decodes the whole `jobs` collection in Go (seconds at 10,000 jobs), and even an
 * `_id` lookup scans the SQLite table (tools/infra/README.md). The index is
 *
 * - loaded once when the process takes the lease (one scan of the active jobs),
 * - kept current from every record this process's ledger writes ({@link QueueIndex.apply} with the
 *   stored record) and from the job events on NATS, whichever replica wrote them (the holder reads
 *   that job by `_id` and applies it),
 * - repaired by a periodic reconcile scan off the hot path ({@link QueueIndex.reconcile}: what a
 *   missed event left wrong is put right; nothing applied while the scan ran is undone).
 *
 * An entry carries what placement needs (priority, queue time, the job's fit facts, whether it holds
 * a worker or has a dispatch in flight); dispatch then reads and writes the job by `_id` only.
 * Records are applied by revision: an older one never replaces a newer.
 */
import type { common } from '@medtune/contracts';
import type { JobRecord } from './model';
import { isOnWorker, isTerminal, WAITING_STATES } from './state-machine';

/** What the index knows of one active job. */
export interface QueueEntry {
  readonly jobId: string;
  readonly rev: number;
  /** The job's last event sequence (job.lastSequence) at that revision. */
  readonly seq: number;
  readonly state: number;
  readonly priority: number;
  /** Queue order within a priority (ms since the epoch). */
  readonly queuedAt: number;
  /** The worker it holds (dispatch in flight or running). */
  readonly occupies: string | undefined;
  /** A StartJob is recorded in the job (being sent, or to be re-sent after a restart). */
  readonly dispatching: boolean;
  /** The job's fit facts (scheduler.fits). */
  readonly minGpuMemoryBytes: number;
  readonly backend: common.Backend;
  readonly hyperparameters: { readonly gpus?: number } | undefined;
}

function entryOf(r: JobRecord): QueueEntry {
  const j = r.job;
  return {
    jobId: j.jobId,
    rev: r.rev,
    seq: j.lastSequence,
    state: j.state,
    priority: j.priority,
    queuedAt: r.queuedAt.getTime(),
    occupies: r.occupies,
    dispatching: r.dispatch !== undefined,
    minGpuMemoryBytes: Number(j.minGpuMemoryBytes),
    backend: j.backend,
    hyperparameters: j.hyperparameters ? { gpus: j.hyperparameters.gpus ?? 1 } : undefined,
  };
}

/** Queue order: priority descending, then queue time, then id (as the `queue` index sorts). */
function before(a: QueueEntry, b: QueueEntry): number {
  return b.priority - a.priority || a.queuedAt - b.queuedAt || (a.jobId < b.jobId ? -1 : a.jobId > b.jobId ? 1 : 0);
}

const isWaiting = (state: number): boolean => WAITING_STATES.includes(state);
/** Kept in the index: waiting, or on a worker, or holding one. */
const isActive = (r: JobRecord): boolean => !isTerminal(r.job.state) && (isWaiting(r.job.state) || isOnWorker(r.job.state) || r.occupies !== undefined);

/** The index. Not thread-safe in any sense that matters here: one event loop. */
export class QueueIndex {
  private readonly entries = new Map<string, QueueEntry>();
  /** Waiting entries without a worker or a dispatch, in queue order. */
  private readonly queue: QueueEntry[] = [];
  /** Jobs removed because they ended, by revision and sequence (a late older record must not bring them back). */
  private readonly ended = new Map<string, { rev: number; seq: number }>();
  /** Bumped by every apply: a reconcile leaves alone what changed while it scanned. */
  private generation = 0;
  private readonly touched = new Map<string, number>();
  private loadedOnce = false;

  /** True once {@link load} ran (the holder has read the collection since it took the lease). */
  get loaded(): boolean {
    return this.loadedOnce;
  }

  /** Active jobs indexed. */
  get size(): number {
    return this.entries.size;
  }

  /** Waiting jobs that hold no worker (the queue). */
  get waitingCount(): number {
    return this.queue.length;
  }

  /** Forgets everything (the lease went elsewhere: the next holder's writes are not seen here). */
  clear(): void {
    this.entries.clear();
    this.queue.length = 0;
    this.ended.clear();
    this.touched.clear();
    this.loadedOnce = false;
  }

  /**
   * Fills the index from one scan of the active jobs, started at `mark` (taking the lease; writes
   * applied while the scan ran are kept, as in {@link reconcile}). From then on the scheduler uses it.
   */
  load(records: Iterable<JobRecord>, mark: number): void {
    this.reconcile(records, mark);
    this.loadedOnce = true;
  }

  /** True when the index has seen the job at event sequence `seq` or later (an event it need not read). */
  knows(jobId: string, seq: number): boolean {
    return (this.entries.get(jobId)?.seq ?? this.ended.get(jobId)?.seq ?? -1) >= seq;
  }

  /** A generation mark to pass to {@link reconcile}; take it before the scan starts. */
  mark(): number {
    return this.generation;
  }

  /**
   * Repairs drift from a scan of the active jobs that started at `mark`: records newer than their
   * entry are applied, entries of jobs the scan did not return are dropped, except what was applied
   * since `mark` (newer than the scan). Returns how many entries it changed.
   */
  reconcile(records: Iterable<JobRecord>, mark: number): number {
    let changed = 0;
    const seen = new Set<string>();
    for (const r of records) {
      seen.add(r.job.jobId);
      const e = this.entries.get(r.job.jobId);
      if ((this.touched.get(r.job.jobId) ?? -1) > mark && e) continue;
      if (!e || e.rev < r.rev) {
        if (this.apply(r)) changed++;
      }
    }
    for (const id of [...this.entries.keys()]) {
      if (seen.has(id) || (this.touched.get(id) ?? -1) > mark) continue;
      this.drop(id);
      changed++;
    }
    // What ended before the scan began cannot come back from an older read any more: forget it.
    for (const [id, at] of this.touched) {
      if (at <= mark && !this.entries.has(id)) {
        this.touched.delete(id);
        this.ended.delete(id);
      }
    }
    return changed;
  }

  /**
   * Applies a record as stored (written by this process, or read after an event): inserted, moved
   * or removed (ended). Ignored when the index has a newer revision of the job. True when applied.
   */
  apply(r: JobRecord): boolean {
    const id = r.job.jobId;
    const current = this.entries.get(id);
    if (current && current.rev > r.rev) return false;
    const endedAt = this.ended.get(id);
    if (endedAt !== undefined && endedAt.rev >= r.rev) return false;
    this.generation++;
    this.touched.set(id, this.generation);
    if (current) this.unqueue(current);
    if (!isActive(r)) {
      this.entries.delete(id);
      if (isTerminal(r.job.state)) this.ended.set(id, { rev: r.rev, seq: r.job.lastSequence });
      return true;
    }
    const e = entryOf(r);
    this.entries.set(id, e);
    if (isWaiting(e.state) && !e.occupies && !e.dispatching) this.enqueue(e);
    return true;
  }

  /** The entry of a job, if active. */
  get(jobId: string): QueueEntry | undefined {
    return this.entries.get(jobId);
  }

  /** The first `limit` waiting jobs that hold no worker, in queue order. */
  waiting(limit = Infinity): QueueEntry[] {
    return this.queue.slice(0, Math.min(limit, this.queue.length));
  }

  /** Jobs holding one of these workers. */
  occupying(workerIds: Iterable<string>): QueueEntry[] {
    const ids = new Set(workerIds);
    const out: QueueEntry[] = [];
    for (const e of this.entries.values()) if (e.occupies !== undefined && ids.has(e.occupies)) out.push(e);
    return out;
  }

  /** Jobs on a worker (STARTING, RUNNING, UPLOADING, CANCEL_REQUESTED). */
  onWorker(): string[] {
    const out: string[] = [];
    for (const e of this.entries.values()) if (isOnWorker(e.state)) out.push(e.jobId);
    return out;
  }

  private drop(id: string): void {
    const e = this.entries.get(id);
    if (!e) return;
    this.unqueue(e);
    this.entries.delete(id);
  }

  private position(e: QueueEntry): number {
    let lo = 0;
    let hi = this.queue.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const m = this.queue[mid];
      if (m && before(m, e) < 0) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  private enqueue(e: QueueEntry): void {
    this.queue.splice(this.position(e), 0, e);
  }

  private unqueue(e: QueueEntry): void {
    const i = this.position(e);
    if (this.queue[i]?.jobId === e.jobId) this.queue.splice(i, 1);
  }
}
