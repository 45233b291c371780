/**
 * Evaluation sets: checking rows into items (every malformed row reported with its number, and
 * nothing kept when any is), the canonical content digest, and the built-in "seed-question" set.
 */
import { createHash } from 'node:crypto';
import { evaluation } from '@medtune/contracts';
import { InvalidArgumentError } from '@medtune/kit';
import { getPath, resolveShape, type ResolvedShape } from './shapes';


/** One item of a set. */
export interface EvalItem {
  /** 0-based position in the set. */
  index: number;
  question: string;
  /** Multiple choice: the options in file order as [letter, text]. */
  options: [string, string][];
  /** Multiple choice: the correct letter; yes/no/maybe: the decision; free-form: the reference ('' when none). */
  answer: string;
  /** The id in the source ('' when it has none). */
  itemId?: string;
  /** Category ('' when none). */
  category?: string;
  /** Shared context shown before the question ('' when none). */
  context?: string;
}

/** A row read from a file: its 1-based number and the parsed value, or why it could not be parsed. */
export type RawRow = { row: number; value: unknown; whole?: boolean } | { row: number; error: string };

/** The name of the built-in set holding the seed script's test question. */
export const SEED_SET_NAME = 'seed-question';

/** The seed script's before/after test question (verbatim). */
export const SEED_QUESTION =
  '一名70岁的男性患者因胸痛伴呕吐16小时就医，心电图显示下壁导联和右胸导联ST段抬高0.1~0.3mV，经补液后血压降至80/60mmHg，患者出现呼吸困难和不能平卧的症状，体检发现双肺有大量水泡音。在这种情况下，最恰当的药物处理是什么？';

/** Items of the built-in set. */
export const SEED_ITEMS: readonly EvalItem[] = [{ index: 0, question: SEED_QUESTION, options: [], answer: '' }];

const SET_NAME = /^[a-z0-9][a-z0-9._-]{0,99}$/;
const MAX_ERRORS_SHOWN = 20;

/** Checks an evaluation set name. */
export function checkSetName(name: string, field = 'name'): void {
  if (!name) throw new InvalidArgumentError(field, 'required');
  if (!SET_NAME.test(name)) throw new InvalidArgumentError(field, `must be 1..100 of lowercase letters, digits, '-', '_', '.' (got ${JSON.stringify(name)})`);
}

function str(v: unknown): string | undefined {
  return typeof v === 'string' ? v : undefined;
}

const LETTERS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ';
const DECISIONS = new Set(['yes', 'no', 'maybe']);

function typeOf(v: unknown): string {
  return v === null ? 'null' : Array.isArray(v) ? 'an array' : typeof v === 'object' ? 'an object' : typeof v;
}

/** Text of a context field: a string, or strings joined by newlines. */
function contextText(v: unknown, field: string, problems: string[]): string {
  if (v === undefined || v === null) return '';
  if (typeof v === 'string') return v.trim();
  if (Array.isArray(v) && v.every((x) => typeof x === 'string')) return (v as string[]).map((x) => x.trim()).filter(Boolean).join('\n');
  problems.push(`${field}: must be a string or a list of strings (got ${typeOf(v)})`);
  return '';
}

/** A scalar as an id / category ('' when absent). */
function label(v: unknown, field: string, problems: string[]): string {
  if (v === undefined || v === null || v === '') return '';
  if (typeof v === 'string') return v.trim();
  if (typeof v === 'number' && Number.isFinite(v)) return String(v);
  problems.push(`${field}: must be a string or a number (got ${typeOf(v)})`);
  return '';
}

function firstPresent(o: unknown, paths: readonly string[]): { path: string; value: unknown } {
  for (const p of paths) {
    const v = getPath(o, p);
    if (v !== undefined) return { path: p, value: v };
  }
  return { path: paths[0] ?? '', value: undefined };
}

