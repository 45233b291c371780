/**
 * The pipeline as service requests. Only the fields the file set explicitly are sent: the
 * services apply the seed's defaults themselves (one source of truth), and the job record shows
 * them resolved.
 */
import { common, dataset, evaluation, registry, training } from '@medtune/contracts';
import { getPath, type LoadedPipeline } from './spec';

const BACKEND = { auto: common.Backend.BACKEND_AUTO, unsloth: common.Backend.BACKEND_UNSLOTH, hf: common.Backend.BACKEND_HF } as const;
const PRECISION = {
  auto: common.Precision.PRECISION_AUTO,
  bf16: common.Precision.PRECISION_BF16,
  fp16: common.Precision.PRECISION_FP16,
  fp32: common.Precision.PRECISION_FP32,
} as const;
const FORMAT = { auto: dataset.FileFormat.FILE_FORMAT_UNSPECIFIED, json: dataset.FileFormat.FILE_FORMAT_JSON_ARRAY, jsonl: dataset.FileFormat.FILE_FORMAT_JSONL } as const;
const PRESET = {
  medical_o1: dataset.MappingPreset.MAPPING_PRESET_MEDICAL_O1,
  alpaca: dataset.MappingPreset.MAPPING_PRESET_ALPACA,
  chat: dataset.MappingPreset.MAPPING_PRESET_CHAT,
} as const;

/** ImportDataset for the pipeline's dataset. */
export function importRequest(p: LoadedPipeline): dataset.ImportDatasetRequest {
  const d = p.spec.dataset;
  return dataset.ImportDatasetRequest.fromPartial({
    path: d.path,
    options: {
      datasetName: d.name,
      format: FORMAT[d.format],
      mapping: { preset: PRESET[d.preset], question: d.question ?? '', cot: d.cot ?? '', response: d.response ?? '', allowEmptyCot: d.allow_empty_cot },
      templateName: d.template,
      tokenizerDir: d.tokenizer_dir,
      maxSeqLength: d.max_seq_length,
      evalRatio: d.eval_ratio,
      splitSeed: d.split_seed,
      invalidRowPolicy: d.invalid_rows === 'skip' ? dataset.InvalidRowPolicy.INVALID_ROW_POLICY_SKIP_INVALID : dataset.InvalidRowPolicy.INVALID_ROW_POLICY_REJECT,
      duplicatePolicy: d.duplicates === 'keep' ? dataset.DuplicatePolicy.DUPLICATE_POLICY_KEEP_AND_REPORT : dataset.DuplicatePolicy.DUPLICATE_POLICY_DROP_AND_REPORT,
      rejectOverLength: d.reject_over_length,
      labels: { ...d.labels, pipeline: p.spec.name },
    },
  });
}

/** CreateJob for the pipeline, on a ready dataset version, with the given idempotency key. */
export function createJobRequest(p: LoadedPipeline, datasetDigest: string, idempotencyKey: string): training.CreateJobRequest {
  const { spec } = p;
  const t = spec.training;
  const set = <T>(dotted: string): T | undefined => (p.explicit.has(dotted) ? (getPath(spec, dotted) as T) : undefined);
  return training.CreateJobRequest.fromPartial({
    idempotencyKey,
    displayName: spec.name,
    datasetDigest,
    baseModel: spec.base_model,
    hyperparameters: {
      batchSize: set('training.batch_size'),
      gradientAccumulationSteps: set('training.gradient_accumulation_steps'),
      warmupSteps: set('training.warmup_steps'),
      learningRate: set('training.learning_rate'),
      lrSchedulerType: set('training.lr_scheduler_type'),
      optimizer: set('training.optimizer'),
      weightDecay: set('training.weight_decay'),
      seed: set('training.seed'),
      loggingSteps: set('training.logging_steps'),
      numTrainEpochs: set('training.num_train_epochs'),
      maxSteps: set('training.max_steps'),
      maxSeqLength: set('training.max_seq_length'),
      precision: p.explicit.has('training.precision') ? PRECISION[t.precision] : undefined,
      loadIn4bit: set('training.load_in_4bit'),
      packing: set('training.packing'),
      saveSteps: set('training.save_steps'),
      gpus: set('training.gpus'),
      plan: set('training.plan'),
    },
    lora: {
      r: set('training.lora.r'),
      alpha: set('training.lora.alpha'),
      dropout: set('training.lora.dropout'),
      bias: set('training.lora.bias'),
      targetModules: set<string[]>('training.lora.target_modules') ?? [],
      useRslora: set('training.lora.use_rslora'),
      useLoftq: set('training.lora.use_loftq'),
      randomState: set('training.lora.random_state'),
      gradientCheckpointing: set('training.lora.gradient_checkpointing'),
    },
    backend: BACKEND[t.backend],
    priority: t.priority,
    exports: {
      adapter: set('export.adapter'),
      merged16bit: set('export.merged_16bit'),
      gguf: set('export.gguf'),
      ggufQuantization: set('export.gguf_quantization'),
    },
    experiment: t.experiment,
    registerAs: spec.register.enabled ? spec.register.model : '',
    tags: { ...t.tags, pipeline: spec.name },
    maxRetries: set('training.max_retries'),
    minGpuMemoryBytes: Math.round(t.min_gpu_memory_gb * 1024 ** 3),
  });
}

