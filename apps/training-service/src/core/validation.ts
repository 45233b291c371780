/**
 * Field-level validation of a CreateJob request. Every problem is collected (not just the first),
 * each naming the request field in proto (snake_case) form, so a client fixes its request in one
 * round: "lora.r: must be >= 1 (got 0); hyperparameters.learning_rate: must be > 0 (got -1)".
 */
import { common, type dataset, training } from '@medtune/contracts';
import { MODEL_NAME, MODEL_NAME_RULE, labelProblem, nameProblem } from '@medtune/kit';

/** One problem with one field of a request. */
export interface FieldError {
  /** Path of the field in proto form, e.g. "lora.r", "tags[\"team\"]". */
  readonly field: string;
  /** What is wrong, without the field name, e.g. "must be >= 1 (got 0)". */
  readonly message: string;
}

/** The settings a job would run with, every default resolved. */
export interface ResolvedSpec {
  hyperparameters: common.Hyperparameters;
  lora: common.LoraConfig;
  exports: common.ExportOptions;
  backend: common.Backend;
  maxRetries: number;
  experiment: string;
}

/** Optimizers the workers implement (common.proto documents these four). */
export const OPTIMIZERS = ['adamw_8bit', 'adamw_torch', 'paged_adamw_8bit', 'sgd'] as const;
/** transformers' SchedulerType values. */
export const LR_SCHEDULERS = [
  'linear',
  'cosine',
  'cosine_with_restarts',
  'polynomial',
  'constant',
  'constant_with_warmup',
  'inverse_sqrt',
  'cosine_with_min_lr',
  'warmup_stable_decay',
] as const;
const LORA_BIAS = ['none', 'all', 'lora_only'] as const;
const GRADIENT_CHECKPOINTING = ['unsloth', 'true', 'false'] as const;
const GGUF_QUANTIZATIONS = ['f16', 'bf16', 'q8_0'] as const;
/** Hyperparameters.plan: the seed's exact layout, or the worker's memory-aware one (same mathematics). */
export const EXECUTION_PLANS = ['seed', 'auto'] as const;

/** Limits that keep one request from storing or asking for something absurd. */
export const LIMITS = {
  idempotencyKey: 256,
  displayName: 256,
  name: 256,
  baseModel: 1024,
  tags: 64,
  tagKey: 128,
  tagValue: 1024,
  maxRetries: 10,
  loraR: 4096,
  batchSize: 4096,
  gradientAccumulationSteps: 65536,
  maxSeqLength: 1 << 20,
  numTrainEpochs: 10_000,
  gpus: 1024,
} as const;

/** Collects field errors; `list` is in the order the checks ran (request field order). */
class Collector {
  readonly list: FieldError[] = [];
  add(field: string, message: string): void {
    this.list.push({ field, message });
  }
}

const show = (v: unknown): string => (typeof v === 'string' ? JSON.stringify(v) : String(v));

/**
 * Checks a request and the settings resolved from it. Returns every problem found; an empty list
 * means the job may be created (the dataset version is checked separately, by the dataset service).
 */
export function validateCreateJob(req: training.CreateJobRequest, spec: ResolvedSpec): FieldError[] {
  const c = new Collector();
  requiredText(c, 'idempotency_key', req.idempotencyKey, LIMITS.idempotencyKey);
  label(c, 'display_name', req.displayName, LIMITS.displayName);
  requiredText(c, 'dataset_digest', req.datasetDigest, 128);
  if (req.datasetDigest && !/^[A-Za-z0-9:_-]+$/.test(req.datasetDigest)) {
    c.add('dataset_digest', `must be a content digest (letters, digits, ':', '_' or '-'), got ${show(req.datasetDigest)}`);
  }
  requiredText(c, 'base_model', req.baseModel, LIMITS.baseModel);
  if (req.baseModel.trim() !== '' && req.baseModel.trim() !== req.baseModel) c.add('base_model', 'must not start or end with whitespace');
  validateHyperparameters(c, spec.hyperparameters);
  validateLora(c, spec.lora);
  const backends = [common.Backend.BACKEND_AUTO, common.Backend.BACKEND_UNSLOTH, common.Backend.BACKEND_HF];
  if (!backends.includes(spec.backend)) {
    c.add('backend', `must be one of BACKEND_AUTO, BACKEND_UNSLOTH, BACKEND_HF (got ${show(req.backend)})`);
  }
  if (!Number.isInteger(req.priority)) c.add('priority', `must be an integer (got ${show(req.priority)})`);
  validateExports(c, spec.exports);
  // Experiment, tag keys and the model name become parts of keys, subjects and paths elsewhere
  // (tracking, registry): the kit's one name rule (libs/kit/src/names.ts).
  if (req.experiment !== '') name(c, 'experiment', req.experiment);
  // The registry's model-name rule, checked here so that a job never trains for a name the
  // registry would refuse at the end.
  if (req.registerAs !== '') name(c, 'register_as', req.registerAs, MODEL_NAME, MODEL_NAME_RULE);
  validateTags(c, req.tags);
  if (spec.maxRetries > LIMITS.maxRetries) c.add('max_retries', `must be <= ${LIMITS.maxRetries} (got ${spec.maxRetries})`);
  if (!Number.isSafeInteger(req.minGpuMemoryBytes) || req.minGpuMemoryBytes < 0) {
    c.add('min_gpu_memory_bytes', `must be a non-negative integer (got ${show(req.minGpuMemoryBytes)})`);
  }
  return c.list;
}

