/**
 * Paired comparison of two runs on the same items: per-metric deltas (candidate − baseline),
 * items gained and lost, the exact McNemar test on correctness, and the first items both ways
 * (the seed's before / after print, kept).
 */
import type { evaluation } from '@medtune/contracts';

const EXAMPLES = 20;

/**
 * Exact two-sided McNemar p-value for `b` and `c` discordant pairs: under H0 each discordant pair
 * goes either way with probability 1/2, so p = min(1, 2 · P(X <= min(b, c))), X ~ Binomial(b + c, 1/2).
 * 1 when there are no discordant pairs. Computed in log space so large n does not overflow.
 */
export function mcnemarExact(b: number, c: number): number {
  const n = b + c;
  if (n === 0) return 1;
  const k = Math.min(b, c);
  let logC = 0; // log C(n, 0)
  const terms: number[] = [];
  for (let i = 0; i <= k; i++) {
    if (i > 0) logC += Math.log(n - i + 1) - Math.log(i);
    terms.push(logC - n * Math.LN2);
  }
  const max = Math.max(...terms);
  const tail = Math.exp(max) * terms.reduce((s, t) => s + Math.exp(t - max), 0);
  return Math.min(1, 2 * tail);
}

/** Candidate − baseline for each metric both runs have. */
export function deltas(base: evaluation.Scores, cand: evaluation.Scores): Record<string, number> {
  const out: Record<string, number> = {
    format_compliance: cand.formatCompliance - base.formatCompliance,
    completion_tokens_p50: cand.completionTokensP50 - base.completionTokensP50,
    completion_tokens_p90: cand.completionTokensP90 - base.completionTokensP90,
    completion_tokens_p99: cand.completionTokensP99 - base.completionTokensP99,
    truncated_share: cand.truncatedShare - base.truncatedShare,
  };
  if (base.accuracy !== undefined && cand.accuracy !== undefined) out['accuracy'] = cand.accuracy - base.accuracy;
  if (base.evalLoss !== undefined && cand.evalLoss !== undefined) out['eval_loss'] = cand.evalLoss - base.evalLoss;
  if (base.rougeL !== undefined && cand.rougeL !== undefined) out['rouge_l'] = cand.rougeL - base.rougeL;
  if (base.tokenF1 !== undefined && cand.tokenF1 !== undefined) out['token_f1'] = cand.tokenF1 - base.tokenF1;
  return out;
}

/** What the pairing found (the comparison without ids and times). */
export interface PairedResult {
  items: number;
  gained: number;
  lost: number;
  mcnemarPValue?: number;
  /** Well formed for the candidate only / the baseline only, and McNemar on them. */
  formatGained: number;
  formatLost: number;
  formatMcnemarPValue: number;
  examples: evaluation.PairedItem[];
}

/**
 * Pairs the items by index. Both lists must cover the same indices (same set, same limit);
 * `multipleChoice` (any set with a correct answer: multiple choice, yes / no / maybe) decides
 * whether correctness (and so its McNemar) means anything; format compliance is paired always.
 */
export function pairItems(base: readonly evaluation.ItemResult[], cand: readonly evaluation.ItemResult[], multipleChoice: boolean): PairedResult {
  const byIndex = new Map(cand.map((i) => [i.index, i]));
  let gained = 0;
  let lost = 0;
  let formatGained = 0;
  let formatLost = 0;
  const examples: evaluation.PairedItem[] = [];
  let items = 0;
  for (const b of [...base].sort((x, y) => x.index - y.index)) {
    const c = byIndex.get(b.index);
    if (!c) continue;
    items++;
    if (c.correct && !b.correct) gained++;
    if (b.correct && !c.correct) lost++;
    if (c.formatOk && !b.formatOk) formatGained++;
    if (b.formatOk && !c.formatOk) formatLost++;
    if (examples.length < EXAMPLES) {
      examples.push({
        index: b.index,
        question: b.question,
        baselineOutput: b.output,
        candidateOutput: c.output,
        baselineCorrect: b.correct,
        candidateCorrect: c.correct,
        baselineFormatOk: b.formatOk,
        candidateFormatOk: c.formatOk,
      });
    }
  }
  return {
    items,
    gained,
    lost,
    ...(multipleChoice ? { mcnemarPValue: mcnemarExact(gained, lost) } : {}),
    formatGained,
    formatLost,
    formatMcnemarPValue: mcnemarExact(formatGained, formatLost),
    examples,
  };
}
