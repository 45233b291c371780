/**
 * The scheduler: the one placement authority for GPU work. Each pass reads the free slots from the
 * executor (registered workers by default), grants waiting worker holds (evaluation runs), then
 * reads only as many waiting jobs (QUEUED and RECOVERING; highest priority first, then oldest; the
 * `queue` index) as there are free slots, places them (placement.ts: the smallest slot with the
 * GPUs a job asks for) and starts the StartJobs in parallel, each with a short deadline, without
 * waiting for them (the next pass skips the slots and jobs in flight). The claim on
 * the slot is stored in the job before StartJob is sent, so a restart finishes (StartJob is
 * idempotent by job id) or undoes it. A busy worker (RESOURCE_EXHAUSTED) leaves the job waiting and
 * is paused; one that does not answer (UNAVAILABLE, DEADLINE_EXCEEDED) is marked unreachable and
 * skipped for a growing pause, never holding the queue; a worker that refuses the job as invalid
 * fails it. Runs only in the process holding the `training.scheduler` lease (orchestrator.ts).
 *
 * With a loaded {@link QueueIndex} (the lease holder's in-memory index of active jobs) a pass
 * reads no collection for occupancy or the queue: it reads and writes jobs by `_id` only, which is
 * what FerretDB can do without decoding the whole `jobs` collection. Without one (unit tests, or
 * before the index is loaded) it queries the repository as before.
 */
import { AlreadyExistsError, type Clock, DeadlineExceededError, FailedPreconditionError, InvalidArgumentError, UnavailableError } from '@medtune/kit';
import { common, type trainer, training } from '@medtune/contracts';
import type { Logger } from 'pino';
import type { LedgerWriter } from './ledger';
import type { ExecutionSlot, Executor } from './executor';
import type { Dispatch, JobRecord } from './model';
import { place } from './placement';
import type { DispatchSettings, JobRepository } from './ports';
import type { QueueIndex } from './queue-index';
import { WAITING_STATES } from './state-machine';
import { acceptDispatch, beginDispatch, deferDispatch, rejectDispatch } from './transitions';

/** Worker holds (evaluation runs) placed by the same pass as jobs: see holds.ts. */
export interface HoldPlacer {
  /** Slot ids held now (not free for jobs). */
  occupied(): Promise<string[]>;
  /** Grants waiting holds on some of these free slots; returns the slot ids it used. */
  place(free: readonly ExecutionSlot[]): Promise<string[]>;
}

/** Dependencies of {@link Scheduler}. */
export interface SchedulerDeps {
  jobs: JobRepository;
  ledger: LedgerWriter;
  /** Where attempts run (registered workers by default; see executor.ts). */
  executor: Executor;
  settings: DispatchSettings;
  clock: Clock;
  log: Logger;
  /** A job started on a worker: follow its events. */
  onStarted: (jobId: string) => void;
  /** Pause before a worker that deferred a job is offered one again. Default 2 s. */
  workerBackoffMs?: number;
  /** Deadline of one StartJob. Default {@link DEFAULT_DISPATCH_DEADLINE_MS}. */
  dispatchDeadlineMs?: number;
  /** Evaluation holds, when the service places them. */
  holds?: HoldPlacer;
  /** False while this process must not schedule (another replica holds the scheduler lease). */
  active?: () => boolean;
  /** The holder's index of active jobs; used once loaded (see the file comment). */
  index?: QueueIndex;
}

/** What fits() needs of a job (a Job, or a queue index entry). */
export type FitFacts = Pick<training.Job, 'minGpuMemoryBytes' | 'backend'> & { readonly hyperparameters?: { readonly gpus?: number } | undefined };

/** True when the worker can run the job: enough GPU memory, and the backend asked for. */
export function fits(job: FitFacts, worker: trainer.WorkerInfo): boolean {
  if (job.minGpuMemoryBytes > 0 && worker.gpuMemoryBytes < job.minGpuMemoryBytes) return false;
  // An N-GPU job runs N ranks on one worker (a worker that reports no count has one).
  if ((job.hyperparameters?.gpus ?? 1) > Math.max(worker.gpuCount, 1)) return false;
  const wants = job.backend;
  if (wants === common.Backend.BACKEND_AUTO || wants === common.Backend.BACKEND_UNSPECIFIED) return true;
  // A worker that lists no backends did not say: let StartJob decide.
  return worker.backends.length === 0 || worker.backends.includes(wants);
}

