/**
 * The metric writer: stores batches of points, each (run, key, step) at most once, as one chunk
 * per run per batch (see types.ts for the log and its compare-and-set). Writes run one batch at a
 * time; the state of recently written runs is cached and rebuilt from the log when missing.
 */
import { AbortedError, type Clock, type Logger } from '@medtune/kit';
import type { MetricSummaryRecord } from '../records';
import type { RunDigestData, SeriesDigest } from './digest';
import { RunMetricState } from './run-state';
import type { MetricChunk, MetricLogStore, PointInput } from './types';

/** Points for one run, as one caller (a NATS message, a LogMetrics call) gave them. */
export interface WriteItem {
  readonly runId: string;
  readonly points: readonly PointInput[];
}

/** What happened to one item. */
export interface WriteOutcome {
  /** Points newly stored. */
  stored: number;
  /** Points ignored because their (run, key, step) was stored already (or earlier in the batch). */
  duplicates: number;
}

/**
 * Runs that may have stored points whose summaries the run record does not show yet. Marked
 * before the first chunk of a run is written in a process; reconciled at start (see Liveness).
 */
export interface DirtyMarks {
  mark(runIds: readonly string[]): Promise<void>;
  clear(runId: string): Promise<void>;
  list(): Promise<string[]>;
}

/** Dependencies and limits of the writer. */
export interface MetricWriterDeps {
  readonly store: MetricLogStore;
  readonly dirty: DirtyMarks;
  readonly clock: Clock;
  readonly log: Logger;
  /**
   * Called after each batch with the chunks it stored (in seq order per run) and, per run, its
   * summaries and next chunk number right after them (taken in the write: the cache may drop the
   * run meanwhile).
   */
  readonly onStored?: (chunks: readonly MetricChunk[], after: ReadonlyMap<string, RunSummaries>) => void;
  /** Runs whose state stays cached (least recently written go first); default 1000. */
  readonly maxCachedRuns?: number;
  /** Attempts of a batch whose run logs keep changing under it (another writer); default 4. */
  readonly maxAttempts?: number;
}

/** A run's summaries and the chunks they cover. */
export interface RunSummaries {
  readonly summaries: MetricSummaryRecord[];
  readonly nextSeq: number;
}

/** Stores metric points exactly once per (run, key, step). */
export class MetricWriter {
  private readonly states = new Map<string, RunMetricState>();
  private readonly marked = new Set<string>();
  private tail: Promise<unknown> = Promise.resolve();

  constructor(private readonly deps: MetricWriterDeps) {}

  /** Stores the items' points (one chunk per run); resolves once they are durable and readable. */
  write(items: readonly WriteItem[]): Promise<WriteOutcome[]> {
    const run = this.tail.then(() => this.writeNow(items));
    this.tail = run.catch(() => undefined);
    return run;
  }

  /** The summaries of a run whose state is cached (fresh to the last batch); undefined otherwise. */
  cachedSummaries(runId: string): MetricSummaryRecord[] | undefined {
    return this.states.get(runId)?.summaries();
  }

  /** The next chunk number of a run whose state is cached; undefined otherwise. */
  cachedNextSeq(runId: string): number | undefined {
    return this.states.get(runId)?.nextSeq;
  }

  /**
   * The digest of a run's key if the run's state is cached (fresh to the last batch), with the
   * chunks it covers; `digest` is undefined when no point of the key is stored.
   */
  cachedDigest(runId: string, key: string): { digest: SeriesDigest | undefined; nextSeq: number } | undefined {
    const state = this.states.get(runId);
    return state && { digest: state.digest(key), nextSeq: state.nextSeq };
  }

  /** Every digest of a run whose state is cached, as plain data (a snapshot); undefined otherwise. */
  cachedDigestData(runId: string): RunDigestData | undefined {
    return this.states.get(runId)?.digestData();
  }

  /** Stores digests (of this writer's cache) in the metric store. */
  storeDigests(data: RunDigestData): Promise<void> {
    return this.deps.store.writeDigest(data);
  }

