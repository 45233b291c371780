/**
 * The job API, transport-free: CreateJob (validation, idempotency, dataset check), GetJob,
 * ListJobs, CancelJob, WatchJob and ListCheckpoints. Errors are the kit's DomainError classes; the
 * gRPC adapter maps them to status codes.
 */
import { AlreadyExistsError, type Clock, FailedPreconditionError, InvalidArgumentError, NotFoundError, PermissionDeniedError, decodePageToken, encodePageToken, pageSize } from '@medtune/kit';
import { dataset, type trainer, training } from '@medtune/contracts';
import type { Logger } from 'pino';
import { DEFAULT_EXPERIMENT, DEFAULT_MAX_RETRIES, resolveBackend, resolveExports, resolveHyperparameters, resolveLora } from './defaults';
import type { JobLedger } from './ledger';
import type { JobRecord } from './model';
import { type DatasetClient, IdempotencyKeyTakenError, type JobEventRepository, type ModelInspector, type JobRepository, type WorkerClientFactory, type WorkerRepository } from './ports';
import { requestHash } from './request-hash';
import { isTerminal } from './state-machine';
import { newJobRecord, requestCancel } from './transitions';
import { type ResolvedSpec, validateAgainstDataset, validateCreateJob, validateTargetModules } from './validation';
import { FieldErrorsError } from './errors';

/** Dependencies of {@link JobService}. */
export interface JobServiceDeps {
  jobs: JobRepository;
  events: JobEventRepository;
  ledger: JobLedger;
  datasets: DatasetClient;
  workerClients: WorkerClientFactory;
  clock: Clock;
  newJobId: () => string;
  log: Logger;
  /** Base models checked at CreateJob (absent: not checked). */
  models?: ModelInspector;
  /** Registered workers: a job asking for more GPUs than any of them has is refused. */
  workers?: WorkerRepository;
  /** Called after a job becomes runnable (created), so the scheduler looks at once. */
  onQueued?: () => void;
  /** How often a watcher re-reads the log when no in-process signal came (another instance wrote). */
  watchPollMs?: number;
}

/**
 * Who calls (the gRPC adapter's authenticated principal); absent when the service runs without
 * access control. `subject` is recorded as Job.creator; `role` decides whose jobs it may cancel.
 */
export interface Caller {
  readonly subject: string;
  readonly role: string;
}

/** Roles that may cancel any job; a `user` may cancel only the jobs it created. */
const CANCEL_ANY: ReadonlySet<string> = new Set(['operator', 'service']);

/** ListJobs page size bounds (larger requests are lowered to the maximum, as AIP-158 asks). */
const PAGE = { default: 50, max: 500 } as const;

/** The job API. */
export class JobService {
  constructor(private readonly deps: JobServiceDeps) {}

  /** CreateJob: see training.proto for the contract. */
  async createJob(req: training.CreateJobRequest, caller?: Caller): Promise<training.CreateJobResponse> {
    const { clock, log } = this.deps;
    const validatedSince = clock();
    const spec: ResolvedSpec = {
      hyperparameters: resolveHyperparameters(req.hyperparameters),
      lora: resolveLora(req.lora),
      exports: resolveExports(req.exports),
      backend: resolveBackend(req.backend),
      maxRetries: req.maxRetries ?? DEFAULT_MAX_RETRIES,
      experiment: req.experiment || DEFAULT_EXPERIMENT,
    };
    const errors = validateCreateJob(req, spec);
    if (errors.length > 0) throw new FieldErrorsError(errors);
    await this.checkBaseModel(req.baseModel, spec);
    await this.checkGpusOffered(spec.hyperparameters.gpus ?? 1);

    const hash = requestHash(req, spec);
    const existing = await this.deps.jobs.getByIdempotencyKey(req.idempotencyKey);
    if (existing) return this.repeat(existing, hash);

    const version = await this.readyVersion(req.datasetDigest);
    const refuted = validateAgainstDataset(spec.hyperparameters, version);
    if (refuted.length > 0) throw new FieldErrorsError(refuted);
    const digest = version.digest;
    const templateName = version.lineage?.template?.name ?? '';
    const record = newJobRecord(
      { jobId: this.deps.newJobId(), request: req, spec, requestHash: hash, datasetDigest: digest, templateName, validatedSince, creator: caller?.subject ?? '' },
      clock(),
    );
    try {
      await this.deps.ledger.create(record);
    } catch (err) {
      if (!(err instanceof IdempotencyKeyTakenError)) throw err;
      // Another call with the same key won the race: answer as a repeat of it.
      const winner = await this.deps.jobs.getByIdempotencyKey(req.idempotencyKey);
      if (!winner) throw err;
      return this.repeat(winner, hash);
    }
    log.info({ jobId: record.job.jobId, datasetDigest: digest, baseModel: req.baseModel, priority: req.priority }, 'job created');
    this.deps.onQueued?.();
    return { job: record.job, created: true };
  }

