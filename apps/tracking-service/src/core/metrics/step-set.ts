/**
 * The set of steps stored for one metric of one run, small for the usual shapes: steps that grow
 * by a constant stride (every step, or every `logging_steps`) are kept as arithmetic runs
 * ({first, stride, count}); a step that arrives out of order goes to a plain Set. A run of
 * 100 000 steps logged every 10 costs one segment instead of 100 000 entries.
 */
interface Segment {
  readonly first: number;
  stride: number;
  count: number;
}

/** Steps of one series; `has` answers whether a (run, key, step) point is stored already. */
export class StepSet {
  /** Ascending, disjoint ranges; every step of a segment is above the previous segment's last. */
  private readonly segments: Segment[] = [];
  private readonly scattered = new Set<number>();
  private highest = -1;
  private total = 0;

  /** Number of steps. */
  get size(): number {
    return this.total;
  }

  /** Highest step, -1 when empty. */
  get max(): number {
    return this.highest;
  }

  has(step: number): boolean {
    if (step > this.highest) return false;
    if (this.scattered.has(step)) return true;
    // Last segment whose first step is <= step.
    let lo = 0;
    let hi = this.segments.length - 1;
    let found = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (this.segments[mid]!.first <= step) {
        found = mid;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    if (found < 0) return false;
    const s = this.segments[found]!;
    const offset = step - s.first;
    return offset === 0 || (s.count > 1 && offset % s.stride === 0 && offset / s.stride < s.count);
  }

  /** Adds a step; false when it was there already. */
  add(step: number): boolean {
    if (this.has(step)) return false;
    this.total++;
    if (step <= this.highest) {
      this.scattered.add(step);
      return true;
    }
    const last = this.segments[this.segments.length - 1];
    // Out-of-order steps are all <= highest, so extending the last segment upwards never covers one.
    if (last && last.count === 1) {
      last.stride = step - last.first;
      last.count = 2;
    } else if (last && last.count > 1 && step - lastStepOf(last) === last.stride) {
      last.count++;
    } else {
      this.segments.push({ first: step, stride: 1, count: 1 });
    }
    this.highest = step;
    return true;
  }

  /** Memory footprint in entries (segments + scattered steps), for eviction decisions and tests. */
  get entries(): number {
    return this.segments.length + this.scattered.size;
  }
}

function lastStepOf(s: Segment): number {
  return s.first + s.stride * (s.count - 1);
}
