/**
 * WatchRun: the run first, then its new metric points (chunk by chunk, in the order they were
 * stored) and the run again after each status change. Updates come from the in-process notifier
 * right after each write; a poll every `watchPollMs` re-reads the run (and the metric log when
 * the run says it has grown) to catch writes of another process and anything the notifier's
 * bounded queue dropped. The stream ends `watchEndGraceMs` after the run ended, when the client
 * cancels, or when the server stops.
 */
import { setMaxListeners } from 'node:events';
import { NotFoundError } from '@medtune/kit';
import type { tracking } from '@medtune/contracts';
import { lastSeqOf, type MetricChunk } from './metrics/types';
import type { RunUpdate } from './notifier';
import { isTerminal, type RunRecord } from './records';
import type { TrackingCore } from './service';
import { checkKey, checkRunId } from './validate';

/** Updates a watcher may have queued before it falls back to re-reading the store. */
const MAX_QUEUED = 1_000;

/** See the file comment. `stop` ends the stream early (server shutdown). */
export async function* watchRun(core: TrackingCore, req: tracking.WatchRunRequest, signal: AbortSignal, stop?: AbortSignal): AsyncGenerator<tracking.WatchRunResponse> {
  const runId = checkRunId('run_id', req.runId);
  req.keys.forEach((k, i) => checkKey(`keys[${i}]`, k));
  const keys = req.keys.length ? new Set(req.keys) : undefined;
  const { deps, book, writer, notifier } = core;

  const queue: RunUpdate[] = [];
  let overflow = false;
  let wake: (() => void) | undefined;
  const unsubscribe = notifier.subscribe(runId, (u) => {
    if (queue.length >= MAX_QUEUED) overflow = true;
    else queue.push(u);
    wake?.();
  });
  const onAbort = (): void => wake?.();
  signal.addEventListener('abort', onAbort);
  if (stop) {
    // One server-wide signal, a listener per open watch: many watches are normal, not a leak.
    setMaxListeners(0, stop);
    stop.addEventListener('abort', onAbort);
  }
  try {
    const first = await book.get(runId);
    if (!first) throw new NotFoundError(`run ${runId} not found`);
    // Points stored before the watch are history (GetMetricHistory); the stream starts after them.
    let nextSeq = writer.cachedNextSeq(runId) ?? (await deps.metrics.lastSeq(runId)) + 1;
    let status = first.status;
    let seenSeq = first.metricsSeq;
    let endAt = isTerminal(first.status) ? Date.now() + deps.watchEndGraceMs : Infinity;
    yield { update: { $case: 'run', run: core.view(first) } };

    const points = function* (chunk: MetricChunk): Generator<tracking.WatchRunResponse> {
      const out: tracking.MetricPoint[] = [];
      for (const s of chunk.series) {
        if (keys && !keys.has(s.key)) continue;
        for (let i = 0; i < s.steps.length; i++) out.push({ key: s.key, step: s.steps[i]!, value: s.values[i]!, time: new Date(s.times[i]!) });
      }
      if (out.length) yield { update: { $case: 'metrics', metrics: { points: out } } };
    };
    const runChanged = function* (run: RunRecord): Generator<tracking.WatchRunResponse> {
      seenSeq = Math.max(seenSeq, run.metricsSeq);
      if (run.status === status) return;
      status = run.status;
      if (isTerminal(status) && endAt === Infinity) endAt = Date.now() + deps.watchEndGraceMs;
      yield { update: { $case: 'run', run: core.view(run) } };
    };

    while (!signal.aborted && !stop?.aborted && Date.now() < endAt) {
      if (overflow || seenSeq > nextSeq) {
        // Dropped notifications or another process's writes: read what we have not sent.
        overflow = false;
        queue.length = 0;
        for (const chunk of await deps.metrics.read(runId, nextSeq - 1)) {
          if (chunk.seq !== nextSeq) break;
          nextSeq = lastSeqOf(chunk) + 1;
          yield* points(chunk);
        }
        const run = await book.get(runId);
        if (run) yield* runChanged(run);
        continue;
      }
      const u = queue.shift();
      if (u?.kind === 'run') {
        yield* runChanged(u.run);
        continue;
      }
      if (u?.kind === 'metrics') {
        if (u.chunk.seq < nextSeq) continue;
        if (u.chunk.seq > nextSeq) {
          // A gap: fetch the missing chunks from the store first.
          seenSeq = Math.max(seenSeq, u.chunk.seq + 1);
          overflow = true;
          continue;
        }
        nextSeq = lastSeqOf(u.chunk) + 1;
        yield* points(u.chunk);
        continue;
      }
      const woken = await new Promise<boolean>((resolve) => {
        const timer = setTimeout(() => resolve(false), Math.min(deps.watchPollMs, Math.max(0, endAt - Date.now())));
        wake = () => {
          clearTimeout(timer);
          resolve(true);
        };
      });
      wake = undefined;
      if (!woken && !signal.aborted) {
        const run = await book.get(runId);
        if (run) yield* runChanged(run);
      }
    }
  } finally {
    unsubscribe();
    signal.removeEventListener('abort', onAbort);
    stop?.removeEventListener('abort', onAbort);
  }
}
