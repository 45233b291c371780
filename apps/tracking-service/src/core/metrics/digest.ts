/**
 * The downsampled summary of one metric of one run, kept as its points are stored: the points
 * fall into buckets [k*W, (k+1)*W) of a power-of-two width W, at most `capacity` of them between
 * the first and the last step (W doubles, merging pairs of buckets, when the steps outgrow them);
 * each bucket keeps its lowest and its highest point, the digest the first and the last point and
 * the count. A point is added once: the writer adds only the points it stores (a re-delivered
 * (run, key, step) is refused before it gets here), so the digest is a function of the stored
 * points, whatever their arrival order.
 *
 * `downsampled(maxPoints)` gives exactly what `downsample()` (../downsample.ts) gives for all the
 * stored points, whenever the answer's bucket width is a multiple of W (buckets merge exactly);
 * it returns undefined when it cannot (the caller reads the points): a history that fits in
 * maxPoints and has more than one point in some bucket, or an answer finer than W. With
 * `capacity` >= B (the answer's buckets) the width is never too fine: the default 1,024 serves
 * every answer up to 2,050 points (the dashboard asks for at most 2,000).
 */
import { assemble, bucketSpan, bucketWidth, bucketsFor, isHigher, isLower } from '../downsample';

/** A stored point as the digest keeps it. */
export interface DigestPoint {
  readonly step: number;
  readonly value: number;
  /** ms since the epoch. */
  readonly time: number;
}

interface Bucket {
  min: DigestPoint;
  max: DigestPoint;
}

/** Buckets between the first and the last step, at most. */
export const DIGEST_CAPACITY = 1_024;

/** A digest as plain data (storage): bucket extremes as parallel arrays, in bucket order. */
export interface SeriesDigestData {
  readonly key: string;
  readonly width: number;
  readonly count: number;
  /** [step, value, time] of the first and the last point. */
  readonly first: readonly [number, number, number];
  readonly last: readonly [number, number, number];
  readonly minSteps: number[];
  readonly minValues: number[];
  readonly minTimes: number[];
  readonly maxSteps: number[];
  readonly maxValues: number[];
  readonly maxTimes: number[];
}

/** The digests of a run's metrics, covering its log's chunks 0..nextSeq-1. */
export interface RunDigestData {
  readonly runId: string;
  readonly nextSeq: number;
  readonly series: readonly SeriesDigestData[];
}

/** See the file comment. */
export class SeriesDigest {
  private w = 1;
  private n = 0;
  private firstPoint: DigestPoint | undefined;
  private lastPoint: DigestPoint | undefined;
  private buckets = new Map<number, Bucket>();

