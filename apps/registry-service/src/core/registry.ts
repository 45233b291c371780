/**
 * The registry core: registered models, versions, lookups, tags and evaluations. Aliases are in
 * aliases.ts, artifact verification in verification.ts. Transport-free: the store, the outbox,
 * the clock and the verifier are passed in.
 */
import { createHash } from 'node:crypto';
import { common, events, registry, training } from '@medtune/contracts';
import {
  AlreadyExistsError,
  type Clock,
  decodePageToken,
  encodePageToken,
  FailedPreconditionError,
  InvalidArgumentError,
  type Logger,
  NotFoundError,
  type OutboxRelay,
  pageSize,
} from '@medtune/kit';
import { SUBJECTS } from '@medtune/contracts';
import { statusName, toModel, toVersion } from './convert';
import type { RegistryStore, TrainingJobs } from './ports';
import { checkArtifacts, checkModelName, checkTags, resolvePolicy, type ModelRecord, type PendingEvent, type VersionRecord } from './records';
import type { ResolveCache } from './resolve-cache';

const PAGE = { defaultSize: 50, maxSize: 500 };
const { ModelVersionStatus } = registry;

/** Schedules the background verification of a version. */
export interface VerificationScheduler {
  schedule(name: string, version: number): void;
}

/** What the core is built from. */
export interface RegistryDeps {
  store: RegistryStore;
  outbox: OutboxRelay;
  verifier: VerificationScheduler;
  cache: ResolveCache;
  clock: Clock;
  newId: (prefix?: string) => string;
  log: Logger;
}

/** JSON with sorted object keys, so equal content hashes equally. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) =>
    v && typeof v === 'object' && !Array.isArray(v) && !(v instanceof Date)
      ? Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : v,
  );
}

/** Builds a pending event with a fresh id. */
export function pendingEvent(newId: (p?: string) => string, subject: string, payload: Uint8Array, extra: Partial<PendingEvent> = {}): PendingEvent {
  return { id: newId('evt'), subject, payload, ...extra };
}

/** The registry's use cases. */
export class RegistryCore {
  constructor(private readonly d: RegistryDeps) {}

  // ---- registered models ----

  /** Creates a model, or returns the existing one (created = false). */
  async createModel(req: registry.CreateRegisteredModelRequest): Promise<registry.CreateRegisteredModelResponse> {
    checkModelName(req.name);
    checkTags(req.tags, 'tags');
    const policy = resolvePolicy(req.promotionPolicy);
    const existing = await this.d.store.getModel(req.name);
    if (existing) return { model: toModel(existing), created: false };
    const { model, created } = await this.ensureModel(req.name, { description: req.description, tags: req.tags, promotionPolicy: policy });
    return { model: toModel(model), created };
  }

  private async ensureModel(
    name: string,
    init: { description: string; tags: Record<string, string>; promotionPolicy: registry.PromotionPolicy },
  ): Promise<{ model: ModelRecord; created: boolean }> {
    const now = this.d.clock();
    const record: ModelRecord = { name, ...init, aliases: {}, latestVersion: 0, createTime: now, updateTime: now };
    const payload = events.RegisteredModelCreated.encode({ model: toModel(record) }).finish();
    const evt = pendingEvent(this.d.newId, SUBJECTS.registryModelCreated.subject, payload);
    const created = await this.d.store.insertModel(record, evt);
    if (created) {
      this.d.log.info({ model: name }, 'registered model created');
      await this.d.outbox.publish([evt]);
      return { model: record, created };
    }
    const model = await this.d.store.getModel(name);
    if (!model) throw new Error(`model ${name} vanished after a duplicate insert`);
    return { model, created: false };
  }

  /** Returns a model. */
  async getModel(name: string): Promise<registry.RegisteredModel> {
    return toModel(await this.model(name));
  }

  private async model(name: string): Promise<ModelRecord> {
    checkModelName(name);
    const model = await this.d.store.getModel(name);
    if (!model) throw new NotFoundError(`registered model ${JSON.stringify(name)} not found`);
    return model;
  }

