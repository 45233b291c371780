/**
 * Scoring: the answer letter of a multiple-choice output (read from the text after </think>),
 * per-item results, and a run's aggregate scores. Splitting <think>…</think> is
 * @medtune/prompting's extractAnswer; this module only reads letters and counts.
 */
import type { evaluation } from '@medtune/contracts';
import { extractAnswer } from '@medtune/prompting';
import type { EvalItem } from './evalsets';

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

/** The per-item result of one completion. */
export function scoreItem(
  item: EvalItem,
  prompt: string,
  c: Completion,
  multipleChoice: boolean,
  o: { promptEndsWithThink: boolean; stopTokens: readonly string[] },
): evaluation.ItemResult {
  const parsed = extractAnswer(c.text, { responseMarker: '', promptEndsWithThink: o.promptEndsWithThink, stopTokens: o.stopTokens });
  const predicted = multipleChoice ? extractChoice(parsed.answer, item.options) : '';
  return {
    index: item.index,
    question: item.question,
    prompt,
    output: c.text,
    answerText: parsed.answer,
    predicted,
    expected: item.answer,
    correct: multipleChoice && predicted !== '' && predicted === item.answer,
    formatOk: parsed.wellFormed,
    promptTokens: c.promptTokens,
    completionTokens: c.completionTokens,
    finishReason: c.finishReason,
  };
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

/** A run's scores from its item results. */
export function aggregate(items: readonly evaluation.ItemResult[], multipleChoice: boolean, evalLoss?: number): evaluation.Scores {
  const n = items.length;
  const share = (f: (i: evaluation.ItemResult) => boolean) => (n ? items.filter(f).length / n : 0);
  const lengths = items.map((i) => i.completionTokens);
  return {
    items: n,
    ...(multipleChoice ? { accuracy: share((i) => i.correct) } : {}),
    formatCompliance: share((i) => i.formatOk),
    completionTokensP50: percentile(lengths, 50),
    completionTokensP90: percentile(lengths, 90),
    completionTokensP99: percentile(lengths, 99),
    truncatedShare: share((i) => i.finishReason === 'length'),
    ...(evalLoss !== undefined ? { evalLoss } : {}),
    unparsedAnswers: multipleChoice ? items.filter((i) => i.predicted === '').length : 0,
  };
}
