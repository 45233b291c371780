import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { EXIT } from '../exit';
import { renderPipelineDoc } from './doc';
import { baseEvaluationRequest, createJobRequest, importRequest, promotionPolicy } from './requests';
import { SEED_TARGET_MODULES } from './schema';
import { parsePipeline, PipelineSpecError, trainingKey } from './spec';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../..');
const load = (rel: string, env: Record<string, string> = {}) => parsePipeline(readFileSync(path.join(root, rel), 'utf8'), path.join(root, rel), env);
const parseText = (text: string, env: Record<string, string> = {}) => parsePipeline(text, '/work/p/pipeline.yaml', env);
const issues = (text: string): string[] => {
  try {
    parseText(text);
  } catch (e) {
    expect(e).toBeInstanceOf(PipelineSpecError);
    expect((e as PipelineSpecError).exitCode).toBe(EXIT.INVALID_INPUT);
    return (e as PipelineSpecError).issues.map((i) => `${i.line ?? '-'}:${i.path}: ${i.message}`);
  }
  throw new Error('expected the pipeline to be invalid');
};
const MINIMAL = 'name: p\nbase_model: ./model\ndataset:\n  name: d\n  path: data.json\n';

describe('pipeline defaults are the seed script\'s recipe', () => {
  it('fills every training, LoRA, export and generation default from the seed', () => {
    const { spec, explicit } = parseText(MINIMAL);
    expect(spec.training).toMatchObject({
      backend: 'auto', precision: 'auto', load_in_4bit: true, max_seq_length: 4096, batch_size: 2, gradient_accumulation_steps: 4, warmup_steps: 5,
      learning_rate: 2e-4, lr_scheduler_type: 'linear', optimizer: 'adamw_8bit', weight_decay: 0.01, seed: 8137, logging_steps: 10, num_train_epochs: 3, max_steps: 0, packing: false,
    });
    expect(spec.training.lora).toEqual({ r: 32, alpha: 16, dropout: 0, bias: 'none', target_modules: [...SEED_TARGET_MODULES], use_rslora: false, use_loftq: false, random_state: 8137, gradient_checkpointing: 'unsloth' });
    expect(spec.export).toEqual({ adapter: true, merged_16bit: true, gguf: false, gguf_quantization: 'q8_0' });
    expect(spec.evaluation).toMatchObject({ set: 'seed-question', max_new_tokens: 1200, before: true });
    expect(spec.evaluation.temperature).toBeUndefined(); // the model's generation_config decides
    expect(spec.dataset).toMatchObject({ template: 'medical-o1-zh', max_seq_length: 4096, eval_ratio: 0.02, split_seed: 8137, preset: 'medical_o1', tokenizer_dir: '/work/p/model' });
    expect(spec.register).toMatchObject({ enabled: true, model: 'p', alias: 'champion', metric: 'format_compliance' });
    expect(spec.base_model).toBe('/work/p/model');
    expect(spec.dataset.path).toBe('/work/p/data.json');
    expect([...explicit].sort()).toEqual(['base_model', 'dataset.name', 'dataset.path', 'name']);
  });

  it('sends only what the file sets: the services apply the same seed defaults', () => {
    const p = parseText(`${MINIMAL}training:\n  max_steps: 16\n  lora: { r: 8 }\n`);
    const req = createJobRequest(p, 'ab'.repeat(32), 'key');
    expect(req.hyperparameters).toEqual({ maxSteps: 16 });
    expect(req.lora).toMatchObject({ r: 8, targetModules: [] });
    expect(req.lora?.alpha).toBeUndefined();
    expect(req).toMatchObject({ idempotencyKey: 'key', datasetDigest: 'ab'.repeat(32), baseModel: '/work/p/model', registerAs: 'p', tags: { pipeline: 'p' } });
  });
});

