/**
 * The Ray executor: each attempt of a job runs as one Ray job (Ray Jobs API) whose entrypoint is
 * the Python trainer bound to that job (`python -m medtune_trainer.ray_job`). Ray places it by its
 * resource request (GPUs, GPU memory as a custom resource, CPUs, memory); the training service
 * keeps the queue, the retries and every state change, exactly as with registered workers.
 *
 * How it fits the scheduler's slots (executor.ts):
 * - **submission slots** (`ray-submit-<k>`, as many as `maxPending`): the door to the cluster. A
 *   job placed on one is submitted (submission id = `<prefix>-<job>-a<attempt>`, so a repeated
 *   submit finds the first one and never starts a second copy), and the start is answered
 *   RESOURCE_EXHAUSTED while Ray has not started it: the job stays QUEUED (or RECOVERING) with the
 *   reason ("waiting for 1 GPU on the Ray cluster (submission ...)") in `Job.waiting_reason` and
 *   a notice event. The request is compared with the TOTAL resources of every alive node (Ray's
 *   State API node list): while some node could ever run it, it is submitted and waits for free
 *   resources as long as it takes; while no node could, it is not submitted (Ray cannot drop a
 *   pending job before placing it), and once that has lasted `unsatisfiableAfterMs` (counted from
 *   when it was first seen, so an autoscaler has that long to add a node) the job fails with
 *   FAILED_PRECONDITION (Ray itself would leave it pending). A submitted job whose nodes all left
 *   is stopped and fails the same way.
 * - **trainer slots**: once Ray runs the entrypoint, the trainer registers with the worker
 *   registry under the submission id and heartbeats like any worker. The scheduler then places the
 *   job on that slot (it offers exactly the job's GPUs, so placement prefers it) and sends the
 *   ordinary StartJob; from there events, re-attach, cancel and lost-worker recovery (a killed
 *   node stops the heartbeats → RECOVERING → the next attempt is a new Ray job that resumes from
 *   the last checkpoint) are the registered-worker path, unchanged. Any other job offered a trainer
 *   slot is refused (ALREADY_EXISTS) for good: that trainer runs one job.
 * - **other registered workers** (not named by a submission id, e.g. the GPU worker evaluations
 *   use) are offered for worker holds only (`use: 'holds'`); submission and trainer slots never
 *   take a hold (`use: 'jobs'`).
 * - **reconcile** (every `reconcileIntervalMs`, from `slots()`): Ray jobs of ours whose medtune job
 *   ended, was cancelled while waiting, or moved on to a later attempt are stopped. A PENDING one
 *   is dropped at once (see {@link dropScript}): Ray's own stop of a job it has not placed waits
 *   for the placement, so a cancelled job would hold its place in Ray's queue until a GPU frees
 *   (and then take that GPU for a moment before the stop lands). Ray never
 *   retries by itself (a Ray job is submitted once per attempt; the entrypoint exits non-zero
 *   only on failure and nobody resubmits it but the scheduler).
 *
 * Ray unreachable: a submit or status call fails with UNAVAILABLE, the scheduler marks the
 * submission slot unreachable with a doubling pause, and the jobs stay waiting: nothing is lost.
 */
import { AlreadyExistsError, type Clock, FailedPreconditionError, ResourceExhaustedError, UnavailableError } from '@medtune/kit';
import { trainer, training } from '@medtune/contracts';
import type { Logger } from 'pino';
import type { ExecutionSlot, Executor, StartOptions } from '../executor';
import { slotOf } from '../executor';
import type { JobRecord } from '../model';
import type { JobRepository, WorkerClient, WorkerClientFactory, WorkerRepository } from '../ports';
import { isTerminal, WAITING_STATES } from '../state-machine';
import { nextAttempt } from '../transitions';

/** A Ray job's status (Ray's JobStatus). */
export type RayJobStatus = 'PENDING' | 'RUNNING' | 'STOPPED' | 'SUCCEEDED' | 'FAILED';

/** What the executor reads of a Ray job. */
export interface RayJobInfo {
  readonly submissionId: string;
  readonly status: RayJobStatus;
  /** Ray's message (why it failed, "Job is currently pending"...). */
  readonly message: string;
  /** When Ray accepted the submission (ms since epoch). */
  readonly startTimeMs: number;
  readonly metadata: Readonly<Record<string, string>>;
  /** The node the entrypoint runs on, when known. */
  readonly nodeId?: string;
}