/** The StartJob request of a dispatch. */
export function startRequest(record: JobRecord, d: Dispatch, settings: DispatchSettings, datasetToken = settings.datasetAuthToken ?? ''): trainer.StartJobRequest {
  const job = record.job;
  return {
    jobId: job.jobId,
    attempt: d.attempt,
    spec: {
      baseModel: job.baseModel,
      data: {
        $case: 'dataset',
        dataset: { address: settings.datasetAddress, versionDigest: job.datasetDigest, authToken: datasetToken },
      },
      hyperparameters: job.hyperparameters,
      lora: job.lora,
      backend: job.backend,
      artifactRoot: settings.artifactRoot,
      exports: job.exports,
      resumeFromCheckpoint: d.resumeFrom,
    },
  };
}

/** Default deadline of one StartJob: short, so an unreachable place never holds the queue. */
export const DEFAULT_DISPATCH_DEADLINE_MS = 5_000;
/** Longest pause of a place that did not answer. */
const MAX_UNREACHABLE_PAUSE_MS = 30_000;
/** How long a job whose StartJob timed out is offered only to that worker (it may be running it). */
const IN_DOUBT_MS = 2 * MAX_UNREACHABLE_PAUSE_MS;
/** Pages of the queue one pass reads at most when the first jobs fit none of the free slots. */
const MAX_PAGES = 4;

/**
 * The dataset credential of one StartJob: minted per dispatch for this job and version when the
 * service signs tokens (so a resumed attempt gets a fresh one and nothing stored depends on it),
 * else the shared token, else none.
 */
async function datasetToken(settings: DispatchSettings, record: JobRecord): Promise<string> {
  if (settings.datasetCredential) return settings.datasetCredential(record.job.jobId, record.job.datasetDigest);
  return settings.datasetAuthToken ?? '';
}

/** Dispatches waiting jobs to free slots, several at once. */
export class Scheduler {
  private running: Promise<void> | undefined;
  private again = false;
  private readonly pausedUntil = new Map<string, number>();
  /** `job|group`: a job a slot group cannot start now, not offered to that group until then. */
  private readonly waitingUntil = new Map<string, number>();
  /** Places that did not answer StartJob: until when they are skipped, and how long the last pause was. */
  private readonly unreachableUntil = new Map<string, { until: number; pauseMs: number }>();
  /** Workers that hold an older attempt of a job under the same id: never offer them that job. */
  private readonly refused = new Set<string>();
  /**
   * Jobs whose StartJob timed out: the worker may have accepted it (StartJob is idempotent per job
   * and attempt, so asking that worker again is safe; starting it on another would run two copies
   * that share the job's directory). Until `until`, the job is offered to that worker alone.
   */
  private readonly inDoubt = new Map<string, { workerId: string; until: number }>();
  private readonly stats = { passes: 0, dispatched: 0, lastPassMs: 0, lastPassCpuUs: 0, totalPassMs: 0, totalPassCpuUs: 0 };
  /**
   * Dispatches in flight (begin, StartJob, accept), by slot, and their jobs: a pass does not wait
   * for them (a slow or silent worker never holds the next pass, so a worker that frees meanwhile
   * gets its job at once), and a later pass leaves their slots and jobs alone.
   */
  private readonly inflight = new Map<string, Promise<void>>();
  private readonly inflightJobs = new Set<string>();

  constructor(private readonly deps: SchedulerDeps) {}

  /**
   * Runs a scheduling pass now, or right after the one in progress. The promise settles when that
   * pass and the dispatches in flight have (passes themselves do not wait for dispatches).
   */
  poke(): Promise<void> {
    return this.startPass().then(() => this.settled());
  }

  private async settled(): Promise<void> {
    while (this.inflight.size > 0) await Promise.allSettled([...this.inflight.values()]);
  }

  private startPass(): Promise<void> {
    if (this.running) {
      this.again = true;
      return this.running;
    }
    this.running = (async () => {
      try {
        do {
          this.again = false;
          await this.timedPass();
        } while (this.again);
      } catch (err) {
        this.deps.log.error({ err }, 'scheduling pass failed');
      } finally {
        this.running = undefined;
      }
    })();
    return this.running;
  }

  /** Waits for the pass in progress, if any, and the dispatches in flight. */
  async idle(): Promise<void> {
    await this.running;
    await this.settled();
  }