function readOptions(o: unknown, s: ResolvedShape, problems: string[]): [string, string][] {
  const out: [string, string][] = [];
  if (s.optionColumns.length) {
    for (const [i, col] of s.optionColumns.entries()) {
      const v = getPath(o, col);
      const t = typeof v === 'number' ? String(v) : str(v)?.trim();
      if (!t) problems.push(`${col}: option ${LETTERS[i]} must be a non-empty string${v === undefined ? ' (missing)' : ''}`);
      else out.push([LETTERS[i]!, t]);
    }
    return out;
  }
  const raw = getPath(o, s.options);
  if (Array.isArray(raw)) {
    if (raw.length > LETTERS.length) problems.push(`${s.options}: at most ${LETTERS.length} options (got ${raw.length})`);
    for (const [i, v] of raw.slice(0, LETTERS.length).entries()) {
      const t = typeof v === 'number' ? String(v) : str(v)?.trim();
      if (!t) problems.push(`${s.options}[${i}]: must be a non-empty string`);
      else out.push([LETTERS[i]!, t]);
    }
  } else if (raw && typeof raw === 'object') {
    for (const [k, v] of Object.entries(raw as Record<string, unknown>)) {
      const key = k.trim().toUpperCase();
      const t = typeof v === 'number' ? String(v) : str(v)?.trim();
      if (!/^[A-Z]$/.test(key)) problems.push(`${s.options}: key ${JSON.stringify(k)} is not a letter A-Z`);
      else if (!t) problems.push(`${s.options}.${k}: must be a non-empty string`);
      else out.push([key, t]);
    }
  } else {
    problems.push(`${s.options}: must be a list of options or an object like {"A": "...", "B": "..."}${raw === undefined ? ' (missing)' : ` (got ${typeOf(raw)})`}`);
    return out;
  }
  if (problems.length === 0 && out.length < 2) problems.push(`${s.options}: needs at least 2 options (got ${out.length})`);
  return out;
}

const AF = evaluation.AnswerFormat;

/** The correct letter from the answer field, by the declared (or detected) format. */
function readAnswerLetter(v: unknown, field: string, options: [string, string][], fmt: evaluation.AnswerFormat, problems: string[]): string {
  const letters = options.map(([k]) => k);
  const byIndex = (base: 0 | 1) => {
    const n = typeof v === 'number' ? v : typeof v === 'string' && /^\s*\d+\s*$/.test(v) ? Number(v) : NaN;
    if (!Number.isInteger(n)) return void problems.push(`${field}: must be a ${base}-based option index (got ${JSON.stringify(v)})`), '';
    const letter = letters[n - base];
    if (!letter) return void problems.push(`${field}: index ${n} is outside the ${options.length} options (${base}-based)`), '';
    return letter;
  };
  const byText = (quiet: boolean) => {
    const t = typeof v === 'string' ? v.trim().toLowerCase() : undefined;
    const hits = t ? options.filter(([, x]) => x.toLowerCase() === t) : [];
    if (hits.length === 1) return hits[0]![0];
    if (!quiet) problems.push(`${field}: ${JSON.stringify(v)} ${hits.length ? 'matches several options' : 'is not the text of any option'}`);
    return '';
  };
  if (v === undefined || v === null || v === '') return void problems.push(`${field}: missing (the correct option)`), '';
  switch (fmt) {
    case AF.ANSWER_FORMAT_INDEX_0:
      return byIndex(0);
    case AF.ANSWER_FORMAT_INDEX_1:
      return byIndex(1);
    case AF.ANSWER_FORMAT_TEXT:
      return byText(false);
    default: {
      const letter = typeof v === 'string' ? v.trim().replace(/^[([]\s*|\s*[)\].]$/g, '').toUpperCase() : '';
      if (/^[A-Z]$/.test(letter)) {
        if (letters.includes(letter)) return letter;
        if (!options.some(([, x]) => x.trim().toUpperCase() === letter)) return void problems.push(`${field}: ${JSON.stringify(letter)} is not one of the options ${letters.join(', ')}`), '';
      }
      if (fmt === AF.ANSWER_FORMAT_LETTER) return void problems.push(`${field}: must be the letter of the correct option (got ${JSON.stringify(v)})`), '';
      if (typeof v === 'number') return void problems.push(`${field}: ${v} is a number; declare mapping.answer_format INDEX_0 or INDEX_1`), '';
      const t = byText(true);
      if (t) return t;
      return void problems.push(`${field}: ${JSON.stringify(v)} is neither one of the letters ${letters.join(', ')} nor the text of one option`), '';
    }
  }
}