/** One submission: the entrypoint, its environment and its resource request. */
export interface RaySubmission {
  readonly submissionId: string;
  readonly entrypoint: string;
  /** Environment of the entrypoint (runtime_env.env_vars): never a secret, Ray stores it. */
  readonly env: Readonly<Record<string, string>>;
  readonly metadata: Readonly<Record<string, string>>;
  readonly gpus: number;
  readonly cpus: number;
  readonly memoryBytes?: number;
  /** Custom resources, e.g. { gpu_memory_gb: 24 }. */
  readonly resources: Readonly<Record<string, number>>;
}

/** One node of the Ray cluster: its total (not free) resources, as Ray counts them (memory in bytes). */
export interface RayNodeInfo {
  readonly nodeId: string;
  readonly alive: boolean;
  readonly resources: Readonly<Record<string, number>>;
}

/**
 * The Ray Jobs API as the executor uses it (the adapter is ray/jobs-client.ts). Errors: an
 * {@link UnavailableError} when the cluster cannot be reached; others as Ray answered them.
 */
export interface RayJobsApi {
  /** Submits; false when a job with this submission id exists already (nothing new started). */
  submit(s: RaySubmission): Promise<boolean>;
  /** The job, or undefined when Ray does not know the submission id. */
  get(submissionId: string): Promise<RayJobInfo | undefined>;
  list(): Promise<RayJobInfo[]>;
  /** Asks Ray to stop the job (any state); false when it had already ended. */
  stop(submissionId: string): Promise<boolean>;
  /** Deletes an ended job's record from Ray (its log goes too); false when Ray does not know it. */
  remove?(submissionId: string): Promise<boolean>;
  /** The driver log (the entrypoint's stdout and stderr). */
  logs(submissionId: string): Promise<string>;
  /** The cluster's nodes with their total resources (the dashboard's node list). */
  nodes(): Promise<RayNodeInfo[]>;
  /** Ray's version: a reachability check. */
  version(): Promise<string>;
}

/** Settings of the Ray executor (config.ts: MEDTUNE_TRAINING_RAY_*). */
export interface RaySettings {
  /** Python interpreter on the Ray nodes that has medtune_trainer importable. */
  readonly python: string;
  /** The worker registry (this service) as the trainers on the Ray nodes reach it, host:port. */
  readonly registryAddress: string;
  /** Submission ids start with this (one Ray cluster can serve several medtune deployments). */
  readonly prefix: string;
  /** Submissions waiting for Ray resources at once (the rest wait in our queue, in order). */
  readonly maxPending: number;
  /** A submission that no alive node could ever fit for this long is stopped and its job fails (FAILED_PRECONDITION). */
  readonly unsatisfiableAfterMs: number;
  /** CPUs asked for each job's entrypoint. */
  readonly cpusPerJob: number;
  /** Memory asked for each job (bytes); unset: not part of the request. */
  readonly memoryBytesPerJob?: number;
  /** Name of the custom resource that stands for GPU memory in GiB (nodes declare it); unset: not asked. */
  readonly gpuMemoryResource?: string;
  /** How often Ray jobs of ours are compared with their medtune jobs. */
  readonly reconcileIntervalMs: number;
  /** Extra (non-secret) environment for every entrypoint, e.g. MEDTUNE_TRAINER_LOG_LEVEL. */
  readonly env?: Readonly<Record<string, string>>;
}

/** Dependencies of {@link RayExecutor}. */
export interface RayExecutorDeps {
  ray: RayJobsApi;
  /** The worker registry's store: where the Ray-placed trainers' registrations are read. */
  workers: WorkerRepository;
  /** Read-only: which medtune job a Ray job belongs to (reconcile). */
  jobs: Pick<JobRepository, 'get'>;
  workerClients: WorkerClientFactory;
  resetChannel?: (address: string) => void;
  settings: RaySettings;
  clock: Clock;
  log: Logger;
  /** Records why a waiting job has not started (Job.waiting_reason + a notice event); '' clears it. */
  noteWaiting?: (jobId: string, reason: string) => Promise<void>;
}

