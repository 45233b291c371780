/**
 * In-process notifications for WatchRun: the RunBook tells of status changes, the metric writer
 * of stored chunks, right after their writes. (FerretDB has no change streams; a watcher also
 * polls, see service.ts, in case the write happened in another process.)
 */
import type { MetricChunk } from './metrics/types';
import type { RunRecord } from './records';

/** What a watcher hears. */
export type RunUpdate = { readonly kind: 'run'; readonly run: RunRecord } | { readonly kind: 'metrics'; readonly chunk: MetricChunk };

/** Listeners per run id. */
export class RunNotifier {
  private readonly listeners = new Map<string, Set<(u: RunUpdate) => void>>();

  /** Listens to one run; returns the unsubscribe function. */
  subscribe(runId: string, listener: (u: RunUpdate) => void): () => void {
    let set = this.listeners.get(runId);
    if (!set) this.listeners.set(runId, (set = new Set()));
    set.add(listener);
    return () => {
      set.delete(listener);
      if (set.size === 0 && this.listeners.get(runId) === set) this.listeners.delete(runId);
    };
  }

  /** Number of listeners of a run (tests). */
  listenerCount(runId: string): number {
    return this.listeners.get(runId)?.size ?? 0;
  }

  run(run: RunRecord): void {
    this.emit(run.runId, { kind: 'run', run });
  }

  metrics(chunks: readonly MetricChunk[]): void {
    for (const chunk of chunks) this.emit(chunk.runId, { kind: 'metrics', chunk });
  }

  private emit(runId: string, update: RunUpdate): void {
    const set = this.listeners.get(runId);
    if (!set) return;
    for (const l of [...set]) l(update);
  }
}
