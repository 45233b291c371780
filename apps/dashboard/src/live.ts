/**
 * Live updates of a run, transport-free: the tracking service's WatchRun (status, new metric
 * points as they are stored) and the training service's WatchJob (progress, state changes, the
 * worker's notices) merged into one ordered feed. Every message carries a cursor (the job event
 * sequence and the last step sent of each metric key); a client that reconnects with its last
 * cursor gets the points stored while it was away from the metric history first, then the live
 * stream, with nothing missed and nothing twice.
 */
import { tracking, training } from '@medtune/contracts';
import { NotFoundError } from '@medtune/kit';
import type { Services } from './clients';

/** Where a client is: the last job event sequence and the last step it has of each key. */
export interface Cursor {
  jobSequence: number;
  steps: Map<string, number>;
}

/** One message of the feed. */
export interface LiveMessage {
  readonly type: 'run' | 'points' | 'job' | 'end';
  readonly data: unknown;
  /** The cursor after this message (the SSE id). */
  readonly cursor: string;
}

/** Cursor text: `j=<seq>&<key>=<step>&...` (URL query encoding, so any key survives). */
export function formatCursor(c: Cursor): string {
  const q = new URLSearchParams();
  q.set('j', String(c.jobSequence));
  for (const [k, s] of c.steps) q.set(`m.${k}`, String(s));
  return q.toString();
}

/** Parses a cursor; anything unreadable starts from nothing (the client then reloads). */
export function parseCursor(text: string | undefined | null): Cursor {
  const c: Cursor = { jobSequence: 0, steps: new Map() };
  if (!text) return c;
  const q = new URLSearchParams(text);
  const j = Number(q.get('j'));
  if (Number.isSafeInteger(j) && j >= 0) c.jobSequence = j;
  for (const [k, v] of q) {
    const s = Number(v);
    if (k.startsWith('m.') && Number.isSafeInteger(s) && s >= 0) c.steps.set(k.slice(2), s);
  }
  return c;
}

/** Largest page of catch-up points per key. */
const CATCH_UP_POINTS = 10_000;

/**
 * Follows a run until `signal` aborts or both watches end, calling `send` for each message in
 * order. Rejects with the services' errors (NOT_FOUND for an unknown run) before the first message.
 */
export async function followRun(services: Pick<Services, 'tracking' | 'training'>, runId: string, from: Cursor, send: (m: LiveMessage) => void, signal: AbortSignal): Promise<void> {
  const cursor: Cursor = { jobSequence: from.jobSequence, steps: new Map(from.steps) };
  const emit = (type: LiveMessage['type'], data: unknown) => send({ type, data, cursor: formatCursor(cursor) });
  /** Keeps only points after the cursor of their key, and moves the cursor. */
  const fresh = (points: readonly tracking.MetricPoint[]) => {
    const out: { key: string; step: number; value: number }[] = [];
    for (const p of points) {
      const last = cursor.steps.get(p.key);
      if (last !== undefined && p.step <= last) continue;
      cursor.steps.set(p.key, p.step);
      out.push({ key: p.key, step: p.step, value: p.value });
    }
    return out;
  };

  // The watch opens before the catch-up reads, so a point stored in between comes at least once.
  const watch = services.tracking.serverStream('watchRun', { runId, keys: [] }, { signal, deadlineMs: 24 * 3_600_000 })[Symbol.asyncIterator]();
  const first = await watch.next();
  const run = first.done ? undefined : first.value.update?.$case === 'run' ? first.value.update.run : undefined;
  if (!run) throw new NotFoundError(`run ${runId} sent no snapshot`);
  emit('run', tracking.Run.toJSON(run));

  for (const summary of run.metrics) {
    const after = cursor.steps.get(summary.key);
    if (after !== undefined && after >= summary.lastStep) continue;
    const res = await services.tracking.unary('getMetricHistory', { runId, key: summary.key, maxPoints: CATCH_UP_POINTS, startStep: after === undefined ? 0 : after + 1, endStep: 0 }, { signal });
    const pts = fresh(res.points);
    if (pts.length) emit('points', { points: pts, catchUp: true });
  }

  const metrics = (async () => {
    for (let r = await watch.next(); !r.done; r = await watch.next()) {
      const u = r.value.update;
      if (u?.$case === 'run') emit('run', tracking.Run.toJSON(u.run));
      else if (u?.$case === 'metrics') {
        const pts = fresh(u.metrics.points);
        if (pts.length) emit('points', { points: pts });
      }
    }
  })();

  const jobs = (async () => {
    if (run.kind !== tracking.RunKind.RUN_KIND_TRAINING || !run.sourceId) return;
    const stream = services.training.serverStream('watchJob', { jobId: run.sourceId, fromSequence: cursor.jobSequence + 1 }, { signal, deadlineMs: 24 * 3_600_000 });
    for await (const r of stream) {
      const e = r.event;
      if (!e || e.sequence <= cursor.jobSequence) continue;
      cursor.jobSequence = e.sequence;
      emit('job', training.JobEvent.toJSON(e));
    }
  })();

  try {
    await Promise.all([metrics, jobs]);
    emit('end', {});
  } catch (err) {
    if (!signal.aborted) throw err;
  }
}
