/**
 * The scheduler: waiting jobs (QUEUED and RECOVERING), highest priority first then oldest first,
 * each to the first idle worker that fits (GPU memory, backend). The claim on the worker is stored
 * in the job before StartJob is sent, so a restart finishes (StartJob is idempotent by job id) or
 * undoes it. A worker that is busy or unreachable (RESOURCE_EXHAUSTED, UNAVAILABLE) leaves the job
 * waiting and is tried again after a pause; a worker that refuses the job as invalid fails it.
 */
import { AlreadyExistsError, type Clock, FailedPreconditionError, InvalidArgumentError } from '@medtune/kit';
import { common, type trainer, training } from '@medtune/contracts';
import type { Logger } from 'pino';
import type { JobLedger } from './ledger';
import type { Dispatch, JobRecord, WorkerRecord } from './model';
import type { DispatchSettings, JobRepository, WorkerClientFactory, WorkerRepository } from './ports';
import { WAITING_STATES } from './state-machine';
import { acceptDispatch, beginDispatch, deferDispatch, rejectDispatch } from './transitions';

/** Dependencies of {@link Scheduler}. */
export interface SchedulerDeps {
  jobs: JobRepository;
  workers: WorkerRepository;
  ledger: JobLedger;
  workerClients: WorkerClientFactory;
  settings: DispatchSettings;
  clock: Clock;
  log: Logger;
  /** A job started on a worker: follow its events. */
  onStarted: (jobId: string) => void;
  /** Pause before a worker that deferred a job is offered one again. Default 2 s. */
  workerBackoffMs?: number;
}

/** True when the worker can run the job: enough GPU memory, and the backend asked for. */
export function fits(job: training.Job, worker: trainer.WorkerInfo): boolean {
  if (job.minGpuMemoryBytes > 0 && worker.gpuMemoryBytes < job.minGpuMemoryBytes) return false;
  // An N-GPU job runs N ranks on one worker (a worker that reports no count has one).
  if ((job.hyperparameters?.gpus ?? 1) > Math.max(worker.gpuCount, 1)) return false;
  const wants = job.backend;
  if (wants === common.Backend.BACKEND_AUTO || wants === common.Backend.BACKEND_UNSPECIFIED) return true;
  // A worker that lists no backends did not say: let StartJob decide.
  return worker.backends.length === 0 || worker.backends.includes(wants);
}

