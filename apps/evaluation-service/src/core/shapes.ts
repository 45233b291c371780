/**
 * Where an evaluation set's fields are in benchmark files: presets (MedQA, MedMCQA, PubMedQA and
 * the training imports' medical-o1 / alpaca / chat) and explicit dotted paths, resolved once into
 * a {@link ResolvedShape}; then every record is read into one or more items (several
 * question / answer pairs nested in one case record become several items), each problem named by
 * the record's position and the field.
 */
import { evaluation } from '@medtune/contracts';
import { InvalidArgumentError } from '@medtune/kit';

const { EvalSetKind: K, EvalSetPreset: P, AnswerFormat: A } = evaluation;

/** A mapping with the preset's defaults filled in. */
export interface ResolvedShape {
  kind: evaluation.EvalSetKind;
  preset: evaluation.EvalSetPreset;
  /** '' one record per line / element; '*' the values of a top-level object; else a path. */
  records: string;
  id: string;
  /** Question paths tried in order (the first present wins; today's free form accepts either case). */
  question: string[];
  options: string;
  optionColumns: string[];
  answer: string[];
  answerFormat: evaluation.AnswerFormat;
  context: string;
  category: string;
  nested: string;
  /** alpaca: appended to the question after a newline when not empty. */
  input: string;
  /** chat: the conversation column ('' = messages, else conversations). */
  chat: boolean;
}

/** Fills in a request's mapping for a kind; conflicting or bad fields → INVALID_ARGUMENT. */
export function resolveShape(kind: evaluation.EvalSetKind, m: evaluation.EvalSetMapping | undefined): ResolvedShape {
  const preset = m?.preset ?? P.EVAL_SET_PRESET_UNSPECIFIED;
  const implied = impliedKind(preset);
  if (kind === K.EVAL_SET_KIND_UNSPECIFIED) kind = implied ?? kind;
  if (kind === K.EVAL_SET_KIND_UNSPECIFIED || kind === K.UNRECOGNIZED) {
    throw new InvalidArgumentError('kind', 'required: MULTIPLE_CHOICE, FREE_FORM or YES_NO_MAYBE (or a preset that implies one)');
  }
  if (implied !== undefined && implied !== kind) {
    throw new InvalidArgumentError('mapping.preset', `${presetName(preset)} sets are ${kindName(implied)}, not ${kindName(kind)}`);
  }
  for (const [field, v] of Object.entries({ records: m?.records, id: m?.id, question: m?.question, options: m?.options, answer: m?.answer, context: m?.context, category: m?.category, nested: m?.nested })) {
    if (v && v !== '*' && !parsePath(v)) throw new InvalidArgumentError(`mapping.${field}`, `not a dotted path: ${JSON.stringify(v)} (e.g. "data.question", "options.0", "['a.b']")`);
    if (v === '*' && field !== 'records') throw new InvalidArgumentError(`mapping.${field}`, '"*" is only meaningful for records');
  }
  if (m?.options && m.optionColumns.length) throw new InvalidArgumentError('mapping.option_columns', 'give options or option_columns, not both');
  if (m?.optionColumns.length === 1) throw new InvalidArgumentError('mapping.option_columns', 'needs at least 2 columns');
  if (kind !== K.EVAL_SET_KIND_MULTIPLE_CHOICE && (m?.options || m?.optionColumns.length || m?.answerFormat)) {
    throw new InvalidArgumentError('mapping.options', `options and answer_format apply to multiple-choice sets only (this set is ${kindName(kind)})`);
  }
  const d = defaults(kind, preset);
  const pick = (v: string | undefined, dv: string) => (v ? v : dv);
  return {
    ...d,
    kind,
    preset,
    records: pick(m?.records, d.records),
    id: pick(m?.id, d.id),
    question: m?.question ? [m.question] : d.question,
    options: m?.optionColumns.length ? '' : pick(m?.options, d.options),
    optionColumns: m?.optionColumns.length ? [...m.optionColumns] : m?.options ? [] : d.optionColumns,
    answer: m?.answer ? [m.answer] : d.answer,
    answerFormat: m?.answerFormat || d.answerFormat,
    context: pick(m?.context, d.context),
    category: pick(m?.category, d.category),
    nested: pick(m?.nested, d.nested),
  };
}

