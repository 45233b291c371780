/** The metric log on the real FerretDB: inbox appends, compaction, reads across both, crash halfway. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '@medtune/kit';
import { testMongo, type TestMongo } from '@medtune/testing';
import { MetricWriter } from '../core/metrics/writer';
import type { MetricChunk } from '../core/metrics/types';
import { METRIC_INBOX, MongoMetricLog, encodeCompacted, metricLogCollection } from './metric-log';
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
const pointsOf = (chunks: MetricChunk[]) => chunks.flatMap((c) => c.series.flatMap((s) => s.steps.map((step, i) => `${s.key}@${step}=${s.values[i]}`)));
const seqsOf = (chunks: MetricChunk[]) => chunks.map((c) => [c.seq, c.seqEnd ?? c.seq]);

describe('MongoMetricLog', () => {
  it('appends to the inbox, refuses a taken chunk number, compacts into the run collection, reads across both', async () => {
    const db = mongo.client.db(mongo.dbNameFor('log1'));
    const store = new MongoMetricLog(db);
    expect(await store.append([chunk('a', 0, [1, 2]), chunk('a', 1, [3]), chunk('b', 0, [1])])).toEqual({ conflicts: [] });
    const dup = await store.append([chunk('a', 1, [99]), chunk('a', 2, [4])]);
    expect(dup.conflicts.map((c) => [c.runId, c.seq])).toEqual([['a', 1]]);
    await store.append([chunk('a', 3, [5, 6]), chunk('a', 4, [7])]);
    expect(pointsOf(await store.read('a'))).toEqual(['loss@1=0.1', 'loss@2=0.2', 'loss@3=0.3', 'loss@4=0.4', 'loss@5=0.5', 'loss@6=0.6', 'loss@7=0.7']);

    // Young and small: nothing moves.
    expect(await store.compact({ minPoints: 1_000, maxAgeMs: 60_000 }, 2_000)).toBe(0);
    expect(await store.compact({ minPoints: 1, maxAgeMs: 60_000 }, 2_000)).toBe(6);
    expect(await db.collection(METRIC_INBOX).countDocuments()).toBe(0);
    expect(await db.collection(metricLogCollection('a')).countDocuments()).toBe(1);
    const all = await store.read('a');
    expect(seqsOf(all)).toEqual([[0, 4]]);
    expect(pointsOf(all)).toEqual(['loss@1=0.1', 'loss@2=0.2', 'loss@3=0.3', 'loss@4=0.4', 'loss@5=0.5', 'loss@6=0.6', 'loss@7=0.7']);
    // Read "after chunk 2" starts inside the merged document.
    const after2 = await store.read('a', 2);
    expect(seqsOf(after2)).toEqual([[3, 4]]);
    expect(pointsOf(after2)).toEqual(['loss@5=0.5', 'loss@6=0.6', 'loss@7=0.7']);
    expect(await store.lastSeq('a')).toBe(4);
    expect(await store.lastSeq('nope')).toBe(-1);

    // New appends continue in the inbox; reads stay contiguous.
    await store.append([chunk('a', 5, [8]), chunk('a', 6, [9], 'lr')]);
    expect(seqsOf(await store.read('a'))).toEqual([[0, 4], [5, 5], [6, 6]]);
    expect(await store.lastSeq('a')).toBe(6);
  });

  it('a compaction that died after writing the merged document is finished by the next; readers never see a point twice', async () => {
    const db = mongo.client.db(mongo.dbNameFor('log2'));
    const store = new MongoMetricLog(db);
    const chunks = [chunk('r', 0, [1]), chunk('r', 1, [2]), chunk('r', 2, [3])];
    await store.append(chunks);
    // The merged document of chunks 0-1 is written, the inbox not cleaned (the process died).
    await db.collection(metricLogCollection('r')).insertOne(encodeCompacted(chunks.slice(0, 2)) as never);
    expect(pointsOf(await store.read('r'))).toEqual(['loss@1=0.1', 'loss@2=0.2', 'loss@3=0.3']);
    expect(seqsOf(await store.read('r'))).toEqual([[0, 1], [2, 2]]);
    expect(await store.compact({ minPoints: 1, maxAgeMs: 0 })).toBe(1);
    expect(await db.collection(METRIC_INBOX).countDocuments()).toBe(0);
    expect(pointsOf(await store.read('r'))).toEqual(['loss@1=0.1', 'loss@2=0.2', 'loss@3=0.3']);
    expect(seqsOf(await store.read('r'))).toEqual([[0, 1], [2, 2]]);
  });

  it('a writer over compacted and fresh chunks keeps (run, key, step) unique, also after a restart', async () => {
    const db = mongo.client.db(mongo.dbNameFor('log3'));
    const store = new MongoMetricLog(db);
    const log = createLogger({ service: 'test', level: 'silent' });
    const mk = () => new MetricWriter({ store, dirty: new MongoDirtyMarks(db), clock: () => new Date(), log });
    const pts = (steps: number[]) => steps.flatMap((step) => [{ key: 'loss', step, value: step, time: 0 }, { key: 'lr', step, value: 1, time: 0 }]);
    const w1 = mk();
    expect(await w1.write([{ runId: 'x', points: pts([1, 2, 3]) }])).toEqual([{ stored: 6, duplicates: 0 }]);
    await store.compact({ minPoints: 1, maxAgeMs: 0 });
    expect(await w1.write([{ runId: 'x', points: pts([3, 4]) }])).toEqual([{ stored: 2, duplicates: 2 }]);
    const w2 = mk(); // a restarted process: rebuilds from the compacted document and the inbox
    expect(await w2.write([{ runId: 'x', points: pts([1, 2, 3, 4, 5]) }])).toEqual([{ stored: 2, duplicates: 8 }]);
    const steps = pointsOf(await store.read('x')).filter((p) => p.startsWith('loss@'));
    expect(steps).toEqual(['loss@1=1', 'loss@2=2', 'loss@3=3', 'loss@4=4', 'loss@5=5']);
    expect((await w2.summariesOf('x')).summaries.find((s) => s.key === 'lr')!.count).toBe(5);
  });
});
