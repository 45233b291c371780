/**
 * The job ledger: the only writer of job records. A change is decided on the stored record, then
 * written with a compare-and-set on its revision (FerretDB has no multi-document transactions);
 * the events it appended travel inside that same write, in the record's outbox. Only then are they
 * copied to the event log and published on NATS with the message id `<job_id>:<sequence>`, and
 * removed from the outbox. A crash in between leaves them in the outbox; {@link flushPending}
 * (run at startup and periodically) finishes the work, the log's unique index and JetStream's
 * de-duplication absorbing the repeat. Net effect: each transition is stored once and published
 * once, in sequence order.
 */
import { EventEmitter } from 'node:events';
import type { Logger } from 'pino';
import type { JobDraft } from './draft';
import type { JobRecord } from './model';
import type { EventPublisher, JobEventRepository, JobRepository } from './ports';

/** Raised when a record kept changing under a writer (another process writing the same job). */
export class WriteConflictError extends Error {
  constructor(jobId: string, tries: number) {
    super(`job ${jobId}: gave up after ${tries} conflicting writes`);
    this.name = 'WriteConflictError';
  }
}

/** Raised when a fenced write meets a record written by a newer lease holder. */
export class FencedOffError extends Error {
  constructor(jobId: string, fence: number, stored: number) {
    super(`job ${jobId}: written by a newer scheduler (fence ${stored} > ${fence}); this process no longer holds the lease`);
    this.name = 'FencedOffError';
  }
}

/** The writing half of the ledger, as the background components use it. */
export type LedgerWriter = Pick<JobLedger, 'update'>;

/** Dependencies of {@link JobLedger}. */
export interface LedgerDeps {
  jobs: JobRepository;
  events: JobEventRepository;
  publisher: EventPublisher;
  log: Logger;
}

const MAX_TRIES = 8;

/** Serializes, stores and publishes every change of every job. */
export class JobLedger {
  private readonly locks = new Map<string, Promise<unknown>>();
  private readonly emitter = new EventEmitter();
  private readonly written: Array<(record: JobRecord) => void> = [];
  /** Jobs whose last flush in this process stopped early (their entries stay in the outbox). */
  private readonly unflushed = new Set<string>();

  constructor(private readonly deps: LedgerDeps) {
    // One listener per WatchJob call; many watchers of one job are normal.
    this.emitter.setMaxListeners(0);
  }

  /** Stores a new record (IdempotencyKeyTakenError when its key exists) and flushes its events. */
  async create(record: JobRecord): Promise<JobRecord> {
    return this.locked(record.job.jobId, async () => {
      await this.deps.jobs.insert(record);
      this.tell(record);
      await this.flush(record);
      return record;
    });
  }

  /**
   * Applies `decide` to the current record and stores the result. `decide` may run several times
   * (once per conflicting write) and must be pure; returning undefined (or an unchanged draft)
   * stores nothing. Returns the record as stored and whether this call changed it, plus whatever
   * `decide` returned alongside the draft.
   */
  async update<T = undefined>(
    jobId: string,
    decide: (record: JobRecord) => { draft?: JobDraft; result?: T } | JobDraft | undefined,
    options: { fence?: number | undefined } = {},
  ): Promise<{ record: JobRecord | undefined; changed: boolean; result?: T }> {
    return this.locked(jobId, async () => {
      const fence = options.fence;
      for (let tries = 1; tries <= MAX_TRIES; tries++) {
        const current = await this.deps.jobs.get(jobId);
        if (!current) return { record: undefined, changed: false };
        if (fence !== undefined && (current.fence ?? 0) > fence) throw new FencedOffError(jobId, fence, current.fence ?? 0);
        const out = decide(current);
        const draft = out && 'record' in out ? out : out?.draft;
        const result = out && !('record' in out) ? out.result : undefined;
        if (!draft?.changed) return { record: current, changed: false, result };
        const next = draft.record;
        next.rev = current.rev + 1;
        if (fence !== undefined) next.fence = Math.max(fence, current.fence ?? 0);
        if (await this.deps.jobs.replace(next, current.rev)) {
          this.tell(next);
          await this.flush(next);
          return { record: next, changed: true, result };
        }
        this.deps.log.debug({ jobId, tries }, 'job changed under us; deciding again');
      }
      throw new WriteConflictError(jobId, MAX_TRIES);
    });
  }