function validateHyperparameters(c: Collector, h: common.Hyperparameters): void {
  const f = (name: string): string => `hyperparameters.${name}`;
  intRange(c, f('batch_size'), h.batchSize, 1, LIMITS.batchSize);
  intRange(c, f('gradient_accumulation_steps'), h.gradientAccumulationSteps, 1, LIMITS.gradientAccumulationSteps);
  intRange(c, f('warmup_steps'), h.warmupSteps, 0, 10_000_000);
  positiveFinite(c, f('learning_rate'), h.learningRate);
  if (h.learningRate !== undefined && Number.isFinite(h.learningRate) && h.learningRate >= 1) {
    c.add(f('learning_rate'), `must be < 1 (got ${h.learningRate}); the seed uses 2e-4`);
  }
  oneOf(c, f('lr_scheduler_type'), h.lrSchedulerType, LR_SCHEDULERS);
  oneOf(c, f('optimizer'), h.optimizer, OPTIMIZERS);
  if (h.weightDecay === undefined || !Number.isFinite(h.weightDecay) || h.weightDecay < 0) {
    c.add(f('weight_decay'), `must be a finite number >= 0 (got ${show(h.weightDecay)})`);
  }
  intRange(c, f('logging_steps'), h.loggingSteps, 1, 1_000_000);
  const maxSteps = h.maxSteps ?? 0;
  intRange(c, f('max_steps'), maxSteps, 0, 100_000_000);
  // With max_steps set, epochs are ignored by the trainer; without it they decide the length.
  if (maxSteps === 0) {
    const e = h.numTrainEpochs;
    if (e === undefined || !Number.isFinite(e) || e <= 0) {
      c.add(f('num_train_epochs'), `must be > 0 when max_steps is 0 (got ${show(e)})`);
    } else if (e > LIMITS.numTrainEpochs) {
      c.add(f('num_train_epochs'), `must be <= ${LIMITS.numTrainEpochs} (got ${e})`);
    }
  } else if (h.numTrainEpochs !== undefined && (!Number.isFinite(h.numTrainEpochs) || h.numTrainEpochs < 0)) {
    c.add(f('num_train_epochs'), `must be a finite number >= 0 (got ${show(h.numTrainEpochs)})`);
  }
  intRange(c, f('max_seq_length'), h.maxSeqLength, 16, LIMITS.maxSeqLength);
  const precisions = [common.Precision.PRECISION_AUTO, common.Precision.PRECISION_BF16, common.Precision.PRECISION_FP16, common.Precision.PRECISION_FP32];
  if (h.precision === undefined || !precisions.includes(h.precision)) {
    c.add(f('precision'), `must be one of PRECISION_AUTO, PRECISION_BF16, PRECISION_FP16, PRECISION_FP32 (got ${show(h.precision)})`);
  }
  intRange(c, f('save_steps'), h.saveSteps, 0, 100_000_000);
  intRange(c, f('gpus'), h.gpus, 1, LIMITS.gpus);
  oneOf(c, f('plan'), h.plan, EXECUTION_PLANS);
  const global = (h.batchSize ?? 0) * (h.gradientAccumulationSteps ?? 0) * (h.gpus ?? 0);
  if (h.globalBatchSize !== global && Number.isInteger(global) && global > 0) {
    c.add(f('global_batch_size'), `is batch_size x gradient_accumulation_steps x gpus = ${global} (got ${show(h.globalBatchSize)}); leave it unset`);
  }
}

function validateLora(c: Collector, l: common.LoraConfig): void {
  intRange(c, 'lora.r', l.r, 1, LIMITS.loraR);
  positiveFinite(c, 'lora.alpha', l.alpha);
  if (l.dropout === undefined || !Number.isFinite(l.dropout) || l.dropout < 0 || l.dropout >= 1) {
    c.add('lora.dropout', `must be in [0, 1) (got ${show(l.dropout)})`);
  }
  oneOf(c, 'lora.bias', l.bias, LORA_BIAS);
  const seen = new Set<string>();
  l.targetModules.forEach((m, i) => {
    if (!/^[A-Za-z_][A-Za-z0-9_.]*$/.test(m)) {
      c.add(`lora.target_modules[${i}]`, `must be a module name such as "q_proj" (got ${show(m)})`);
    } else if (seen.has(m)) {
      c.add(`lora.target_modules[${i}]`, `duplicate module ${show(m)}`);
    }
    seen.add(m);
  });
  oneOf(c, 'lora.gradient_checkpointing', l.gradientCheckpointing, GRADIENT_CHECKPOINTING);
}