  /** Lists models by name. */
  async listModels(req: registry.ListRegisteredModelsRequest): Promise<registry.ListRegisteredModelsResponse> {
    const limit = pageSize(req.pageSize, PAGE);
    const pos = decodePageToken<{ after: string }>(req.pageToken);
    if (pos && typeof pos.after !== 'string') throw new InvalidArgumentError('page_token', 'is not a page token from a previous response');
    const rows = await this.d.store.listModels({ namePrefix: req.namePrefix, tags: req.tags, afterName: pos?.after, limit: limit + 1 });
    const page = rows.slice(0, limit);
    const next = rows.length > limit ? encodePageToken({ after: page[page.length - 1]!.name }) : '';
    return { models: page.map(toModel), nextPageToken: next };
  }

  /** Updates description, tags and promotion policy. */
  async updateModel(req: registry.UpdateRegisteredModelRequest): Promise<registry.RegisteredModel> {
    checkModelName(req.name);
    checkTags(req.setTags, 'set_tags');
    const policy = req.promotionPolicy ? resolvePolicy(req.promotionPolicy) : undefined;
    const updated = await this.d.store.updateModel(
      req.name,
      { description: req.description, setTags: req.setTags, promotionPolicy: policy },
      this.d.clock(),
    );
    if (!updated) throw new NotFoundError(`registered model ${JSON.stringify(req.name)} not found`);
    return toModel(updated);
  }

  // ---- versions ----

  /**
   * Creates the next version, PENDING_REGISTRATION, and schedules its verification. Version
   * numbers come from the versions themselves: insert max + 1 under the unique index
   * (name, version) and retry on a collision, so numbers have no gaps and no counter can drift.
   */
  async createVersion(req: registry.CreateModelVersionRequest): Promise<registry.CreateModelVersionResponse> {
    checkModelName(req.name);
    if (!req.idempotencyKey) throw new InvalidArgumentError('idempotency_key', 'required (the training job id for automatic registration)');
    if (req.idempotencyKey.length > 200) throw new InvalidArgumentError('idempotency_key', `must be at most 200 characters (got ${req.idempotencyKey.length})`);
    checkArtifacts(req.artifacts);
    checkTags(req.tags, 'tags');
    const lineage = registry.ModelLineage.fromPartial(req.lineage ?? {});
    const artifacts = req.artifacts.map((a) => common.Artifact.fromPartial(a));
    const requestHash = createHash('sha256')
      .update(
        canonicalJson({
          name: req.name,
          artifacts: artifacts.map((a) => common.Artifact.toJSON(a)),
          lineage: registry.ModelLineage.toJSON(lineage),
          tags: req.tags,
        }),
      )
      .digest('hex');

    for (let attempt = 0; attempt < 50; attempt++) {
      const existing = await this.d.store.findVersionByKey(req.idempotencyKey);
      if (existing) {
        if (existing.requestHash !== requestHash) {
          throw new AlreadyExistsError(
            `idempotency_key ${JSON.stringify(req.idempotencyKey)} already created ${existing.name} version ${existing.version} with other content`,
          );
        }
        const model = await this.d.store.getModel(existing.name);
        return { version: toVersion(existing, model), created: false };
      }
      const { model } = await this.ensureModel(req.name, { description: '', tags: {}, promotionPolicy: resolvePolicy(undefined) });
      const number = (await this.d.store.maxVersion(req.name)) + 1;
      const now = this.d.clock();
      const record: VersionRecord = {
        name: req.name,
        version: number,
        status: ModelVersionStatus.MODEL_VERSION_STATUS_PENDING_REGISTRATION,
        statusMessage: 'verifying artifacts',
        artifacts,
        lineage,
        tags: { ...req.tags },
        idempotencyKey: req.idempotencyKey,
        requestHash,
        createTime: now,
        updateTime: now,
      };
      const payload = events.ModelVersionChanged.encode({ version: toVersion(record, null) }).finish();
      const evt = pendingEvent(this.d.newId, SUBJECTS.registryVersionCreated.subject, payload);
      const result = await this.d.store.insertVersion(record, evt);
      if (result !== 'inserted') continue; // another writer took the number or the key: look again
      await this.d.store.raiseLatestVersion(req.name, number);
      this.d.log.info({ model: req.name, version: number, key: req.idempotencyKey }, 'model version created');
      await this.d.outbox.publish([evt]);
      this.d.verifier.schedule(req.name, number);
      return { version: toVersion(record, model), created: true };
    }
    throw new FailedPreconditionError(`could not allocate a version number for ${req.name}: too much contention, retry`);
  }