  /**
   * This ledger for work guarded by a lease: every write carries `fence()` (the token of the lease
   * this process holds or last held), so it never lands over a newer holder's write.
   */
  fenced(fence: () => number | undefined): LedgerWriter {
    return {
      update: <T = undefined>(jobId: string, decide: (record: JobRecord) => { draft?: JobDraft; result?: T } | JobDraft | undefined) =>
        this.update<T>(jobId, decide, { fence: fence() }),
    };
  }

  /** Copies outbox entries to the event log, then to NATS in order; stops at the first failure. */
  async flush(record: JobRecord): Promise<void> {
    const jobId = record.job.jobId;
    const entries = [...record.outbox].sort((a, b) => a.seq - b.seq);
    if (entries.length === 0) return;
    const done: number[] = [];
    try {
      await this.deps.events.insertAll(jobId, entries);
      this.emitter.emit(jobId);
      for (const entry of entries) {
        if (entry.publish) await this.deps.publisher.publish(entry.publish, `${jobId}:${entry.seq}`);
        done.push(entry.seq);
      }
      this.unflushed.delete(jobId);
    } catch (err) {
      this.unflushed.add(jobId);
      this.deps.log.warn({ err, jobId, pending: entries.length - done.length }, 'could not log or publish job events; they stay in the outbox');
    } finally {
      if (done.length > 0) {
        try {
          await this.deps.jobs.removeFromOutbox(record, done);
        } catch (err) {
          // Harmless: the next flush re-logs (ignored) and re-publishes (de-duplicated) them.
          this.deps.log.warn({ err, jobId }, 'could not clear the outbox');
        }
      }
    }
  }

  /** Flushes every record that still owes events (startup sweep, then periodically). */
  async flushPending(): Promise<number> {
    const pending = await this.deps.jobs.withPendingOutbox();
    for (const record of pending) {
      await this.locked(record.job.jobId, async () => {
        const fresh = await this.deps.jobs.get(record.job.jobId);
        if (fresh) await this.flush(fresh);
      });
    }
    return pending.length;
  }

  /**
   * Calls `listener` with every record this ledger stores (created or changed), right after the
   * write and before its events go out (the scheduler's queue index follows its own writes so).
   */
  onWritten(listener: (record: JobRecord) => void): void {
    this.written.push(listener);
  }

  private tell(record: JobRecord): void {
    for (const l of this.written) {
      try {
        l(record);
      } catch (err) {
        this.deps.log.error({ err, jobId: record.job.jobId }, 'a write listener failed');
      }
    }
  }

  /**
   * Flushes the jobs whose flush failed in this process, read by `_id` (the relay's cheap round; a
   * {@link flushPending} scan finds what other processes left). Returns how many it tried.
   */
  async flushKnown(): Promise<number> {
    const ids = [...this.unflushed];
    for (const jobId of ids) {
      await this.locked(jobId, async () => {
        const fresh = await this.deps.jobs.get(jobId);
        if (fresh && fresh.outbox.length > 0) await this.flush(fresh);
        else this.unflushed.delete(jobId);
      });
    }
    return ids.length;
  }

  /** Calls `listener` whenever events of the job reach the log; returns the unsubscribe function. */
  onLogged(jobId: string, listener: () => void): () => void {
    this.emitter.on(jobId, listener);
    return () => this.emitter.off(jobId, listener);
  }

  /** Runs `fn` after every earlier locked call on the same job has finished. */
  private async locked<T>(jobId: string, fn: () => Promise<T>): Promise<T> {
    const previous = this.locks.get(jobId) ?? Promise.resolve();
    const run = previous.then(fn, fn);
    const tail = run.catch(() => undefined);
    this.locks.set(jobId, tail);
    try {
      return await run;
    } finally {
      if (this.locks.get(jobId) === tail) this.locks.delete(jobId);
    }
  }
}
