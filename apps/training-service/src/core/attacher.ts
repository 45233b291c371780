/**
 * Follows the event stream of every job that runs on a worker: WatchJob from the last worker
 * sequence stored + 1, each event stored (and published) before the next is read. After a restart
 * of this service, or a broken stream, it re-attaches from the stored position, so no event is lost
 * or stored twice. A worker that no longer knows the job (it restarted) counts as lost, and so
 * does one whose stream carries an event of another job (a replayed or forged event): that event
 * is refused — never stored, published or applied — and the job resumes elsewhere.
 */
import { type Clock, NotFoundError, OutOfRangeError } from '@medtune/kit';
import { trainer } from '@medtune/contracts';
import type { Logger } from 'pino';
import type { LedgerWriter } from './ledger';
import type { JobRepository, WorkerClientFactory } from './ports';
import { isOnWorker } from './state-machine';
import { applyWorkerEvents, loseWorker, settleFromWorkerJob } from './transitions';

/** Dependencies of {@link Attacher}. */
export interface AttacherDeps {
  jobs: JobRepository;
  ledger: LedgerWriter;
  workerClients: WorkerClientFactory;
  clock: Clock;
  log: Logger;
  /** A job left its worker (ended, or must recover): the worker may be free. */
  onDetached: (jobId: string) => void;
  /** Longest pause between re-attach attempts. Default 5 s. */
  maxBackoffMs?: number;
}

const FINAL_WORKER_STATES = [
  trainer.WorkerJobState.WORKER_JOB_STATE_SUCCEEDED,
  trainer.WorkerJobState.WORKER_JOB_STATE_FAILED,
  trainer.WorkerJobState.WORKER_JOB_STATE_CANCELLED,
  trainer.WorkerJobState.WORKER_JOB_STATE_INTERRUPTED,
];

/** One follow loop per job on a worker. */
export class Attacher {
  private readonly loops = new Map<string, { abort: AbortController; done: Promise<void> }>();
  private stopped = false;

  constructor(private readonly deps: AttacherDeps) {}

  /** Starts following the job unless already following it. */
  follow(jobId: string): void {
    if (this.stopped || this.loops.has(jobId)) return;
    const abort = new AbortController();
    const done = this.loop(jobId, abort.signal)
      .catch((err) => this.deps.log.error({ err, jobId }, 'follow loop failed'))
      .finally(() => {
        if (this.loops.get(jobId)?.abort === abort) this.loops.delete(jobId);
      });
    this.loops.set(jobId, { abort, done });
  }

  /** Stops following a job (it left its worker). */
  unfollow(jobId: string): void {
    this.loops.get(jobId)?.abort.abort();
  }

  /** Jobs being followed. */
  following(): string[] {
    return [...this.loops.keys()];
  }

  /**
   * Stops every loop and waits for them, but keeps accepting follow() (the scheduler lease moved
   * to another process: it follows those jobs now; this one may get the lease back later).
   */
  async unfollowAll(): Promise<void> {
    const all = [...this.loops.values()];
    for (const l of all) l.abort.abort();
    await Promise.all(all.map((l) => l.done));
  }

  /** Stops every loop and waits for them; events already read are stored first. */
  async stop(): Promise<void> {
    this.stopped = true;
    const all = [...this.loops.values()];
    for (const l of all) l.abort.abort();
    await Promise.all(all.map((l) => l.done));
  }