  /** Returns a version. */
  async getVersion(name: string, version: number): Promise<registry.ModelVersion> {
    checkModelName(name);
    if (!Number.isInteger(version) || version < 1) throw new InvalidArgumentError('version', `must be >= 1 (got ${version})`);
    const [v, model] = await Promise.all([this.d.store.getVersion(name, version), this.d.store.getModel(name)]);
    if (!model) throw new NotFoundError(`registered model ${JSON.stringify(name)} not found`);
    if (!v) throw new NotFoundError(`registered model ${name} has no version ${version}`);
    return toVersion(v, model);
  }

  /** Lists versions, newest first. */
  async listVersions(req: registry.ListModelVersionsRequest): Promise<registry.ListModelVersionsResponse> {
    const model = await this.model(req.name);
    const limit = pageSize(req.pageSize, PAGE);
    const pos = decodePageToken<{ before: number }>(req.pageToken);
    if (pos && !Number.isInteger(pos.before)) throw new InvalidArgumentError('page_token', 'is not a page token from a previous response');
    const rows = await this.d.store.listVersions({ name: req.name, statuses: req.statuses, tags: req.tags, beforeVersion: pos?.before, limit: limit + 1 });
    const page = rows.slice(0, limit);
    const next = rows.length > limit ? encodePageToken({ before: page[page.length - 1]!.version }) : '';
    return { versions: page.map((v) => toVersion(v, model)), nextPageToken: next };
  }

  /** Resolves name@version, name@alias or name@latest to a READY version (cached, see resolve-cache.ts). */
  async resolve(ref: common.RegistryModelRef | undefined): Promise<registry.ModelVersion> {
    if (!ref) throw new InvalidArgumentError('ref', 'required');
    checkModelName(ref.name, 'ref.name');
    const sel = ref.selector;
    if (!sel) throw new InvalidArgumentError('ref.selector', 'give a version, an alias or latest');
    if (sel.$case === 'alias' && !sel.alias) throw new InvalidArgumentError('ref.alias', 'required');
    if (sel.$case === 'version' && (!Number.isInteger(sel.version) || sel.version < 1)) {
      throw new InvalidArgumentError('ref.version', `must be >= 1 (got ${sel.version})`);
    }
    return this.d.cache.get(ref.name, selectorKey(ref), () => this.lookup(ref.name, sel));
  }

  private async lookup(name: string, sel: NonNullable<common.RegistryModelRef['selector']>): Promise<registry.ModelVersion> {
    const model = await this.d.store.getModel(name);
    if (!model) throw new NotFoundError(`registered model ${JSON.stringify(name)} not found`);
    let v: VersionRecord | null;
    if (sel.$case === 'latest' || (sel.$case === 'alias' && sel.alias === 'latest')) {
      // The model's newest version, by _id, is the answer whenever it is READY (the usual case);
      // only otherwise scan for the newest READY one (a non-_id query reads the whole collection
      // on FerretDB: with many models that scan dominated every lookup, bench/registry).
      const newest = model.latestVersion > 0 ? await this.d.store.getVersion(name, model.latestVersion) : null;
      v = newest?.status === ModelVersionStatus.MODEL_VERSION_STATUS_READY ? newest : await this.d.store.latestReadyVersion(name);
      if (!v) throw new NotFoundError(`registered model ${name} has no READY version`);
    } else if (sel.$case === 'alias') {
      const number = model.aliases[sel.alias];
      if (!number) throw new NotFoundError(`registered model ${name} has no alias ${JSON.stringify(sel.alias)}`);
      v = await this.d.store.getVersion(name, number);
      if (!v) throw new NotFoundError(`alias ${sel.alias} of ${name} points at version ${number}, which does not exist`);
    } else {
      v = await this.d.store.getVersion(name, sel.version);
      if (!v) throw new NotFoundError(`registered model ${name} has no version ${sel.version}`);
    }
    if (v.status !== ModelVersionStatus.MODEL_VERSION_STATUS_READY) {
      const why = v.statusMessage ? `: ${v.statusMessage}` : '';
      throw new FailedPreconditionError(`${name} version ${v.version} is ${statusName(v.status)}${why}`);
    }
    return toVersion(v, model);
  }

