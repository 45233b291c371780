/**
 * Server-side downsampling of a metric history to at most `maxPoints` points.
 *
 * Method (min/max decimation over equal step ranges): the first and the last point are always
 * kept. The step range between them is cut into B = floor((maxPoints - 2) / 2) buckets of equal
 * width; each non-empty bucket contributes its smallest and its largest value (one point if they
 * are the same point), in step order. So spikes and dips survive — a loss spike at one step is
 * never averaged away — and the result has at most 2 + 2B <= maxPoints points, all of them real
 * stored points (no interpolation). Histories that fit are returned as they are.
 */

/** A point with the fields downsampling looks at. */
export interface StepValue {
  readonly step: number;
  readonly value: number;
}

/** Downsamples points sorted by step (see the file comment); returns a new array. */
export function downsample<T extends StepValue>(points: readonly T[], maxPoints: number): T[] {
  if (maxPoints < 2) throw new Error(`maxPoints must be >= 2 (got ${maxPoints})`);
  if (points.length <= maxPoints) return points.slice();
  const first = points[0]!;
  const last = points[points.length - 1]!;
  const buckets = Math.floor((maxPoints - 2) / 2);
  if (buckets === 0) return [first, last];
  const lo = first.step;
  const width = (last.step - lo) / buckets;
  const out: T[] = [first];
  let i = 1;
  const end = points.length - 1;
  for (let b = 0; b < buckets && i < end; b++) {
    // Bucket b holds steps in [lo + b*width, lo + (b+1)*width); the last one takes the rest.
    const upper = b === buckets - 1 ? Infinity : lo + (b + 1) * width;
    let min: T | undefined;
    let max: T | undefined;
    let minAt = -1;
    let maxAt = -1;
    while (i < end && points[i]!.step < upper) {
      const p = points[i]!;
      if (!min || p.value < min.value) [min, minAt] = [p, i];
      if (!max || p.value > max.value) [max, maxAt] = [p, i];
      i++;
    }
    if (!min || !max) continue;
    if (minAt === maxAt) out.push(min);
    else if (minAt < maxAt) out.push(min, max);
    else out.push(max, min);
  }
  out.push(last);
  return out;
}
