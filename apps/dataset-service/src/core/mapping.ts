/**
 * Column mapping: which fields of a source row become the question, the chain of thought and the
 * answer. Presets cover the seed's schema (medical-o1-reasoning-SFT), alpaca and chat messages
 * (OpenAI `messages` / ShareGPT `conversations`); every column the mapping does not use is kept
 * as metadata.
 */
import { InvalidArgumentError } from '@medtune/kit';
import { dataset } from '@medtune/contracts';
import { typeName, type Issue } from './issues';

/** A mapping with its defaults filled in (what lineage records). */
export interface ResolvedMapping {
  readonly preset: dataset.MappingPreset;
  /** Question column (chat: the conversation column, '' = `messages` or else `conversations`). */
  readonly question: string;
  /** Chain-of-thought column ('' = none: alpaca without one, chat). */
  readonly cot: string;
  /** Answer column ('' for chat). */
  readonly response: string;
  readonly allowEmptyCot: boolean;
}

/** A row that mapped: the three texts plus the unmapped columns. */
export interface MappedRow {
  readonly question: string;
  readonly cot: string;
  readonly response: string;
  /** Unmapped columns as JSON text ('' when there are none), in the source's key order. */
  readonly metadataJson: string;
}

/** The outcome of mapping one row. */
export type MapResult = { readonly ok: true; readonly value: MappedRow } | { readonly ok: false; readonly issues: Issue[] };

const P = dataset.MappingPreset;
const COLUMN = /^[^\0]{1,200}$/;

/** Fills in a request's mapping; bad column names are INVALID_ARGUMENT naming the field. */
export function resolveMapping(m: dataset.ColumnMapping | undefined, field = 'options.mapping'): ResolvedMapping {
  const preset = m?.preset ?? P.MAPPING_PRESET_UNSPECIFIED;
  for (const key of ['question', 'cot', 'response'] as const) {
    const v = m?.[key] ?? '';
    if (v !== '' && !COLUMN.test(v)) throw new InvalidArgumentError(`${field}.${key}`, 'must be 1..200 characters without NUL');
  }
  const pick = (v: string | undefined, d: string): string => (v ? v : d);
  switch (preset) {
    case P.MAPPING_PRESET_UNSPECIFIED:
    case P.MAPPING_PRESET_MEDICAL_O1:
      return {
        preset: P.MAPPING_PRESET_MEDICAL_O1,
        question: pick(m?.question, 'Question'),
        cot: pick(m?.cot, 'Complex_CoT'),
        response: pick(m?.response, 'Response'),
        allowEmptyCot: m?.allowEmptyCot ?? false,
      };
    case P.MAPPING_PRESET_ALPACA: {
      const cot = m?.cot ?? '';
      return {
        preset,
        question: pick(m?.question, 'instruction'),
        cot,
        response: pick(m?.response, 'output'),
        // alpaca rows have no chain of thought unless a column for one is named
        allowEmptyCot: cot === '' ? true : (m?.allowEmptyCot ?? false),
      };
    }
    case P.MAPPING_PRESET_CHAT:
      if (m?.cot || m?.response) {
        throw new InvalidArgumentError(`${field}.${m.cot ? 'cot' : 'response'}`, 'the chat preset takes the chain of thought and answer from the assistant turn; name only the conversation column (question)');
      }
      return { preset, question: m?.question ?? '', cot: '', response: '', allowEmptyCot: m?.allowEmptyCot ?? false };
    default:
      throw new InvalidArgumentError(`${field}.preset`, `unknown preset ${String(preset)}`);
  }
}

/** Maps one decoded row (1-based `row`), reporting every problem it has. */
export function mapRow(value: unknown, row: number, mapping: ResolvedMapping): MapResult {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return { ok: false, issues: [{ row, column: '', code: 'WRONG_TYPE', message: `row is not a JSON object (got ${typeName(value)})`, fatal: true }] };
  }
  const obj = value as Record<string, unknown>;
  return mapping.preset === P.MAPPING_PRESET_CHAT ? mapChat(obj, row, mapping) : mapColumns(obj, row, mapping);
}

function mapColumns(obj: Record<string, unknown>, row: number, m: ResolvedMapping): MapResult {
  const issues: Issue[] = [];
  const text = (column: string, optional: boolean): string => {
    const v = obj[column];
    if (v === undefined) {
      if (!optional) issues.push({ row, column, code: 'MISSING', message: `column ${column} is missing`, fatal: true });
      return '';
    }
    if (typeof v !== 'string') {
      issues.push({ row, column, code: 'WRONG_TYPE', message: `column ${column}: expected a string, got ${typeName(v)}`, fatal: true });
      return '';
    }
    if (!optional && v.trim() === '') issues.push({ row, column, code: 'EMPTY', message: `column ${column} is empty`, fatal: true });
    return v;
  };
  let question = text(m.question, false);
  if (m.preset === P.MAPPING_PRESET_ALPACA) {
    const input = obj.input;
    if (input !== undefined && typeof input !== 'string') {
      issues.push({ row, column: 'input', code: 'WRONG_TYPE', message: `column input: expected a string, got ${typeName(input)}`, fatal: true });
    } else if (input && input.trim() !== '') question = `${question}\n${input}`;
  }
  const cot = m.cot ? text(m.cot, m.allowEmptyCot) : '';
  const response = text(m.response, false);
  if (issues.length > 0) return { ok: false, issues };
  const used = new Set([m.question, m.cot, m.response]);
  if (m.preset === P.MAPPING_PRESET_ALPACA) used.add('input');
  return { ok: true, value: { question, cot, response, metadataJson: metadataOf(obj, used) } };
}