/** The chat preset's question (first user turn) and reference (the next assistant turn after </think>). */
function readChat(o: Record<string, unknown>, problems: string[]): { question: string; answer: string } {
  const column = 'messages' in o ? 'messages' : 'conversations';
  const conv = o[column];
  if (!Array.isArray(conv)) return void problems.push(`${column}: must be a list of turns (got ${typeOf(conv)})`), { question: '', answer: '' };
  const turns = conv.map((t: unknown) => {
    const x = (t && typeof t === 'object' ? t : {}) as Record<string, unknown>;
    const role = String(x['role'] ?? x['from'] ?? '').toLowerCase();
    return { role: role === 'human' ? 'user' : role === 'gpt' || role === 'assistant' || role === 'model' ? 'assistant' : role, text: str(x['content'] ?? x['value']) ?? '' };
  });
  const u = turns.findIndex((t) => t.role === 'user');
  if (u < 0 || !turns[u]!.text.trim()) return void problems.push(`${column}: no user turn with text`), { question: '', answer: '' };
  const a = turns[u + 1]?.role === 'assistant' ? turns[u + 1]!.text : '';
  const close = a.indexOf('</think>');
  return { question: turns[u]!.text.trim(), answer: (close >= 0 ? a.slice(close + '</think>'.length) : a).trim() };
}

/**
 * One item from one record (or one nested pair, with its case as `outer`); returns the problems
 * instead when there are any, each as "field: what is wrong".
 */
function readItem(o: unknown, outer: unknown, s: ResolvedShape, index: number, fallbackId: string): EvalItem | string[] {
  if (!o || typeof o !== 'object' || Array.isArray(o)) return [`not a JSON object (got ${typeOf(o)})`];
  const problems: string[] = [];
  const fromEither = (path: string) => (path ? (getPath(o, path) ?? (outer === undefined ? undefined : getPath(outer, path))) : undefined);
  let question = '';
  let answer = '';
  let options: [string, string][] = [];
  if (s.chat) ({ question, answer } = readChat(o as Record<string, unknown>, problems));
  else {
    const q = firstPresent(o, s.question);
    question = str(q.value)?.trim() ?? '';
    if (!question) problems.push(`${q.path}: must be a non-empty string${q.value === undefined ? ' (missing)' : ''}`);
    if (s.input) {
      const extra = getPath(o, s.input);
      if (extra !== undefined && typeof extra !== 'string') problems.push(`${s.input}: must be a string`);
      else if (extra && extra.trim()) question = `${question}\n${extra.trim()}`;
    }
    const a = firstPresent(o, s.answer);
    if (s.kind === evaluation.EvalSetKind.EVAL_SET_KIND_MULTIPLE_CHOICE) {
      options = readOptions(o, s, problems);
      if (options.length >= 2) answer = readAnswerLetter(a.value, a.path, options, s.answerFormat, problems);
    } else if (s.kind === evaluation.EvalSetKind.EVAL_SET_KIND_YES_NO_MAYBE) {
      const dv = str(a.value)?.trim().toLowerCase() ?? '';
      if (!DECISIONS.has(dv)) problems.push(`${a.path}: must be yes, no or maybe (got ${JSON.stringify(a.value)})`);
      answer = dv;
    } else {
      if (a.value !== undefined && a.value !== null && typeof a.value !== 'string') problems.push(`${a.path}: must be a string when given (the reference answer)`);
      answer = str(a.value)?.trim() ?? '';
    }
  }
  const context = s.context ? contextText(fromEither(s.context), s.context, problems) : '';
  const category = s.category ? label(fromEither(s.category), s.category, problems) : '';
  const own = s.id ? label(getPath(o, s.id), s.id, problems) : '';
  if (problems.length) return problems;
  return { index, question, options, answer, itemId: own || fallbackId, category, context };
}

/** Turns a set's records into items (see {@link itemsFromRows}). */
function expand(value: unknown, s: ResolvedShape, index: number, key: string): (EvalItem | string[])[] {
  if (!s.nested) return [readItem(value, undefined, s, index, key)];
  const list = getPath(value, s.nested);
  if (!Array.isArray(list) || list.length === 0) return [[`${s.nested}: must be a non-empty list of question / answer pairs (got ${typeOf(list)})`]];
  const caseProblems: string[] = [];
  const caseId = (s.id ? label(getPath(value, s.id), s.id, caseProblems) : '') || key;
  if (caseProblems.length) return [caseProblems];
  return list.map((pair, k) => {
    const r = readItem(pair, value, s, index + k, `${caseId}/${k + 1}`);
    if (Array.isArray(r)) return r.map((p) => `${s.nested}[${k}].${p}`);
    // A pair's own id is kept under its case.
    if (caseId && r.itemId !== `${caseId}/${k + 1}` && s.id) r.itemId = `${caseId}/${r.itemId}`;
    return r;
  });
}

