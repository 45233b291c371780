/** Token statistics of a version: nearest-rank percentiles over the kept rows' token counts. */
import type { dataset } from '@medtune/contracts';

/**
 * The p-th percentile by nearest rank: the smallest count such that at least p% of the rows have
 * that many tokens or fewer, i.e. sorted[ceil(p/100 × N) − 1].
 */
export function percentile(sorted: ArrayLike<number>, p: number): number {
  if (sorted.length === 0) return 0;
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[rank - 1]!;
}

/** Statistics of token counts (any order) against a limit. */
export function tokenStats(counts: ArrayLike<number>, maxSeqLength: number): dataset.TokenStats {
  const sorted = Uint32Array.from(counts).sort();
  let total = 0;
  let over = 0;
  for (const c of sorted) {
    total += c;
    if (c > maxSeqLength) over++;
  }
  const n = sorted.length;
  return {
    rows: n,
    totalTokens: total,
    mean: n ? total / n : 0,
    p50: percentile(sorted, 50),
    p90: percentile(sorted, 90),
    p99: percentile(sorted, 99),
    max: n ? sorted[n - 1]! : 0,
    min: n ? sorted[0]! : 0,
    rowsOverMaxSeqLength: over,
    maxSeqLength,
  };
}
