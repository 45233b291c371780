/**
 * The pipeline file's fields: type, default (the seed script's values) and documentation. The
 * validator walks this table, and apps/cli/PIPELINE.md's reference is generated from it
 * (`npx tsx apps/cli/scripts/pipeline-doc.ts`; a unit test fails when the doc is stale).
 */

/** A field of the pipeline file. */
export type FieldSchema =
  | { kind: 'string'; doc: string; default?: string; required?: boolean; enum?: readonly string[]; pattern?: RegExp; patternText?: string; path?: 'file' | 'dir' | 'model' }
  | { kind: 'int'; doc: string; default?: number; min?: number; max?: number }
  | { kind: 'number'; doc: string; default?: number; min?: number; max?: number; exclusiveMin?: boolean; exclusiveMax?: boolean }
  | { kind: 'bool'; doc: string; default?: boolean }
  | { kind: 'list'; doc: string; default?: readonly string[]; minItems?: number }
  | { kind: 'map'; doc: string }
  | { kind: 'object'; doc: string; fields: Readonly<Record<string, FieldSchema>>; required?: boolean };

const NAME = /^[a-z0-9][a-z0-9._-]{0,99}$/;
const NAME_TEXT = 'lowercase letters, digits, ".", "_", "-" (1..100, starting with a letter or digit)';

/** The seed's LoRA target modules. */
export const SEED_TARGET_MODULES = ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj'] as const;

