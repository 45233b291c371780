/**
 * The seam between "the scheduler decides what runs next and where" and "an executor runs it".
 *
 * The scheduler (scheduler.ts, with placement.ts) owns the queue, the order, retries and every
 * state change of a job; it asks an {@link Executor} for the places work can go now
 * ({@link ExecutionSlot}), picks a slot per job, records the dispatch in the job, then asks the
 * executor to start that attempt there. Everything after the start (events, status, cancel) goes
 * through the {@link WorkerClient} the executor gives for the slot's address, so the attacher and
 * the job API do not know which executor ran the job.
 *
 * Executors:
 * - {@link WorkerExecutor} (default): trainer workers registered by heartbeat; a slot is a worker,
 *   start is its StartJob RPC.
 * - a Ray executor (issue 18) can offer slots from a Ray cluster's free GPUs and start each
 *   attempt as a Ray job with its GPU request; the address it records is where that job's trainer
 *   answers TrainerService (GetJob / WatchJob / CancelJob).
 */
import type { trainer } from '@medtune/contracts';
import type { WorkerRecord } from './model';
import type { WorkerClient, WorkerClientFactory, WorkerRepository } from './ports';

/** A place the scheduler may put one job (or hold for one evaluation). */
export interface ExecutionSlot {
  /** Stable id of the place (the worker id); a job's `occupies` names it. */
  readonly slotId: string;
  /** host:port where the attempt's TrainerService answers. */
  readonly address: string;
  /** GPUs this slot runs one job on (≥ 1; a worker that reports none has 1). */
  readonly gpus: number;
  /** What the place is: GPU name and memory, backends (for fits()). */
  readonly info: trainer.WorkerInfo;
  /**
   * What the scheduler may put there: training attempts only ('jobs': the Ray executor's
   * submission and trainer slots), worker holds only ('holds': a registered worker next to a Ray
   * cluster, kept for evaluations), or both (unset: a registered worker with the workers executor).
   */
  readonly use?: 'jobs' | 'holds';
  /**
   * Slots of one group are one door for a job (the Ray executor's submission slots): a job one of
   * them cannot start now (RESOURCE_EXHAUSTED: it waits in Ray's queue) is not offered to the
   * others of the group until the worker backoff has passed, and the slot is not paused for the
   * other jobs. Unset: a place of its own (a busy worker is paused).
   */
  readonly group?: string;
}

/** What a start attempt at a slot is told. */
export interface StartOptions {
  /** Deadline of the start call (short: one unreachable place must not hold the queue). */
  deadlineMs: number;
}

/** Runs attempts that the scheduler placed. */
export interface Executor {
  /** For logs: 'worker', 'ray', ... */
  readonly kind: string;
  /** Places that exist now and are not known to be lost or unreachable (occupancy is the scheduler's business). */
  slots(): Promise<ExecutionSlot[]>;
  /**
   * Starts one attempt at a slot. Idempotent by (job id, attempt): a repeat answers created=false.
   * Errors are the kit's DomainError classes as a worker's StartJob raises them:
   * INVALID_ARGUMENT / FAILED_PRECONDITION refuse the job; RESOURCE_EXHAUSTED / UNAVAILABLE /
   * DEADLINE_EXCEEDED mean "not now, not there"; ALREADY_EXISTS: the place holds another attempt.
   */
  start(slot: ExecutionSlot, request: trainer.StartJobRequest, options: StartOptions): Promise<trainer.StartJobResponse>;
  /** The TrainerService client of an address (events, status, cancel of what runs there). */
  client(address: string): WorkerClient;
  /** Drops any cached channel to an address (a worker that registered again gets a fresh one at once). */
  reset(address: string): void;
  /**
   * For a worker that exists to run one attempt (the Ray executor's trainers): that job and
   * attempt; undefined for any other worker. The worker registry never tells such a worker to stop
   * the attempt its job is about to start.
   */
  boundAttempt?(workerId: string): { jobId: string; attempt: number } | undefined;
}

/** The default executor: trainer workers registered by heartbeat, started over gRPC. */
export class WorkerExecutor implements Executor {
  readonly kind = 'worker';
  /** Registration time last seen per worker: a newer one means it restarted (fresh channel). */
  private readonly registered = new Map<string, number>();

  constructor(
    private readonly workers: WorkerRepository,
    private readonly clients: WorkerClientFactory,
    /** Closes the cached channel of an address (the factory's). */
    private readonly resetChannel: (address: string) => void = () => undefined,
  ) {}

  async slots(): Promise<ExecutionSlot[]> {
    const rows = await this.workers.list(false);
    for (const w of rows) {
      // Registered again through another replica: this process's channel may be stale.
      const at = w.registeredAt.getTime();
      const seen = this.registered.get(w.workerId);
      if (seen !== undefined && seen !== at) this.reset(w.info.address);
      this.registered.set(w.workerId, at);
    }
    return rows.map(slotOf);
  }

  start(slot: ExecutionSlot, request: trainer.StartJobRequest, options: StartOptions): Promise<trainer.StartJobResponse> {
    return this.clients(slot.address).startJob(request, { deadlineMs: options.deadlineMs });
  }

  client(address: string): WorkerClient {
    return this.clients(address);
  }

  reset(address: string): void {
    this.resetChannel(address);
  }
}

/** The slot of a registered worker. */
export function slotOf(w: WorkerRecord): ExecutionSlot {
  return { slotId: w.workerId, address: w.info.address, gpus: Math.max(1, w.info.gpuCount), info: w.info };
}