  constructor(readonly capacity = DIGEST_CAPACITY) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new Error(`digest capacity must be a positive integer (got ${capacity})`);
  }

  /** Points added. */
  get count(): number {
    return this.n;
  }

  /** The bucket width (a power of two). */
  get width(): number {
    return this.w;
  }

  /** Buckets held (memory, tests). */
  get size(): number {
    return this.buckets.size;
  }

  /** Adds a point whose step is not in the digest yet. */
  add(p: DigestPoint): void {
    this.addPoint(p.step, p.value, p.time);
  }

  /** The same, without an object per point (the writer's hot path: most points are no extreme). */
  addPoint(step: number, value: number, time: number): void {
    this.n++;
    const k = Math.floor(step / this.w);
    const b = this.buckets.get(k);
    const first = this.firstPoint;
    const last = this.lastPoint;
    const isFirst = !first || step < first.step;
    const isLast = !last || step > last.step;
    const lower = !b || value < b.min.value || (value === b.min.value && step < b.min.step);
    const higher = !b || value > b.max.value || (value === b.max.value && step < b.max.step);
    if (!(isFirst || isLast || lower || higher)) return;
    const p: DigestPoint = { step, value, time };
    if (isFirst) this.firstPoint = p;
    if (isLast) this.lastPoint = p;
    if (!b) this.buckets.set(k, { min: p, max: p });
    else {
      if (lower) b.min = p;
      if (higher) b.max = p;
    }
    if (isFirst || isLast) {
      while (bucketSpan(this.firstPoint!.step, this.lastPoint!.step, this.w) > this.capacity) this.coarsen();
    }
  }

  /** The answer of downsample(all points, maxPoints), or undefined when the digest cannot give it exactly. */
  downsampled(maxPoints: number): DigestPoint[] | undefined {
    const nb = bucketsFor(maxPoints);
    const first = this.firstPoint;
    const last = this.lastPoint;
    if (!first || !last) return [];
    if (this.n <= maxPoints) {
      // Every point, which the digest holds only when each bucket holds one.
      if (this.n !== this.buckets.size) return undefined;
      return this.sorted().map(([, b]) => b.min);
    }
    if (nb === 0) return [first, last];
    const w = bucketWidth(first.step, last.step, nb);
    if (w < this.w) return undefined;
    const factor = w / this.w;
    const merged: Bucket[] = [];
    let current = NaN;
    for (const [k, b] of this.sorted()) {
      const target = Math.floor(k / factor);
      const top = merged[merged.length - 1];
      if (target !== current || !top) {
        current = target;
        merged.push({ min: b.min, max: b.max });
      } else {
        if (isLower(b.min, top.min)) top.min = b.min;
        if (isHigher(b.max, top.max)) top.max = b.max;
      }
    }
    return assemble(first, last, merged);
  }

  /** The digest as plain data. */
  toData(key: string): SeriesDigestData {
    const sorted = this.sorted();
    const pt = (p: DigestPoint | undefined): [number, number, number] => (p ? [p.step, p.value, p.time] : [0, 0, 0]);
    return {
      key,
      width: this.w,
      count: this.n,
      first: pt(this.firstPoint),
      last: pt(this.lastPoint),
      minSteps: sorted.map(([, b]) => b.min.step),
      minValues: sorted.map(([, b]) => b.min.value),
      minTimes: sorted.map(([, b]) => b.min.time),
      maxSteps: sorted.map(([, b]) => b.max.step),
      maxValues: sorted.map(([, b]) => b.max.value),
      maxTimes: sorted.map(([, b]) => b.max.time),
    };
  }

  /** A digest from its plain data (checked: stored data may be damaged). */
  static fromData(d: SeriesDigestData, capacity = DIGEST_CAPACITY): SeriesDigest {
    const n = d.minSteps.length;
    const lengths = [d.minValues, d.minTimes, d.maxSteps, d.maxValues, d.maxTimes].map((a) => a.length);
    if (lengths.some((l) => l !== n)) throw new Error(`metric digest of ${d.key}: bucket arrays of different lengths`);
    if (!(d.width >= 1) || Math.log2(d.width) % 1 !== 0) throw new Error(`metric digest of ${d.key}: width ${d.width} is not a power of two`);
    if (d.count < n || (d.count > 0) !== (n > 0)) throw new Error(`metric digest of ${d.key}: ${d.count} points in ${n} buckets`);
    const s = new SeriesDigest(Math.max(capacity, n));
    s.w = d.width;
    s.n = d.count;
    if (d.count > 0) {
      s.firstPoint = { step: d.first[0], value: d.first[1], time: d.first[2] };
      s.lastPoint = { step: d.last[0], value: d.last[1], time: d.last[2] };
    }
    for (let i = 0; i < n; i++) {
      const k = Math.floor(d.minSteps[i]! / d.width);
      if (Math.floor(d.maxSteps[i]! / d.width) !== k || s.buckets.has(k)) throw new Error(`metric digest of ${d.key}: bucket ${i} is not one bucket`);
      s.buckets.set(k, {
        min: { step: d.minSteps[i]!, value: d.minValues[i]!, time: d.minTimes[i]! },
        max: { step: d.maxSteps[i]!, value: d.maxValues[i]!, time: d.maxTimes[i]! },
      });
    }
    return s;
  }

  private sorted(): [number, Bucket][] {
    return [...this.buckets].sort((a, b) => a[0] - b[0]);
  }

  private coarsen(): void {
    const next = new Map<number, Bucket>();
    for (const [k, b] of this.buckets) {
      const j = Math.floor(k / 2);
      const into = next.get(j);
      if (!into) next.set(j, b);
      else {
        if (isLower(b.min, into.min)) into.min = b.min;
        if (isHigher(b.max, into.max)) into.max = b.max;
      }
    }
    this.buckets = next;
    this.w *= 2;
  }
}

/** Digests by key, read back from storage. */
export function digestsFromData(d: RunDigestData): Map<string, SeriesDigest> {
  return new Map(d.series.map((s) => [s.key, SeriesDigest.fromData(s)]));
}
