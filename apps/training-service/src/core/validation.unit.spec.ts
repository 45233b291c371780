import { common, dataset, training } from '@medtune/contracts';
import { describe, expect, it } from 'vitest';
import { DEFAULT_MAX_RETRIES, resolveBackend, resolveExports, resolveHyperparameters, resolveLora, SEED_HYPERPARAMETERS, SEED_LORA } from './defaults';
import { FieldErrorsError } from './errors';
import { requestHash } from './request-hash';
import { type ResolvedSpec, validateAgainstDataset, validateCreateJob, validateTargetModules } from './validation';

function request(partial: Parameters<typeof training.CreateJobRequest.fromPartial>[0] = {}): training.CreateJobRequest {
  return training.CreateJobRequest.fromPartial({ idempotencyKey: 'k1', datasetDigest: 'a'.repeat(64), baseModel: '/models/tiny', ...partial });
}

function resolve(req: training.CreateJobRequest): ResolvedSpec {
  return {
    hyperparameters: resolveHyperparameters(req.hyperparameters),
    lora: resolveLora(req.lora),
    exports: resolveExports(req.exports),
    backend: resolveBackend(req.backend),
    maxRetries: req.maxRetries ?? DEFAULT_MAX_RETRIES,
    experiment: req.experiment || 'default',
  };
}

const errorsOf = (req: training.CreateJobRequest) => validateCreateJob(req, resolve(req));

describe('seed defaults', () => {
  it('resolve to the reference workload when nothing is given', () => {
    const spec = resolve(request());
    expect(spec.lora).toEqual({
      r: 32,
      alpha: 16,
      dropout: 0,
      bias: 'none',
      targetModules: ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj'],
      useRslora: false,
      useLoftq: false,
      randomState: 8137,
      gradientCheckpointing: 'unsloth',
    });
    expect(spec.hyperparameters).toMatchObject({
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
    });
    expect(spec.exports).toEqual({ adapter: true, merged16bit: true, gguf: false, ggufQuantization: 'q8_0' });
    expect(spec.backend).toBe(common.Backend.BACKEND_AUTO);
    expect(spec.maxRetries).toBe(2);
    expect(errorsOf(request())).toEqual([]);
  });

  it('keep given values, including falsy ones', () => {
    const spec = resolve(request({ lora: { dropout: 0.1, useRslora: true, targetModules: ['q_proj'] }, hyperparameters: { maxSteps: 7, packing: true, warmupSteps: 0 } }));
    expect(spec.lora.dropout).toBe(0.1);
    expect(spec.lora.useRslora).toBe(true);
    expect(spec.lora.targetModules).toEqual(['q_proj']);
    expect(spec.lora.r).toBe(SEED_LORA.r);
    expect(spec.hyperparameters.maxSteps).toBe(7);
    expect(spec.hyperparameters.warmupSteps).toBe(0);
    expect(spec.hyperparameters.learningRate).toBe(SEED_HYPERPARAMETERS.learningRate);
  });
});

