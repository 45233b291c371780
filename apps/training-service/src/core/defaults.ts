/**
 * The seed script's recipe as defaults (DESIGN.md, "The reference workload"). A job stores its
 * settings with every default resolved, so what a job ran is readable without knowing which
 * version of medtune created it.
 */
import { common } from '@medtune/contracts';

/** LoRA settings of the seed: r 32, alpha 16, dropout 0, bias none, the seven projections, random_state 8137. */
export const SEED_LORA: Readonly<Required<Omit<common.LoraConfig, 'targetModules'>>> & { readonly targetModules: readonly string[] } = {
  r: 32,
  alpha: 16,
  dropout: 0,
  bias: 'none',
  targetModules: ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj'],
  useRslora: false,
  useLoftq: false,
  randomState: 8137,
  gradientCheckpointing: 'unsloth',
};

/**
 * SFTTrainer settings of the seed: batch 2 × grad-accum 4, warmup 5, lr 2e-4 linear, adamw_8bit,
 * weight decay 0.01, seed 8137, logging every 10 steps, 3 epochs (TrainingArguments' default,
 * since the script's max_steps is commented out), max_seq_length 4096, 4-bit, no packing.
 */
export const SEED_HYPERPARAMETERS: Readonly<Required<common.Hyperparameters>> = {
  batchSize: 2,
  gradientAccumulationSteps: 4,
  warmupSteps: 5,
  learningRate: 2e-4,
  lrSchedulerType: 'linear',
  optimizer: 'adamw_8bit',
  weightDecay: 0.01,
  seed: 8137,
  loggingSteps: 10,
  numTrainEpochs: 3,
  maxSteps: 0,
  maxSeqLength: 4096,
  precision: common.Precision.PRECISION_AUTO,
  loadIn4bit: true,
  packing: false,
  saveSteps: 0,
  // Not the seed script's: one GPU as it had, and the worker's memory-aware plan (same mathematics).
  gpus: 1,
  plan: 'auto',
  globalBatchSize: 8,
};

/** Exports of the seed: adapter and merged 16-bit on; GGUF off (commented out in the script). */
export const SEED_EXPORTS: Readonly<Required<common.ExportOptions>> = {
  adapter: true,
  merged16bit: true,
  gguf: false,
  ggufQuantization: 'q8_0',
};

/** Jobs whose worker is lost are resumed elsewhere this many times before they fail. */
export const DEFAULT_MAX_RETRIES = 2;
/** Experiment of runs whose request names none. */
export const DEFAULT_EXPERIMENT = 'default';

/** Fills every unset LoRA field with the seed's value. */
export function resolveLora(given: common.LoraConfig | undefined): common.LoraConfig {
  const g = given ?? common.LoraConfig.fromPartial({});
  return {
    r: g.r ?? SEED_LORA.r,
    alpha: g.alpha ?? SEED_LORA.alpha,
    dropout: g.dropout ?? SEED_LORA.dropout,
    bias: g.bias ?? SEED_LORA.bias,
    targetModules: g.targetModules.length > 0 ? [...g.targetModules] : [...SEED_LORA.targetModules],
    useRslora: g.useRslora ?? SEED_LORA.useRslora,
    useLoftq: g.useLoftq ?? SEED_LORA.useLoftq,
    randomState: g.randomState ?? SEED_LORA.randomState,
    gradientCheckpointing: g.gradientCheckpointing ?? SEED_LORA.gradientCheckpointing,
  };
}

/** Fills every unset trainer field with the seed's value. */
export function resolveHyperparameters(given: common.Hyperparameters | undefined): common.Hyperparameters {
  const g = given ?? common.Hyperparameters.fromPartial({});
  const s = SEED_HYPERPARAMETERS;
  return {
    batchSize: g.batchSize ?? s.batchSize,
    gradientAccumulationSteps: g.gradientAccumulationSteps ?? s.gradientAccumulationSteps,
    warmupSteps: g.warmupSteps ?? s.warmupSteps,
    learningRate: g.learningRate ?? s.learningRate,
    lrSchedulerType: g.lrSchedulerType ?? s.lrSchedulerType,
    optimizer: g.optimizer ?? s.optimizer,
    weightDecay: g.weightDecay ?? s.weightDecay,
    seed: g.seed ?? s.seed,
    loggingSteps: g.loggingSteps ?? s.loggingSteps,
    numTrainEpochs: g.numTrainEpochs ?? s.numTrainEpochs,
    maxSteps: g.maxSteps ?? s.maxSteps,
    maxSeqLength: g.maxSeqLength ?? s.maxSeqLength,
    // PRECISION_UNSPECIFIED means "not given": the services treat it as AUTO.
    precision: g.precision === undefined || g.precision === common.Precision.PRECISION_UNSPECIFIED ? s.precision : g.precision,
    loadIn4bit: g.loadIn4bit ?? s.loadIn4bit,
    packing: g.packing ?? s.packing,
    saveSteps: g.saveSteps ?? s.saveSteps,
    gpus: g.gpus ?? s.gpus,
    plan: g.plan ?? s.plan,
    // Output only: validation checks that a given value agrees.
    globalBatchSize: g.globalBatchSize ?? (g.batchSize ?? s.batchSize) * (g.gradientAccumulationSteps ?? s.gradientAccumulationSteps) * (g.gpus ?? s.gpus),
  };
}

/** Fills every unset export field with the seed's value. */
export function resolveExports(given: common.ExportOptions | undefined): common.ExportOptions {
  const g = given ?? common.ExportOptions.fromPartial({});
  return {
    adapter: g.adapter ?? SEED_EXPORTS.adapter,
    merged16bit: g.merged16bit ?? SEED_EXPORTS.merged16bit,
    gguf: g.gguf ?? SEED_EXPORTS.gguf,
    ggufQuantization: g.ggufQuantization ?? SEED_EXPORTS.ggufQuantization,
  };
}

/** BACKEND_UNSPECIFIED means "not given": the services treat it as AUTO. */
export function resolveBackend(given: common.Backend): common.Backend {
  return given === common.Backend.BACKEND_UNSPECIFIED ? common.Backend.BACKEND_AUTO : given;
}
