/**
 * Server-side downsampling of a metric history to at most `maxPoints` points.
 *
 * Method (min/max decimation over aligned step buckets): the first and the last point are always
 * kept. With B = floor((maxPoints - 2) / 2), the bucket width w is the smallest power of two for
 * which the steps first..last fall into at most B buckets [k*w, (k+1)*w); each non-empty bucket
 * contributes its lowest and its highest value (the earliest step among equal values; one point
 * when both are the same point), in step order, without repeating the first or the last point.
 * So spikes and dips survive — a loss spike at one step is never averaged away — and the result
 * has at most 2 + 2B <= maxPoints points, all of them real stored points (no interpolation).
 * Histories that fit are returned as they are.
 *
 * The buckets are aligned to multiples of a power of two (not cut between the first and the
 * last step) so that a summary kept while points arrive (metrics/digest.ts: the same buckets at
 * a finer power of two, merged on the way out) gives exactly this answer without reading them.
 */

/** A point with the fields downsampling looks at. */
export interface StepValue {
  readonly step: number;
  readonly value: number;
}

/** Number of buckets of width `w` that steps first..last touch. */
export function bucketSpan(firstStep: number, lastStep: number, w: number): number {
  return Math.floor(lastStep / w) - Math.floor(firstStep / w) + 1;
}

/** The smallest power of two w >= 1 for which steps first..last touch at most `buckets` buckets (>= 1). */
export function bucketWidth(firstStep: number, lastStep: number, buckets: number): number {
  let w = 1;
  while (bucketSpan(firstStep, lastStep, w) > buckets) w *= 2;
  return w;
}

/** `a` is the lower of two points: smaller value, or the same value at an earlier step. */
export function isLower(a: StepValue, b: StepValue): boolean {
  return a.value < b.value || (a.value === b.value && a.step < b.step);
}

/** `a` is the higher of two points: larger value, or the same value at an earlier step. */
export function isHigher(a: StepValue, b: StepValue): boolean {
  return a.value > b.value || (a.value === b.value && a.step < b.step);
}

/** Buckets per answer of `maxPoints` points (see the file comment). */
export function bucketsFor(maxPoints: number): number {
  if (maxPoints < 2) throw new Error(`maxPoints must be >= 2 (got ${maxPoints})`);
  return Math.floor((maxPoints - 2) / 2);
}

/**
 * The answer from buckets given in ascending order as their lowest and highest point, and the
 * first and last point of the whole history: both extremes of each bucket in step order, the
 * first and last point once each.
 */
export function assemble<T extends StepValue>(first: T, last: T, buckets: Iterable<{ min: T; max: T }>): T[] {
  const out: T[] = [first];
  const push = (p: T) => {
    if (p.step !== first.step && p.step !== last.step) out.push(p);
  };
  for (const { min, max } of buckets) {
    const [a, b] = min.step <= max.step ? [min, max] : [max, min];
    push(a);
    if (b.step !== a.step) push(b);
  }
  if (last.step !== first.step) out.push(last);
  return out;
}

/** Downsamples points sorted by step, one per step (see the file comment); returns a new array. */
export function downsample<T extends StepValue>(points: readonly T[], maxPoints: number): T[] {
  const buckets = bucketsFor(maxPoints);
  if (points.length <= maxPoints) return points.slice();
  const first = points[0]!;
  const last = points[points.length - 1]!;
  if (buckets === 0) return [first, last];
  const w = bucketWidth(first.step, last.step, buckets);
  const extremes: { min: T; max: T }[] = [];
  let bucket = NaN;
  let cur: { min: T; max: T } | undefined;
  for (const p of points) {
    const b = Math.floor(p.step / w);
    if (b !== bucket || !cur) {
      bucket = b;
      extremes.push((cur = { min: p, max: p }));
      continue;
    }
    if (isLower(p, cur.min)) cur.min = p;
    if (isHigher(p, cur.max)) cur.max = p;
  }
  return assemble(first, last, extremes);
}
