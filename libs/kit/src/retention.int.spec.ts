// Retention against the real nats-server: a stream with a small max_bytes keeps its newest
// messages and drops the oldest; the lease bucket (history 1) keeps a held lease however much
// the other keys churn.
import { events, STREAMS, SUBJECTS } from '@medtune/contracts';
import { randomId, testNats, waitFor, type TestNats } from '@medtune/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPublisher, ensureStreams, openLeaseBucket } from './index';
import { captureLogs } from './test-logs';

let nats: TestNats;
const { log } = captureLogs();

beforeAll(async () => {
  nats = await testNats();
});
afterAll(() => nats?.cleanup());

describe('stream retention', () => {
  it('max_bytes: the oldest messages go, the newest stay, the stream stays under the limit', async () => {
    const limit = 16 * 1024;
    await ensureStreams(nats.nc, [STREAMS.dataset], { namespace: nats, log, maxBytes: limit, maxAgeMs: 3_600_000 });
    const name = nats.streamName(STREAMS.dataset.name);
    const info = await nats.jsm.streams.info(name);
    expect(info.config.max_bytes).toBe(limit);
    expect(info.config.max_age).toBe(3_600_000_000_000);
    const pub = createPublisher(nats.nc, { source: 'medtune/dataset-service', namespace: nats });
    let last = 0;
    for (let i = 0; i < 200; i++) {
      const msg = events.DatasetVersionDeleted.fromPartial({ digest: `${i}`.padStart(64, '0'), datasetName: 'x'.repeat(100) });
      last = (await pub.publish(SUBJECTS.datasetVersionDeleted, msg)).seq;
    }
    const after = (await nats.jsm.streams.info(name)).state;
    expect(after.bytes).toBeLessThanOrEqual(limit);
    expect(after.first_seq).toBeGreaterThan(1); // the oldest went
    expect(after.last_seq).toBe(last); // the newest is there
    const newest = await nats.jsm.streams.getMessage(name, { seq: last });
    expect(events.DatasetVersionDeleted.decode(newest!.data).digest).toBe('199'.padStart(64, '0'));
    expect(await nats.jsm.streams.getMessage(name, { seq: 1 }).catch(() => null)).toBeNull();
  });

  it('the lease bucket keeps one revision per key: a held lease survives any churn of other keys', async () => {
    const bucket = await openLeaseBucket(nats.nc, { namespace: nats, log, bucket: `ret_${randomId()}` });
    const held = bucket.lease('in-use', { ttlMs: 5_000 }).start();
    await waitFor(() => held.isHeld, 5_000, { message: 'held' });
    for (let i = 0; i < 300; i++) await bucket.kv.put(`churn-${i % 30}`, `v${i}`);
    const status = await bucket.kv.status();
    expect(status.values).toBeLessThanOrEqual(31 + 2); // one entry per key (history 1), not 300
    expect(held.isHeld).toBe(true);
    expect((await bucket.holder('in-use'))?.owner).toBe(held.ownerId);
    await held.stop();
  });
});