describe('validateCreateJob', () => {
  it('names the field and the value: lora.r', () => {
    expect(errorsOf(request({ lora: { r: 0 } }))).toEqual([{ field: 'lora.r', message: 'must be >= 1 (got 0)' }]);
  });

  it('collects every bad field, in request order', () => {
    const errors = errorsOf(
      request({
        idempotencyKey: '',
        baseModel: '',
        lora: { r: 0, alpha: -1, dropout: 1, bias: 'some', targetModules: ['q_proj', 'q_proj', 'bad module'], gradientCheckpointing: 'maybe' },
        hyperparameters: {
          batchSize: 0,
          gradientAccumulationSteps: 0,
          learningRate: -1,
          optimizer: 'adam9000',
          lrSchedulerType: 'zigzag',
          weightDecay: -0.1,
          loggingSteps: 0,
          numTrainEpochs: 0,
          maxSeqLength: 8,
        },
        backend: 42 as common.Backend,
        exports: { ggufQuantization: 'q2' },
        maxRetries: 99,
      }),
    );
    const fields = errors.map((e) => e.field);
    expect(fields).toEqual([
      'idempotency_key',
      'base_model',
      'hyperparameters.batch_size',
      'hyperparameters.gradient_accumulation_steps',
      'hyperparameters.learning_rate',
      'hyperparameters.lr_scheduler_type',
      'hyperparameters.optimizer',
      'hyperparameters.weight_decay',
      'hyperparameters.logging_steps',
      'hyperparameters.num_train_epochs',
      'hyperparameters.max_seq_length',
      'lora.r',
      'lora.alpha',
      'lora.dropout',
      'lora.bias',
      'lora.target_modules[1]',
      'lora.target_modules[2]',
      'lora.gradient_checkpointing',
      'backend',
      'exports.gguf_quantization',
      'max_retries',
    ]);
    expect(errors.find((e) => e.field === 'hyperparameters.learning_rate')?.message).toBe('must be > 0 (got -1)');
    expect(errors.find((e) => e.field === 'lora.dropout')?.message).toBe('must be in [0, 1) (got 1)');
    expect(errors.find((e) => e.field === 'hyperparameters.optimizer')?.message).toBe('must be one of adamw_8bit, adamw_torch, paged_adamw_8bit, sgd (got "adam9000")');
    expect(errors.find((e) => e.field === 'hyperparameters.max_seq_length')?.message).toBe('must be >= 16 (got 8)');
  });

  it('lets max_steps stand in for epochs', () => {
    expect(errorsOf(request({ hyperparameters: { numTrainEpochs: 0, maxSteps: 5 } }))).toEqual([]);
    expect(errorsOf(request({ hyperparameters: { numTrainEpochs: 0 } })).map((e) => e.field)).toEqual(['hyperparameters.num_train_epochs']);
    expect(errorsOf(request({ hyperparameters: { numTrainEpochs: Number.NaN } })).map((e) => e.field)).toEqual(['hyperparameters.num_train_epochs']);
  });

  it('requires a dataset digest and a base model', () => {
    expect(errorsOf(request({ datasetDigest: '', baseModel: '  ' })).map((e) => e.field)).toEqual(['dataset_digest', 'base_model']);
    expect(errorsOf(request({ datasetDigest: 'abc def' })).map((e) => e.field)).toEqual(['dataset_digest']);
  });

  it('FieldErrorsError reads "field: reason; field: reason" and lists the fields', () => {
    const one = new FieldErrorsError([{ field: 'lora.r', message: 'must be >= 1 (got 0)' }]);
    expect(one.message).toBe('lora.r: must be >= 1 (got 0)');
    expect(one.field).toBe('lora.r');
    const two = new FieldErrorsError(errorsOf(request({ lora: { r: 0 }, hyperparameters: { learningRate: -1 } })));
    expect(two.message).toBe('hyperparameters.learning_rate: must be > 0 (got -1); lora.r: must be >= 1 (got 0)');
    expect(two.field).toBe('hyperparameters.learning_rate,lora.r');
  });
});

describe('requestHash', () => {
  it('is the same for an unset field and the seed value, and for reordered tags', () => {
    const a = request({ tags: { a: '1', b: '2' } });
    const b = request({ lora: { r: 32 }, hyperparameters: { learningRate: 2e-4 }, tags: { b: '2', a: '1' }, idempotencyKey: 'other' });
    expect(requestHash(a, resolve(a))).toBe(requestHash(b, resolve(b)));
  });

  it('differs when anything asked for differs', () => {
    const base = request();
    const h = requestHash(base, resolve(base));
    for (const changed of [request({ lora: { r: 16 } }), request({ priority: 1 }), request({ baseModel: '/models/other' }), request({ tags: { x: 'y' } })]) {
      expect(requestHash(changed, resolve(changed))).not.toBe(h);
    }
  });
});

