// Publishing against a real nats-server: idempotent stream provisioning, CloudEvents headers,
// and de-duplication by message id.
import { events, STREAMS, SUBJECTS } from '@medtune/contracts';
import { testNats, type TestNats } from '@medtune/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPublisher, ensureStreams } from './index';
import { captureLogs } from './test-logs';

let nats: TestNats;
const { log } = captureLogs();
const fixed = new Date('2026-03-04T05:06:07.000Z');

beforeAll(async () => {
  nats = await testNats();
  await ensureStreams(nats.nc, [STREAMS.dataset], { namespace: nats, log });
});
afterAll(() => nats?.cleanup());

describe('ensureStreams', () => {
  it('creates the stream with a 2-minute duplicate window, and running it again changes nothing else', async () => {
    const name = nats.streamName(STREAMS.dataset.name);
    const before = await nats.jsm.streams.info(name);
    expect(before.config.subjects).toEqual([nats.subject('medtune.dataset.>')]);
    expect(before.config.duplicate_window).toBe(120_000_000_000);
    await ensureStreams(nats.nc, [STREAMS.dataset], { namespace: nats, log });
    await ensureStreams(nats.nc, [STREAMS.dataset], { namespace: nats, log, duplicateWindowMs: 60_000 });
    const after = await nats.jsm.streams.info(name);
    expect(after.config.duplicate_window).toBe(60_000_000_000);
    expect(after.config.subjects).toEqual(before.config.subjects);
    expect(after.created).toEqual(before.created);
    await ensureStreams(nats.nc, [STREAMS.dataset], { namespace: nats, log });
  });
});

describe('publisher', () => {
  it('a message published twice with one id is stored once', async () => {
    const pub = createPublisher(nats.nc, { source: 'medtune/dataset-service', clock: () => fixed, namespace: nats });
    const msg = events.DatasetVersionDeleted.fromPartial({ digest: 'abc123', datasetName: 'medical' });
    const stream = nats.streamName(STREAMS.dataset.name);
    const before = (await nats.jsm.streams.info(stream)).state.messages;
    const first = await pub.publish(SUBJECTS.datasetVersionDeleted, msg, { id: 'del-abc123' });
    const second = await pub.publish(SUBJECTS.datasetVersionDeleted, msg, { id: 'del-abc123' });
    expect(first).toMatchObject({ id: 'del-abc123', stream, duplicate: false });
    expect(second).toMatchObject({ id: 'del-abc123', duplicate: true, seq: first.seq });
    expect((await nats.jsm.streams.info(stream)).state.messages).toBe(before + 1);

    const stored = await nats.jsm.streams.getMessage(stream, { seq: first.seq });
    expect(stored?.subject).toBe(nats.subject('medtune.dataset.version.deleted'));
    expect(events.DatasetVersionDeleted.decode(stored?.data ?? new Uint8Array())).toEqual(msg);
    const h = stored?.header;
    expect({
      id: h?.get('ce-id'),
      type: h?.get('ce-type'),
      source: h?.get('ce-source'),
      time: h?.get('ce-time'),
      spec: h?.get('ce-specversion'),
      ct: h?.get('content-type'),
      msgId: h?.get('Nats-Msg-Id'),
    }).toEqual({
      id: 'del-abc123',
      type: 'medtune.dataset.version.deleted',
      source: 'medtune/dataset-service',
      time: '2026-03-04T05:06:07.000Z',
      spec: '1.0',
      ct: 'application/protobuf',
      msgId: 'del-abc123',
    });
  });

  it('events without an id get distinct ids and are all stored', async () => {
    const pub = createPublisher(nats.nc, { source: 'medtune/dataset-service', namespace: nats });
    const msg = events.DatasetVersionDeleted.fromPartial({ digest: 'd', datasetName: 'n' });
    const a = await pub.publish(SUBJECTS.datasetVersionDeleted, msg);
    const b = await pub.publish(SUBJECTS.datasetVersionDeleted, msg);
    expect(a.id).not.toBe(b.id);
    expect(b.seq).toBe(a.seq + 1);
    expect(b.duplicate).toBe(false);
  });
});