/** Ray-side facts about a submission (metadata keys). */
const META = { job: 'medtune_job_id', attempt: 'medtune_attempt', prefix: 'medtune_prefix', drop: 'medtune_drop' } as const;
/** Slot ids of the submission slots. */
export const SUBMISSION_SLOT_PREFIX = 'ray-submit-';
/** WorkerInfo.versions key that marks a submission slot (evaluation holds must not take one). */
export const RAY_SLOT_MARK = 'medtune.executor';
/** Big enough that placement never keeps a job from Ray for its GPU count: Ray decides. */
const ANY_GPUS = 1 << 16;
const GIB = 1024 ** 3;

/** The submission id of an attempt: stable, so a retried submit finds the first one. */
export function submissionId(prefix: string, jobId: string, attempt: number): string {
  return `${prefix}-${jobId}-a${attempt}`;
}

/** The (job, attempt) of a submission id of `prefix` ({@link submissionId}); undefined for anything else. */
export function parseSubmissionId(prefix: string, sid: string): { jobId: string; attempt: number } | undefined {
  if (!sid.startsWith(`${prefix}-`)) return undefined;
  const m = /^(.+)-a([1-9]\d*)$/.exec(sid.slice(prefix.length + 1));
  return m?.[1] ? { jobId: m[1], attempt: Number(m[2]) } : undefined;
}

/**
 * The drop job's program (`python -c`, arguments: submission ids): kills the supervisor actor of
 * each pending Ray job (Ray's names for it: the job manager's). Ray then marks the job FAILED.
 */
export const dropScript = [
  'import sys, ray',
  'from ray.dashboard.modules.job.common import JOB_ACTOR_NAME_TEMPLATE as T, SUPERVISOR_ACTOR_RAY_NAMESPACE as N',
  'ray.init(log_to_driver=False)',
  'for s in sys.argv[1:]:',
  '    try:',
  '        ray.kill(ray.get_actor(T.format(job_id=s), namespace=N), no_restart=True)',
  '        print("dropped", s)',
  '    except ValueError as e:',
  '        print("not found", s, e)',
  '',
].join('\n');

/** One POSIX shell word. */
function shellQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

/** "1 GPU", "4 GPUs". */
function gpusText(n: number): string {
  return `${n} GPU${n === 1 ? '' : 's'}`;
}

/** Runs each attempt as a Ray job; see the module comment. */
export class RayExecutor implements Executor {
  readonly kind = 'ray';
  private lastReconcile = 0;
  private reconciling: Promise<void> | undefined;
  /** Submissions seen PENDING at the last look (bounded by maxPending for new submits). */
  private readonly pending = new Set<string>();
  private readonly registered = new Map<string, number>();
  private readonly reasons = new Map<string, string>();
  /** Submission id → when it was first seen that no alive node could ever fit it. */
  private readonly unfitSince = new Map<string, number>();
  private nodesSeen: { at: number; nodes: RayNodeInfo[] } | undefined;
  private readonly stopAsked = new Set<string>();
  /** PENDING submissions a drop job was submitted for: when, and whether the outcome was logged. */
  private readonly dropAsked = new Map<string, { at: number; checked: boolean }>();

  constructor(private readonly deps: RayExecutorDeps) {}

  async slots(): Promise<ExecutionSlot[]> {
    this.maybeReconcile();
    const out: ExecutionSlot[] = [];
    for (const w of await this.deps.workers.list(false)) {
      const at = w.registeredAt.getTime();
      const seen = this.registered.get(w.workerId);
      if (seen !== undefined && seen !== at) this.reset(w.info.address);
      this.registered.set(w.workerId, at);
      // A Ray-placed trainer runs its one attempt; any other registered worker (the GPU worker
      // an evaluation service uses) is kept for worker holds: training goes to Ray.
      out.push({ ...slotOf(w), use: w.workerId.startsWith(`${this.deps.settings.prefix}-`) ? 'jobs' : 'holds' });
    }
    for (let k = 0; k < this.deps.settings.maxPending; k++) {
      const info = trainer.WorkerInfo.fromPartial({
        workerId: `${SUBMISSION_SLOT_PREFIX}${k}`,
        address: `ray-submission:${k}`,
        gpuName: 'Ray cluster',
        gpuMemoryBytes: Number.MAX_SAFE_INTEGER,
        gpuCount: ANY_GPUS,
        versions: { [RAY_SLOT_MARK]: 'ray-submission' },
      });
      out.push({ slotId: info.workerId, address: info.address, gpus: ANY_GPUS, info, use: 'jobs', group: SUBMISSION_SLOT_PREFIX });
    }
    return out;
  }