describe('gpus and the execution plan', () => {
  it('default to one GPU, the auto plan and the seed global batch of 8', () => {
    expect(resolve(request()).hyperparameters).toMatchObject({ gpus: 1, plan: 'auto', globalBatchSize: 8 });
    const four = resolve(request({ hyperparameters: { gpus: 4, batchSize: 2, gradientAccumulationSteps: 2 } })).hyperparameters;
    expect(four.globalBatchSize).toBe(16);
  });
  it('reject gpus < 1, an unknown plan and a global batch that disagrees, naming the fields', () => {
    const errs = errorsOf(request({ hyperparameters: { gpus: 0, plan: 'fast', globalBatchSize: 3 } }));
    const fields = errs.map((e) => e.field);
    expect(fields).toContain('hyperparameters.gpus');
    expect(fields).toContain('hyperparameters.plan');
    expect(errs.find((e) => e.field === 'hyperparameters.plan')?.message).toContain('seed, auto');
    expect(errorsOf(request({ hyperparameters: { globalBatchSize: 3 } })).map((e) => e.field)).toEqual(['hyperparameters.global_batch_size']);
    expect(errorsOf(request({ hyperparameters: { gpus: 2, globalBatchSize: 16, plan: 'seed' } }))).toEqual([]);
  });
});

describe('names, target modules and the dataset (issue 13)', () => {
  it('names that become keys or paths follow the one rule; labels hold no path separators or control characters', () => {
    const fields = (p: Parameters<typeof request>[0]) => errorsOf(request(p)).map((e) => e.field);
    expect(fields({ experiment: '../../etc/passwd', displayName: '../x', registerAs: 'Med/Model', tags: { 'a b': 'v', ok: 'line\nbreak' } })).toEqual([
      'display_name',
      'experiment',
      'register_as',
      'tags',
      'tags["ok"]',
    ]);
    expect(fields({ experiment: 'med-o1_v2.1', displayName: 'seed recipe (3 epochs)', registerAs: 'demo-medical', tags: { 'team.name': 'med / zh' } })).toEqual(['tags["team.name"]']);
    expect(fields({ experiment: 'a..b' })).toEqual(['experiment']);
  });

  it('target modules are matched against the end of the module names, as peft does', () => {
    const facts = { modelType: 'qwen2', dir: '/m', modules: ['model.layers.0.self_attn.q_proj', 'model.layers.0.mlp.up_proj', 'lm_head'] };
    const lora = (targetModules: string[]) => resolveLora({ targetModules });
    expect(validateTargetModules(lora(['q_proj', 'self_attn.q_proj', 'up_proj', 'all-linear']), facts)).toEqual([]);
    const bad = validateTargetModules(lora(['q_proj', 'nonexistent', 'proj']), facts);
    expect(bad.map((e) => e.field)).toEqual(['lora.target_modules[1]', 'lora.target_modules[2]']);
    expect(bad[0]!.message).toMatch(/has no module "nonexistent" \(its modules: lm_head, q_proj, up_proj\)/);
    expect(validateTargetModules(lora(['anything']), { modelType: 'x', dir: '/m' })).toEqual([]); // unknown modules: not checked
  });

  it("max_seq_length below the shortest row or the median row of the version is refuted by its token statistics", () => {
    const version = dataset.DatasetVersion.fromPartial({ digest: 'ab'.repeat(32), tokenStats: { rows: 10, min: 300, p50: 800, p99: 2000, max: 2100 } });
    const at = (maxSeqLength: number) => validateAgainstDataset(resolveHyperparameters({ maxSeqLength }), version).map((e) => e.message);
    expect(at(200)).toEqual([expect.stringMatching(/^200 is shorter than every row of dataset version abababababab \(10 rows: shortest 300, median 800, p99 2000, longest 2100 tokens\)/)]);
    expect(at(500)).toEqual([expect.stringMatching(/^500 is shorter than at least half the rows/)]);
    expect(at(800)).toEqual([]);
  });
});
