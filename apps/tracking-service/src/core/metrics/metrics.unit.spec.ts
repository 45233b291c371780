import { describe, expect, it, vi } from 'vitest';
import { createLogger } from '@medtune/kit';
import { MemoryDirtyMarks, MemoryMetricLog } from '../memory';
import { downsample } from '../downsample';
import { MetricBatcher } from './batcher';
import { StepSet } from './step-set';
import type { PointInput } from './types';
import { MetricWriter } from './writer';

const log = createLogger({ service: 'tracking-test', level: 'silent' });
const clock = () => new Date('2030-01-01T00:00:00Z');
const pts = (key: string, steps: number[], value = (s: number) => s / 10): PointInput[] => steps.map((step) => ({ key, step, value: value(step), time: 1_000 + step }));

function writer(store = new MemoryMetricLog(), dirty = new MemoryDirtyMarks()) {
  const stored: number[] = [];
  const w = new MetricWriter({ store, dirty, clock, log, onStored: (chunks) => stored.push(...chunks.map((c) => c.seq)) });
  return { w, store, dirty, stored };
}

describe('StepSet', () => {
  it('answers membership exactly for strided, unit and out-of-order steps with few entries', () => {
    const s = new StepSet();
    for (let step = 0; step <= 10_000; step += 10) expect(s.add(step)).toBe(true);
    expect(s.entries).toBe(1);
    expect(s.has(5_000)).toBe(true);
    expect(s.has(5_005)).toBe(false);
    expect(s.has(10_010)).toBe(false);
    expect(s.add(5_000)).toBe(false);
    expect(s.add(5_005)).toBe(true); // out of order
    expect(s.has(5_005)).toBe(true);
    for (let step = 10_011; step < 10_020; step++) s.add(step);
    expect(s.has(10_015)).toBe(true);
    expect(s.has(10_010)).toBe(false);
    expect(s.size).toBe(1_001 + 1 + 9);
    expect(s.entries).toBeLessThanOrEqual(4);
  });

  it('matches a plain Set on random insertions', () => {
    const s = new StepSet();
    const ref = new Set<number>();
    let seed = 42;
    const rnd = () => ((seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31);
    for (let i = 0; i < 3_000; i++) {
      const step = rnd() < 0.7 ? i * 3 : Math.floor(rnd() * 9_000);
      expect(s.add(step)).toBe(!ref.has(step));
      ref.add(step);
    }
    for (let step = 0; step < 9_100; step++) expect(s.has(step)).toBe(ref.has(step));
  });
});

describe('MetricWriter', () => {
  it('stores one chunk per run per batch and refuses repeated (run, key, step), in the batch and across batches', async () => {
    const { w, store } = writer();
    const out = await w.write([
      { runId: 'a', points: pts('loss', [1, 2, 3]) },
      { runId: 'a', points: [...pts('loss', [3, 4]), ...pts('lr', [3])] },
      { runId: 'b', points: pts('loss', [1]) },
    ]);
    expect(out).toEqual([
      { stored: 3, duplicates: 0 },
      { stored: 2, duplicates: 1 },
      { stored: 1, duplicates: 0 },
    ]);
    expect(store.appends).toBe(1);
    expect([...store.logs.get('a')!.keys()]).toEqual([0]);
    // The same message again (a redelivery), plus one new step.
    expect(await w.write([{ runId: 'a', points: pts('loss', [3, 4, 5]) }])).toEqual([{ stored: 1, duplicates: 2 }]);
    expect(store.pointsOf('a')).toEqual(['loss@1=0.1', 'loss@2=0.2', 'loss@3=0.3', 'loss@4=0.4', 'loss@5=0.5', 'lr@3=0.3']);
    expect(w.cachedSummaries('a')).toEqual(
      expect.arrayContaining([
        { key: 'loss', last: 0.5, min: 0.1, max: 0.5, lastStep: 5, count: 5 },
        { key: 'lr', last: 0.3, min: 0.3, max: 0.3, lastStep: 3, count: 1 },
      ]),
    );
  });

  it('keeps the first value of a repeated step (a different value is still a repeat)', async () => {
    const { w, store } = writer();
    await w.write([{ runId: 'a', points: pts('loss', [7], () => 1) }]);
    expect(await w.write([{ runId: 'a', points: pts('loss', [7], () => 99) }])).toEqual([{ stored: 0, duplicates: 1 }]);
    expect(store.pointsOf('a')).toEqual(['loss@7=1']);
    expect(w.cachedSummaries('a')).toEqual([{ key: 'loss', last: 1, min: 1, max: 1, lastStep: 7, count: 1 }]);
  });

  it('summaries: last is the value at the highest step even when points arrive out of order', async () => {
    const { w } = writer();
    await w.write([{ runId: 'a', points: pts('loss', [10, 20], (s) => s) }]);
    await w.write([{ runId: 'a', points: pts('loss', [15, 5], (s) => s) }]);
    expect(w.cachedSummaries('a')).toEqual([{ key: 'loss', last: 20, min: 5, max: 20, lastStep: 20, count: 4 }]);
  });

  it('rebuilds its state from the log when the cache is cold (a restarted process) and still refuses repeats', async () => {
    const store = new MemoryMetricLog();
    await writer(store).w.write([{ runId: 'a', points: pts('loss', [1, 2]) }]);
    const { w: second } = writer(store);
    expect(await second.write([{ runId: 'a', points: pts('loss', [2, 3]) }])).toEqual([{ stored: 1, duplicates: 1 }]);
    expect([...store.logs.get('a')!.keys()]).toEqual([0, 1]);
    expect(store.pointsOf('a')).toHaveLength(3);
  });

  it('loses the compare-and-set of a chunk number to another writer, reloads, and stores only what that writer did not', async () => {
    const { w, store } = writer();
    await w.write([{ runId: 'a', points: pts('loss', [1]) }]); // caches seq 1 as next
    store.injectForeign({ runId: 'a', seq: 1, series: [{ key: 'loss', steps: [2], values: [42], times: [0] }], storedAt: 0 });
    expect(await w.write([{ runId: 'a', points: pts('loss', [2, 3]) }])).toEqual([{ stored: 1, duplicates: 1 }]);
    expect(store.pointsOf('a')).toEqual(['loss@1=0.1', 'loss@2=42', 'loss@3=0.3']);
    expect([...store.logs.get('a')!.keys()]).toEqual([0, 1, 2]);
  });

  it('after a failed append (some chunks stored), a retry of the same batch stores nothing twice', async () => {
    const { w, store } = writer();
    store.failNext = { error: new Error('connection reset'), storeBeforeFailing: 1 };
    const batch = [
      { runId: 'a', points: pts('loss', [1, 2]) },
      { runId: 'b', points: pts('loss', [1, 2]) },
    ];
    await expect(w.write(batch)).rejects.toThrow('connection reset');
    expect(await w.write(batch)).toEqual([
      { stored: 0, duplicates: 2 },
      { stored: 2, duplicates: 0 },
    ]);
    expect(store.pointsOf('a')).toEqual(['loss@1=0.1', 'loss@2=0.2']);
    expect(store.pointsOf('b')).toEqual(['loss@1=0.1', 'loss@2=0.2']);
  });

  it('marks a run dirty before its first chunk in this process', async () => {
    const dirty = new MemoryDirtyMarks();
    const { w } = writer(new MemoryMetricLog(), dirty);
    const mark = vi.spyOn(dirty, 'mark');
    await w.write([{ runId: 'a', points: pts('loss', [1]) }]);
    await w.write([{ runId: 'a', points: pts('loss', [2]) }]);
    expect(mark).toHaveBeenCalledTimes(1);
    expect(await dirty.list()).toEqual(['a']);
  });
});

describe('MetricBatcher', () => {
  it('accumulates many callers into one write, and settles each caller with its own outcome after it', async () => {
    const { w, store } = writer();
    const b = new MetricBatcher({ maxPoints: 1_000, maxDelayMs: 20, write: (items) => w.write(items) });
    const calls = Array.from({ length: 50 }, (_, i) => b.submit({ runId: `r${i % 5}`, points: pts('loss', [Math.floor(i / 5)]) }));
    const again = b.submit({ runId: 'r0', points: pts('loss', [0]) });
    const outcomes = await Promise.all([...calls, again]);
    expect(store.appends).toBe(1);
    expect(outcomes.slice(0, 50).every((o) => o.stored === 1)).toBe(true);
    expect(outcomes[50]).toEqual({ stored: 0, duplicates: 1 });
  });

  it('flushes at maxPoints without waiting for the delay, one write at a time', async () => {
    let running = 0;
    let maxRunning = 0;
    const sizes: number[] = [];
    const b = new MetricBatcher({
      maxPoints: 10,
      maxDelayMs: 60_000,
      write: async (items) => {
        running++;
        maxRunning = Math.max(maxRunning, running);
        sizes.push(items.reduce((n, i) => n + i.points.length, 0));
        await new Promise((r) => setTimeout(r, 5));
        running--;
        return items.map((i) => ({ stored: i.points.length, duplicates: 0 }));
      },
    });
    const started = Date.now();
    await Promise.all(Array.from({ length: 10 }, (_, i) => b.submit({ runId: 'a', points: pts('k', [i * 5, i * 5 + 1, i * 5 + 2, i * 5 + 3, i * 5 + 4]) })));
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(sizes).toEqual([10, 10, 10, 10, 10]);
    expect(maxRunning).toBe(1);
  });

  it('rejects every caller of a failed write (their messages get redelivered)', async () => {
    const b = new MetricBatcher({ maxPoints: 100, maxDelayMs: 1, write: async () => Promise.reject(new Error('db down')) });
    await expect(Promise.all([b.submit({ runId: 'a', points: pts('k', [1]) }), b.submit({ runId: 'b', points: pts('k', [1]) })])).rejects.toThrow('db down');
  });
});

describe('downsample', () => {
  const series = (n: number) => Array.from({ length: n }, (_, i) => ({ step: i * 10, value: Math.sin(i / 7) }));

  it('returns short histories unchanged and long ones within max_points, first and last kept, only real points', () => {
    expect(downsample(series(100), 100)).toHaveLength(100);
    for (const max of [2, 3, 10, 101, 500]) {
      const src = series(10_000);
      const out = downsample(src, max);
      expect(out.length).toBeLessThanOrEqual(max);
      expect(out[0]).toBe(src[0]);
      expect(out[out.length - 1]).toBe(src[src.length - 1]);
      for (let i = 1; i < out.length; i++) expect(out[i]!.step).toBeGreaterThan(out[i - 1]!.step);
      expect(out.every((p) => src.includes(p))).toBe(true);
    }
  });

  it('keeps a one-step spike and dip that averaging would hide', () => {
    const src = series(10_000).map((p) => ({ ...p, value: 1 }));
    src[4_321] = { step: 43_210, value: 1_000 };
    src[7_777] = { step: 77_770, value: -5 };
    const out = downsample(src, 50);
    expect(out).toContainEqual({ step: 43_210, value: 1_000 });
    expect(out).toContainEqual({ step: 77_770, value: -5 });
  });
});