/** Whether a parsed top-level object looks like records keyed by id (every value an object). */
function keyedRecords(v: unknown): boolean {
  if (!v || typeof v !== 'object' || Array.isArray(v)) return false;
  const vals = Object.values(v as Record<string, unknown>);
  return vals.length > 0 && vals.every((x) => x !== null && typeof x === 'object');
}

/**
 * Turns rows into items. Any malformed record → InvalidArgumentError('path', ...) listing the first
 * ones with their position and field, and how many in all; the caller stores nothing then.
 * A whole-file JSON object (the reader's `whole` row) is read by `shape.records`: '*' takes its
 * values keyed by id, a path takes the list (or keyed object) inside it; without either it is
 * refused with a message that says how to map it.
 */
export async function itemsFromRows(kindOrShape: evaluation.EvalSetKind | ResolvedShape, rows: AsyncIterable<RawRow> | Iterable<RawRow>, limit = 0): Promise<EvalItem[]> {
  const s = typeof kindOrShape === 'object' ? kindOrShape : resolveShape(kindOrShape, undefined);
  const items: EvalItem[] = [];
  const errors: string[] = [];
  let bad = 0;
  const add = (where: string, results: (EvalItem | string[])[]) => {
    for (const r of results) {
      if (limit && items.length + bad >= limit) return false;
      if (Array.isArray(r)) {
        bad++;
        if (errors.length < MAX_ERRORS_SHOWN) errors.push(`${where}: ${r.join('; ')}`);
      } else items.push(r);
    }
    return true;
  };
  for await (const r of rows) {
    if ('error' in r) {
      if (!add(`row ${r.row}`, [[r.error]])) break;
      continue;
    }
    if (r.whole || s.records) {
      for (const [where, key, value] of wholeRecords(r.value, s, Boolean(r.whole))) {
        if (!add(where, expand(value, s, items.length, key))) break;
      }
      continue;
    }
    if (!add(`row ${r.row}`, expand(r.value, s, items.length, ''))) break;
  }
  if (bad > 0) {
    const more = bad > errors.length ? `; … ${bad - errors.length} more` : '';
    throw new InvalidArgumentError('path', `${bad} malformed row(s), nothing stored: ${errors.join(' | ')}${more}`);
  }
  if (items.length === 0) throw new InvalidArgumentError('path', 'the file holds no rows');
  return items;
}

/** The records of a whole-file value, each with where it is (for messages) and its key. */
function wholeRecords(v: unknown, s: ResolvedShape, whole: boolean): [string, string, unknown][] {
  if (!s.records) {
    // A single record in a one-object file is just a row; records keyed by id need a mapping.
    if (!keyedRecords(v)) return [['row 1', '', v]];
    const keys = Object.keys(v as object);
    throw new InvalidArgumentError(
      'mapping.records',
      `the file is one JSON object of ${keys.length} records keyed by id (${keys.slice(0, 3).map((k) => JSON.stringify(k)).join(', ')}${keys.length > 3 ? ', …' : ''}), not JSON lines or an array: set mapping.records to "*" to read its values (the key becomes the item id), or to the path of the list inside it`,
    );
  }
  if (!whole && s.records !== '*') throw new InvalidArgumentError('mapping.records', `records ${JSON.stringify(s.records)} needs a file holding one JSON object`);
  const inner = s.records === '*' ? v : getPath(v, s.records);
  const label = s.records === '*' ? 'the top-level object' : s.records;
  if (Array.isArray(inner)) return inner.map((x, i) => [`${label}[${i}] (record ${i + 1})`, '', x]);
  if (inner && typeof inner === 'object') {
    return Object.entries(inner as Record<string, unknown>).map(([k, x], i) => [`record ${JSON.stringify(k)} (record ${i + 1})`, k, x]);
  }
  throw new InvalidArgumentError('mapping.records', `${label} must be a list or an object of records (got ${typeOf(inner)})`);
}

/** sha256 of a set's canonical content (kind and items, whatever the file's formatting). */
export function contentSha256(kind: evaluation.EvalSetKind, items: readonly EvalItem[]): string {
  const h = createHash('sha256');
  h.update(`${evaluation.evalSetKindToJSON(kind)}\n`);
  // Items without the newer fields hash as before, so existing sets keep their digest.
  for (const it of items) {
    const extra = it.itemId || it.category || it.context ? [it.itemId ?? '', it.category ?? '', it.context ?? ''] : [];
    h.update(`${JSON.stringify([it.question, it.options, it.answer, ...extra])}\n`);
  }
  return h.digest('hex');
}