  /** Sets and removes tags of a version. */
  async setVersionTags(req: registry.SetVersionTagsRequest): Promise<registry.ModelVersion> {
    checkModelName(req.name);
    checkTags(req.set, 'set');
    const updated = await this.d.store.updateVersionTags(req.name, req.version, req.set, req.remove, this.d.clock());
    if (!updated) throw new NotFoundError(`registered model ${req.name} has no version ${req.version}`);
    this.d.cache.invalidate(req.name);
    return toVersion(updated, await this.d.store.getModel(req.name));
  }

  /** Attaches an evaluation result to a version's lineage (idempotent by evaluation_id). */
  async attachEvaluation(req: registry.AttachEvaluationRequest): Promise<registry.ModelVersion> {
    checkModelName(req.name);
    if (!req.result) throw new InvalidArgumentError('result', 'required');
    if (!req.result.evaluationId) throw new InvalidArgumentError('result.evaluation_id', 'required');
    const result = registry.EvaluationResult.fromPartial({ ...req.result, time: req.result.time ?? this.d.clock() });
    const updated = await this.d.store.addEvaluation(req.name, req.version, result, this.d.clock());
    if (!updated) throw new NotFoundError(`registered model ${req.name} has no version ${req.version}`);
    this.d.cache.invalidate(req.name);
    return toVersion(updated, await this.d.store.getModel(req.name));
  }

  // ---- automatic registration ----

  /**
   * Registers the artifacts of a succeeded training job under job.register_as (no-op when it is
   * empty). Idempotent: the job id is the idempotency key.
   */
  /**
   * Registers the job a training.job.succeeded event names, after confirming it with the training
   * service: only the job as GetJob returns it (state SUCCEEDED, its artifacts and register_as) is
   * registered, never the event's copy. An unknown job or one that did not succeed is a verdict on
   * the event (FailedPreconditionError: dead-lettered, nothing registered); an unreachable training
   * service is retried.
   */
  async registerConfirmedJob(claimed: training.Job, jobs: TrainingJobs | undefined): Promise<registry.CreateModelVersionResponse | null> {
    if (!jobs) return this.registerJob(claimed);
    if (!claimed.registerAs) return null;
    const job = await jobs.getJob(claimed.jobId);
    if (!job) throw new FailedPreconditionError(`training.job.succeeded for job ${JSON.stringify(claimed.jobId)}: the training service has no such job; nothing registered`);
    if (job.state !== training.JobState.JOB_STATE_SUCCEEDED) {
      throw new FailedPreconditionError(`training.job.succeeded for job ${job.jobId}: the training service has it in state ${training.JobState[job.state] ?? job.state}, not SUCCEEDED; nothing registered`);
    }
    return this.registerJob(job);
  }

  async registerJob(job: training.Job): Promise<registry.CreateModelVersionResponse | null> {
    if (!job.registerAs) return null;
    const artifacts = job.artifacts.filter((a) => a.kind !== common.ArtifactKind.ARTIFACT_KIND_CHECKPOINT);
    return this.createVersion({
      name: job.registerAs,
      idempotencyKey: job.jobId,
      artifacts,
      lineage: registry.ModelLineage.fromPartial({
        baseModel: job.baseModel,
        datasetDigest: job.datasetDigest,
        trainingJobId: job.jobId,
        trackingRunId: job.trackingRunId || job.jobId,
        hyperparameters: job.hyperparameters,
        lora: job.lora,
        backend: job.backendUsed || job.backend,
        templateName: job.templateName || (job.tags['template_name'] ?? ''),
      }),
      tags: { training_job: job.jobId, ...(job.experiment ? { experiment: job.experiment } : {}) },
    });
  }
}

function selectorKey(ref: common.RegistryModelRef): string {
  const s = ref.selector;
  if (!s) return '';
  if (s.$case === 'version') return `v${s.version}`;
  if (s.$case === 'alias') return s.alias === 'latest' ? 'latest' : `a:${s.alias}`;
  return 'latest';
}
