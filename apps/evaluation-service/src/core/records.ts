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
  /** Runs decode greedily unless the request sets a temperature. */
  pinGreedy?: boolean;
  /** The mapping it was imported with (defaults resolved). */
  mapping?: evaluation.EvalSetMapping;
}

/** Everything that determines a run's outputs, resolved (what the cache key and request hash cover). */
export interface RunSpec {
  /** The model as asked. */
  model: common.ModelRef;
  baseModel: string;
  adapterUri: string;
  mergedUri: string;
  /** The GGUF file a GGUF run executes (llama.cpp on the worker); absent otherwise. */
  ggufUri?: string;
  /** The artifact kind that runs (ADAPTER on its base, MERGED_16BIT or GGUF); absent for a base model and on runs stored before it existed (adapter, else merged). */
  artifactKind?: common.ArtifactKind;
  registryName: string;
  registryVersion: number;
  evalSet: string;
  setSha: string;
  setKind: evaluation.EvalSetKind;
  /** The template snapshot used for every prompt. */
  template: common.PromptTemplate;
  generation: Required<Pick<common.GenerationParams, 'maxNewTokens' | 'temperature' | 'topP' | 'seed'>>;
  /**
   * Where the decoding came from. MODEL_GENERATION_CONFIG: the worker samples with the model's
   * generation_config.json (temperature / top_p above are placeholders until it reports them).
   * Absent on runs stored before it existed (they were greedy or as requested).
   */
  decoding?: evaluation.DecodingSource;
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
  /** The sampling the worker applied (reported with its completions). */
  applied?: { sampled: boolean; temperature: number; topP: number };
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
