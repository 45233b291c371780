/** The metric digest: its answer equals downsampling the stored points, and the history RPC serves it. */
import { describe, expect, it } from 'vitest';
import { tracking } from '@medtune/contracts';
import { downsample } from '../downsample';
import { coreHarness } from '../testing';
import { SeriesDigest } from './digest';
import { RunMetricState } from './run-state';
import type { PointInput } from './types';

/** A seeded linear congruential generator (Numerical Recipes' constants), so a failure can be replayed. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => (a = (Math.imul(a, 1_664_525) + 1_013_904_223) >>> 0) / 4_294_967_296;
}

/** Points of `n` distinct steps in [0, span), values with many ties, in a shuffled arrival order, each sent twice. */
function arrivals(seed: number, n: number, span: number): PointInput[] {
  const r = rng(seed);
  const steps = new Set<number>();
  while (steps.size < n) steps.add(Math.floor(r() * span));
  const points = [...steps].map((step) => ({ key: 'loss', step, value: Math.round(r() * 20) / 4 - 2, time: 1_000 + step }));
  for (let i = points.length - 1; i > 0; i--) {
    const j = Math.floor(r() * (i + 1));
    [points[i], points[j]] = [points[j]!, points[i]!];
  }
  // Re-delivery: every point again, later.
  return [...points, ...points.map((p) => ({ ...p, value: p.value + 1 }))];
}

/** Feeds points to a run's state in chunks of `per`, as the writer does (repeats refused), and returns it. */
function stateOf(points: readonly PointInput[], per: number): RunMetricState {
  const state = new RunMetricState('r');
  for (let i = 0; i < points.length; i += per) {
    const { chunk } = state.plan([points.slice(i, i + per)], 0);
    if (chunk) state.apply(chunk);
  }
  return state;
}

/** The points a state stored, sorted by step (what a read of the log gives). */
function storedPoints(points: readonly PointInput[]): { step: number; value: number; time: number }[] {
  const seen = new Map<number, { step: number; value: number; time: number }>();
  for (const p of points) if (!seen.has(p.step)) seen.set(p.step, { step: p.step, value: p.value, time: p.time });
  return [...seen.values()].sort((a, b) => a.step - b.step);
}

const SIZES = [2, 3, 4, 10, 101, 500, 1_332, 2_000, 2_050];

describe('SeriesDigest', () => {
  it('gives exactly downsample() of the stored points, for shuffled, re-delivered points at every answer size up to 2,050', () => {
    for (const [seed, n, span] of [
      [1, 100_000, 100_000],
      [2, 30_000, 1_000_000],
      [3, 5_000, 5_000],
      [4, 1_500, 3_000_000_000],
      [5, 700, 700],
    ] as const) {
      const points = arrivals(seed, n, span);
      const state = stateOf(points, 997);
      const digest = state.digest('loss')!;
      const raw = storedPoints(points);
      expect(digest.count).toBe(raw.length);
      expect(digest.size).toBeLessThanOrEqual(1_024);
      for (const max of SIZES) {
        const want = downsample(raw, max);
        const got = digest.downsampled(max);
        if (raw.length <= max && digest.width > 1) {
          // Fits, and some bucket may hold more than one point: the caller reads the points.
          if (got !== undefined) expect(got).toEqual(want);
          continue;
        }
        expect(got, `seed ${seed}, ${max} points`).toEqual(want);
      }
      // Plain data (storage) round trip.
      const back = SeriesDigest.fromData(digest.toData('loss'));
      for (const max of [10, 1_332]) expect(back.downsampled(max)).toEqual(digest.downsampled(max));
    }
  });

  it('keeps every point of a history that fits in few buckets, and refuses answers finer than its buckets', () => {
    const d = new SeriesDigest(8);
    for (const step of [0, 500, 1_000, 1_500, 2_000]) d.add({ step, value: step, time: step });
    expect(d.downsampled(5)!.map((p) => p.step)).toEqual([0, 500, 1_000, 1_500, 2_000]);
    for (let step = 1; step < 40; step++) d.add({ step, value: -step, time: step });
    // 44 points over steps 0..2,000 in at most 8 buckets: width 256. An answer of 34 points has 16
    // buckets, of width 128: finer than the digest's, so it cannot answer (the caller reads the points).
    expect(d.width).toBe(256);
    expect(d.downsampled(34)).toBeUndefined();
    const all = [0, 500, 1_000, 1_500, 2_000].map((step) => ({ step, value: step, time: step }));
    for (let step = 1; step < 40; step++) all.push({ step, value: -step, time: step });
    all.sort((a, b) => a.step - b.step);
    expect(d.downsampled(18)).toEqual(downsample(all, 18));
    expect(d.downsampled(18)!.map((p) => p.step)).toEqual([0, 39, 500, 1_000, 1_500, 2_000]);
  });

  it('refuses damaged stored data with a message naming the key', () => {
    const data = stateOf(arrivals(9, 3_000, 3_000), 500).digest('loss')!.toData('loss');
    expect(() => SeriesDigest.fromData({ ...data, width: 3 })).toThrow(/loss: width 3/);
    expect(() => SeriesDigest.fromData({ ...data, maxTimes: [] })).toThrow(/loss: bucket arrays/);
  });
});