function validateExports(c: Collector, e: common.ExportOptions): void {
  oneOf(c, 'exports.gguf_quantization', e.ggufQuantization, GGUF_QUANTIZATIONS);
}

function validateTags(c: Collector, tags: Record<string, string>): void {
  const entries = Object.entries(tags);
  if (entries.length > LIMITS.tags) c.add('tags', `at most ${LIMITS.tags} tags (got ${entries.length})`);
  for (const [k, v] of entries) {
    const bad = nameProblem(k);
    if (bad) c.add('tags', `keys ${bad}`);
    else label(c, `tags[${show(k)}]`, v, LIMITS.tagValue);
  }
}

function name(c: Collector, field: string, value: string, pattern?: RegExp, rule?: string): void {
  const bad = nameProblem(value, pattern, rule);
  if (bad) c.add(field, bad);
}

function label(c: Collector, field: string, value: string, max: number): void {
  const bad = labelProblem(value, max);
  if (bad) c.add(field, bad);
}

function requiredText(c: Collector, field: string, value: string, max: number): void {
  if (value.trim() === '') c.add(field, 'is required');
  else if (value.length > max) c.add(field, `must be at most ${max} characters (got ${value.length})`);
}


function intRange(c: Collector, field: string, value: number | undefined, min: number, max: number): void {
  if (value === undefined || !Number.isInteger(value)) c.add(field, `must be an integer (got ${show(value)})`);
  else if (value < min) c.add(field, `must be >= ${min} (got ${value})`);
  else if (value > max) c.add(field, `must be <= ${max} (got ${value})`);
}

function positiveFinite(c: Collector, field: string, value: number | undefined): void {
  if (value === undefined || !Number.isFinite(value) || value <= 0) c.add(field, `must be > 0 (got ${show(value)})`);
}

function oneOf(c: Collector, field: string, value: string | undefined, allowed: readonly string[]): void {
  if (value === undefined || !allowed.includes(value)) c.add(field, `must be one of ${allowed.join(', ')} (got ${show(value)})`);
}

/**
 * What the dataset version's token statistics already refute: a max_seq_length below the median
 * row would truncate most rows (below the shortest: every row), which the job would only find out
 * as a setup failure or a model trained on cut-off answers.
 */
export function validateAgainstDataset(h: common.Hyperparameters, version: dataset.DatasetVersion): FieldError[] {
  const stats = version.tokenStats;
  const limit = h.maxSeqLength;
  if (!stats || stats.rows === 0 || limit === undefined) return [];
  const where = `dataset version ${version.digest.slice(0, 12)} (${stats.rows} rows: shortest ${stats.min}, median ${stats.p50}, p99 ${stats.p99}, longest ${stats.max} tokens)`;
  if (limit < stats.min) return [{ field: 'hyperparameters.max_seq_length', message: `${limit} is shorter than every row of ${where}: every row would be truncated; use at least ${stats.p99}` }];
  if (limit < stats.p50) return [{ field: 'hyperparameters.max_seq_length', message: `${limit} is shorter than at least half the rows of ${where}: most rows would be truncated; use at least ${stats.p99}` }];
  return [];
}

/**
 * LoRA target modules the base model does not have: peft matches a target against the end of
 * each module's dotted name, so "q_proj" and "self_attn.q_proj" both match
 * "model.layers.0.self_attn.q_proj". "all-linear" is peft's own shorthand.
 */
export function validateTargetModules(l: common.LoraConfig, facts: { modelType: string; dir: string; modules?: readonly string[] }): FieldError[] {
  const modules = facts.modules;
  if (!modules || modules.length === 0) return [];
  const errors: FieldError[] = [];
  l.targetModules.forEach((t, i) => {
    if (t === 'all-linear') return;
    if (!modules.some((m) => m === t || m.endsWith(`.${t}`))) {
      const leaves = [...new Set(modules.map((m) => m.slice(m.lastIndexOf('.') + 1)).filter((n) => !/^\d+$/.test(n)))].sort();
      errors.push({
        field: `lora.target_modules[${i}]`,
        message: `the ${facts.modelType || 'base'} model at ${facts.dir} has no module ${show(t)} (its modules: ${leaves.slice(0, 30).join(', ')}${leaves.length > 30 ? ', …' : ''})`,
      });
    }
  });
  return errors;
}

/** "a: x; b: y" — every error, in order, as one message. */
export function formatFieldErrors(errors: readonly FieldError[]): string {
  return errors.map((e) => `${e.field}: ${e.message}`).join('; ');
}