  /**
   * An N-GPU job (N > 1) needs a worker with N GPUs; one that no registered worker (lost ones
   * included: they may come back) could ever run is FAILED_PRECONDITION rather than queued forever.
   */
  private async checkGpusOffered(gpus: number): Promise<void> {
    if (gpus <= 1 || !this.deps.workers) return;
    const most = Math.max(0, ...(await this.deps.workers.list(true)).map((w) => w.info.gpuCount));
    if (most < gpus) {
      throw new FailedPreconditionError(`hyperparameters.gpus: ${gpus} GPUs asked for, but the registered workers have at most ${most}`);
    }
  }

  /**
   * A base model directory that does not exist is FAILED_PRECONDITION (base_model), and target
   * modules the model does not have are INVALID_ARGUMENT (lora.target_modules[i]): both would
   * otherwise fail on a worker after the queue, the download and the load.
   */
  private async checkBaseModel(baseModel: string, spec: ResolvedSpec): Promise<void> {
    const facts = await this.deps.models?.inspect(baseModel);
    if (!facts) return;
    if (facts.kind === 'missing') throw new FailedPreconditionError(`base_model: ${facts.reason}`);
    const bad = validateTargetModules(spec.lora, facts);
    if (bad.length > 0) throw new FieldErrorsError(bad);
  }

  private repeat(existing: JobRecord, hash: string): training.CreateJobResponse {
    if (existing.requestHash !== hash) {
      throw new AlreadyExistsError(
        `idempotency_key ${JSON.stringify(existing.job.idempotencyKey)} was used for job ${existing.job.jobId} with a different request; use a new key for a new job`,
      );
    }
    return { job: existing.job, created: false };
  }

  /** A READY version (its full digest and lineage); NOT_FOUND / FAILED_PRECONDITION otherwise. */
  private async readyVersion(digest: string): Promise<dataset.DatasetVersion> {
    let res: dataset.GetVersionResponse;
    try {
      res = await this.deps.datasets.getVersion(digest);
    } catch (err) {
      if (err instanceof NotFoundError) throw new NotFoundError(`dataset_digest: no dataset version ${JSON.stringify(digest)}`, { cause: err });
      if (err instanceof InvalidArgumentError) throw new InvalidArgumentError('dataset_digest', err.message);
      throw err;
    }
    const version = res.version;
    if (!version) throw new NotFoundError(`dataset_digest: no dataset version ${JSON.stringify(digest)}`);
    if (version.state !== dataset.VersionState.VERSION_STATE_READY) {
      throw new FailedPreconditionError(`dataset_digest: version ${version.digest} is ${dataset.VersionState[version.state] ?? version.state}, not READY`);
    }
    return version;
  }

  /** GetJob. */
  async getJob(jobId: string): Promise<training.Job> {
    return (await this.load(jobId)).job;
  }

  /** ListJobs: newest first; the page token carries the last job id served. */
  async listJobs(req: training.ListJobsRequest): Promise<training.ListJobsResponse> {
    const limit = pageSize(req.pageSize, { defaultSize: PAGE.default, maxSize: PAGE.max });
    let beforeJobId: string | undefined;
    if (req.pageToken) {
      const token = decodePageToken(req.pageToken, 'page_token') as { after?: unknown };
      if (typeof token?.after !== 'string') throw new InvalidArgumentError('page_token', 'not a token from a ListJobs response');
      beforeJobId = token.after;
    }
    const rows = await this.deps.jobs.list({
      ...(req.states.length ? { states: req.states } : {}),
      ...(req.datasetDigest ? { datasetDigest: req.datasetDigest } : {}),
      ...(req.experiment ? { experiment: req.experiment } : {}),
      ...(Object.keys(req.tags).length ? { tags: req.tags } : {}),
      ...(beforeJobId ? { beforeJobId } : {}),
      limit: limit + 1,
    });
    const page = rows.slice(0, limit);
    const last = page[page.length - 1];
    return { jobs: page.map((r) => r.job), nextPageToken: rows.length > limit && last ? encodePageToken({ after: last.job.jobId }) : '' };
  }