  async start(slot: ExecutionSlot, request: trainer.StartJobRequest, options: StartOptions): Promise<trainer.StartJobResponse> {
    const { settings } = this.deps;
    const sid = submissionId(settings.prefix, request.jobId, request.attempt);
    if (!slot.slotId.startsWith(SUBMISSION_SLOT_PREFIX)) {
      // A trainer slot: the Ray-placed trainer of exactly one (job, attempt).
      if (slot.slotId !== sid) throw new AlreadyExistsError(`the Ray trainer ${slot.slotId} runs another job`);
      const res = await this.deps.workerClients(slot.address).startJob(request, { deadlineMs: options.deadlineMs });
      await this.note(request.jobId, '');
      return res;
    }
    const minMem = (await this.deps.jobs.get(request.jobId))?.job.minGpuMemoryBytes ?? 0;
    let info = await this.deps.ray.get(sid);
    if (!info) {
      // Not submitted while no alive node could ever run it: Ray cannot drop a pending job before
      // it is placed (a stop waits for the placement), so such a submission would linger.
      const fit = await this.fitOf(this.submission(sid, request, minMem));
      if (!fit.fits) return this.unfit(sid, request, minMem, fit.why, false);
      this.unfitSince.delete(sid);
      if (this.pending.size >= settings.maxPending) {
        const reason = `waiting for room on the Ray cluster: ${this.pending.size} submissions already wait for resources`;
        await this.note(request.jobId, reason);
        throw new ResourceExhaustedError(reason);
      }
      await this.deps.ray.submit(this.submission(sid, request, minMem));
      this.deps.log.info({ jobId: request.jobId, attempt: request.attempt, submissionId: sid }, 'submitted to the Ray cluster');
      info = await this.deps.ray.get(sid);
      if (!info) throw new UnavailableError(`Ray does not show the submission ${sid} it just accepted`);
    }
    const gpus = Math.max(1, request.spec?.hyperparameters?.gpus ?? 1);
    if (info.status !== 'PENDING') this.unfitSince.delete(sid);
    switch (info.status) {
      case 'PENDING': {
        this.pending.add(sid);
        const fit = await this.fitOf(this.submission(sid, request, minMem));
        if (fit.fits) {
          this.unfitSince.delete(sid);
          const reason = `waiting for ${gpusText(gpus)}${this.memoryText(minMem)} on the Ray cluster (submission ${sid})`;
          await this.note(request.jobId, reason);
          throw new ResourceExhaustedError(reason);
        }
        // Submitted when a node could fit it, and that node has gone since.
        const now = this.deps.clock().getTime();
        if (now - (this.unfitSince.get(sid) ?? now) >= settings.unsatisfiableAfterMs) {
          await this.stopQuietly(sid, 'no node can fit it');
          await this.drop(sid);
          this.pending.delete(sid);
        }
        return this.unfit(sid, request, minMem, fit.why, true);
      }
      case 'RUNNING': {
        this.pending.delete(sid);
        const reason = `starting on the Ray cluster${info.nodeId ? ` (node ${info.nodeId.slice(0, 12)})` : ''}: waiting for the trainer of submission ${sid} to register`;
        await this.note(request.jobId, reason);
        throw new ResourceExhaustedError(reason);
      }
      default:
        this.pending.delete(sid);
        // The attempt's Ray job ended before it was started here: its id cannot be reused, and
        // a silent resubmit would be Ray retrying by itself. The scheduler fails the job.
        throw new FailedPreconditionError(`the Ray job ${sid} ended ${info.status} before the trainer started: ${info.message || 'no message'}`);
    }
  }

  client(address: string): WorkerClient {
    return this.deps.workerClients(address);
  }

  /** A Ray-placed trainer (registered under its submission id) is bound to that one (job, attempt). */
  boundAttempt(workerId: string): { jobId: string; attempt: number } | undefined {
    return parseSubmissionId(this.deps.settings.prefix, workerId);
  }