/** The StartJob request of a dispatch. */
export function startRequest(record: JobRecord, d: Dispatch, settings: DispatchSettings): trainer.StartJobRequest {
  const job = record.job;
  return {
    jobId: job.jobId,
    attempt: d.attempt,
    spec: {
      baseModel: job.baseModel,
      data: {
        $case: 'dataset',
        dataset: { address: settings.datasetAddress, versionDigest: job.datasetDigest, authToken: settings.datasetAuthToken ?? '' },
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

/** Dispatches waiting jobs to idle workers. */
export class Scheduler {
  private running: Promise<void> | undefined;
  private again = false;
  private readonly pausedUntil = new Map<string, number>();
  /** Workers that hold an older attempt of a job under the same id: never offer them that job. */
  private readonly refused = new Set<string>();

  constructor(private readonly deps: SchedulerDeps) {}

  /** Runs a scheduling pass now, or right after the one in progress. */
  poke(): Promise<void> {
    if (this.running) {
      this.again = true;
      return this.running;
    }
    this.running = (async () => {
      try {
        do {
          this.again = false;
          await this.pass();
        } while (this.again);
      } catch (err) {
        this.deps.log.error({ err }, 'scheduling pass failed');
      } finally {
        this.running = undefined;
      }
    })();
    return this.running;
  }

  /** Waits for the pass in progress, if any. */
  async idle(): Promise<void> {
    await this.running;
  }

  private async pass(): Promise<void> {
    const waiting = await this.deps.jobs.findInStates(WAITING_STATES);
    if (waiting.length === 0) return;
    // A dispatch recorded by a process that died before finishing it: send it again (idempotent).
    for (const r of waiting) if (r.dispatch) await this.send(r, r.dispatch);

    const now = this.deps.clock().getTime();
    const workers = (await this.deps.workers.list(false)).filter((w) => (this.pausedUntil.get(w.workerId) ?? 0) <= now);
    if (workers.length === 0) return;
    const holders = await this.deps.jobs.findOccupying(workers.map((w) => w.workerId));
    const taken = new Set(holders.map((r) => r.occupies));
    const idle = workers.filter((w) => !taken.has(w.workerId) && !this.busyElsewhere(w));

    for (const r of waiting) {
      if (r.dispatch || idle.length === 0) continue;
      const i = idle.findIndex((w) => fits(r.job, w.info) && !this.refused.has(`${r.job.jobId}|${w.workerId}`));
      if (i < 0) continue;
      const worker = idle[i];
      if (!worker) continue;
      const { record, changed } = await this.deps.ledger.update(r.job.jobId, (current) =>
        beginDispatch(current, { workerId: worker.workerId, address: worker.info.address }, this.deps.clock()),
      );
      if (!changed || !record?.dispatch) continue;
      idle.splice(i, 1);
      await this.send(record, record.dispatch);
    }
  }

  /**
   * A worker busy with something other than a job we run: a generation (busy, no job), or a job
   * that is not ours. A heartbeat naming a job of ours that already ended predates that end: let
   * StartJob decide (RESOURCE_EXHAUSTED pauses the worker).
   */
  private busyElsewhere(w: WorkerRecord): boolean {
    return w.info.busy && !w.info.currentJobId;
  }

  private async send(record: JobRecord, d: Dispatch): Promise<void> {
    const { ledger, clock, log } = this.deps;
    const jobId = record.job.jobId;
    const client = this.deps.workerClients(d.address);
    let res: trainer.StartJobResponse;
    try {
      res = await client.startJob(startRequest(record, d, this.deps.settings));
    } catch (err) {
      const failure = refusal(err);
      if (failure) {
        log.warn({ jobId, workerId: d.workerId, err }, 'worker refused the job');
        await ledger.update(jobId, (current) => rejectDispatch(current, d, failure, clock()));
        return;
      }
      if (err instanceof AlreadyExistsError) this.refused.add(`${jobId}|${d.workerId}`);
      log.info({ jobId, workerId: d.workerId, err: (err as Error).message }, 'worker cannot take the job now; it stays queued');
      this.pause(d.workerId);
      await ledger.update(jobId, (current) => deferDispatch(current, d, clock()));
      return;
    }
    if (!res.created && res.job && res.job.attempt !== d.attempt) {
      // The worker still holds an older attempt under this id (it came back after being lost).
      log.warn({ jobId, workerId: d.workerId, workerAttempt: res.job.attempt, attempt: d.attempt }, 'worker holds another attempt of the job');
      this.refused.add(`${jobId}|${d.workerId}`);
      await ledger.update(jobId, (current) => deferDispatch(current, d, clock()));
      return;
    }
    const { changed, record: after } = await ledger.update(jobId, (current) => acceptDispatch(current, d, clock()));
    if (changed) {
      log.info({ jobId, workerId: d.workerId, attempt: d.attempt, resumeFrom: d.resumeFrom || undefined }, 'job started on worker');
      this.deps.onStarted(jobId);
      return;
    }
    // Cancelled (or otherwise moved on) while StartJob was in flight: stop it on the worker.
    log.info({ jobId, workerId: d.workerId, state: after?.job.state }, 'job moved on during dispatch; cancelling it on the worker');
    try {
      await client.cancelJob(jobId, 'cancelled while being dispatched');
    } catch (err) {
      log.warn({ err, jobId, workerId: d.workerId }, 'could not cancel on the worker; its heartbeat will be told');
    }
  }

  private pause(workerId: string): void {
    this.pausedUntil.set(workerId, this.deps.clock().getTime() + (this.deps.workerBackoffMs ?? 2_000));
  }
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