  private async loop(jobId: string, signal: AbortSignal): Promise<void> {
    const { jobs, ledger, clock, log } = this.deps;
    let backoff = 100;
    const maxBackoff = this.deps.maxBackoffMs ?? 5_000;
    // Earlier attempts' events at the head of the worker's stream, skipped (not stored) in this process.
    let skipped = { attempt: 0, upTo: 0 };
    while (!signal.aborted) {
      const record = await jobs.get(jobId);
      if (!record || !isOnWorker(record.job.state) || !record.workerAddress) break;
      const { workerId, attempt } = record.job;
      const source = { workerId, attempt };
      const client = this.deps.workerClients(record.workerAddress);
      const from = Math.max(record.workerSeq, skipped.attempt === attempt ? skipped.upTo : 0) + 1;
      const attempt_ = new AbortController();
      const onAbort = (): void => attempt_.abort();
      signal.addEventListener('abort', onAbort);
      let resync = false;
      try {
        // Events are read as fast as the worker sends them and stored in batches: one write and
        // one flush for everything that arrived while the previous batch was being stored.
        for await (const batch of batches(client.watchJob(jobId, from, attempt_.signal))) {
          const { result } = await ledger.update(jobId, (current) => {
            const r = applyWorkerEvents(current, source, batch, clock());
            return { ...(r.draft ? { draft: r.draft } : {}), result: r };
          });
          if (!result) return this.detach(jobId); // the job is gone
          if (result.earlierUpTo > 0) skipped = { attempt, upTo: result.earlierUpTo };
          if (result.stop === 'stale') return this.detach(jobId);
          if (result.stop === 'foreign') {
            const reason = `worker ${workerId} sent an event of job ${JSON.stringify(result.foreignJobId ?? '')} on the stream of job ${jobId}; refused, the job leaves that worker`;
            log.error({ jobId, workerId, eventJobId: result.foreignJobId, sequence: batch[result.consumed]?.sequence }, 'worker event names another job; refused');
            await ledger.update(jobId, (current) => loseWorker(current, workerId, reason, clock()));
            return this.detach(jobId);
          }
          if (result.stop === 'gap') {
            log.warn({ jobId, workerId, sequence: batch[result.consumed]?.sequence }, 'worker event out of order; re-attaching');
            resync = true;
            break;
          }
          backoff = 100;
        }
        if (signal.aborted) break;
        if (!resync && (await this.settleIfEnded(jobId, client, workerId, attempt))) return this.detach(jobId);
      } catch (err) {
        if (signal.aborted) break;
        if (err instanceof NotFoundError || err instanceof OutOfRangeError) {
          log.warn({ jobId, workerId, err: (err as Error).message }, 'worker no longer knows the job');
          await ledger.update(jobId, (current) => loseWorker(current, workerId, `worker ${workerId} no longer knows the job (restarted?)`, clock()));
          return this.detach(jobId);
        }
        log.debug({ jobId, workerId, err: (err as Error).message, backoffMs: backoff }, 'worker stream broke; re-attaching');
      } finally {
        attempt_.abort(); // stops the stream when we left it early (gap, stale)
        signal.removeEventListener('abort', onAbort);
      }
      await sleep(backoff, signal);
      backoff = Math.min(backoff * 2, maxBackoff);
    }
    const after = await jobs.get(jobId);
    if (after && !isOnWorker(after.job.state)) this.deps.onDetached(jobId);
  }

  /**
   * The worker's stream ended. If the job is final there and we hold all its events yet are still
   * "on worker", its final state event was lost: settle from GetJob. True when the job left the worker.
   */
  private async settleIfEnded(jobId: string, client: ReturnType<WorkerClientFactory>, workerId: string, attempt: number): Promise<boolean> {
    const record = await this.deps.jobs.get(jobId);
    if (!record || !isOnWorker(record.job.state)) return true;
    if (record.job.workerId !== workerId || record.job.attempt !== attempt) return true;
    const wj = await client.getJob(jobId);
    if (!FINAL_WORKER_STATES.includes(wj.state) || wj.lastSequence > record.workerSeq) return false;
    const { record: after } = await this.deps.ledger.update(jobId, (current) => settleFromWorkerJob(current, wj, this.deps.clock()));
    return !!after && !isOnWorker(after.job.state);
  }

  private detach(jobId: string): void {
    this.deps.onDetached(jobId);
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done(): void {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done);
  });
}

/** Largest batch stored in one write. */
const MAX_BATCH = 500;

/**
 * Regroups a stream into batches: everything that arrived while the consumer was busy with the
 * previous batch (at least one item, at most MAX_BATCH). The source is read eagerly; its errors
 * surface after the items read before them.
 */
export async function* batches<T>(source: AsyncIterable<T>): AsyncGenerator<T[]> {
  const queue: T[] = [];
  let done = false;
  let failure: { error: unknown } | undefined;
  let wake: (() => void) | undefined;
  // Not awaited: a consumer that stops early aborts the source, which ends the pump (errors are caught).
  void (async () => {
    try {
      for await (const item of source) {
        queue.push(item);
        wake?.();
      }
    } catch (error) {
      failure = { error };
    } finally {
      done = true;
      wake?.();
    }
  })();
  for (;;) {
    if (queue.length > 0) {
      yield queue.splice(0, MAX_BATCH);
      continue;
    }
    if (done) break;
    await new Promise<void>((resolve) => (wake = resolve));
    wake = undefined;
  }
  if (failure) throw failure.error;
}
