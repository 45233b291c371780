/**
 * What the registry core needs from the outside world, as interfaces: the store (Mongo in
 * production, in memory in unit tests), the event sink (NATS), and the artifact reader (the file
 * system). The core never imports a driver.
 */
import type { registry, training } from '@medtune/contracts';
import type { AliasChangeRecord, ModelRecord, PendingEvent, VersionRecord } from './records';
import type { ArtifactDigest } from './verify';

/** Changes to a registered model's editable fields. */
export interface ModelPatch {
  description?: string;
  setTags?: Record<string, string>;
  promotionPolicy?: registry.PromotionPolicy;
}

/** Filters and position of a model listing (by name). */
export interface ModelQuery {
  namePrefix: string;
  tags: Record<string, string>;
  /** Only names after this one. */
  afterName?: string;
  limit: number;
}

/** Filters and position of a version listing (newest first). */
export interface VersionQuery {
  name: string;
  statuses: registry.ModelVersionStatus[];
  tags: Record<string, string>;
  /** Only versions below this one. */
  beforeVersion?: number;
  limit: number;
}

/** Filters and position of an alias history listing (newest first). */
export interface AliasHistoryQuery {
  name: string;
  /** Empty: every alias of the model. */
  alias: string;
  /** Only changes older than this one (time, then id). */
  before?: { time: Date; id: string };
  limit: number;
}

/** Result of inserting a version. */
export type InsertVersionResult = 'inserted' | 'version_taken' | 'key_taken';

/**
 * The registry's persistence. Every method is a single-document atomic write or a read: the
 * store has no transactions (FerretDB), so each state change and the event announcing it are
 * written in one document update (the `outbox` of that document).
 */
export interface RegistryStore {
  /** Inserts a model with its model.created event; false when the name exists (nothing written). */
  insertModel(model: ModelRecord, event: PendingEvent): Promise<boolean>;
  getModel(name: string): Promise<ModelRecord | null>;
  listModels(query: ModelQuery): Promise<ModelRecord[]>;
  /** Applies a patch; null when the model does not exist. */
  updateModel(name: string, patch: ModelPatch, time: Date): Promise<ModelRecord | null>;
  /**
   * Compare-and-set of one alias: moves it from `expected` (0 = unset) to `to` (0 = delete) with
   * its event, only if it still points at `expected`. Null when it did not (or no model).
   */
  casAlias(name: string, alias: string, expected: number, to: number, time: Date, event: PendingEvent): Promise<ModelRecord | null>;
  /** Raises the model's latest_version to at least `version`. */
  raiseLatestVersion(name: string, version: number): Promise<void>;

  findVersionByKey(idempotencyKey: string): Promise<VersionRecord | null>;
  /** Highest version number stored for the model (0 when none). */
  maxVersion(name: string): Promise<number>;
  /** Inserts a version with its version.created event, unless (name, version) or the key is taken. */
  insertVersion(version: VersionRecord, event: PendingEvent): Promise<InsertVersionResult>;
  getVersion(name: string, version: number): Promise<VersionRecord | null>;
  listVersions(query: VersionQuery): Promise<VersionRecord[]>;
  /** The highest READY version, or null. */
  latestReadyVersion(name: string): Promise<VersionRecord | null>;
  /** Versions still PENDING_REGISTRATION (verification to (re)do at startup). */
  pendingVersions(): Promise<VersionRecord[]>;
  /** Ends verification: PENDING → status, with its event. Null when not PENDING any more. */
  completeVerification(
    name: string,
    version: number,
    status: registry.ModelVersionStatus,
    message: string,
    time: Date,
    event: PendingEvent,
  ): Promise<VersionRecord | null>;
  /** Sets and removes tags; null when the version does not exist. */
  updateVersionTags(name: string, version: number, set: Record<string, string>, remove: string[], time: Date): Promise<VersionRecord | null>;
  /** Appends an evaluation result unless one with its evaluation_id is there; null when no version. */
  addEvaluation(name: string, version: number, result: registry.EvaluationResult, time: Date): Promise<VersionRecord | null>;

  /** Stores an alias change in the history; a repeat of the same id is ignored. */
  insertAliasChange(change: AliasChangeRecord): Promise<void>;
  listAliasChanges(query: AliasHistoryQuery): Promise<AliasChangeRecord[]>;

  /** Events written but not yet published, oldest first. */
  unpublishedEvents(): Promise<PendingEvent[]>;
  /** Removes a published event from its document's outbox. */
  markPublished(eventId: string): Promise<void>;
}

/** Publishes an encoded event with the given ce-id (the NATS adapter decodes it by subject). */
/**
 * The training service, as the registry asks it about a job before registering it: an event is a
 * claim, the training service's record is the fact (a forged training.job.succeeded crowns nothing).
 */
export interface TrainingJobs {
  /** The job as the training service has it; undefined when it has no such job. */
  getJob(jobId: string): Promise<training.Job | undefined>;
}

export interface EventSink {
  publish(subject: string, payload: Uint8Array, id: string): Promise<void>;
}

/** Reads an artifact from where its URI points. */
export interface ArtifactReader {
  /** The digest of the file or directory at `path` (a local path, or an s3:// URI), or null when nothing is there. */
  digest(path: string): Promise<ArtifactDigest | null>;
}