type Turn = { role: string; content: unknown; path: string };

function mapChat(obj: Record<string, unknown>, row: number, m: ResolvedMapping): MapResult {
  const column = m.question || ('messages' in obj ? 'messages' : 'conversations');
  const fail = (code: Issue['code'], col: string, message: string): MapResult => ({ ok: false, issues: [{ row, column: col, code, message, fatal: true }] });
  const conv = obj[column];
  if (conv === undefined) return fail('MISSING', column, m.question ? `column ${column} is missing` : 'neither column messages nor conversations is present');
  if (!Array.isArray(conv)) return fail('WRONG_TYPE', column, `column ${column}: expected an array of turns, got ${typeName(conv)}`);
  const turns: Turn[] = [];
  for (let i = 0; i < conv.length; i++) {
    const t = conv[i] as Record<string, unknown> | null;
    const path = `${column}[${i}]`;
    if (typeof t !== 'object' || t === null || Array.isArray(t)) return fail('WRONG_TYPE', path, `${path}: expected an object, got ${typeName(t)}`);
    const role = t.role ?? t.from;
    if (typeof role !== 'string') return fail(role === undefined ? 'MISSING' : 'WRONG_TYPE', `${path}.role`, `${path}: expected a string role (or from)`);
    turns.push({ role: normaliseRole(role), content: 'content' in t ? t.content : t.value, path: `${path}.${'content' in t ? 'content' : 'value'}` });
  }
  const u = turns.findIndex((t) => t.role === 'user');
  if (u < 0) return fail('MISSING', column, `${column}: no user turn`);
  const a = turns[u + 1];
  if (!a || a.role !== 'assistant') return fail('MISSING', column, `${column}: no assistant turn right after the first user turn (${column}[${u}])`);
  const issues: Issue[] = [];
  const text = (t: Turn): string => {
    const v = contentText(t.content);
    if (v === undefined) issues.push({ row, column: t.path, code: 'WRONG_TYPE', message: `${t.path}: expected a string, got ${typeName(t.content)}`, fatal: true });
    else if (v.trim() === '') issues.push({ row, column: t.path, code: 'EMPTY', message: `${t.path} is empty`, fatal: true });
    return v ?? '';
  };
  const question = text(turns[u]!);
  const answer = text(a);
  if (issues.length > 0) return { ok: false, issues };
  const { cot, response } = splitThink(answer);
  if (response.trim() === '') return fail('EMPTY', a.path, `${a.path}: no answer after </think>`);
  if (cot.trim() === '' && !m.allowEmptyCot) {
    return fail('EMPTY', a.path, `${a.path}: no <think>…</think> reasoning (set mapping.allow_empty_cot to accept rows without one)`);
  }
  return { ok: true, value: { question, cot, response, metadataJson: metadataOf(obj, new Set([column])) } };
}

function normaliseRole(role: string): string {
  const r = role.toLowerCase();
  if (r === 'human') return 'user';
  if (r === 'gpt' || r === 'model' || r === 'bot') return 'assistant';
  return r;
}

// OpenAI content may be a list of parts; only text parts are read.
function contentText(content: unknown): string | undefined {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return undefined;
  let out = '';
  for (const part of content) {
    if (typeof part !== 'object' || part === null || (part as { type?: unknown }).type !== 'text') return undefined;
    const t = (part as { text?: unknown }).text;
    if (typeof t !== 'string') return undefined;
    out += t;
  }
  return out;
}

/** Splits an assistant turn at <think>…</think>: the reasoning inside, the answer after. */
export function splitThink(answer: string): { cot: string; response: string } {
  const close = answer.indexOf('</think>');
  if (close < 0) return { cot: '', response: answer };
  let cot = answer.slice(0, close).trim();
  if (cot.startsWith('<think>')) cot = cot.slice('<think>'.length).trim();
  return { cot, response: answer.slice(close + '</think>'.length).trim() };
}

function metadataOf(obj: Record<string, unknown>, used: ReadonlySet<string>): string {
  let rest: Record<string, unknown> | undefined;
  for (const key of Object.keys(obj)) {
    if (used.has(key)) continue;
    (rest ??= {})[key] = obj[key];
  }
  return rest ? JSON.stringify(rest) : '';
}
