/**
 * Validates a parsed YAML value against {@link PIPELINE_SCHEMA}: every problem is collected with
 * its field path (and line:column when the YAML document is given), unknown fields get a "did you
 * mean", `${VAR}` / `${VAR:-default}` in strings are expanded from the environment, and defaults
 * are filled in. Pure: the environment is passed in.
 */
import type { FieldSchema } from './schema';

/** One problem of the file. */
export interface SpecIssue {
  /** Dotted path, e.g. "training.lora.r". */
  path: string;
  message: string;
  /** 1-based line and column, when known. */
  line?: number;
  col?: number;
}

/** The outcome of validation. */
export interface Validated {
  /** The value with defaults filled in (meaningful only when `issues` is empty). */
  value: Record<string, unknown>;
  /** Paths the file set explicitly (defaults not included). */
  explicit: Set<string>;
  issues: SpecIssue[];
}

/** Validates `input` (the YAML's top-level value) against `schema`. */
export function validateAgainst(schema: Readonly<Record<string, FieldSchema>>, input: unknown, env: Readonly<Record<string, string | undefined>>): Validated {
  const issues: SpecIssue[] = [];
  const explicit = new Set<string>();
  if (!isPlainObject(input)) {
    issues.push({ path: '(file)', message: `expected a mapping of fields (name:, base_model:, dataset:, ...), got ${describe(input)}` });
    return { value: {}, explicit, issues };
  }
  const value = walkObject(schema, input, '', issues, explicit, env);
  return { value, explicit, issues };
}

function walkObject(
  fields: Readonly<Record<string, FieldSchema>>,
  input: Record<string, unknown>,
  prefix: string,
  issues: SpecIssue[],
  explicit: Set<string>,
  env: Readonly<Record<string, string | undefined>>,
): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(input)) {
    if (!(key in fields)) {
      const hint = SYNONYMS[key] && SYNONYMS[key] in fields ? SYNONYMS[key] : closest(key, Object.keys(fields));
      issues.push({ path: join(prefix, key), message: `unknown field${hint ? ` (did you mean ${hint}?)` : ''}; known here: ${Object.keys(fields).join(', ')}` });
    }
  }
  for (const [key, schema] of Object.entries(fields)) {
    const path = join(prefix, key);
    const raw = input[key];
    if (raw === undefined || raw === null) {
      if (schema.kind === 'object') {
        if (schema.required) issues.push({ path, message: 'required' });
        out[key] = walkObject(schema.fields, {}, path, issues, explicit, env);
      } else if ('required' in schema && schema.required) {
        issues.push({ path, message: 'required' });
      } else if ('default' in schema && schema.default !== undefined) {
        out[key] = Array.isArray(schema.default) ? [...schema.default] : schema.default;
      } else if (schema.kind === 'map') {
        out[key] = {};
      }
      continue;
    }
    if (schema.kind === 'object') {
      if (!isPlainObject(raw)) issues.push({ path, message: `expected a mapping, got ${describe(raw)}` });
      out[key] = walkObject(schema.fields, isPlainObject(raw) ? raw : {}, path, issues, explicit, env);
      continue;
    }
    const v = checkScalar(schema, raw, path, issues, env);
    if (v !== undefined) {
      out[key] = v;
      explicit.add(path);
    }
  }
  return out;
}

