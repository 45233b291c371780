/**
 * What the evaluation core needs from outside, as interfaces: its store, the event sink, the
 * registry and dataset services, the trainer workers, and the file reader of evaluation sets.
 */
import type { common, dataset, evaluation, registry, trainer } from '@medtune/contracts';
import type { EvalItem, RawRow } from './evalsets';
import type { ComparisonRecord, EvalSetRecord, PendingEvent, PipelineRecord, PipelineStage, RunRecord } from './records';

/** A claim on an idempotency key or a base-model cache key. */
export interface Claim {
  key: string;
  evaluationId: string;
  requestHash: string;
}

/** Filters and position of a run listing (newest first). */
export interface RunQuery {
  registryName: string;
  evalSet: string;
  /** Only ids before this one (ids sort by creation time). */
  beforeId?: string;
  limit: number;
}

/** Changes to a run; `event` is written in the same update. */
export type RunPatch = Partial<Omit<RunRecord, 'id'>>;

/** Persistence of the evaluation service: single-document atomic writes only (FerretDB). */
export interface EvalStore {
  /** Inserts a set; false when the name exists. Items must be stored first (putItems). */
  insertSet(set: EvalSetRecord): Promise<boolean>;
  getSet(name: string): Promise<EvalSetRecord | null>;
  listSets(): Promise<EvalSetRecord[]>;
  /** Stores a set's items under its content digest (idempotent). */
  putItems(setSha: string, items: readonly EvalItem[]): Promise<void>;
  /** The first `limit` items (0 = all) in order. */
  getItems(setSha: string, limit: number): Promise<EvalItem[]>;

  /** Claims a key for a run; returns the existing claim when someone holds it. */
  claim(c: Claim): Promise<Claim | null>;
  /** Moves a claim from a dead run to a new one (compare-and-set on evaluationId). */
  reclaim(key: string, fromEvaluationId: string, to: Claim): Promise<boolean>;

  insertRun(run: RunRecord, event?: PendingEvent): Promise<void>;
  getRun(id: string): Promise<RunRecord | null>;
  listRuns(q: RunQuery): Promise<RunRecord[]>;
  /** PENDING and RUNNING runs whose notBefore has passed, oldest first. */
  runnableRuns(now: Date, limit: number): Promise<RunRecord[]>;
  /** Applies a patch if the run's status is one of `statuses` (any when empty); null otherwise. */
  updateRun(id: string, statuses: evaluation.EvaluationStatus[], patch: RunPatch, event?: PendingEvent): Promise<RunRecord | null>;

  /** Stores one item result (idempotent by run id + index). */
  putItemResult(evaluationId: string, result: evaluation.ItemResult): Promise<void>;
  /** Indices with a stored result. */
  doneIndices(evaluationId: string): Promise<Set<number>>;
  /** Results in index order, from index > afterIndex. */
  listItemResults(evaluationId: string, afterIndex: number, limit: number): Promise<evaluation.ItemResult[]>;

  /** Inserts a comparison with its event; false when the pair exists. */
  insertComparison(c: ComparisonRecord, event: PendingEvent): Promise<boolean>;
  getComparison(id: string): Promise<ComparisonRecord | null>;
  getComparisonByPair(pairKey: string): Promise<ComparisonRecord | null>;
  listComparisons(registryName: string, beforeId: string | undefined, limit: number): Promise<ComparisonRecord[]>;

  /** Creates a pipeline unless one with its id exists; returns the stored one. */
  createPipeline(p: PipelineRecord): Promise<PipelineRecord>;
  getPipeline(id: string): Promise<PipelineRecord | null>;
  /** Pipelines not done whose notBefore has passed. */
  activePipelines(now: Date): Promise<PipelineRecord[]>;
  /** Applies a patch if the stage is still `from`; null otherwise. */
  updatePipeline(id: string, from: PipelineStage, patch: Partial<Omit<PipelineRecord, 'id'>>, event?: PendingEvent): Promise<PipelineRecord | null>;

  /** Events written but not yet published, oldest first. */
  unpublishedEvents(): Promise<PendingEvent[]>;
  markPublished(eventId: string): Promise<void>;
}

/** Publishes an encoded event with its ce-id. */
export interface EventSink {
  publish(subject: string, payload: Uint8Array, id: string): Promise<void>;
}

/** The registry service, as the evaluation service uses it. Errors are the kit's DomainErrors. */
export interface RegistryPort {
  resolve(ref: common.RegistryModelRef): Promise<registry.ModelVersion>;
  getModel(name: string): Promise<registry.RegisteredModel>;
  getVersion(name: string, version: number): Promise<registry.ModelVersion>;
  setAlias(req: registry.SetAliasRequest): Promise<registry.AliasChange>;
  attachEvaluation(req: registry.AttachEvaluationRequest): Promise<void>;
}

/** The dataset service, as the evaluation service uses it (optional: runs without it use built-in templates). */
export interface DatasetPort {
  getTemplate(name: string): Promise<common.PromptTemplate>;
  getVersion(digest: string): Promise<dataset.DatasetVersion>;
  /** Where a worker reads a version's rows from (the address as the worker sees it). */
  sourceFor(digest: string, evaluationId: string): trainer.DatasetSource | Promise<trainer.DatasetSource>;
}

/** A worker that can take a generation now. */
export interface IdleWorker {
  workerId: string;
  address: string;
}

/** The trainer workers. */
export interface WorkerPort {
  /** Workers that report themselves idle (fixed worker addresses, no training service). */
  idleWorkers(): Promise<IdleWorker[]>;
  /**
   * When present, workers are placed by the training service (HoldWorker): asks for, or renews, the
   * hold `holdId`; the worker once granted, undefined while it waits.
   */
  hold?(holdId: string): Promise<IdleWorker | undefined>;
  /** Gives a held worker back (idempotent). */
  release?(holdId: string): Promise<void>;
  generate(address: string, req: trainer.GenerateRequest, signal: AbortSignal): AsyncIterable<trainer.GenerateResponse>;
  evaluateLoss(address: string, req: trainer.EvaluateLossRequest, signal: AbortSignal): Promise<trainer.EvaluateLossResponse>;
}

/** Reads an evaluation set file (JSONL or a JSON array) row by row. */
export type RowReader = (path: string) => AsyncIterable<RawRow>;
