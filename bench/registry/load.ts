/**
 * An open-loop load generator: requests start on a fixed schedule (rate per second) whatever the
 * server does, and each latency is measured from the request's *scheduled* start, so a slow
 * server cannot hide its queueing by slowing the client down (no coordinated omission).
 */
import { performance } from 'node:perf_hooks';

/** What one run measured. */
export interface LoadResult {
  name: string;
  rate: number;
  durationS: number;
  sent: number;
  ok: number;
  errors: number;
  /** Completed per second over the run. */
  achievedRate: number;
  p50: number;
  p90: number;
  p99: number;
  p999: number;
  max: number;
  /** p99 measured from the actual send instead of the scheduled start (the generator's own lateness left out). */
  p99Sent: number;
  /** First error message, when any. */
  firstError?: string;
}

/** The q-quantile (0..1) of sorted values, nearest rank. */
export function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return NaN;
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[rank]!;
}

/**
 * Calls `call` at `rate` per second for `durationS` seconds (after `warmupS` seconds of the same
 * load that are not counted) and waits for the stragglers (at most `drainS`).
 */
export async function openLoop(
  name: string,
  call: () => Promise<unknown>,
  o: { rate: number; durationS: number; warmupS: number; drainS?: number; /** busy-wait the last millisecond before each send (precise; costs a core) */ spin?: boolean },
): Promise<LoadResult> {
  const interval = 1_000 / o.rate;
  const total = Math.round(o.rate * (o.warmupS + o.durationS));
  const warm = Math.round(o.rate * o.warmupS);
  const latencies: number[] = [];
  const sentLatencies: number[] = [];
  let errors = 0;
  let firstError: string | undefined;
  const pending = new Set<Promise<void>>();
  const t0 = performance.now() + 5;
  let next = 0;
  let measuredStart = 0;
  let lastDone = 0;
  await new Promise<void>((resolve) => {
    const tick = () => {
      const now = performance.now();
      // Send everything whose scheduled time has come (catch up after a late timer).
      while (next < total && t0 + next * interval <= now) {
        const i = next++;
        const scheduled = t0 + i * interval;
        if (i === warm) measuredStart = scheduled;
        const sentAt = performance.now();
        const p = call().then(
          () => {
            const done = performance.now();
            if (i >= warm) {
              latencies.push(done - scheduled);
              sentLatencies.push(done - sentAt);
              lastDone = Math.max(lastDone, done);
            }
          },
          (err: unknown) => {
            if (i >= warm) {
              errors++;
              firstError ??= err instanceof Error ? err.message : String(err);
            }
          },
        );
        pending.add(p);
        void p.finally(() => pending.delete(p));
      }
      if (next >= total) return resolve();
      const wait = Math.max(0, t0 + next * interval - performance.now());
      if (o.spin && wait <= 1) setImmediate(tick);
      else setTimeout(tick, wait > 1 ? wait - (o.spin ? 1 : 0.5) : 0);
    };
    tick();
  });
  const drainUntil = performance.now() + (o.drainS ?? 10) * 1_000;
  while (pending.size > 0 && performance.now() < drainUntil) await Promise.race([...pending, new Promise((r) => setTimeout(r, 100))]);
  const sorted = latencies.sort((a, b) => a - b);
  const sent = total - warm;
  return {
    name,
    rate: o.rate,
    durationS: o.durationS,
    sent,
    ok: sorted.length,
    errors: errors + (sent - sorted.length - errors),
    achievedRate: sorted.length / ((lastDone - measuredStart) / 1_000 || 1),
    p50: quantile(sorted, 0.5),
    p90: quantile(sorted, 0.9),
    p99: quantile(sorted, 0.99),
    p999: quantile(sorted, 0.999),
    max: sorted[sorted.length - 1] ?? NaN,
    p99Sent: quantile(sentLatencies.sort((a, b) => a - b), 0.99),
    ...(firstError ? { firstError } : {}),
  };
}
