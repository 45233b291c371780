/**
 * Scoring: the answer letter of a multiple-choice output (read from the text after </think>),
 * the decision of a yes / no / maybe one, ROUGE-L and token F1 of a free-form one against its
 * reference, per-item results, and a run's aggregate scores with 95 % intervals and per-category
 * figures. Splitting <think>…</think> is
 * @medtune/prompting's extractAnswer; this module only reads letters and counts.
 */
import { evaluation } from '@medtune/contracts';
import { extractAnswer } from '@medtune/prompting';
import type { EvalItem } from './evalsets';
import { bootstrapMean, mean, wilson } from './stats';
import { rougeLF1, tokenF1 } from './textmetrics';

const { EvalSetKind } = evaluation;

/** Full-width letters, digits and punctuation → ASCII (Ｂ → B, （ → (, ： → :). */
function halfWidth(s: string): string {
  return s.replace(/[\uFF01-\uFF5E]/g, (c) => String.fromCharCode(c.charCodeAt(0) - 0xfee0)).replace(/\u3000/g, ' ');
}

// A letter standing alone: not glued to other letters (so the article in "A patient" or "a beta
// blocker" does not count unless it is marked as an option, see OPTION_MARK).
const L = '([A-Za-z])(?![A-Za-z])';
const OPEN = '[\\(\\[【]?\\s*';
const ZH_PHRASE = new RegExp(`(?:正确答案|最终答案|参考答案|答案|应选|故选|选择)\\s*(?:应该?是|应为|是|为|选|:)?\\s*(?:选项)?\\s*${OPEN}${L}`, 'g');
const EN_PHRASE = new RegExp(
  `\\b(?:(?:the\\s+)?(?:final\\s+|correct\\s+|best\\s+)?answer|correct\\s+(?:option|choice)|best\\s+(?:option|choice))\\s*(?:is|would\\s+be|should\\s+be|=|:)?\\s*(?:option\\s*|choice\\s*)?${OPEN}${L}`,
  'gi',
);
const BOXED = /\\boxed\{\s*(?:\\text\{)?\s*([A-Za-z])\s*\}?\s*\}/g;
const ALONE = /^\s*[([]?\s*([A-Za-z])\s*[)\]]?\s*[.)、:]?\s*$/;
const OPTION_MARK = /^\s*(?:\(([A-Za-z])\)|([A-Za-z])\s*[.)、:])/;
const ZH_OPTION = /(?:选项|选)\s*([A-Za-z])(?![A-Za-z])/g;
const BOLD = /\*\*\s*[([]?\s*([A-Za-z])\s*[)\]]?\s*[.)、:]?\s*\*\*/g;

function lastMatch(re: RegExp, text: string, valid: ReadonlySet<string>, strictCase: boolean): string {
  let found = '';
  for (const m of text.matchAll(re)) {
    const raw = m[1] ?? '';
    // A lower-case letter right after a phrase counts only when nothing word-like follows it
    // ("answer: b", "答案是b。"), never in running text ("the answer is a beta blocker").
    if (strictCase && raw === raw.toLowerCase()) {
      const rest = text.slice((m.index ?? 0) + m[0].length);
      if (/^\s*[A-Za-z]/.test(rest)) continue;
    }
    if (valid.has(raw.toUpperCase())) found = raw.toUpperCase();
  }
  return found;
}

function singleDistinct(re: RegExp, text: string, valid: ReadonlySet<string>): string {
  const letters = new Set([...text.matchAll(re)].map((m) => (m[1] ?? '').toUpperCase()).filter((l) => valid.has(l)));
  return letters.size === 1 ? [...letters][0]! : '';
}

/**
 * The option letter an answer text chooses, or '' when it cannot be told. Tried in order:
 * an answer phrase ("答案：B", "The answer is (B)", "\boxed{B}"; the last one wins), the whole
 * text being a letter ("B", "(b)", "**B**"), a leading option mark ("B. …", "(C) …"), "选项B" /
 * "选B", a bold letter, then the text equal to one option's text. Full-width letters and
 * lower case are accepted; a letter that is not one of `options` is not an answer.
 */