  /** Starts a dispatch on `slotId` without waiting for it. */
  private dispatchOn(slotId: string, jobId: string, work: () => Promise<void>): void {
    this.inflightJobs.add(jobId);
    const p = work()
      .catch((err: unknown) => this.deps.log.error({ err, jobId, workerId: slotId }, 'dispatch failed'))
      .finally(() => {
        this.inflight.delete(slotId);
        this.inflightJobs.delete(jobId);
      });
    this.inflight.set(slotId, p);
  }

  /** A worker registered (again): its old channel is dropped and it is no longer paused or unreachable. */
  workerRegistered(workerId: string, address: string): void {
    this.pausedUntil.delete(workerId);
    this.unreachableUntil.delete(workerId);
    this.deps.executor.reset(address);
  }

  /** Slots skipped as unreachable now (for ListWorkers and logs). */
  unreachable(): string[] {
    const now = this.deps.clock().getTime();
    return [...this.unreachableUntil].filter(([, u]) => u.until > now).map(([id]) => id);
  }

  /** Counters of this process's passes (the load bench reads them). */
  counters(): Readonly<typeof this.stats> {
    return { ...this.stats };
  }

  private async timedPass(): Promise<void> {
    const t0 = performance.now();
    const cpu0 = process.cpuUsage();
    try {
      await this.pass();
    } finally {
      const cpu = process.cpuUsage(cpu0);
      this.stats.passes++;
      this.stats.lastPassMs = performance.now() - t0;
      this.stats.lastPassCpuUs = cpu.user + cpu.system;
      this.stats.totalPassMs += this.stats.lastPassMs;
      this.stats.totalPassCpuUs += this.stats.lastPassCpuUs;
    }
  }

  private available(slotId: string, now: number): boolean {
    return !this.inflight.has(slotId) && (this.pausedUntil.get(slotId) ?? 0) <= now && (this.unreachableUntil.get(slotId)?.until ?? 0) <= now;
  }

  private async pass(): Promise<void> {
    const { executor, jobs } = this.deps;
    if (this.deps.active && !this.deps.active()) return;
    const now = this.deps.clock().getTime();
    const slots = await executor.slots();
    if (slots.length === 0) return;
    const index = this.deps.index?.loaded ? this.deps.index : undefined;
    const { taken, resend } = index ? await this.occupancyFromIndex(index, slots) : await this.occupancyFromStore(slots);
    for (const id of (await this.deps.holds?.occupied()) ?? []) taken.add(id);
    const byId = new Map(slots.map((s) => [s.slotId, s]));

    // A dispatch recorded by a process that died before finishing it: send it again (idempotent).
    for (const r of resend) {
      const slot = r.dispatch ? byId.get(r.dispatch.workerId) : undefined;
      const d = r.dispatch;
      if (d && slot && WAITING_STATES.includes(r.job.state) && this.available(slot.slotId, now) && !this.inflightJobs.has(r.job.jobId)) {
        this.dispatchOn(slot.slotId, r.job.jobId, () => this.send(r, d, slot));
      }
    }

    let free = slots.filter((s) => !taken.has(s.slotId) && this.available(s.slotId, now) && !this.busyElsewhere(s));
    // Worker holds (evaluation runs) first: few, short, and already waiting for an answer.
    if (free.length > 0 && this.deps.holds) {
      const granted = await this.deps.holds.place(free.filter((s) => s.use !== 'jobs'));
      const used = new Set(granted);
      free = free.filter((s) => !used.has(s.slotId));
    }
    free = free.filter((s) => s.use !== 'holds');
    if (index && free.length > 0) {
      // The queue from memory: at most as many pages as a store read would take, no read at all.
      const demands = index
        .waiting(free.length * MAX_PAGES + this.inflightJobs.size)
        .filter((e) => !this.inflightJobs.has(e.jobId))
        .map((e) => ({ item: e, gpus: gpusOf(e), fits: (s: ExecutionSlot) => this.mayRun(e, s, now) }));
      for (const a of place(demands, free)) this.dispatchOn(a.slot.slotId, a.item.jobId, () => this.begin(a.item.jobId, a.slot));
      free = [];
    }
    for (let page = 0, skip = 0; page < MAX_PAGES && free.length > 0; page++) {
      const limit = free.length;
      const batch = await jobs.findInStates(WAITING_STATES, { limit, skip });
      skip += batch.length;
      const demands = batch
        .filter((r) => !r.dispatch && !r.occupies && !this.inflightJobs.has(r.job.jobId))
        .map((r) => ({ item: r, gpus: gpusOf(r.job), fits: (s: ExecutionSlot) => this.mayRun(r.job, s, now) }));
      const assigned = place(demands, free);
      const used = new Set(assigned.map((a) => a.slot.slotId));
      free = free.filter((s) => !used.has(s.slotId));
      for (const a of assigned) this.dispatchOn(a.slot.slotId, a.item.job.jobId, () => this.begin(a.item.job.jobId, a.slot));
      if (batch.length < limit) break;
    }
  }