  reset(address: string): void {
    this.deps.resetChannel?.(address);
  }

  /** The driver log of the job's latest Ray submission (GetJobLogs). */
  async logs(job: training.Job, tailBytes: number): Promise<{ text: string; source: string; attempt: number; truncated: boolean }> {
    const { prefix } = this.deps.settings;
    // A waiting job's newest submission may be the next attempt's (submitted, not started yet).
    const next = job.state === training.JobState.JOB_STATE_RECOVERING ? job.attempt + 1 : Math.max(1, job.attempt);
    const candidates = WAITING_STATES.includes(job.state) ? [next, job.attempt] : [job.attempt];
    for (const attempt of candidates) {
      if (attempt < 1) continue;
      const sid = submissionId(prefix, job.jobId, attempt);
      if (!(await this.deps.ray.get(sid))) continue;
      const full = await this.deps.ray.logs(sid);
      const bytes = Buffer.from(full, 'utf8');
      const truncated = bytes.length > tailBytes;
      const text = truncated ? bytes.subarray(bytes.length - tailBytes).toString('utf8') : full;
      return { text, source: `ray job ${sid}`, attempt, truncated };
    }
    throw new FailedPreconditionError(`job ${job.jobId} has no Ray job yet (it was never submitted)`);
  }

  /** Stops the Ray jobs of ours that no medtune job needs any more; see the module comment. */
  async reconcile(): Promise<void> {
    const { ray, jobs, settings } = this.deps;
    const mine = (await ray.list()).filter((j) => j.metadata[META.prefix] === settings.prefix);
    this.pending.clear();
    const byId = new Map(mine.map((j) => [j.submissionId, j]));
    for (const j of mine) {
      const target = j.metadata[META.drop];
      if (target !== undefined) {
        await this.settleDrop(j, byId.get(target));
        continue;
      }
      if (j.status !== 'PENDING' && j.status !== 'RUNNING') continue;
      const jobId = j.metadata[META.job] ?? '';
      const attempt = Number(j.metadata[META.attempt] ?? 0);
      const record = jobId ? await jobs.get(jobId) : undefined;
      const why = staleReason(record, attempt);
      if (!why) {
        if (j.status === 'PENDING') this.pending.add(j.submissionId);
        continue;
      }
      await this.stopQuietly(j.submissionId, `${why} (job ${jobId}, attempt ${attempt})`);
      if (j.status === 'PENDING') await this.drop(j.submissionId);
    }
  }

  /**
   * Drops a PENDING submission now: a small Ray job (no GPU, on the head) kills its supervisor
   * actor, which Ray has not placed yet, so the job ends FAILED ("Job supervisor actor died")
   * without ever starting. Submitted once per submission (its id is derived from it).
   */
  private async drop(sid: string): Promise<void> {
    if (this.dropAsked.has(sid)) return;
    const { settings } = this.deps;
    const dropId = `${sid}-drop`;
    try {
      await this.deps.ray.submit({
        submissionId: dropId,
        entrypoint: `${settings.python} -c ${shellQuote(dropScript)} ${sid}`,
        env: {},
        metadata: { [META.prefix]: settings.prefix, [META.drop]: sid },
        gpus: 0,
        cpus: 0,
        resources: {},
      });
      this.dropAsked.set(sid, { at: this.deps.clock().getTime(), checked: false });
      if (this.dropAsked.size > 10_000) this.dropAsked.clear();
      this.deps.log.info({ submissionId: sid, dropId }, 'dropping a pending Ray job (its supervisor is not placed yet)');
    } catch (err) {
      this.deps.log.warn({ err: (err as Error).message, submissionId: sid }, 'could not submit the drop of a pending Ray job; the next reconcile retries');
    }
  }

