/** The metric log on the real FerretDB: appends, the chunk-number compare-and-set, reads, restarts. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '@medtune/kit';
import { testMongo, type TestMongo } from '@medtune/testing';
import { MetricWriter } from '../core/metrics/writer';
import type { MetricChunk } from '../core/metrics/types';
import { RunMetricState } from '../core/metrics/run-state';
import { MongoMetricLog, metricDigestCollection, metricLogCollection } from './metric-log';
import { MongoDirtyMarks } from './mongo';

let mongo: TestMongo;
beforeAll(async () => {
  mongo = await testMongo();
});
afterAll(async () => {
  await mongo?.cleanup();
});

const chunk = (runId: string, seq: number, steps: number[], key = 'loss'): MetricChunk => ({
  runId,
  seq,
  storedAt: 1_000 + seq,
  series: [{ key, steps, values: steps.map((s) => s / 10), times: steps.map((s) => 5_000 + s) }],
});
const pointsOf = (chunks: MetricChunk[]) => chunks.flatMap((c) => c.series.flatMap((s) => s.steps.map((step, i) => `${s.key}@${step}=${s.values[i]}@${s.times[i]}`)));

describe('MongoMetricLog', () => {
  it('appends chunks of several runs, refuses a taken chunk number, reads back exactly (packed float64)', async () => {
    const db = mongo.client.db(mongo.dbNameFor('log1'));
    const store = new MongoMetricLog(db);
    expect(await store.append([chunk('a', 0, [1, 2]), chunk('a', 1, [3]), chunk('b', 0, [1])])).toEqual({ conflicts: [] });
    const dup = await store.append([chunk('a', 1, [99]), chunk('a', 2, [4]), chunk('b', 0, [7])]);
    expect(dup.conflicts.map((c) => [c.runId, c.seq])).toEqual([
      ['a', 1],
      ['b', 0],
    ]);
    expect(pointsOf(await store.read('a'))).toEqual(['loss@1=0.1@5001', 'loss@2=0.2@5002', 'loss@3=0.3@5003', 'loss@4=0.4@5004']);
    expect((await store.read('a', 1)).map((c) => c.seq)).toEqual([2]);
    expect(await store.lastSeq('a')).toBe(2);
    expect(await store.lastSeq('nope')).toBe(-1);
    expect(await db.collection(metricLogCollection('b')).countDocuments()).toBe(1);
    // Values that JSON would round survive bit for bit.
    const odd = [0.1 + 0.2, -0, 1e-308, 2 ** 53 - 1, Number.MAX_VALUE];
    await store.append([{ runId: 'c', seq: 0, storedAt: 0, series: [{ key: 'x', steps: [0, 1, 2, 3, 4], values: odd, times: [0, 0, 0, 0, 0] }] }]);
    expect((await store.read('c'))[0]!.series[0]!.values).toEqual(odd.map((v) => (Object.is(v, -0) ? -0 : v)));
  });

  it('a writer keeps (run, key, step) unique across batches and across a restart', async () => {
    const db = mongo.client.db(mongo.dbNameFor('log2'));
    const store = new MongoMetricLog(db);
    const log = createLogger({ service: 'test', level: 'silent' });
    const mk = () => new MetricWriter({ store, dirty: new MongoDirtyMarks(db), clock: () => new Date(), log });
    const pts = (steps: number[]) => steps.flatMap((step) => [{ key: 'loss', step, value: step, time: 0 }, { key: 'lr', step, value: 1, time: 0 }]);
    const w1 = mk();
    expect(await w1.write([{ runId: 'x', points: pts([1, 2, 3]) }])).toEqual([{ stored: 6, duplicates: 0 }]);
    expect(await w1.write([{ runId: 'x', points: pts([3, 4]) }])).toEqual([{ stored: 2, duplicates: 2 }]);
    const w2 = mk(); // a restarted process: rebuilds the run's state from its log
    expect(await w2.write([{ runId: 'x', points: pts([1, 2, 3, 4, 5]) }])).toEqual([{ stored: 2, duplicates: 8 }]);
    const steps = pointsOf(await store.read('x'))
      .filter((p) => p.startsWith('loss@'))
      .map((p) => p.split('=')[0]);
    expect(steps).toEqual(['loss@1', 'loss@2', 'loss@3', 'loss@4', 'loss@5']);
    expect((await w2.summariesOf('x')).summaries.find((s) => s.key === 'lr')!.count).toBe(5);
    // Two writers with stale views: the chunk number decides, nothing is stored twice.
    expect(await w1.write([{ runId: 'x', points: pts([5, 6]) }])).toEqual([{ stored: 2, duplicates: 2 }]);
    expect(pointsOf(await store.read('x')).filter((p) => p.startsWith('loss@'))).toHaveLength(6);
  });

  it('stores a run digest in its own collection, bit for bit; an older one never replaces a newer one', async () => {
    const db = mongo.client.db(mongo.dbNameFor('log3'));
    const store = new MongoMetricLog(db);
    const state = new RunMetricState('d');
    const steps = Array.from({ length: 5_000 }, (_, i) => i * 3);
    state.apply({ runId: 'd', seq: 0, storedAt: 0, series: [{ key: 'loss', steps, values: steps.map((s) => Math.sin(s) + 0.1 + 0.2), times: steps.map((s) => 7_000 + s) }] });
    const data = state.digestData();
    expect(await store.readDigest('d')).toBeUndefined();
    await store.writeDigest(data);
    expect(await store.readDigest('d')).toEqual(data);
    expect(await db.collection(metricLogCollection('d')).countDocuments()).toBe(0);
    await store.writeDigest({ ...data, nextSeq: 0, series: [] });
    expect(await store.readDigest('d')).toEqual(data);
    await store.writeDigest({ ...data, nextSeq: 2, series: [] });
    expect(await store.readDigest('d')).toEqual({ runId: 'd', nextSeq: 2, series: [] });
    expect(await db.collection(metricDigestCollection('d')).countDocuments()).toBe(1);
  });
});