function checkScalar(schema: FieldSchema, raw: unknown, path: string, issues: SpecIssue[], env: Readonly<Record<string, string | undefined>>): unknown {
  const bad = (message: string) => {
    issues.push({ path, message });
    return undefined;
  };
  switch (schema.kind) {
    case 'string': {
      if (typeof raw !== 'string' && typeof raw !== 'number') return bad(`expected a string, got ${describe(raw)}`);
      const s = expand(String(raw), env, (m) => bad(m));
      if (s === undefined) return undefined;
      if (schema.required && s.trim() === '') return bad('must not be empty');
      if (schema.enum && !schema.enum.includes(s)) return bad(`expected one of ${schema.enum.join(', ')}, got ${JSON.stringify(s)}`);
      if (schema.pattern && !schema.pattern.test(s)) return bad(`expected ${schema.patternText ?? schema.pattern.source}, got ${JSON.stringify(s)}`);
      return s;
    }
    case 'int':
    case 'number': {
      const n = typeof raw === 'string' && raw.trim() !== '' ? Number(expand(raw, env, () => undefined) ?? NaN) : raw;
      if (typeof n !== 'number' || !Number.isFinite(n)) return bad(`expected ${schema.kind === 'int' ? 'an integer' : 'a number'}, got ${describe(raw)}`);
      if (schema.kind === 'int' && !Number.isInteger(n)) return bad(`expected an integer, got ${n}`);
      const { min, max } = schema;
      const exMin = schema.kind === 'number' && schema.exclusiveMin;
      const exMax = schema.kind === 'number' && schema.exclusiveMax;
      if (min !== undefined && (exMin ? n <= min : n < min)) return bad(`must be ${exMin ? '>' : '>='} ${min} (got ${n})`);
      if (max !== undefined && (exMax ? n >= max : n > max)) return bad(`must be ${exMax ? '<' : '<='} ${max} (got ${n})`);
      return n;
    }
    case 'bool':
      if (typeof raw !== 'boolean') return bad(`expected true or false, got ${describe(raw)}`);
      return raw;
    case 'list': {
      const items = typeof raw === 'string' ? raw.split(',').map((s) => s.trim()) : raw;
      if (!Array.isArray(items) || items.some((i) => typeof i !== 'string' || i.trim() === '')) return bad(`expected a list of non-empty strings, got ${describe(raw)}`);
      if (schema.minItems !== undefined && items.length < schema.minItems) return bad(`needs at least ${schema.minItems} item(s)`);
      return items as string[];
    }
    case 'map': {
      if (!isPlainObject(raw)) return bad(`expected a mapping of strings, got ${describe(raw)}`);
      const out: Record<string, string> = {};
      for (const [k, v] of Object.entries(raw)) {
        if (typeof v !== 'string' && typeof v !== 'number' && typeof v !== 'boolean') {
          issues.push({ path: `${path}.${k}`, message: `expected a string, got ${describe(v)}` });
          continue;
        }
        out[k] = String(v);
      }
      return out;
    }
    default:
      return undefined;
  }
}

/** Expands ${VAR} and ${VAR:-default}; an unset variable without default is an issue. */
export function expand(s: string, env: Readonly<Record<string, string | undefined>>, onMissing: (message: string) => void): string | undefined {
  let missing: string | undefined;
  const out = s.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g, (_m, name: string, def: string | undefined) => {
    const v = env[name];
    if (v !== undefined && v !== '') return v;
    if (def !== undefined) return def;
    missing ??= name;
    return '';
  });
  if (missing) {
    onMissing(`environment variable ${missing} is not set (write \${${missing}:-default} for a default)`);
    return undefined;
  }
  return out;
}

// Names people bring from TrainingArguments, peft or other tools.
const SYNONYMS: Record<string, string> = {
  lr: 'learning_rate',
  epochs: 'num_train_epochs',
  per_device_train_batch_size: 'batch_size',
  grad_accum: 'gradient_accumulation_steps',
  lora_alpha: 'alpha',
  lora_dropout: 'dropout',
  lora_r: 'r',
  rank: 'r',
  optim: 'optimizer',
  model: 'base_model',
  seq_len: 'max_seq_length',
  max_length: 'max_seq_length',
};

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function describe(v: unknown): string {
  if (v === null || v === undefined) return 'nothing';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'a mapping';
  return `${typeof v} ${JSON.stringify(v)}`;
}

function join(prefix: string, key: string): string {
  return prefix ? `${prefix}.${key}` : key;
}

/** The closest known name within edit distance 3 (for "did you mean"). */
export function closest(word: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestD = 4;
  for (const c of candidates) {
    const d = distance(word.toLowerCase(), c.toLowerCase());
    if (d < bestD || (c.startsWith(word) && word.length >= 2 && bestD > 1)) {
      best = c;
      bestD = c.startsWith(word) ? Math.min(d, 1) : d;
    }
  }
  return best;
}

function distance(a: string, b: string): number {
  const dp = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let prev = dp[0]!;
    dp[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = dp[j]!;
      dp[j] = Math.min(dp[j]! + 1, dp[j - 1]! + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = tmp;
    }
  }
  return dp[b.length]!;
}