  /**
   * A drop job that ended: checks that its target is no longer PENDING (logged once either way;
   * a target Ray could not drop still ends at its placement, by the stop asked), then deletes the
   * drop job's record so Ray's job list does not fill up with them.
   */
  private async settleDrop(dropJob: RayJobInfo, target: RayJobInfo | undefined): Promise<void> {
    if (dropJob.status === 'PENDING' || dropJob.status === 'RUNNING') return;
    const sid = dropJob.metadata[META.drop] ?? '';
    if (target?.status === 'PENDING' || target?.status === 'RUNNING') {
      const asked = this.dropAsked.get(sid);
      if (asked && !asked.checked) {
        asked.checked = true;
        this.deps.log.warn({ submissionId: sid, dropId: dropJob.submissionId, status: target.status, dropStatus: dropJob.status, message: dropJob.message }, 'the drop job ended but the Ray job is still not over; the stop asked of Ray ends it once placed');
      }
      return;
    }
    this.deps.log.info({ submissionId: sid, status: target?.status, message: target?.message.slice(0, 200) }, 'pending Ray job dropped');
    try {
      await this.deps.ray.remove?.(dropJob.submissionId);
    } catch (err) {
      this.deps.log.warn({ err: (err as Error).message, dropId: dropJob.submissionId }, 'could not delete the drop job from Ray');
    }
  }

  private maybeReconcile(): void {
    const now = this.deps.clock().getTime();
    if (this.reconciling || now - this.lastReconcile < this.deps.settings.reconcileIntervalMs) return;
    this.lastReconcile = now;
    this.reconciling = this.reconcile()
      .catch((err: unknown) => this.deps.log.warn({ err: (err as Error).message }, 'could not reconcile with the Ray cluster; will retry'))
      .finally(() => {
        this.reconciling = undefined;
      });
  }

  /** Waits for a reconcile in progress (tests). */
  async settled(): Promise<void> {
    await this.reconciling;
  }

  private submission(sid: string, request: trainer.StartJobRequest, minMem: number): RaySubmission {
    const { settings } = this.deps;
    const gpus = Math.max(1, request.spec?.hyperparameters?.gpus ?? 1);
    const resources: Record<string, number> = {};
    if (settings.gpuMemoryResource && minMem > 0) resources[settings.gpuMemoryResource] = Math.ceil(minMem / GIB);
    return {
      submissionId: sid,
      entrypoint: `${settings.python} -m medtune_trainer.ray_job`,
      env: {
        ...(settings.env ?? {}),
        MEDTUNE_TRAINER_WORKER_ID: sid,
        MEDTUNE_TRAINER_REGISTRY_ADDR: settings.registryAddress,
        MEDTUNE_TRAINER_ONE_JOB: request.jobId,
        MEDTUNE_TRAINER_ONE_JOB_ATTEMPT: String(request.attempt),
        MEDTUNE_TRAINER_GPU_COUNT: String(gpus),
      },
      metadata: { [META.job]: request.jobId, [META.attempt]: String(request.attempt), [META.prefix]: settings.prefix },
      gpus,
      cpus: settings.cpusPerJob,
      ...(settings.memoryBytesPerJob ? { memoryBytes: settings.memoryBytesPerJob } : {}),
      resources,
    };
  }

  /**
   * A job no alive node could run: waits (RESOURCE_EXHAUSTED, with the reason) until the limit,
   * counted from when that was first seen, then fails (FAILED_PRECONDITION). Always throws.
   */
  private async unfit(sid: string, request: trainer.StartJobRequest, minMem: number, why: string, submitted: boolean): Promise<never> {
    const { settings } = this.deps;
    const gpus = Math.max(1, request.spec?.hyperparameters?.gpus ?? 1);
    const now = this.deps.clock().getTime();
    const since = this.unfitSince.get(sid) ?? now;
    this.unfitSince.set(sid, since);
    const limitS = Math.round(settings.unsatisfiableAfterMs / 1000);
    const what = `${gpusText(gpus)}${this.memoryText(minMem)}`;
    if (now - since >= settings.unsatisfiableAfterMs) {
      this.unfitSince.delete(sid);
      throw new FailedPreconditionError(
        `hyperparameters.gpus: no node of the Ray cluster can run a job of ${what} (${why}; waited ${limitS} s for one to join; ${submitted ? `submission ${sid} stopped` : 'nothing was submitted'})`,
      );
    }
    const reason = `waiting for a Ray node that can fit ${what}: ${why} (fails after ${limitS} s unless one joins; ${submitted ? `submission ${sid}` : 'not submitted yet'})`;
    await this.note(request.jobId, reason);
    throw new ResourceExhaustedError(reason);
  }