  /**
   * CancelJob: see training.proto. A running job's worker is asked to stop; failure to reach it is
   * retried by heartbeats. A `user` caller may cancel only the jobs it created (PERMISSION_DENIED,
   * nothing changes); an operator or a service any; without access control (no caller) anyone.
   */
  async cancelJob(jobId: string, reason: string, caller?: Caller): Promise<training.Job> {
    if (caller && !CANCEL_ANY.has(caller.role)) {
      // The creator never changes, so checking before the update cannot race with it.
      const { creator } = (await this.load(jobId)).job;
      if (creator !== caller.subject) {
        throw new PermissionDeniedError(
          `job ${jobId} was created by ${creator ? JSON.stringify(creator) : 'an unknown caller'}; a ${caller.role} may cancel only the jobs it created (an operator may cancel any)`,
        );
      }
    }
    const now = this.deps.clock();
    const { record, result } = await this.deps.ledger.update<boolean>(jobId, (current) => {
      const decision = requestCancel(current, reason, now);
      return { ...(decision.draft ? { draft: decision.draft } : {}), result: decision.askWorker };
    });
    if (!record) throw new NotFoundError(`job ${jobId} not found`);
    if (result && record.workerAddress) {
      try {
        await this.deps.workerClients(record.workerAddress).cancelJob(jobId, reason || 'cancelled by request');
      } catch (err) {
        // The worker gets the cancel again with its next heartbeat's answer.
        this.deps.log.warn({ err, jobId, workerId: record.job.workerId }, 'could not reach the worker to cancel; it will be told on its next heartbeat');
      }
    }
    this.deps.log.info({ jobId, state: record.job.state }, 'cancel requested');
    return record.job;
  }

  /**
   * WatchJob: the job's stored events from `fromSequence`, gap-free and in order, then the new ones
   * as they are logged, until the job is final and every event has been sent (or `signal` aborts).
   */
  async *watchJob(jobId: string, fromSequence: number, signal: AbortSignal): AsyncGenerator<training.JobEvent> {
    await this.load(jobId);
    let next = Math.max(1, fromSequence);
    const pollMs = this.deps.watchPollMs ?? 1_000;
    let wake: (() => void) | undefined;
    let signalled = false;
    const unsubscribe = this.deps.ledger.onLogged(jobId, () => {
      signalled = true;
      wake?.();
    });
    const onAbort = (): void => wake?.();
    signal.addEventListener('abort', onAbort);
    try {
      while (!signal.aborted) {
        signalled = false;
        // Read the record before the log: once it is final, its last sequence is the end.
        const record = await this.load(jobId);
        // Ended with every event out of the outbox: the log is complete, and what is missing from
        // it was removed by retention (core/retention.ts).
        const complete = isTerminal(record.job.state) && record.outbox.length === 0;
        const batch = await this.deps.events.listFrom(jobId, next, 500);
        if (complete && batch.length === 0) return;
        for (const stored of batch) {
          if (stored.seq !== next) {
            // A gap: that event is still being written; wait for it. In a complete log a gap is
            // what retention removed: skip it.
            if (!complete) break;
            next = stored.seq;
          }
          yield stored.event;
          next++;
          if (signal.aborted) return;
        }
        if (isTerminal(record.job.state) && next > record.job.lastSequence) return;
        const last = batch[batch.length - 1];
        if (signalled || (batch.length === 500 && last && last.seq < next)) continue;
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, pollMs);
          wake = () => {
            clearTimeout(timer);
            resolve();
          };
        });
        wake = undefined;
      }
    } finally {
      unsubscribe();
      signal.removeEventListener('abort', onAbort);
    }
  }

  /** ListCheckpoints: every checkpoint of every attempt, oldest first. */
  async listCheckpoints(jobId: string): Promise<trainer.Checkpoint[]> {
    await this.load(jobId);
    const stored = await this.deps.events.listKind(jobId, 'checkpoint');
    const out: trainer.Checkpoint[] = [];
    for (const s of stored) {
      const p = s.event.payload;
      if (p?.$case === 'workerEvent' && p.workerEvent.payload?.$case === 'checkpointSaved' && p.workerEvent.payload.checkpointSaved.checkpoint) {
        out.push(p.workerEvent.payload.checkpointSaved.checkpoint);
      }
    }
    return out;
  }

  private async load(jobId: string): Promise<JobRecord> {
    if (!jobId) throw new InvalidArgumentError('job_id', 'is required');
    const record = await this.deps.jobs.get(jobId);
    if (!record) throw new NotFoundError(`job ${jobId} not found`);
    return record;
  }
}