export function extractChoice(answerText: string, options: readonly [string, string][]): string {
  const valid = new Set(options.map(([k]) => k));
  const text = halfWidth(answerText).trim();
  if (!text) return '';
  const plain = text.replace(/\*\*|__/g, '');
  return (
    lastMatch(BOXED, plain, valid, false) ||
    lastMatch(ZH_PHRASE, plain, valid, true) ||
    lastMatch(EN_PHRASE, plain, valid, true) ||
    matchAlone(plain, valid) ||
    singleDistinct(ZH_OPTION, plain, valid) ||
    singleDistinct(BOLD, text, valid) ||
    byOptionText(plain, options)
  );
}

function matchAlone(text: string, valid: ReadonlySet<string>): string {
  const alone = ALONE.exec(text)?.[1]?.toUpperCase();
  if (alone && valid.has(alone)) return alone;
  const m = OPTION_MARK.exec(text);
  const mark = (m?.[1] ?? m?.[2])?.toUpperCase();
  return mark && valid.has(mark) ? mark : '';
}

function byOptionText(text: string, options: readonly [string, string][]): string {
  const norm = (s: string) => halfWidth(s).replace(/[\s。.!！]+$/g, '').trim().toLowerCase();
  const t = norm(text);
  const hits = options.filter(([, v]) => norm(v) === t);
  return hits.length === 1 ? hits[0]![0] : '';
}

/** One generated completion, as the worker returned it. */
export interface Completion {
  text: string;
  promptTokens: number;
  completionTokens: number;
  finishReason: string;
}

/**
 * The decision (yes / no / maybe) an answer text gives, or '' when it cannot be told: an answer
 * phrase first ("answer: no", "答案：是"), else the only decision word in the text.
 */
