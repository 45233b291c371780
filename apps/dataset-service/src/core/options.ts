/** Checking an import's options and filling in the defaults (the seed's, where it has one). */
import { InvalidArgumentError } from '@medtune/kit';
import { dataset, type common } from '@medtune/contracts';
import { resolveMapping, type ResolvedMapping } from './mapping';
import type { Layout } from './parse/source';
import type { Tokenizer } from './ports';

/** Default max_seq_length: the seed's. */
export const DEFAULT_MAX_SEQ_LENGTH = 4096;
/** Default eval_ratio. */
export const DEFAULT_EVAL_RATIO = 0.02;
/** Default split_seed: the seed's random_state. */
export const DEFAULT_SPLIT_SEED = 8137;

/** Dataset names: lowercase letters, digits, '-', '_', '.'; 1..100 characters. */
export const DATASET_NAME = /^[a-z0-9._-]{1,100}$/;
const LABEL_KEY = /^[A-Za-z0-9][A-Za-z0-9._/-]{0,62}$/;

/** Import options with every default resolved, before the template and tokenizer are looked up. */
export interface ImportPlan {
  readonly datasetName: string;
  /** Forced layout; undefined = detect. */
  readonly layout: Layout | undefined;
  readonly mapping: ResolvedMapping;
  readonly templateName: string;
  readonly tokenizerDir: string;
  readonly maxSeqLength: number;
  readonly evalRatio: number;
  readonly splitSeed: number;
  readonly invalidPolicy: 'reject' | 'skip';
  readonly duplicatePolicy: 'drop' | 'keep';
  readonly rejectOverLength: boolean;
  readonly labels: Record<string, string>;
  /** '' = the file's base name. */
  readonly sourceName: string;
}

/** An import's full settings: the plan plus the template and tokenizer it names. */
export interface ImportSettings extends ImportPlan {
  readonly template: common.PromptTemplate;
  readonly tokenizer: Tokenizer;
}

/** Checks the options; every problem is an InvalidArgumentError naming the field (`options.<field>`). */
export function planImport(o: dataset.ImportOptions | undefined, defaultTemplate: string): ImportPlan {
  const f = (name: string) => `options.${name}`;
  if (!o) throw new InvalidArgumentError('options', 'required');
  if (!DATASET_NAME.test(o.datasetName)) {
    throw new InvalidArgumentError(f('dataset_name'), `must be 1..100 of lowercase letters, digits, '-', '_', '.' (got ${JSON.stringify(o.datasetName)})`);
  }
  if (!o.tokenizerDir) throw new InvalidArgumentError(f('tokenizer_dir'), 'required: the base model directory whose tokenizer counts tokens');
  const maxSeqLength = o.maxSeqLength ?? DEFAULT_MAX_SEQ_LENGTH;
  if (!Number.isInteger(maxSeqLength) || maxSeqLength < 1) throw new InvalidArgumentError(f('max_seq_length'), `must be >= 1 (got ${maxSeqLength})`);
  const evalRatio = o.evalRatio ?? DEFAULT_EVAL_RATIO;
  if (!Number.isFinite(evalRatio) || evalRatio < 0 || evalRatio > 0.5) throw new InvalidArgumentError(f('eval_ratio'), `must be in [0, 0.5] (got ${evalRatio})`);
  const splitSeed = o.splitSeed ?? DEFAULT_SPLIT_SEED;
  if (!Number.isSafeInteger(splitSeed) || splitSeed < 0) throw new InvalidArgumentError(f('split_seed'), `must be an integer in [0, 2^53) (got ${splitSeed})`);
  for (const [k, v] of Object.entries(o.labels ?? {})) {
    if (!LABEL_KEY.test(k)) throw new InvalidArgumentError(f(`labels[${JSON.stringify(k)}]`), 'key must be 1..63 of letters, digits, ., _, /, - starting with a letter or digit');
    if (v.length > 256) throw new InvalidArgumentError(f(`labels[${JSON.stringify(k)}]`), 'value must be at most 256 characters');
  }
  if (o.sourceName.length > 200) throw new InvalidArgumentError(f('source_name'), 'must be at most 200 characters');
  const F = dataset.FileFormat;
  const layout = o.format === F.FILE_FORMAT_JSON_ARRAY ? 'json-array' : o.format === F.FILE_FORMAT_JSONL ? 'jsonl' : undefined;
  if (o.format !== F.FILE_FORMAT_UNSPECIFIED && !layout) throw new InvalidArgumentError(f('format'), `unknown format ${o.format}`);
  const I = dataset.InvalidRowPolicy;
  if (![I.INVALID_ROW_POLICY_UNSPECIFIED, I.INVALID_ROW_POLICY_REJECT, I.INVALID_ROW_POLICY_SKIP_INVALID].includes(o.invalidRowPolicy)) {
    throw new InvalidArgumentError(f('invalid_row_policy'), `unknown policy ${o.invalidRowPolicy}`);
  }
  const D = dataset.DuplicatePolicy;
  if (![D.DUPLICATE_POLICY_UNSPECIFIED, D.DUPLICATE_POLICY_DROP_AND_REPORT, D.DUPLICATE_POLICY_KEEP_AND_REPORT].includes(o.duplicatePolicy)) {
    throw new InvalidArgumentError(f('duplicate_policy'), `unknown policy ${o.duplicatePolicy}`);
  }
  return {
    datasetName: o.datasetName,
    layout,
    mapping: resolveMapping(o.mapping, f('mapping')),
    templateName: o.templateName || defaultTemplate,
    tokenizerDir: o.tokenizerDir,
    maxSeqLength,
    evalRatio,
    splitSeed,
    invalidPolicy: o.invalidRowPolicy === I.INVALID_ROW_POLICY_SKIP_INVALID ? 'skip' : 'reject',
    duplicatePolicy: o.duplicatePolicy === D.DUPLICATE_POLICY_KEEP_AND_REPORT ? 'keep' : 'drop',
    rejectOverLength: o.rejectOverLength,
    labels: { ...(o.labels ?? {}) },
    sourceName: o.sourceName,
  };
}

/** The settings that shape the stored rows and their training text: the digest's header. */
export function contentSettings(s: ImportSettings): Record<string, unknown> {
  return {
    mapping: s.mapping,
    inferenceFormat: s.template.inferenceFormat,
    trainFormat: s.template.trainFormat,
    tokenizer: s.tokenizer.fingerprint,
    eos: s.tokenizer.eosToken,
    maxSeqLength: s.maxSeqLength,
    evalRatio: s.evalRatio,
    splitSeed: s.splitSeed,
  };
}

/** Everything that decides what an import of given bytes produces (for the re-import shortcut). */
export function importSettings(s: ImportSettings): Record<string, unknown> {
  return {
    ...contentSettings(s),
    layout: s.layout ?? 'detect',
    invalidPolicy: s.invalidPolicy,
    duplicatePolicy: s.duplicatePolicy,
    rejectOverLength: s.rejectOverLength,
  };
}

/** The mapping as lineage records it. */
export function mappingMessage(m: ResolvedMapping): dataset.ColumnMapping {
  return { preset: m.preset, question: m.question, cot: m.cot, response: m.response, allowEmptyCot: m.allowEmptyCot };
}
