/**
 * Worker registration by heartbeat. A worker registers (what it is: GPU, memory, backends), then
 * heartbeats within the lease; one silent for longer is lost: its job goes RECOVERING (or FAILED
 * when no retries are left, or CANCELLED when it was being cancelled). A heartbeat's answer tells
 * the worker which jobs to stop, so a cancel reaches a worker that was briefly unreachable.
 */
import { type Clock, InvalidArgumentError, NotFoundError, PermissionDeniedError } from '@medtune/kit';
import { events, SUBJECTS, type trainer, training } from '@medtune/contracts';
import type { Logger } from 'pino';
import type { LedgerWriter } from './ledger';
import type { JobRecord, WorkerRecord } from './model';
import type { EventPublisher, JobRepository, WorkerRepository } from './ports';
import { isTerminal, WAITING_STATES } from './state-machine';
import { loseWorker, nextAttempt } from './transitions';

/** How long a deferred dispatch's worker may keep running the job unasked (the scheduler's in-doubt time, 2 × its longest pause). */
const IN_DOUBT_WINDOW_MS = 60_000;

/** Dependencies of {@link WorkerRegistry}. */
export interface WorkerRegistryDeps {
  workers: WorkerRepository;
  jobs: JobRepository;
  ledger: LedgerWriter;
  publisher: EventPublisher;
  clock: Clock;
  log: Logger;
  /** Interval asked of workers. */
  heartbeatIntervalMs: number;
  /** Silence after which a worker is lost. */
  leaseMs: number;
  /** A worker may have become free (registered, idle heartbeat): look for work for it. */
  onWorkerAvailable?: () => void;
  /** A worker registered (again): drop its old channel at once. */
  onWorkerRegistered?: (workerId: string, address: string) => void;
  /** A job left its worker because the worker was lost. */
  onJobDetached?: (jobId: string) => void;
  /**
   * The one (job, attempt) a worker exists to run, for workers bound to one attempt (a Ray-placed
   * trainer, Executor.boundAttempt); undefined for an ordinary worker.
   */
  boundAttempt?: (workerId: string) => { jobId: string; attempt: number } | undefined;
}

/** WorkerRegistryService, transport-free, plus the lease sweep. */
export class WorkerRegistry {
  /**
   * Before this time nobody is declared lost: workers could not heartbeat while we were down, and
   * their clients back off between reconnects, so the first heartbeat after our start can take
   * longer than one lease. Two leases from start.
   */
  private readonly graceUntil: number;

  constructor(private readonly deps: WorkerRegistryDeps) {
    this.graceUntil = deps.clock().getTime() + 2 * deps.leaseMs;
  }

  /**
   * RegisterWorker. A worker id belongs to the credential that first registered it: another
   * `worker` credential may not re-register it (it would take over its jobs and address) —
   * PERMISSION_DENIED, nothing changes. A service (the shared token) may.
   */
  async register(info: trainer.WorkerInfo | undefined, caller?: { subject: string; role: string }): Promise<training.RegisterWorkerResponse> {
    const errors: string[] = [];
    if (!info?.workerId) errors.push('info.worker_id: is required');
    if (!info?.address) errors.push('info.address: is required');
    else if (!/^[^\s:]+:\d{1,5}$/.test(info.address) && !/^\[[0-9a-fA-F:]+\]:\d{1,5}$/.test(info.address)) {
      errors.push(`info.address: must be host:port (got ${JSON.stringify(info.address)})`);
    }
    if (errors.length > 0 || !info) {
      throw new InvalidArgumentError(errors.map((e) => e.split(':')[0]).join(','), errors.join('; '));
    }
    const owner = await this.checkOwner(info.workerId, caller);
    const now = this.deps.clock();
    const registeredBy = owner ?? caller?.subject;
    await this.deps.workers.upsert({ workerId: info.workerId, info, registeredAt: now, lastHeartbeat: now, lost: false, ...(registeredBy !== undefined ? { registeredBy } : {}) });
    this.deps.log.info({ workerId: info.workerId, address: info.address, gpu: info.gpuName, gpuMemoryBytes: info.gpuMemoryBytes }, 'worker registered');
    this.deps.onWorkerRegistered?.(info.workerId, info.address);
    await this.announce('registered', info, '', now);
    this.deps.onWorkerAvailable?.();
    return { heartbeatIntervalMs: this.deps.heartbeatIntervalMs, leaseMs: this.deps.leaseMs };
  }

  /** Heartbeat: NOT_FOUND for an unknown or lost worker (it registers again); PERMISSION_DENIED for another credential's worker id. */
  async heartbeat(info: trainer.WorkerInfo | undefined, caller?: { subject: string; role: string }): Promise<training.HeartbeatResponse> {
    if (!info?.workerId) throw new InvalidArgumentError('info.worker_id', 'is required');
    await this.checkOwner(info.workerId, caller);
    const ok = await this.deps.workers.heartbeat(info.workerId, info, this.deps.clock());
    if (!ok) throw new NotFoundError(`worker ${info.workerId} is not registered (or was declared lost): register again`);
    const cancelJobIds = await this.jobsToStop(info);
    if (!info.busy) this.deps.onWorkerAvailable?.();
    return { cancelJobIds };
  }

