import { headers } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { collectEvents } from './events';
import { testNats, type TestNats } from './nats';

describe('testNats', () => {
  let a: TestNats;
  let b: TestNats;

  beforeAll(async () => {
    a = await testNats();
    b = await testNats();
  });
  afterAll(async () => {
    await a.cleanup();
    await b.cleanup();
  });

  it('gives each call its own subject and stream prefixes', () => {
    expect(a.id).toMatch(/^t[0-9a-f]{10}$/);
    expect(a.id).not.toBe(b.id);
    expect(a.subject('medtune.dataset.version.ready')).toBe(`${a.id}.medtune.dataset.version.ready`);
    expect(a.streamName('DATASET')).toBe(`${a.id.toUpperCase()}_DATASET`);
  });

  it('lets two specs use the same domain stream without clashing, and cleanup deletes only its own', async () => {
    for (const n of [a, b]) await n.jsm.streams.add({ name: n.streamName('DATASET'), subjects: [n.subject('medtune.dataset.>')] });
    await a.js.publish(a.subject('medtune.dataset.version.ready'), 'x');
    expect((await a.jsm.streams.info(a.streamName('DATASET'))).state.messages).toBe(1);
    expect((await b.jsm.streams.info(b.streamName('DATASET'))).state.messages).toBe(0);

    const other = await testNats();
    await other.jsm.streams.add({ name: other.streamName('TRAINING'), subjects: [other.subject('medtune.training.>')] });
    await other.cleanup();
    await expect(a.jsm.streams.info(other.streamName('TRAINING'))).rejects.toThrow(/stream not found/);
    expect((await a.jsm.streams.info(a.streamName('DATASET'))).state.messages).toBe(1);
    await expect(other.cleanup()).resolves.toBeUndefined(); // twice is fine
  });
});

describe('collectEvents', () => {
  let nats: TestNats;
  beforeAll(async () => {
    nats = await testNats();
    return nats.cleanup;
  });

  it('records events from several subjects in delivery order, with their CloudEvents headers', async () => {
    const events = await collectEvents(nats.nc, [nats.subject('medtune.training.>'), nats.subject('medtune.registry.>')]);
    const h = headers();
    h.set('ce-id', 'e-1');
    h.set('ce-type', 'medtune.training.job.succeeded');
    nats.nc.publish(nats.subject('medtune.training.job.started'), 'a');
    nats.nc.publish(nats.subject('medtune.registry.version.created'), 'b');
    nats.nc.publish(nats.subject('medtune.training.job.succeeded'), 'c', { headers: h });
    nats.nc.publish(nats.subject('medtune.dataset.version.ready'), 'not collected');

    const got = await events.waitForCount(3);
    expect(got.map((e) => [e.seq, e.subject.slice(nats.subjectPrefix.length), new TextDecoder().decode(e.data)])).toEqual([
      [0, 'medtune.training.job.started', 'a'],
      [1, 'medtune.registry.version.created', 'b'],
      [2, 'medtune.training.job.succeeded', 'c'],
    ]);
    expect(got[2]).toMatchObject({ id: 'e-1', type: 'medtune.training.job.succeeded' });
    expect(got[0]?.headers).toEqual({});

    const inOrder = await events.waitForSequence([nats.subject('medtune.training.job.*'), (e) => e.type === 'medtune.training.job.succeeded']);
    expect(inOrder.map((e) => e.seq)).toEqual([0, 2]);
    expect((await events.waitFor(nats.subject('medtune.registry.>'))).seq).toBe(1);
    await events.stop();
    expect(events.subjects()).toHaveLength(3);
  });

  it('fails a sequence that arrived in another order, naming what did arrive', async () => {
    const events = await collectEvents(nats.nc, nats.subject('>'));
    nats.nc.publish(nats.subject('second'), '');
    nats.nc.publish(nats.subject('first'), '');
    await events.waitForCount(2);
    await expect(events.waitForSequence([nats.subject('first'), nats.subject('second')], 200)).rejects.toThrow(
      new RegExp(`received so far: \\[${nats.id}\\.second, ${nats.id}\\.first\\]`),
    );
    await events.stop();
  });
});
