/**
 * Evaluation sets: checking rows into items (every malformed row reported with its number, and
 * nothing kept when any is), the canonical content digest, and the built-in "seed-question" set.
 */
import { createHash } from 'node:crypto';
import { evaluation } from '@medtune/contracts';
import { InvalidArgumentError } from '@medtune/kit';

const { EvalSetKind } = evaluation;

/** One item of a set. */
export interface EvalItem {
  /** 0-based position in the set. */
  index: number;
  question: string;
  /** Multiple choice: the options in file order as [letter, text]. */
  options: [string, string][];
  /** Multiple choice: the correct letter; free-form: the reference answer ('' when none). */
  answer: string;
}

/** A row read from a file: its 1-based number and the parsed value, or why it could not be parsed. */
export type RawRow = { row: number; value: unknown } | { row: number; error: string };

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

/** Checks one multiple-choice row; returns the item or the problems. */
function multipleChoice(value: unknown, index: number): EvalItem | string[] {
  if (!value || typeof value !== 'object' || Array.isArray(value)) return ['not a JSON object'];
  const o = value as Record<string, unknown>;
  const problems: string[] = [];
  const question = str(o['question'])?.trim();
  if (!question) problems.push('question: must be a non-empty string');
  const options: [string, string][] = [];
  const raw = o['options'];
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) problems.push('options: must be an object like {"A": "...", "B": "..."}');
  else {
    for (const [k, v] of Object.entries(raw as Record<string, unknown>)) {
      if (!/^[A-Z]$/.test(k)) problems.push(`options: key ${JSON.stringify(k)} is not a capital letter A-Z`);
      else if (!str(v)?.trim()) problems.push(`options.${k}: must be a non-empty string`);
      else options.push([k, (v as string).trim()]);
    }
    if (options.length < 2 && problems.length === 0) problems.push(`options: needs at least 2 options (got ${options.length})`);
  }
  const answer = str(o['answer_idx'])?.trim().toUpperCase();
  if (!answer) problems.push('answer_idx: must be the letter of the correct option');
  else if (options.length && !options.some(([k]) => k === answer)) {
    problems.push(`answer_idx: ${JSON.stringify(answer)} is not one of the options ${options.map(([k]) => k).join(', ')}`);
  }
  return problems.length ? problems : { index, question: question!, options, answer: answer! };
}

/** Checks one free-form row ({Question, Response}; lower-case keys accepted too). */
function freeForm(value: unknown, index: number): EvalItem | string[] {
  if (!value || typeof value !== 'object' || Array.isArray(value)) return ['not a JSON object'];
  const o = value as Record<string, unknown>;
  const question = str(o['Question'] ?? o['question'])?.trim();
  const responseRaw = o['Response'] ?? o['response'];
  const problems: string[] = [];
  if (!question) problems.push('Question: must be a non-empty string');
  if (responseRaw !== undefined && responseRaw !== null && typeof responseRaw !== 'string') problems.push('Response: must be a string when given');
  return problems.length ? problems : { index, question: question!, options: [], answer: str(responseRaw)?.trim() ?? '' };
}

/**
 * Turns rows into items. Any malformed row → InvalidArgumentError('path', ...) listing the first
 * rows with their numbers and problems, and how many in all; the caller stores nothing then.
 */
export async function itemsFromRows(kind: evaluation.EvalSetKind, rows: AsyncIterable<RawRow> | Iterable<RawRow>, limit = 0): Promise<EvalItem[]> {
  if (kind !== EvalSetKind.EVAL_SET_KIND_MULTIPLE_CHOICE && kind !== EvalSetKind.EVAL_SET_KIND_FREE_FORM) {
    throw new InvalidArgumentError('kind', 'required: MULTIPLE_CHOICE or FREE_FORM');
  }
  const check = kind === EvalSetKind.EVAL_SET_KIND_MULTIPLE_CHOICE ? multipleChoice : freeForm;
  const items: EvalItem[] = [];
  const errors: string[] = [];
  let bad = 0;
  for await (const r of rows) {
    if (limit && items.length + bad >= limit) break;
    const result = 'error' in r ? [r.error] : check(r.value, items.length);
    if (Array.isArray(result)) {
      bad++;
      if (errors.length < MAX_ERRORS_SHOWN) errors.push(`row ${r.row}: ${result.join('; ')}`);
    } else items.push(result);
  }
  if (bad > 0) {
    const more = bad > errors.length ? `; … ${bad - errors.length} more` : '';
    throw new InvalidArgumentError('path', `${bad} malformed row(s), nothing stored: ${errors.join(' | ')}${more}`);
  }
  if (items.length === 0) throw new InvalidArgumentError('path', 'the file holds no rows');
  return items;
}

/** sha256 of a set's canonical content (kind and items, whatever the file's formatting). */
export function contentSha256(kind: evaluation.EvalSetKind, items: readonly EvalItem[]): string {
  const h = createHash('sha256');
  h.update(`${evaluation.evalSetKindToJSON(kind)}\n`);
  for (const it of items) h.update(`${JSON.stringify([it.question, it.options, it.answer])}\n`);
  return h.digest('hex');
}
