/**
 * The pipeline file: parsed with `yaml`, validated against the schema (errors name the field path
 * and its line), relative paths resolved against the file's directory, seed defaults filled in.
 */
import { createHash } from 'node:crypto';
import path from 'node:path';
import { isMap, isSeq, LineCounter, parseDocument, type Document } from 'yaml';
import { CliError, EXIT } from '../exit';
import { PIPELINE_SCHEMA } from './schema';
import { validateAgainst, type SpecIssue } from './validate';

/** The validated pipeline, defaults resolved. Field docs: ./schema.ts and apps/cli/PIPELINE.md. */
export interface PipelineSpec {
  version: number;
  name: string;
  description: string;
  /** Absolute directory, or a hub id. */
  base_model: string;
  dataset: {
    name: string;
    path: string;
    format: 'auto' | 'json' | 'jsonl';
    preset: 'medical_o1' | 'alpaca' | 'chat';
    question?: string;
    cot?: string;
    response?: string;
    allow_empty_cot: boolean;
    template: string;
    tokenizer_dir: string;
    max_seq_length: number;
    reject_over_length: boolean;
    eval_ratio: number;
    split_seed: number;
    invalid_rows: 'reject' | 'skip';
    duplicates: 'drop' | 'keep';
    labels: Record<string, string>;
  };
  training: {
    backend: 'auto' | 'unsloth' | 'hf';
    precision: 'auto' | 'bf16' | 'fp16' | 'fp32';
    load_in_4bit: boolean;
    max_seq_length: number;
    batch_size: number;
    gradient_accumulation_steps: number;
    warmup_steps: number;
    learning_rate: number;
    lr_scheduler_type: string;
    optimizer: string;
    weight_decay: number;
    seed: number;
    logging_steps: number;
    num_train_epochs: number;
    max_steps: number;
    packing: boolean;
    save_steps: number;
    gpus: number;
    plan: 'seed' | 'auto';
    experiment: string;
    priority: number;
    max_retries: number;
    min_gpu_memory_gb: number;
    tags: Record<string, string>;
    lora: {
      r: number;
      alpha: number;
      dropout: number;
      bias: string;
      target_modules: string[];
      use_rslora: boolean;
      use_loftq: boolean;
      random_state: number;
      gradient_checkpointing: string;
    };
  };
  export: { adapter: boolean; merged_16bit: boolean; gguf: boolean; gguf_quantization: string };
  evaluation: {
    set: string;
    set_path?: string;
    set_kind: 'multiple_choice' | 'free_form';
    set_description: string;
    set_greedy: boolean;
    limit: number;
    before: boolean;
    max_new_tokens: number;
    temperature?: number;
    top_p: number;
    seed: number;
    automation_timeout_s: number;
  };
  register: { enabled: boolean; model: string; alias: string; metric: string; min_delta: number; auto_promote: boolean };
}

/** A pipeline with where it came from and what it set explicitly. */
export interface LoadedPipeline {
  spec: PipelineSpec;
  /** Absolute path of the file. */
  file: string;
  /** Dotted paths the file set (the rest are defaults: the services apply the same seed values). */
  explicit: ReadonlySet<string>;
}

/** Thrown for an invalid file: every issue, with path and line. Exit code 4. */
export class PipelineSpecError extends CliError {
  constructor(
    readonly file: string,
    readonly issues: readonly SpecIssue[],
  ) {
    super(
      EXIT.INVALID_INPUT,
      `${file}: ${issues.length} problem${issues.length === 1 ? '' : 's'}\n${issues.map((i) => `  ${i.line ? `line ${i.line}:${i.col} ` : ''}${i.path}: ${i.message}`).join('\n')}`,
      'fix the fields named above (apps/cli/PIPELINE.md documents each one)',
      issues[0]?.path,
    );
  }
}

/**
 * Parses and validates pipeline YAML text. `file` is its absolute path (relative paths in the
 * file resolve against its directory); `env` feeds ${VAR} expansion.
 */
export function parsePipeline(text: string, file: string, env: Readonly<Record<string, string | undefined>>): LoadedPipeline {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  if (doc.errors.length > 0) {
    throw new PipelineSpecError(
      file,
      doc.errors.map((e) => {
        const pos = lines.linePos(e.pos[0]);
        return { path: '(yaml)', message: e.message.split('\n')[0]!, line: pos.line, col: pos.col };
      }),
    );
  }
  const { value, explicit, issues } = validateAgainst(PIPELINE_SCHEMA, doc.toJS(), env);
  const spec = value as unknown as PipelineSpec;
  if (issues.length === 0) resolve(spec, path.dirname(file), explicit, issues);
  if (issues.length > 0) throw new PipelineSpecError(file, issues.map((i) => locate(i, doc, lines)));
  return { spec, file, explicit };
}