  /** True when the job may go to the slot: it fits, the worker did not refuse it, it is not in doubt elsewhere. */
  private mayRun(job: FitFacts & { readonly jobId: string }, s: ExecutionSlot, now: number): boolean {
    return fits(job, s.info) && !this.refused.has(`${job.jobId}|${s.slotId}`) && this.mayOffer(job.jobId, s.slotId, now) && !this.waitsAt(job.jobId, s, now);
  }

  /** True while the job waits at the slot's group (see ExecutionSlot.group). */
  private waitsAt(jobId: string, s: ExecutionSlot, now: number): boolean {
    if (!s.group) return false;
    const key = `${jobId}|${s.group}`;
    const until = this.waitingUntil.get(key);
    if (until === undefined) return false;
    if (until > now) return true;
    this.waitingUntil.delete(key);
    return false;
  }

  /** Occupied slots and the recorded dispatches to re-send, from the store (a whole-collection query on FerretDB). */
  private async occupancyFromStore(slots: readonly ExecutionSlot[]): Promise<{ taken: Set<string>; resend: JobRecord[] }> {
    const holders = await this.deps.jobs.findOccupying(slots.map((s) => s.slotId));
    return { taken: new Set(holders.map((r) => r.occupies ?? '')), resend: holders };
  }

  /** The same from the index: only the jobs with a recorded dispatch are read (by `_id`). */
  private async occupancyFromIndex(index: QueueIndex, slots: readonly ExecutionSlot[]): Promise<{ taken: Set<string>; resend: JobRecord[] }> {
    const holding = index.occupying(slots.map((s) => s.slotId));
    const resend: JobRecord[] = [];
    for (const e of holding) {
      if (!e.dispatching || !WAITING_STATES.includes(e.state)) continue;
      const r = await this.deps.jobs.get(e.jobId);
      if (r) resend.push(r);
      // Gone or changed since the index saw it: put the index right.
      if (r && r.rev !== e.rev) index.apply(r);
    }
    return { taken: new Set(holding.map((e) => e.occupies ?? '')), resend };
  }

  /** Records the dispatch in the job, then sends it. */
  private async begin(jobId: string, slot: ExecutionSlot): Promise<void> {
    const { record, changed } = await this.deps.ledger.update(jobId, (current) => beginDispatch(current, { workerId: slot.slotId, address: slot.address }, this.deps.clock()));
    // Not dispatchable after all (cancelled or taken since the index saw it): the index learns the stored record.
    if (!changed && record) this.deps.index?.apply(record);
    if (!changed || !record?.dispatch) return;
    await this.send(record, record.dispatch, slot);
  }

  /**
   * A worker busy with something other than a job we run: a generation (busy, no job), or a job
   * that is not ours. A heartbeat naming a job of ours that already ended predates that end: let
   * StartJob decide (RESOURCE_EXHAUSTED pauses the worker).
   */
  private busyElsewhere(s: ExecutionSlot): boolean {
    return s.info.busy && !s.info.currentJobId;
  }