/** The generation settings of the pipeline's evaluations. */
export function generationParams(p: LoadedPipeline): common.GenerationParams {
  const e = p.spec.evaluation;
  return common.GenerationParams.fromPartial({ maxNewTokens: e.max_new_tokens, temperature: e.temperature, topP: e.top_p, seed: e.seed });
}

/**
 * StartEvaluation of the base model, with the eval loss on the dataset's held-out rows: the same
 * request the evaluation service's automation makes for the base when the new version appears, so
 * its cached result is reused there.
 */
export function baseEvaluationRequest(p: LoadedPipeline, idempotencyKey: string, datasetDigest = ''): evaluation.StartEvaluationRequest {
  return evaluation.StartEvaluationRequest.fromPartial({
    evalLossDatasetDigest: datasetDigest,
    model: { ref: { $case: 'baseModel', baseModel: p.spec.base_model } },
    evalSet: p.spec.evaluation.set,
    templateName: p.spec.dataset.template,
    generation: generationParams(p),
    limit: p.spec.evaluation.limit,
    idempotencyKey,
  });
}

/** StartEvaluation of a registered version (when the automation did not start one). */
export function versionEvaluationRequest(p: LoadedPipeline, name: string, version: number, idempotencyKey: string): evaluation.StartEvaluationRequest {
  return evaluation.StartEvaluationRequest.fromPartial({
    model: { ref: { $case: 'registry', registry: { name, selector: { $case: 'version', version } } } },
    evalSet: p.spec.evaluation.set,
    templateName: p.spec.dataset.template,
    generation: generationParams(p),
    limit: p.spec.evaluation.limit,
    idempotencyKey,
  });
}

/** The registered model's promotion policy. */
export function promotionPolicy(p: LoadedPipeline): registry.PromotionPolicy {
  const r = p.spec.register;
  return registry.PromotionPolicy.fromPartial({
    alias: r.alias,
    metric: r.metric,
    higherIsBetter: r.metric !== 'eval_loss',
    evalSet: p.spec.evaluation.set,
    minDelta: r.min_delta,
    disabled: !r.auto_promote,
  });
}

/** CreateEvalSet for a set the pipeline brings, or undefined. */
export function evalSetRequest(p: LoadedPipeline): evaluation.CreateEvalSetRequest | undefined {
  const e = p.spec.evaluation;
  if (!e.set_path) return undefined;
  return evaluation.CreateEvalSetRequest.fromPartial({
    name: e.set,
    kind: e.set_kind === 'free_form' ? evaluation.EvalSetKind.EVAL_SET_KIND_FREE_FORM : evaluation.EvalSetKind.EVAL_SET_KIND_MULTIPLE_CHOICE,
    path: e.set_path,
    description: e.set_description,
    pinGreedy: e.set_greedy,
  });
}