  /**
   * Whether some alive node's TOTAL resources could ever run the submission, and if not, why (the
   * largest node's figures). The node list is read at most once a second; when it cannot be read,
   * the submission counts as fitting (waiting is safe, failing a job on a glitch is not).
   */
  private async fitOf(s: RaySubmission): Promise<{ fits: boolean; why: string }> {
    const now = this.deps.clock().getTime();
    if (!this.nodesSeen || now - this.nodesSeen.at > 1_000) {
      try {
        this.nodesSeen = { at: now, nodes: await this.deps.ray.nodes() };
      } catch (err) {
        this.deps.log.warn({ err: (err as Error).message }, 'could not read the Ray node list; the submission keeps waiting');
        return { fits: true, why: '' };
      }
    }
    return fitsSomeNode(s, this.nodesSeen.nodes);
  }

  private memoryText(minMem: number): string {
    return this.deps.settings.gpuMemoryResource && minMem > 0 ? ` with ${Math.ceil(minMem / GIB)} GiB each` : '';
  }

  private async note(jobId: string, reason: string): Promise<void> {
    if ((this.reasons.get(jobId) ?? '') === reason) return;
    this.reasons.set(jobId, reason);
    if (!reason) this.reasons.delete(jobId);
    try {
      await this.deps.noteWaiting?.(jobId, reason);
    } catch (err) {
      this.reasons.delete(jobId);
      this.deps.log.warn({ err, jobId }, 'could not record why the job waits');
    }
  }

  private async stopQuietly(sid: string, why: string): Promise<void> {
    // Ray queues a stop of a job it has not placed yet until it places it: ask again on each
    // reconcile, log it once.
    if (!this.stopAsked.has(sid)) this.deps.log.info({ submissionId: sid, why }, 'stopping a Ray job that no medtune job needs');
    this.stopAsked.add(sid);
    if (this.stopAsked.size > 10_000) this.stopAsked.clear();
    try {
      await this.deps.ray.stop(sid);
    } catch (err) {
      this.deps.log.warn({ err: (err as Error).message, submissionId: sid, why }, 'could not stop the Ray job; the next reconcile retries');
    }
  }
}

/** The resources a submission asks for, by Ray's names (memory in bytes). */
export function requestOf(s: RaySubmission): Record<string, number> {
  const want: Record<string, number> = { ...s.resources };
  if (s.gpus > 0) want.GPU = s.gpus;
  if (s.cpus > 0) want.CPU = s.cpus;
  if (s.memoryBytes) want.memory = s.memoryBytes;
  return want;
}

/** Whether some alive node's total resources hold the whole request; else why not (the largest node's figures). */
export function fitsSomeNode(s: RaySubmission, nodes: readonly RayNodeInfo[]): { fits: boolean; why: string } {
  const want = requestOf(s);
  const alive = nodes.filter((n) => n.alive);
  if (alive.some((n) => Object.entries(want).every(([k, v]) => (n.resources[k] ?? 0) >= v))) return { fits: true, why: '' };
  if (alive.length === 0) return { fits: false, why: 'the Ray cluster has no alive node' };
  const short = Object.entries(want)
    .map(([k, v]) => ({ k, v, most: Math.max(...alive.map((n) => n.resources[k] ?? 0)) }))
    .filter((x) => x.most < x.v)
    .map((x) => `${x.k} ${fmt(x.v)} asked, the largest node has ${fmt(x.most)}`);
  const what = short.length > 0 ? short.join('; ') : 'no single node has all of it';
  return { fits: false, why: `${what} (${alive.length} alive node${alive.length === 1 ? '' : 's'})` };
}

function fmt(n: number): string {
  return Number.isInteger(n) ? String(n) : n.toFixed(2);
}

/** Why a Ray job of (job, attempt) is no longer needed; undefined while it is. */
export function staleReason(record: JobRecord | undefined, attempt: number): string | undefined {
  if (!record) return 'its medtune job does not exist';
  const state = record.job.state;
  if (isTerminal(state)) return `its job is ${training.JobState[state]}`;
  const current = WAITING_STATES.includes(state) ? nextAttempt(record) : record.job.attempt;
  if (attempt < current) return `its job moved on to attempt ${current}`;
  return undefined;
}