export function extractDecision(answerText: string): string {
  const text = halfWidth(answerText).toLowerCase().replace(/\*\*|__/g, '');
  const zh: Record<string, string> = { 是: 'yes', 对: 'yes', 否: 'no', 不是: 'no', 不: 'no', 可能: 'maybe', 也许: 'maybe', 不确定: 'maybe' };
  const phrase = /(?:final\s+answer|answer|decision|答案|结论)\s*(?:is|:|是|为)?\s*[([]?\s*(yes|no|maybe|不确定|不是|可能|也许|是|否|对|不)/g;
  let found = '';
  for (const m of text.matchAll(phrase)) found = zh[m[1]!] ?? m[1]!;
  if (found) return found;
  const words = new Set([...text.matchAll(/\b(yes|no|maybe)\b/g)].map((m) => m[1]!));
  return words.size === 1 ? [...words][0]! : '';
}

/** The per-item result of one completion. */
export function scoreItem(
  item: EvalItem,
  prompt: string,
  c: Completion,
  kind: evaluation.EvalSetKind | boolean,
  o: { promptEndsWithThink: boolean; stopTokens: readonly string[] },
): evaluation.ItemResult {
  const k = typeof kind === 'boolean' ? (kind ? EvalSetKind.EVAL_SET_KIND_MULTIPLE_CHOICE : EvalSetKind.EVAL_SET_KIND_FREE_FORM) : kind;
  const parsed = extractAnswer(c.text, { responseMarker: '', promptEndsWithThink: o.promptEndsWithThink, stopTokens: o.stopTokens });
  const mc = k === EvalSetKind.EVAL_SET_KIND_MULTIPLE_CHOICE;
  const ynm = k === EvalSetKind.EVAL_SET_KIND_YES_NO_MAYBE;
  const predicted = mc ? extractChoice(parsed.answer, item.options) : ynm ? extractDecision(parsed.answer) : '';
  // A free-form answer that never closed its reasoning is scored on all it said.
  const said = parsed.closed ? parsed.answer : parsed.reasoning;
  const withReference = k === EvalSetKind.EVAL_SET_KIND_FREE_FORM && item.answer !== '';
  return {
    index: item.index,
    question: item.question,
    prompt,
    output: c.text,
    answerText: parsed.answer,
    predicted,
    expected: item.answer,
    correct: (mc || ynm) && predicted !== '' && predicted === item.answer,
    formatOk: parsed.wellFormed,
    promptTokens: c.promptTokens,
    completionTokens: c.completionTokens,
    finishReason: c.finishReason,
    ...(item.itemId ? { itemId: item.itemId } : {}),
    ...(item.category ? { category: item.category } : {}),
    ...(withReference ? { rougeL: rougeLF1(said, item.answer), tokenF1: tokenF1(said, item.answer) } : {}),
  };
}

/** Whether a set's items have a correct answer to be scored against (accuracy, McNemar). */
export function hasAccuracy(kind: evaluation.EvalSetKind): boolean {
  return kind === EvalSetKind.EVAL_SET_KIND_MULTIPLE_CHOICE || kind === EvalSetKind.EVAL_SET_KIND_YES_NO_MAYBE;
}

/** The q-th percentile (0..100) with linear interpolation between ranks (numpy's default). */
export function percentile(values: readonly number[], q: number): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  const pos = ((sorted.length - 1) * q) / 100;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (pos - lo);
}

/** The share figures of a group of items, with their 95 % intervals. */
function shares(items: readonly evaluation.ItemResult[], withAccuracy: boolean) {
  const n = items.length;
  const right = items.filter((i) => i.correct).length;
  const ok = items.filter((i) => i.formatOk).length;
  const refs = items.filter((i) => i.rougeL !== undefined);
  const rouge = refs.map((i) => i.rougeL!);
  const f1 = refs.map((i) => i.tokenF1 ?? 0);
  return {
    ...(withAccuracy ? { accuracy: n ? right / n : 0, accuracyCi: wilson(right, n) } : {}),
    formatCompliance: n ? ok / n : 0,
    formatComplianceCi: wilson(ok, n),
    rouge,
    f1,
  };
}

/** A run's scores from its item results (`kind` true/false: multiple choice or not, as before). */
export function aggregate(items: readonly evaluation.ItemResult[], kind: evaluation.EvalSetKind | boolean, evalLoss?: number): evaluation.Scores {
  const k = typeof kind === 'boolean' ? (kind ? EvalSetKind.EVAL_SET_KIND_MULTIPLE_CHOICE : EvalSetKind.EVAL_SET_KIND_FREE_FORM) : kind;
  const withAccuracy = hasAccuracy(k);
  const n = items.length;
  const share = (f: (i: evaluation.ItemResult) => boolean) => (n ? items.filter(f).length / n : 0);
  const lengths = items.map((i) => i.completionTokens);
  const { rouge, f1, ...all } = shares(items, withAccuracy);
  const byCategory = new Map<string, evaluation.ItemResult[]>();
  for (const i of items) if (i.category) byCategory.set(i.category, [...(byCategory.get(i.category) ?? []), i]);
  const categories = [...byCategory.entries()]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([category, group]) => {
      const { rouge: r, f1: f, ...g } = shares(group, withAccuracy);
      return { category, items: group.length, ...g, ...(r.length ? { rougeL: mean(r), tokenF1: mean(f) } : {}) };
    });
  return {
    items: n,
    ...all,
    completionTokensP50: percentile(lengths, 50),
    completionTokensP90: percentile(lengths, 90),
    completionTokensP99: percentile(lengths, 99),
    truncatedShare: share((i) => i.finishReason === 'length'),
    ...(evalLoss !== undefined ? { evalLoss } : {}),
    unparsedAnswers: withAccuracy ? items.filter((i) => i.predicted === '').length : 0,
    ...(rouge.length ? { rougeL: mean(rouge), rougeLCi: bootstrapMean(rouge), tokenF1: mean(f1), tokenF1Ci: bootstrapMean(f1) } : {}),
    ...(categories.length ? { byCategory: { categories } } : {}),
  };
}