/** Cross-field rules and path resolution (after the per-field checks passed). */
function resolve(spec: PipelineSpec, dir: string, explicit: Set<string>, issues: SpecIssue[]): void {
  const abs = (p: string) => path.resolve(dir, p);
  const baseIsPath = isLocalPath(spec.base_model);
  if (baseIsPath) spec.base_model = abs(spec.base_model);
  spec.dataset.path = abs(spec.dataset.path);
  if (spec.dataset.tokenizer_dir) spec.dataset.tokenizer_dir = abs(spec.dataset.tokenizer_dir);
  else if (baseIsPath) spec.dataset.tokenizer_dir = spec.base_model;
  else issues.push({ path: 'dataset.tokenizer_dir', message: `required when base_model is a hub id (${spec.base_model}): a local directory holding its tokenizer files` });
  spec.dataset.max_seq_length ??= spec.training.max_seq_length;
  if (spec.evaluation.set_path) spec.evaluation.set_path = abs(spec.evaluation.set_path);
  if (spec.evaluation.set_path && !explicit.has('evaluation.set')) {
    issues.push({ path: 'evaluation.set', message: 'name the set that evaluation.set_path creates' });
  }
  spec.register.model ??= spec.name;
  const freeForm = spec.evaluation.set === 'seed-question' || (spec.evaluation.set_path !== undefined && spec.evaluation.set_kind === 'free_form');
  spec.register.metric ??= freeForm ? 'format_compliance' : 'accuracy';
  if (freeForm && spec.register.metric === 'accuracy') {
    issues.push({ path: 'register.metric', message: `accuracy needs a multiple-choice evaluation set; ${spec.evaluation.set} is free-form (use format_compliance or eval_loss)` });
  }
  if (spec.training.max_steps === 0 && !explicit.has('training.num_train_epochs') && spec.training.num_train_epochs <= 0) {
    issues.push({ path: 'training.num_train_epochs', message: 'must be > 0 when max_steps is 0' });
  }
}

/** True for "/abs", "./rel", "../rel": a directory, not a hub id. */
export function isLocalPath(p: string): boolean {
  return p.startsWith('/') || p.startsWith('./') || p.startsWith('../') || p === '.' || p === '..';
}

/** Adds line:col to an issue from the YAML node at its path (or its nearest existing parent). */
function locate(issue: SpecIssue, doc: Document, lines: LineCounter): SpecIssue {
  if (issue.line !== undefined || issue.path.startsWith('(')) return issue;
  const keys = issue.path.split('.');
  for (let n = keys.length; n > 0; n--) {
    const parentPath = keys.slice(0, n - 1);
    const parent = parentPath.length ? doc.getIn(parentPath, true) : doc.contents;
    if (isMap(parent)) {
      const pair = parent.items.find((p) => (p.key as { value?: unknown } | null)?.value === keys[n - 1]);
      const node = (pair?.key ?? undefined) as { range?: [number, number, number] } | undefined;
      if (node?.range) {
        const pos = lines.linePos(node.range[0]);
        return { ...issue, line: pos.line, col: pos.col };
      }
    } else if (isSeq(parent) && parent.range) {
      const pos = lines.linePos(parent.range[0]);
      return { ...issue, line: pos.line, col: pos.col };
    }
  }
  return issue;
}

/**
 * The idempotency key of the pipeline's training job: the same training inputs (dataset content,
 * base model, trainer, LoRA and export settings, target model) give the same key, so running a
 * pipeline again reuses its job; changing any of them trains anew. Evaluation settings are not
 * part of it.
 */
export function trainingKey(spec: PipelineSpec, datasetDigest: string, explicit: ReadonlySet<string>): string {
  const pick = (prefix: string) => [...explicit].filter((p) => p.startsWith(prefix)).sort();
  const shaping = {
    dataset: datasetDigest,
    base: spec.base_model,
    training: Object.fromEntries(pick('training.').map((p) => [p, getPath(spec, p)])),
    export: Object.fromEntries(pick('export.').map((p) => [p, getPath(spec, p)])),
    register: spec.register.enabled ? spec.register.model : '',
  };
  const h = createHash('sha256').update(JSON.stringify(shaping)).digest('hex').slice(0, 16);
  return `pipeline/${spec.name}/${h}`;
}

/** Reads a dotted path of an object. */
export function getPath(obj: unknown, dotted: string): unknown {
  return dotted.split('.').reduce<unknown>((o, k) => (o && typeof o === 'object' ? (o as Record<string, unknown>)[k] : undefined), obj);
}