describe('the example pipelines', () => {
  it('the demo is valid: tiny model under var/, its own data and multiple-choice set, accuracy as the promotion metric', () => {
    const p = load('examples/demo/pipeline.yaml');
    expect(p.spec.base_model).toBe(path.join(root, 'var/models/tiny-qwen2-demo-h128-x8'));
    expect(p.spec.dataset.path).toBe(path.join(root, 'examples/demo/data/train.json'));
    expect(p.spec.evaluation.set_path).toBe(path.join(root, 'examples/demo/data/eval.jsonl'));
    expect(promotionPolicy(p)).toMatchObject({ alias: 'champion', metric: 'accuracy', evalSet: 'demo-mcq-zh', higherIsBetter: true });
    expect(importRequest(p).options).toMatchObject({ datasetName: 'demo-medical-zh', templateName: 'medical-o1-zh', maxSeqLength: 256 });
    expect(baseEvaluationRequest(p, 'k').model?.ref).toEqual({ $case: 'baseModel', baseModel: path.join(root, 'var/models/tiny-qwen2-demo-h128-x8') });
    const rows = JSON.parse(readFileSync(path.join(root, 'examples/demo/data/train.json'), 'utf8')) as Record<string, string>[];
    expect(rows.length).toBeGreaterThanOrEqual(24);
    for (const r of rows) expect(Object.keys(r).sort()).toEqual(['Complex_CoT', 'Question', 'Response']);
    // The measured fast settings (README "Timings"): one row a step, cosine, one checkpoint, no recomputation.
    expect(p.spec.training).toMatchObject({ batch_size: 1, max_steps: 80, lr_scheduler_type: 'cosine', save_steps: 1000 });
    expect(p.spec.training.lora.gradient_checkpointing).toBe('false');
  });

  it('the 14B and 32B recipes are the seed\'s: unsloth, 4-bit, seq 4096, r 32, batch 2 × 4, lr 2e-4, 3 epochs, GGUF on', () => {
    for (const size of ['14b', '32b']) {
      const { spec } = load(`examples/seed-${size}/pipeline.yaml`, { MEDTUNE_MODELS_DIR: '/m', MEDTUNE_DATA_DIR: '/d' });
      expect(spec.base_model).toBe(`/m/DeepSeek-R1-Distill-Qwen-${size.toUpperCase()}`);
      expect(spec.dataset.path).toBe('/d/medical_o1_sft_Chinese.json');
      expect(spec.training).toMatchObject({ backend: 'unsloth', load_in_4bit: true, max_seq_length: 4096, batch_size: 2, gradient_accumulation_steps: 4, learning_rate: 2e-4, num_train_epochs: 3, optimizer: 'adamw_8bit', seed: 8137 });
      expect(spec.training.lora).toMatchObject({ r: 32, alpha: 16, random_state: 8137, gradient_checkpointing: 'unsloth' });
      expect(spec.export).toMatchObject({ adapter: true, merged_16bit: true, gguf: true });
    }
    // without the variables the defaults in the file apply
    expect(load('examples/seed-14b/pipeline.yaml').spec.base_model).toBe('/models/DeepSeek-R1-Distill-Qwen-14B');
  });
});

describe('errors name the field and its line', () => {
  it('collects every problem: wrong type, range, enum, unknown field with a suggestion, missing required fields', () => {
    const got = issues(['name: Bad Name', 'base_model: ./m', 'dataset:', '  name: d', 'training:', '  lr: 1', '  lora:', '    r: 0', '  backend: tpu', 'evaluation:', '  temperature: hot'].join('\n'));
    expect(got).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^1:name: expected lowercase letters/),
        expect.stringMatching(/^3:dataset\.path: required$/),
        expect.stringMatching(/^6:training\.lr: unknown field \(did you mean learning_rate\?\)/),
        expect.stringMatching(/^8:training\.lora\.r: must be >= 1 \(got 0\)$/),
        expect.stringMatching(/^9:training\.backend: expected one of auto, unsloth, hf, got "tpu"$/),
        expect.stringMatching(/^11:evaluation\.temperature: expected a number, got string "hot"$/),
      ]),
    );
    expect(got).toHaveLength(6);
  });

  it('reports YAML syntax errors with their line, and a file that is not a mapping', () => {
    expect(issues('name: p\n  base_model: [x\n')[0]).toMatch(/^\d+:\(yaml\)/);
    expect(issues('- a\n- b\n')[0]).toMatch(/\(file\): expected a mapping/);
  });

  it('needs a tokenizer directory for a hub id, a set name for a set file, a multiple-choice set for accuracy', () => {
    expect(issues('name: p\nbase_model: org/model\ndataset: { name: d, path: x.json }\n')).toEqual([expect.stringMatching(/dataset\.tokenizer_dir: required when base_model is a hub id/)]);
    expect(issues(`${MINIMAL}evaluation: { set_path: e.jsonl }\n`)).toEqual([expect.stringMatching(/evaluation\.set: name the set/)]);
    expect(issues(`${MINIMAL}register: { metric: accuracy }\n`)).toEqual([expect.stringMatching(/register\.metric: accuracy needs a multiple-choice evaluation set/)]);
  });

  it('expands ${VAR} and ${VAR:-default}, and names an unset variable', () => {
    expect(parseText('name: p\nbase_model: ${M}/x\ndataset: { name: d, path: "${D:-/data}/t.json" }\n', { M: '/models' }).spec.dataset.path).toBe('/data/t.json');
    expect(issues('name: p\nbase_model: ${NOPE}/x\ndataset: { name: d, path: t.json }\n')).toEqual([expect.stringMatching(/base_model: environment variable NOPE is not set/)]);
  });
});

describe('the training idempotency key', () => {
  it('is stable for the same training inputs, changes with them, and ignores evaluation settings', () => {
    const digest = 'cd'.repeat(32);
    const a = parseText(`${MINIMAL}training: { max_steps: 16 }\n`);
    const key = trainingKey(a.spec, digest, a.explicit);
    expect(key).toMatch(/^pipeline\/p\/[0-9a-f]{16}$/);
    expect(trainingKey(parseText(`${MINIMAL}training: { max_steps: 16 }\nevaluation: { max_new_tokens: 8 }\n`).spec, digest, a.explicit)).toBe(key);
    const b = parseText(`${MINIMAL}training: { max_steps: 17 }\n`);
    expect(trainingKey(b.spec, digest, b.explicit)).not.toBe(key);
    expect(trainingKey(a.spec, 'ef'.repeat(32), a.explicit)).not.toBe(key);
  });
});

describe('apps/cli/PIPELINE.md', () => {
  it('is generated from the schema (run `npx tsx apps/cli/scripts/pipeline-doc.ts` after changing it)', () => {
    expect(readFileSync(path.join(root, 'apps/cli/PIPELINE.md'), 'utf8')).toBe(renderPipelineDoc());
  });
});