/** The whole file. */
export const PIPELINE_SCHEMA: Readonly<Record<string, FieldSchema>> = {
  version: { kind: 'int', doc: 'Version of this file format. Only 1 exists.', default: 1, min: 1, max: 1 },
  name: {
    kind: 'string',
    required: true,
    pattern: NAME,
    patternText: NAME_TEXT,
    doc: 'Name of the pipeline. The registered model is named after it unless `register.model` says otherwise; jobs and evaluations carry it as a tag.',
  },
  description: { kind: 'string', doc: 'Free text, stored on the registered model.', default: '' },
  base_model: {
    kind: 'string',
    required: true,
    path: 'model',
    doc: 'The model to fine-tune: a directory on the workers (absolute, or starting with `./` or `../`: relative to this file) or a hub id such as `deepseek-ai/DeepSeek-R1-Distill-Qwen-14B`. The seed loads it with `local_files_only=True`.',
  },
  dataset: {
    kind: 'object',
    required: true,
    doc: 'The training data: imported once, validated row by row, rendered through the template, counted with the base model\'s tokenizer, split, and stored as a version addressed by its content digest (importing the same file again reuses it).',
    fields: {
      name: { kind: 'string', required: true, pattern: NAME, patternText: NAME_TEXT, doc: 'Dataset name; versions accumulate under it.' },
      path: { kind: 'string', required: true, path: 'file', doc: 'JSON array or JSONL file, read by the dataset service (relative paths are relative to this file; on one host the service sees the same files).' },
      format: { kind: 'string', enum: ['auto', 'json', 'jsonl'], default: 'auto', doc: 'File layout; `auto` looks at the first non-space byte.' },
      preset: { kind: 'string', enum: ['medical_o1', 'alpaca', 'chat'], default: 'medical_o1', doc: 'Source schema: `medical_o1` is {Question, Complex_CoT, Response} (the seed\'s), `alpaca` {instruction, input, output}, `chat` OpenAI / ShareGPT messages.' },
      question: { kind: 'string', doc: 'Column holding the question (overrides the preset). Seed: `Question`.' },
      cot: { kind: 'string', doc: 'Column holding the chain of thought (overrides the preset). Seed: `Complex_CoT`.' },
      response: { kind: 'string', doc: 'Column holding the answer (overrides the preset). Seed: `Response`.' },
      allow_empty_cot: { kind: 'bool', default: false, doc: 'Accept rows without a chain of thought.' },
      template: { kind: 'string', default: 'medical-o1-zh', doc: 'Prompt template: `medical-o1-zh` is the seed\'s (verbatim), `medical-o1-en` its English equivalent, or a registered one.' },
      tokenizer_dir: { kind: 'string', path: 'dir', doc: 'Directory whose tokenizer counts tokens and whose EOS ends each training text. Default: `base_model` when it is a directory (required when it is a hub id).' },
      max_seq_length: { kind: 'int', min: 1, doc: 'Rows with more tokens are reported before any GPU time is spent. Default: `training.max_seq_length`.' },
      reject_over_length: { kind: 'bool', default: false, doc: 'Treat rows over `max_seq_length` as invalid instead of keeping them (the trainer truncates them, as the seed does).' },
      eval_ratio: { kind: 'number', min: 0, max: 0.5, default: 0.02, doc: 'Share of rows held out for the eval loss.' },
      split_seed: { kind: 'int', min: 0, default: 8137, doc: 'Seed of the train / eval split.' },
      invalid_rows: { kind: 'string', enum: ['reject', 'skip'], default: 'reject', doc: '`reject`: any invalid row rejects the import (the report lists every one); `skip`: keep the valid rows and store the report.' },
      duplicates: { kind: 'string', enum: ['drop', 'keep'], default: 'drop', doc: 'Rows repeating an earlier row: drop them (reported) or keep them (reported).' },
      labels: { kind: 'map', doc: 'Free-form labels on the dataset version.' },
    },
  },
  training: {
    kind: 'object',
    doc: 'The trainer settings (TRL SFTTrainer / TrainingArguments). Unset fields take the seed\'s values, shown as defaults.',
    fields: {
      backend: { kind: 'string', enum: ['auto', 'unsloth', 'hf'], default: 'auto', doc: '`unsloth` runs the seed\'s calls (CUDA only); `hf` is transformers + peft + trl (QLoRA on CUDA, full-precision LoRA on CPU); `auto` picks unsloth where it can.' },
      precision: { kind: 'string', enum: ['auto', 'bf16', 'fp16', 'fp32'], default: 'auto', doc: 'bf16 where supported, else fp16 (the seed\'s `dtype=None`); fp32 on CPU.' },
      load_in_4bit: { kind: 'bool', default: true, doc: 'QLoRA: load the base model in 4 bits (ignored on CPU).' },
      max_seq_length: { kind: 'int', min: 1, default: 4096, doc: 'Maximum tokens per sequence; longer rows are truncated.' },
      batch_size: { kind: 'int', min: 1, default: 2, doc: '`per_device_train_batch_size`.' },
      gradient_accumulation_steps: { kind: 'int', min: 1, default: 4, doc: '`gradient_accumulation_steps`.' },
      warmup_steps: { kind: 'int', min: 0, default: 5, doc: '`warmup_steps`.' },
      learning_rate: { kind: 'number', min: 0, exclusiveMin: true, default: 2e-4, doc: 'Peak learning rate.' },
      lr_scheduler_type: { kind: 'string', default: 'linear', doc: '`linear`, `cosine`, `constant`, ...' },
      optimizer: { kind: 'string', enum: ['adamw_8bit', 'adamw_torch', 'paged_adamw_8bit', 'sgd'], default: 'adamw_8bit', doc: 'On CPU the worker falls back to `adamw_torch` and says so in the job\'s events.' },
      weight_decay: { kind: 'number', min: 0, default: 0.01, doc: '`weight_decay`.' },
      seed: { kind: 'int', min: 0, default: 8137, doc: 'Training seed.' },
      logging_steps: { kind: 'int', min: 1, default: 10, doc: 'Log metrics (loss, grad_norm, learning rate, tokens/s) every N optimizer steps.' },
      num_train_epochs: { kind: 'number', min: 0, exclusiveMin: true, default: 3, doc: 'Epochs (TrainingArguments\' default; the seed\'s `max_steps` is commented out).' },
      max_steps: { kind: 'int', min: 0, default: 0, doc: 'Stop after this many optimizer steps; 0 trains `num_train_epochs`.' },
      packing: { kind: 'bool', default: false, doc: 'Padding-free packing of rows into `max_seq_length` sequences (off in the seed).' },
      save_steps: { kind: 'int', min: 0, default: 0, doc: 'Checkpoint every N steps; 0: at each epoch\'s end and on cancel only.' },
      gpus: { kind: 'int', min: 1, default: 1, doc: 'Data-parallel ranks on one worker (DDP, one process per GPU); the global batch is batch_size x gradient_accumulation_steps x gpus.' },
      plan: { kind: 'string', enum: ['seed', 'auto'], default: 'auto', doc: '`seed`: the layout exactly as given; `auto`: the worker re-splits the same global batch (larger micro-batch, no gradient checkpointing) where the GPU\'s memory allows, with the same loss and learning-rate schedule.' },
      experiment: { kind: 'string', default: 'default', doc: 'Tracking experiment the run is filed under.' },
      priority: { kind: 'int', default: 0, doc: 'Higher runs first in the queue.' },
      max_retries: { kind: 'int', min: 0, default: 2, doc: 'How often a job whose worker was lost resumes elsewhere from its last checkpoint.' },
      min_gpu_memory_gb: { kind: 'number', min: 0, default: 0, doc: 'Only workers with at least this much GPU memory take the job (0: any worker).' },
      tags: { kind: 'map', doc: 'Tags copied to the tracking run and the registered version.' },
      lora: {
        kind: 'object',
        doc: 'The adapter (`FastLanguageModel.get_peft_model`).',
        fields: {
          r: { kind: 'int', min: 1, default: 32, doc: 'Rank.' },
          alpha: { kind: 'number', min: 0, exclusiveMin: true, default: 16, doc: '`lora_alpha`.' },
          dropout: { kind: 'number', min: 0, max: 1, exclusiveMax: true, default: 0, doc: '`lora_dropout`.' },
          bias: { kind: 'string', enum: ['none', 'all', 'lora_only'], default: 'none', doc: 'Which biases train.' },
          target_modules: { kind: 'list', minItems: 1, default: SEED_TARGET_MODULES, doc: 'Modules to adapt.' },
          use_rslora: { kind: 'bool', default: false, doc: 'Rank-stabilized LoRA.' },
          use_loftq: { kind: 'bool', default: false, doc: 'LoftQ initialisation.' },
          random_state: { kind: 'int', min: 0, default: 8137, doc: 'Seed of the adapter\'s initialisation.' },
          gradient_checkpointing: { kind: 'string', enum: ['unsloth', 'true', 'false'], default: 'unsloth', doc: '`"unsloth"` in the seed (the hf backend uses `true`).' },
        },
      },
    },
  },
  export: {
    kind: 'object',
    doc: 'What the job saves besides checkpoints; each artifact is stored with its sha256 and size and registered.',
    fields: {
      adapter: { kind: 'bool', default: true, doc: 'LoRA adapter + tokenizer (`save_pretrained`).' },
      merged_16bit: { kind: 'bool', default: true, doc: 'Base + adapter merged to 16 bits (`save_pretrained_merged(..., "merged_16bit")`).' },
      gguf: { kind: 'bool', default: false, doc: 'A GGUF file (commented out in the seed).' },
      gguf_quantization: { kind: 'string', enum: ['f16', 'bf16', 'q8_0'], default: 'q8_0', doc: 'GGUF type.' },
    },
  },
  evaluation: {
    kind: 'object',
    doc: 'Before and after: the base model and the fine-tuned one answer the same items; the scores and a paired comparison are stored (the seed\'s before / after print).',
    fields: {
      set: { kind: 'string', default: 'seed-question', pattern: NAME, patternText: NAME_TEXT, doc: 'Evaluation set. The built-in `seed-question` holds the seed\'s test question (the 70-year-old with inferior + right-ventricular STEMI).' },
      set_path: { kind: 'string', path: 'file', doc: 'Create `set` from this JSONL file first (idempotent): multiple choice in MedQA\'s shape {question, options: {A..}, answer_idx}, or free-form {Question, Response}.' },
      set_kind: { kind: 'string', enum: ['multiple_choice', 'free_form'], default: 'multiple_choice', doc: 'Kind of the file in `set_path`.' },
      set_description: { kind: 'string', default: '', doc: 'Description of the created set.' },
      set_greedy: { kind: 'bool', default: false, doc: 'The created set pins greedy decoding (reproducible scores) for every run that does not set a temperature.' },
      limit: { kind: 'int', min: 0, default: 0, doc: 'Use at most this many items (0: all).' },
      before: { kind: 'bool', default: true, doc: 'Evaluate the base model before training (the seed\'s first print).' },
      max_new_tokens: { kind: 'int', min: 1, default: 1200, doc: 'Generation budget per answer.' },
      temperature: { kind: 'number', min: 0, doc: "Unset: greedy when the set pins it (`set_greedy`), else the base model's generation_config.json (the seed's generate(): sampling, 0.6 / 0.95 for DeepSeek-R1-Distill) with `seed`; 0 is greedy." },
      top_p: { kind: 'number', min: 0, max: 1, exclusiveMin: true, default: 1, doc: 'Nucleus sampling threshold.' },
      seed: { kind: 'int', min: 0, default: 8137, doc: 'Sampling seed.' },
      automation_timeout_s: { kind: 'int', min: 1, default: 120, doc: 'How long `medtune run` waits for the evaluation service to evaluate the registered version by itself (on `medtune.registry.version.created`) before starting that evaluation itself.' },
    },
  },
  register: {
    kind: 'object',
    doc: 'Registration happens through events: the job carries `register_as`, the registry registers the result when the job succeeds, the evaluation service evaluates it and moves the alias if it beats the holder.',
    fields: {
      enabled: { kind: 'bool', default: true, doc: 'Register the result (false: train and evaluate only).' },
      model: { kind: 'string', pattern: NAME, patternText: NAME_TEXT, doc: 'Registered model name. Default: `name`.' },
      alias: { kind: 'string', default: 'champion', pattern: /^[a-z0-9][a-z0-9_-]{0,62}$/, patternText: 'lowercase letters, digits, "_", "-"', doc: 'Alias the automation moves to a better version.' },
      metric: { kind: 'string', enum: ['accuracy', 'format_compliance', 'eval_loss'], doc: 'Metric that decides "better" (on `evaluation.set`). Default: `accuracy` for a multiple-choice set, `format_compliance` for a free-form one (such as `seed-question`).' },
      min_delta: { kind: 'number', min: 0, default: 0, doc: 'Minimum improvement over the alias holder.' },
      auto_promote: { kind: 'bool', default: true, doc: 'Let the automation move the alias.' },
    },
  },
};