function impliedKind(p: evaluation.EvalSetPreset): evaluation.EvalSetKind | undefined {
  if (p === P.EVAL_SET_PRESET_MEDQA || p === P.EVAL_SET_PRESET_MEDMCQA) return K.EVAL_SET_KIND_MULTIPLE_CHOICE;
  if (p === P.EVAL_SET_PRESET_PUBMEDQA) return K.EVAL_SET_KIND_YES_NO_MAYBE;
  if (p === P.EVAL_SET_PRESET_MEDICAL_O1 || p === P.EVAL_SET_PRESET_ALPACA || p === P.EVAL_SET_PRESET_CHAT) return K.EVAL_SET_KIND_FREE_FORM;
  return undefined;
}

type Defaults = Omit<ResolvedShape, 'kind' | 'preset'>;
const NONE: Defaults = { records: '', id: '', question: [], options: '', optionColumns: [], answer: [], answerFormat: A.ANSWER_FORMAT_UNSPECIFIED, context: '', category: '', nested: '', input: '', chat: false };

function defaults(kind: evaluation.EvalSetKind, preset: evaluation.EvalSetPreset): Defaults {
  switch (preset) {
    case P.EVAL_SET_PRESET_MEDMCQA:
      return { ...NONE, id: 'id', question: ['question'], optionColumns: ['opa', 'opb', 'opc', 'opd'], answer: ['cop'], answerFormat: A.ANSWER_FORMAT_INDEX_1, category: 'subject_name' };
    case P.EVAL_SET_PRESET_PUBMEDQA:
      return { ...NONE, records: '*', question: ['QUESTION'], context: 'CONTEXTS', answer: ['final_decision'] };
    case P.EVAL_SET_PRESET_MEDICAL_O1:
      return { ...NONE, question: ['Question'], answer: ['Response'] };
    case P.EVAL_SET_PRESET_ALPACA:
      return { ...NONE, question: ['instruction'], input: 'input', answer: ['output'] };
    case P.EVAL_SET_PRESET_CHAT:
      return { ...NONE, chat: true };
    default:
      // MedQA and today's shapes.
      if (kind === K.EVAL_SET_KIND_MULTIPLE_CHOICE) return { ...NONE, question: ['question'], options: 'options', answer: ['answer_idx'], category: 'meta_info' };
      if (kind === K.EVAL_SET_KIND_YES_NO_MAYBE) return { ...NONE, question: ['question', 'QUESTION'], context: '', answer: ['final_decision', 'answer'] };
      return { ...NONE, question: ['Question', 'question'], answer: ['Response', 'response'] };
  }
}

/** "MULTIPLE_CHOICE" for messages. */
export function kindName(k: evaluation.EvalSetKind): string {
  return evaluation.evalSetKindToJSON(k).replace(/^EVAL_SET_KIND_/, '');
}

function presetName(p: evaluation.EvalSetPreset): string {
  return evaluation.evalSetPresetToJSON(p).replace(/^EVAL_SET_PRESET_/, '').toLowerCase();
}

/** The resolved shape as the contract's mapping (what a set records). */
export function shapeToMapping(s: ResolvedShape): evaluation.EvalSetMapping {
  return {
    preset: s.preset,
    records: s.records,
    id: s.id,
    question: s.question.join('|'),
    options: s.options,
    optionColumns: s.optionColumns,
    answer: s.answer.join('|'),
    answerFormat: s.answerFormat,
    context: s.context,
    category: s.category,
    nested: s.nested,
  };
}

// ---- dotted paths ----

/** "a.b.0" / "a['x.y'][2]" → keys, or undefined when malformed. */
export function parsePath(path: string): string[] | undefined {
  const keys: string[] = [];
  const re = /\[\s*'((?:[^'\\]|\\.)*)'\s*\]|\[\s*"((?:[^"\\]|\\.)*)"\s*\]|\[(\d+)\]|([^.[\]]+)/gy;
  let pos = 0;
  while (pos < path.length) {
    if (path[pos] === '.' && pos > 0) pos++;
    re.lastIndex = pos;
    const m = re.exec(path);
    if (!m) return undefined;
    keys.push(m[1] ?? m[2] ?? m[3] ?? m[4]!);
    pos = re.lastIndex;
  }
  return keys.length ? keys : undefined;
}

/** The value at a dotted path (undefined when any step is missing). */
export function getPath(value: unknown, path: string): unknown {
  let cur = value;
  for (const k of parsePath(path) ?? []) {
    if (Array.isArray(cur) && /^\d+$/.test(k)) cur = cur[Number(k)];
    else if (cur && typeof cur === 'object' && !Array.isArray(cur)) cur = (cur as Record<string, unknown>)[k];
    else return undefined;
  }
  return cur;
}