  /** The summaries of a run and the chunks they cover, from the cached state or a read of the log. */
  async summariesOf(runId: string): Promise<RunSummaries> {
    const state = this.states.get(runId) ?? RunMetricState.fromChunks(runId, await this.deps.store.read(runId));
    return { summaries: state.summaries(), nextSeq: state.nextSeq };
  }

  /** Forgets a run's cached state (its run ended); a later write rebuilds it from the log. */
  evict(runId: string): void {
    this.states.delete(runId);
  }

  private async writeNow(items: readonly WriteItem[]): Promise<WriteOutcome[]> {
    const outcomes: WriteOutcome[] = items.map(() => ({ stored: 0, duplicates: 0 }));
    const byRun = new Map<string, number[]>();
    items.forEach((item, i) => {
      const list = byRun.get(item.runId);
      if (list) list.push(i);
      else byRun.set(item.runId, [i]);
    });
    const stored: MetricChunk[] = [];
    const after = new Map<string, RunSummaries>();
    let pending = [...byRun.keys()];
    const maxAttempts = this.deps.maxAttempts ?? 4;
    for (let attempt = 1; pending.length > 0; attempt++) {
      if (attempt > maxAttempts) {
        throw new AbortedError(`metric logs of ${pending.join(', ')} kept changing during ${maxAttempts} attempts (another writer?)`);
      }
      const states = await Promise.all(pending.map((runId) => this.stateOf(runId)));
      await this.markDirty(pending);
      const now = this.deps.clock().getTime();
      const plans = states.map((state) => {
        const indices = byRun.get(state.runId)!;
        return { state, indices, ...state.plan(indices.map((i) => items[i]!.points), now) };
      });
      const chunks = plans.flatMap((p) => (p.chunk ? [p.chunk] : []));
      let conflicts: readonly MetricChunk[] = [];
      if (chunks.length) {
        try {
          conflicts = (await this.deps.store.append(chunks)).conflicts;
        } catch (err) {
          // Some chunks may be stored: rebuild these runs from the log next time.
          for (const runId of pending) this.states.delete(runId);
          throw err;
        }
      }
      const lost = new Set(conflicts.map((c) => c.runId));
      for (const p of plans) {
        if (lost.has(p.state.runId)) continue;
        if (p.chunk) {
          p.state.apply(p.chunk);
          stored.push(p.chunk);
          after.set(p.state.runId, { summaries: p.state.summaries(), nextSeq: p.state.nextSeq });
        }
        p.indices.forEach((itemIndex, k) => (outcomes[itemIndex] = p.counts[k]!));
      }
      for (const runId of lost) {
        this.deps.log.warn({ runId, attempt }, 'metric log changed under the writer; reloading it');
        this.states.delete(runId);
      }
      pending = [...lost];
    }
    this.trimCache(new Set(byRun.keys()));
    if (stored.length) this.deps.onStored?.(stored, after);
    return outcomes;
  }

  private async stateOf(runId: string): Promise<RunMetricState> {
    let state = this.states.get(runId);
    if (state) {
      // Most recently used last: the cache trims from the front.
      this.states.delete(runId);
    } else {
      state = RunMetricState.fromChunks(runId, await this.deps.store.read(runId));
    }
    this.states.set(runId, state);
    return state;
  }

  private async markDirty(runIds: readonly string[]): Promise<void> {
    const fresh = runIds.filter((r) => !this.marked.has(r));
    if (!fresh.length) return;
    await this.deps.dirty.mark(fresh);
    for (const r of fresh) this.marked.add(r);
  }

  private trimCache(keep: ReadonlySet<string>): void {
    const max = this.deps.maxCachedRuns ?? 1_000;
    for (const runId of this.states.keys()) {
      if (this.states.size <= max) break;
      if (!keep.has(runId)) this.states.delete(runId);
    }
  }

  /** Forgets that a run was marked dirty in this process (after its mark was cleared). */
  unmark(runId: string): void {
    this.marked.delete(runId);
  }
}