describe('GetMetricHistory from the digest', () => {
  const req = (maxPoints: number, startStep = 0, endStep = 0) => ({ runId: 'r', key: 'loss', maxPoints, startStep, endStep });

  it('answers the whole history without reading points, equal to downsampling them; reads them for a step range', async () => {
    const h = coreHarness();
    await h.core.createRun(tracking.CreateRunRequest.fromPartial({ runId: 'r' }));
    const sent = arrivals(11, 20_000, 50_000).slice(0, 20_000);
    for (let i = 0; i < sent.length; i += 5_000) await h.core.logMetrics({ runId: 'r', points: sent.slice(i, i + 5_000).map((p) => ({ ...p, time: new Date(p.time) })) });
    const raw = storedPoints(sent);
    const reads = h.metrics.reads;
    const got = await h.core.getMetricHistory(req(1_332));
    expect(h.metrics.reads).toBe(reads);
    expect(got.totalPoints).toBe(20_000);
    expect(got.points.map((p) => [p.step, p.value, p.time!.getTime()])).toEqual(downsample(raw, 1_332).map((p) => [p.step, p.value, p.time]));
    const zoom = await h.core.getMetricHistory(req(10_000, 100, 200));
    expect(h.metrics.reads).toBe(reads + 1);
    expect(zoom.points.map((p) => p.step)).toEqual(raw.filter((p) => p.step >= 100 && p.step <= 200).map((p) => p.step));
  });

  it('after the run ended: the stored digest, or the points when it is missing or older than the run record, then rebuilt', async () => {
    const h = coreHarness();
    await h.core.createRun(tracking.CreateRunRequest.fromPartial({ runId: 'r' }));
    const sent = Array.from({ length: 6_000 }, (_, step) => ({ key: 'loss', step, value: step === 4_321 ? 99 : 1 / (step + 1), time: new Date(1_000 + step) }));
    await h.core.logMetrics({ runId: 'r', points: sent });
    await h.core.updateRunStatus({ runId: 'r', status: tracking.RunStatus.RUN_STATUS_FINISHED });
    await h.core.liveness.persist();
    // Ended and written: the writer forgot the run; its digest is stored.
    expect(h.core.writer.cachedNextSeq('r')).toBeUndefined();
    expect(h.metrics.digests.get('r')?.nextSeq).toBe(1);
    const want = downsample(
      sent.map((p) => ({ step: p.step, value: p.value })),
      500,
    );
    const reads = h.metrics.reads;
    const a = await h.core.getMetricHistory(req(500));
    expect(h.metrics.reads).toBe(reads);
    expect(a.points.map((p) => ({ step: p.step, value: p.value }))).toEqual(want);
    expect(a.points.some((p) => p.step === 4_321 && p.value === 99)).toBe(true);

    // Another process stored more (its chunk 1) and wrote the run record: the stored digest is
    // older than the record, so the points are read (the new one included), then a rebuilt digest.
    h.metrics.injectForeign({ runId: 'r', seq: 1, storedAt: 0, series: [{ key: 'loss', steps: [7_000], values: [-3], times: [9_000] }] });
    h.runs.rows.get('r')!.metricsSeq = 2;
    const b = await h.core.getMetricHistory(req(500));
    expect(h.metrics.reads).toBe(reads + 1);
    expect(b.totalPoints).toBe(6_001);
    expect(b.points.at(-1)).toMatchObject({ step: 7_000, value: -3 });
    await new Promise((r) => setTimeout(r, 10));
    expect(h.metrics.digests.get('r')?.nextSeq).toBe(2);
    expect(await h.core.getMetricHistory(req(500))).toEqual(b);
    expect(h.metrics.reads).toBe(reads + 1);

    // A restarted process over the same store with no digest stored (a run stored before digests
    // existed): the points once, then the digest it stored.
    h.metrics.digests.clear();
    const restarted = coreHarness({ metrics: h.metrics, runs: h.runs });
    const digestReads = h.metrics.digestReads;
    expect(await restarted.core.getMetricHistory(req(500))).toEqual(b);
    await new Promise((r) => setTimeout(r, 10));
    expect(await restarted.core.getMetricHistory(req(500))).toEqual(b);
    expect(h.metrics.reads).toBe(reads + 2);
    // Decoded once, then kept: the third answer reads nothing.
    expect(await restarted.core.getMetricHistory(req(500))).toEqual(b);
    expect(h.metrics.digestReads).toBe(digestReads + 2);
    expect(h.metrics.reads).toBe(reads + 2);
  });
});
