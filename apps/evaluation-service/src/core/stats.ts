/**
 * Intervals a reader can trust: Wilson score intervals for shares (accuracy, format compliance:
 * correct near 0 and 1 and for small n, unlike the normal approximation) and percentile
 * bootstrap intervals for means of per-item scores (ROUGE-L, token F1), with a fixed seed so a
 * run's interval never changes when read again.
 */
import type { evaluation } from '@medtune/contracts';

/** z for a two-sided 95 % interval. */
const Z95 = 1.959963984540054;

/** The 95 % Wilson score interval of k successes in n trials ([0, 1] when n = 0). */
export function wilson(k: number, n: number, z = Z95): evaluation.Interval {
  if (n <= 0) return { low: 0, high: 1, method: 'wilson' };
  const p = k / n;
  const z2 = z * z;
  const centre = (p + z2 / (2 * n)) / (1 + z2 / n);
  const half = (z / (1 + z2 / n)) * Math.sqrt((p * (1 - p)) / n + z2 / (4 * n * n));
  // Exact ends at k = 0 and k = n (the formula gives them up to rounding).
  return { low: k === 0 ? 0 : Math.max(0, centre - half), high: k === n ? 1 : Math.min(1, centre + half), method: 'wilson' };
}

/** A small seeded PRNG (mulberry32): the bootstrap must give the same interval every time. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The 95 % percentile bootstrap interval of the mean of `values` (resamples, seed fixed). */
export function bootstrapMean(values: readonly number[], resamples = 2000, seed = 8137): evaluation.Interval {
  const n = values.length;
  if (n === 0) return { low: 0, high: 0, method: 'bootstrap' };
  const next = rng(seed);
  const means = new Float64Array(resamples);
  for (let r = 0; r < resamples; r++) {
    let s = 0;
    for (let i = 0; i < n; i++) s += values[Math.floor(next() * n)]!;
    means[r] = s / n;
  }
  means.sort();
  const at = (q: number) => means[Math.min(resamples - 1, Math.max(0, Math.round(q * (resamples - 1))))]!;
  return { low: at(0.025), high: at(0.975), method: 'bootstrap' };
}

/** Mean of a list (0 when empty). */
export function mean(values: readonly number[]): number {
  return values.length ? values.reduce((s, v) => s + v, 0) / values.length : 0;
}
