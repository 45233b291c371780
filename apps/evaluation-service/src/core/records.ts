/** What the evaluation service stores. Contract messages are built from these in convert.ts. */
import type { common, evaluation, events } from '@medtune/contracts';

/** An event written in the same document update as the state change it announces (the kit's outbox). */
export type { PendingEvent } from '@medtune/kit';

/** An evaluation set (its items are stored by content digest). */
export interface EvalSetRecord {
  name: string;
  kind: evaluation.EvalSetKind;
  itemCount: number;
  contentSha256: string;
  sourceName: string;
  description: string;
  builtin: boolean;
  createTime: Date;
}

/** Everything that determines a run's outputs, resolved (what the cache key and request hash cover). */
export interface RunSpec {
  /** The model as asked. */
  model: common.ModelRef;
  baseModel: string;
  adapterUri: string;
  mergedUri: string;
  registryName: string;
  registryVersion: number;
  evalSet: string;
  setSha: string;
  setKind: evaluation.EvalSetKind;
  /** The template snapshot used for every prompt. */
  template: common.PromptTemplate;
  generation: Required<Pick<common.GenerationParams, 'maxNewTokens' | 'temperature' | 'topP' | 'seed'>>;
  evalLossDigest: string;
  /** Items used (0 = all). */
  limit: number;
  /** Tracking run the evaluation attaches to. */
  trackingRunId: string;
}

/** An evaluation run. */
export interface RunRecord extends RunSpec {
  id: string;
  status: evaluation.EvaluationStatus;
  itemsTotal: number;
  itemsDone: number;
  scores?: evaluation.Scores;
  failure?: common.Failure;
  /** Eval loss once computed (kept so a restart does not recompute it). */
  evalLoss?: number;
  workerId: string;
  /** Transient failures so far (worker busy or gone). */
  attempts: number;
  /** Not to be picked up again before this time (backoff after a transient failure). */
  notBefore: Date;
  createTime: Date;
  endTime?: Date;
}

/** A stored comparison. */
export interface ComparisonRecord extends evaluation.Comparison {
  /** "<baseline>|<candidate>": unique, so comparing a pair twice returns the same comparison. */
  pairKey: string;
}

/** Stages of the promotion pipeline of one registry version. */
export type PipelineStage = 'evaluating' | 'incumbent' | 'deciding' | 'promoting' | 'done';

/** The automation's progress for one registry version (name@version), stored after every step. */
export interface PipelineRecord {
  id: string;
  name: string;
  version: number;
  stage: PipelineStage;
  candidateEvalId: string;
  baseEvalId: string;
  comparisonId: string;
  alias: string;
  metric: string;
  /** Holder of the alias when the decision was taken (0 = none). */
  incumbentVersion: number;
  incumbentEvalId: string;
  /** Set when done. */
  decision?: events.PromotionDecided;
  /** Steps that failed with transient errors so far. */
  attempts: number;
  notBefore: Date;
  lastError: string;
  createTime: Date;
  updateTime: Date;
}