  private async send(record: JobRecord, d: Dispatch, slot: ExecutionSlot): Promise<void> {
    const { ledger, clock, log, executor } = this.deps;
    const jobId = record.job.jobId;
    let res: trainer.StartJobResponse;
    try {
      res = await executor.start({ ...slot, address: d.address }, startRequest(record, d, this.deps.settings, await datasetToken(this.deps.settings, record)), {
        deadlineMs: this.deps.dispatchDeadlineMs ?? DEFAULT_DISPATCH_DEADLINE_MS,
      });
    } catch (err) {
      const failure = refusal(err);
      if (failure) {
        log.warn({ jobId, workerId: d.workerId, err }, 'worker refused the job');
        await ledger.update(jobId, (current) => rejectDispatch(current, d, failure, clock()));
        return;
      }
      if (err instanceof AlreadyExistsError) this.refused.add(`${jobId}|${d.workerId}`);
      if (err instanceof DeadlineExceededError) this.inDoubt.set(jobId, { workerId: d.workerId, until: clock().getTime() + IN_DOUBT_MS });
      if (err instanceof UnavailableError || err instanceof DeadlineExceededError) this.markUnreachable(d.workerId, err);
      else if (slot.group) {
        // The group's other slots would answer the same: the job waits, the slot stays free for others.
        log.info({ jobId, workerId: d.workerId, err: (err as Error).message }, 'the job waits at this door; it stays queued');
        this.waitingUntil.set(`${jobId}|${slot.group}`, clock().getTime() + (this.deps.workerBackoffMs ?? 2_000));
      } else {
        log.info({ jobId, workerId: d.workerId, err: (err as Error).message }, 'worker cannot take the job now; it stays queued');
        this.pause(d.workerId);
      }
      await ledger.update(jobId, (current) => deferDispatch(current, d, clock()));
      return;
    }
    this.unreachableUntil.delete(d.workerId);
    this.inDoubt.delete(jobId);
    if (!res.created && res.job && res.job.attempt !== d.attempt) {
      // The worker still holds an older attempt under this id (it came back after being lost).
      log.warn({ jobId, workerId: d.workerId, workerAttempt: res.job.attempt, attempt: d.attempt }, 'worker holds another attempt of the job');
      this.refused.add(`${jobId}|${d.workerId}`);
      await ledger.update(jobId, (current) => deferDispatch(current, d, clock()));
      return;
    }
    const { changed, record: after } = await ledger.update(jobId, (current) => acceptDispatch(current, d, clock()));
    if (changed) {
      this.stats.dispatched++;
      log.info({ jobId, workerId: d.workerId, attempt: d.attempt, resumeFrom: d.resumeFrom || undefined }, 'job started on worker');
      this.deps.onStarted(jobId);
      return;
    }
    // Cancelled (or otherwise moved on) while StartJob was in flight: stop it on the worker.
    log.info({ jobId, workerId: d.workerId, state: after?.job.state }, 'job moved on during dispatch; cancelling it on the worker');
    try {
      await executor.client(d.address).cancelJob(jobId, 'cancelled while being dispatched');
    } catch (err) {
      log.warn({ err, jobId, workerId: d.workerId }, 'could not cancel on the worker; its heartbeat will be told');
    }
  }

  /** False while `jobId` is in doubt on another worker (see `inDoubt`). */
  private mayOffer(jobId: string, slotId: string, now: number): boolean {
    const doubt = this.inDoubt.get(jobId);
    if (!doubt) return true;
    if (now >= doubt.until) {
      this.inDoubt.delete(jobId);
      return true;
    }
    return doubt.workerId === slotId;
  }

  private pause(workerId: string): void {
    this.pausedUntil.set(workerId, this.deps.clock().getTime() + (this.deps.workerBackoffMs ?? 2_000));
  }

  /** Skips a place that did not answer, doubling the pause each time (its re-registration clears it). */
  private markUnreachable(workerId: string, err: unknown): void {
    const before = this.unreachableUntil.get(workerId);
    const pauseMs = Math.min(MAX_UNREACHABLE_PAUSE_MS, before ? before.pauseMs * 2 : Math.max(1_000, this.deps.workerBackoffMs ?? 2_000));
    this.unreachableUntil.set(workerId, { until: this.deps.clock().getTime() + pauseMs, pauseMs });
    this.deps.log.warn({ workerId, pauseMs, err: (err as Error).message }, 'worker did not answer StartJob; marked unreachable and skipped');
  }
}

/** GPUs a job needs on one slot. */
export function gpusOf(job: Pick<FitFacts, 'hyperparameters'>): number {
  return Math.max(1, job.hyperparameters?.gpus ?? 1);
}

/** A StartJob error that no other worker would fix, as the job's failure; undefined when retryable. */
function refusal(err: unknown): common.Failure | undefined {
  if (err instanceof InvalidArgumentError) {
    return { class: common.FailureClass.FAILURE_CLASS_USER_ERROR, message: `the worker refused the job: ${err.message}`, detail: '' };
  }
  if (err instanceof FailedPreconditionError) {
    return { class: common.FailureClass.FAILURE_CLASS_SETUP, message: `the worker cannot run the job: ${err.message}`, detail: '' };
  }
  return undefined;
}
