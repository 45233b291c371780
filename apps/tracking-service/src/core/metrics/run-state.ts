/**
 * What the writer knows about one run's metric log: the next chunk number, the steps stored per
 * key (to refuse repeats), the summary per key (last / min / max / count) and the downsampled
 * digest per key (digest.ts), all rebuilt from the stored chunks when a run is first touched.
 */
import type { MetricSummaryRecord } from '../records';
import { SeriesDigest, type RunDigestData } from './digest';
import { StepSet } from './step-set';
import { lastSeqOf, type ChunkSeries, type MetricChunk, type PointInput } from './types';

interface SeriesState {
  readonly steps: StepSet;
  readonly digest: SeriesDigest;
  count: number;
  min: number;
  max: number;
  last: number;
  lastStep: number;
}

/** The outcome of planning one item of a write against a run's state. */
export interface PlannedItem {
  stored: number;
  duplicates: number;
}

/** The per-run state. Not safe for concurrent plans: the writer plans one batch at a time. */
export class RunMetricState {
  private readonly series = new Map<string, SeriesState>();
  private seq = 0;

  constructor(readonly runId: string) {}

  /** Rebuilds the state from a run's stored chunks (in seq order, no gaps). */
  static fromChunks(runId: string, chunks: readonly MetricChunk[]): RunMetricState {
    const state = new RunMetricState(runId);
    for (const c of chunks) state.apply(c);
    return state;
  }

  /** The seq the next chunk gets. */
  get nextSeq(): number {
    return this.seq;
  }

  /**
   * Splits items into the points to store (new (key, step), first occurrence in the batch wins)
   * and repeats. Returns the chunk to append (undefined when nothing is new) and the counts per
   * item; the state is unchanged until {@link apply} is called with the stored chunk.
   */
  plan(items: readonly (readonly PointInput[])[], storedAt: number): { chunk: MetricChunk | undefined; counts: PlannedItem[] } {
    const fresh = new Map<string, { steps: number[]; values: number[]; times: number[]; seen: Set<number> }>();
    const counts: PlannedItem[] = [];
    for (const points of items) {
      const c = { stored: 0, duplicates: 0 };
      for (const p of points) {
        let f = fresh.get(p.key);
        if (!f) fresh.set(p.key, (f = { steps: [], values: [], times: [], seen: new Set() }));
        if (f.seen.has(p.step) || this.series.get(p.key)?.steps.has(p.step)) {
          c.duplicates++;
          continue;
        }
        f.seen.add(p.step);
        f.steps.push(p.step);
        f.values.push(p.value);
        f.times.push(p.time);
        c.stored++;
      }
      counts.push(c);
    }
    const series: ChunkSeries[] = [];
    for (const [key, f] of fresh) if (f.steps.length) series.push({ key, steps: f.steps, values: f.values, times: f.times });
    return { chunk: series.length ? { runId: this.runId, seq: this.seq, series, storedAt } : undefined, counts };
  }

  /** Takes a stored chunk into account (it must be the next one). */
  apply(chunk: MetricChunk): void {
    if (chunk.seq !== this.seq) throw new Error(`metric log of ${this.runId}: chunk ${chunk.seq} applied, ${this.seq} expected`);
    this.seq = lastSeqOf(chunk) + 1;
    for (const s of chunk.series) {
      let st = this.series.get(s.key);
      if (!st) this.series.set(s.key, (st = { steps: new StepSet(), digest: new SeriesDigest(), count: 0, min: Infinity, max: -Infinity, last: 0, lastStep: -1 }));
      for (let i = 0; i < s.steps.length; i++) {
        const step = s.steps[i]!;
        const value = s.values[i]!;
        // A repeat inside stored chunks cannot happen through the writer; skipping keeps a
        // hand-edited log from double counting.
        if (!st.steps.add(step)) continue;
        st.digest.addPoint(step, value, s.times[i]!);
        st.count++;
        if (value < st.min) st.min = value;
        if (value > st.max) st.max = value;
        if (step > st.lastStep) {
          st.lastStep = step;
          st.last = value;
        }
      }
    }
  }

  /** One summary per key. */
  summaries(): MetricSummaryRecord[] {
    const out: MetricSummaryRecord[] = [];
    for (const [key, s] of this.series) {
      if (s.count > 0) out.push({ key, last: s.last, min: s.min, max: s.max, lastStep: s.lastStep, count: s.count });
    }
    return out;
  }

  /** The digest of a key (undefined: no point of it stored). */
  digest(key: string): SeriesDigest | undefined {
    return this.series.get(key)?.digest;
  }

  /** Every key's digest as plain data, covering the chunks applied so far. */
  digestData(): RunDigestData {
    return { runId: this.runId, nextSeq: this.seq, series: [...this.series].filter(([, s]) => s.count > 0).map(([key, s]) => s.digest.toData(key)) };
  }

  /** Rough size, for the writer's cache bound. */
  get entries(): number {
    let n = 0;
    for (const s of this.series.values()) n += s.steps.entries + s.digest.size + 1;
    return n;
  }
}