  /**
   * Jobs this worker should stop: ours that are being cancelled on it, and the one it runs when
   * that job has moved on without it (cancelled, finished, or resumed elsewhere after a loss).
   * A worker bound to the very attempt the waiting job is about to start (a Ray trainer whose
   * StartJob timed out, or raced a dispatch through another slot) is not stopped: the scheduler
   * sends it StartJob again (idempotent) and the job attaches to it.
   */
  private async jobsToStop(info: trainer.WorkerInfo): Promise<string[]> {
    // Read by `_id` only (every heartbeat of every worker, on any replica): on FerretDB an
    // occupancy query decodes the whole `jobs` collection. A worker runs one job and names it; a
    // cancel that meets a StartJob still in flight is sent by the scheduler after it.
    const ids = new Set<string>();
    if (info.currentJobId) {
      const r = await this.deps.jobs.get(info.currentJobId);
      const ownedHere = r?.occupies === info.workerId;
      if (r && ownedHere && r.job.state === training.JobState.JOB_STATE_CANCEL_REQUESTED) ids.add(r.job.jobId);
      else if (r && !ownedHere && (isTerminal(r.job.state) || r.job.state === training.JobState.JOB_STATE_RECOVERING || r.occupies) && !this.boundToNext(info.workerId, r) && !this.inDoubtHere(info.workerId, r)) {
        ids.add(info.currentJobId);
      }
    }
    return [...ids];
  }

  /**
   * True while the waiting job `r` was last deferred from `workerId` within the in-doubt window:
   * a StartJob that timed out may have started it there, and the scheduler offers it there again
   * (StartJob attaches); telling the worker to stop it would cancel the attempt being resumed.
   */
  private inDoubtHere(workerId: string, r: JobRecord): boolean {
    const d = r.deferredTo;
    return !!d && d.workerId === workerId && !r.occupies && WAITING_STATES.includes(r.job.state) && this.deps.clock().getTime() - d.at.getTime() < IN_DOUBT_WINDOW_MS;
  }

  /** True when `workerId` is bound to the attempt the waiting job `r` starts next. */
  private boundToNext(workerId: string, r: JobRecord): boolean {
    const bound = this.deps.boundAttempt?.(workerId);
    return !!bound && bound.jobId === r.job.jobId && WAITING_STATES.includes(r.job.state) && bound.attempt === nextAttempt(r);
  }

  /** The registering subject of `workerId` (if any); throws when a `worker` caller is someone else. */
  private async checkOwner(workerId: string, caller: { subject: string; role: string } | undefined): Promise<string | undefined> {
    if (caller?.role !== 'worker') return undefined;
    const owner = (await this.deps.workers.get(workerId))?.registeredBy;
    if (owner !== undefined && owner !== caller.subject) {
      throw new PermissionDeniedError(`info.worker_id: worker ${JSON.stringify(workerId)} is registered by another credential; a worker may register and heartbeat only its own id`);
    }
    return owner;
  }

  /** ListWorkers. */
  async list(includeLost: boolean): Promise<training.Worker[]> {
    const rows = await this.deps.workers.list(includeLost);
    return rows.map((w) => ({ info: w.info, lastHeartbeatTime: w.lastHeartbeat, lost: w.lost }));
  }

  /** Declares lost every worker silent for longer than the lease; returns their ids. */
  async sweep(): Promise<string[]> {
    const now = this.deps.clock();
    if (now.getTime() < this.graceUntil) return [];
    const lost: string[] = [];
    for (const w of await this.deps.workers.list(false)) {
      if (now.getTime() - w.lastHeartbeat.getTime() <= this.deps.leaseMs) continue;
      if (!(await this.deps.workers.markLost(w.workerId, w.lastHeartbeat))) continue;
      lost.push(w.workerId);
      await this.handleLost(w, now);
    }
    return lost;
  }

  private async handleLost(w: WorkerRecord, now: Date): Promise<void> {
    const silentMs = now.getTime() - w.lastHeartbeat.getTime();
    const held = await this.deps.jobs.findOccupying([w.workerId]);
    this.deps.log.warn({ workerId: w.workerId, silentMs, jobs: held.map((r) => r.job.jobId) }, 'worker lost');
    await this.announce('lost', w.info, held[0]?.job.jobId ?? '', now);
    for (const r of held) {
      const reason = `worker ${w.workerId} lost (no heartbeat for ${Math.round(silentMs / 1000)} s)`;
      await this.deps.ledger.update(r.job.jobId, (current) => loseWorker(current, w.workerId, reason, now));
      this.deps.onJobDetached?.(r.job.jobId);
    }
    this.deps.onWorkerAvailable?.();
  }

  private async announce(what: 'registered' | 'lost', info: trainer.WorkerInfo, jobId: string, now: Date): Promise<void> {
    const spec = what === 'registered' ? SUBJECTS.trainingWorkerRegistered : SUBJECTS.trainingWorkerLost;
    const data = events.WorkerChanged.encode({ worker: info, jobId, time: now }).finish();
    try {
      await this.deps.publisher.publish({ subject: spec.subject, data }, `worker:${info.workerId}:${what}:${now.getTime()}`);
    } catch (err) {
      this.deps.log.warn({ err, workerId: info.workerId, what }, 'could not publish the worker event');
    }
  }
}
