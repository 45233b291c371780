// The consumer against real nats-server + FerretDB: ack after the write, idempotent redelivery,
// dead letters (and reading / re-driving them through the admin gRPC service), draining stop.
import { admin, events, STREAMS, SUBJECTS } from '@medtune/contracts';
import { testMongo, testNats, waitFor, type TestMongo, type TestNats } from '@medtune/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  adminHandlers,
  createClient,
  createDeadLetterStore,
  createGrpcServer,
  createPublisher,
  ensureIndexes,
  ensureStreams,
  FailedPreconditionError,
  InvalidArgumentError,
  isDuplicateKeyError,
  NotFoundError,
  startConsumer,
  UnavailableError,
  type ConsumedEvent,
  type DeadLetterStore,
  type Publisher,
  type RunningConsumer,
} from './index';
import { captureLogs } from './test-logs';

type Deleted = events.DatasetVersionDeleted;
const { log } = captureLogs();
let nats: TestNats;
let mongo: TestMongo;
let pub: Publisher;
let deadLetters: DeadLetterStore;
const consumers: RunningConsumer[] = [];

beforeAll(async () => {
  nats = await testNats();
  mongo = await testMongo();
  await ensureStreams(nats.nc, [STREAMS.dataset], { namespace: nats });
  pub = createPublisher(nats.nc, { source: 'medtune/test', namespace: nats });
  deadLetters = createDeadLetterStore(mongo.db);
});
afterAll(async () => {
  await Promise.all(consumers.map((c) => c.stop()));
  await nats?.cleanup();
  await mongo?.cleanup();
});

/** Starts a consumer of medtune.dataset.version.deleted with a fresh durable name. */
async function consume(
  durable: string,
  handle: (e: ConsumedEvent<Deleted>) => Promise<void>,
  extra: { maxDeliver?: number; concurrency?: number } = {},
  on: TestNats = nats,
) {
  const c = await startConsumer<Deleted>(on.nc, {
    stream: STREAMS.dataset.name,
    durable,
    filterSubjects: [SUBJECTS.datasetVersionDeleted.subject],
    namespace: on,
    handle,
    deadLetters,
    log,
    backoffMs: [50],
    ...extra,
  });
  consumers.push(c);
  return c;
}

const info = (durable: string, on: TestNats = nats) => on.jsm.consumers.info(on.streamName(STREAMS.dataset.name), durable);
const deleted = (digest: string) => events.DatasetVersionDeleted.fromPartial({ digest, datasetName: 'medical' });

describe('consumer', () => {
  it('acks only after its Mongo write, and a redelivered message does not write twice', async () => {
    const coll = mongo.db.collection<{ _id?: unknown; eventId: string; digest: string }>('deletions');
    await ensureIndexes(mongo.db, { deletions: [{ key: { eventId: 1 }, unique: true }] });
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const seen: number[] = [];
    let duplicates = 0;
    await consume('test-ack', async (e) => {
      seen.push(e.deliveryCount);
      if (e.deliveryCount === 1) await gate;
      try {
        await coll.insertOne({ eventId: e.ce.id, digest: e.message.digest });
      } catch (err) {
        if (!isDuplicateKeyError(err)) throw err;
        duplicates++; // already written by an earlier delivery: done
      }
      // The first delivery "crashes" after its write, before the ack: the event comes back.
      if (e.deliveryCount === 1) throw new UnavailableError('lost the ack');
    });
    await pub.publish(SUBJECTS.datasetVersionDeleted, deleted('d1'), { id: 'evt-d1' });

    await waitFor(() => seen.length === 1);
    const pending = await info('test-ack');
    expect(pending.num_ack_pending).toBe(1); // handler running, nothing written yet: not acked
    expect(await coll.countDocuments()).toBe(0);

    release();
    await waitFor(async () => {
      const i = await info('test-ack');
      return i.num_ack_pending === 0 && i.num_pending === 0 && seen.length === 2;
    });
    expect(seen).toEqual([1, 2]);
    expect(duplicates).toBe(1);
    expect(await coll.find().toArray()).toMatchObject([{ eventId: 'evt-d1', digest: 'd1' }]);
  });

  it('bounds concurrency; stop() waits for running handlers and strands nothing', async () => {
    let running = 0;
    let peak = 0;
    const first: string[] = [];
    const mine = (d: string) => d.startsWith('s'); // the stream also holds the first test's event
    const c = await consume(
      'test-stop',
      async (e) => {
        running++;
        peak = Math.max(peak, running);
        await new Promise((resolve) => setTimeout(resolve, 150));
        running--;
        if (mine(e.message.digest)) first.push(e.message.digest);
      },
      { concurrency: 2 },
    );
    const digests = ['s0', 's1', 's2', 's3', 's4', 's5'];
    for (const d of digests) await pub.publish(SUBJECTS.datasetVersionDeleted, deleted(d));
    await waitFor(() => running === 2);
    await c.stop();
    expect(running).toBe(0); // stop() returned only after the running handlers finished
    expect(peak).toBe(2);
    expect((await info('test-stop')).num_ack_pending).toBe(0); // what ran is acked; nothing else is out
    expect(first.length).toBeGreaterThanOrEqual(1); // the two that were running (one may be the first test's event)
    expect(first.length).toBeLessThan(digests.length);

    // The next start of the durable gets the rest at once (nothing waits out the 30 s ack_wait
    // in a pull nobody reads), and not the ones already handled (they were acked).
    const second: string[] = [];
    const t0 = Date.now();
    await consume('test-stop', async (e) => void (mine(e.message.digest) && second.push(e.message.digest)));
    await waitFor(() => first.length + second.length >= digests.length, 5_000);
    expect(Date.now() - t0).toBeLessThan(5_000);
    expect([...first, ...second].sort()).toEqual(digests); // each exactly once
  });
});

describe('dead letters', () => {
  let handled: string[];
  let adminServer: ReturnType<typeof createGrpcServer>;
  let client: ReturnType<typeof createClient<typeof admin.AdminServiceService>>;
  let dl: TestNats; // a stream of its own: the events of the tests above stay out
  let dlPub: Publisher;

  beforeAll(async () => {
    handled = [];
    dl = await testNats();
    await ensureStreams(dl.nc, [STREAMS.dataset], { namespace: dl });
    dlPub = createPublisher(dl.nc, { source: 'medtune/test', namespace: dl });
    await consume(
      'test-poison',
      async (e) => {
        if (e.message.digest === 'invalid' && !e.headers['medtune-redrive-of']) throw new InvalidArgumentError('digest', 'is not hex');
        if (e.message.digest === 'flaky') throw new UnavailableError('still down');
        handled.push(e.message.digest);
      },
      { maxDeliver: 3 },
      dl,
    );
    adminServer = createGrpcServer({ log });
    adminServer.add(admin.AdminServiceService, adminHandlers({ deadLetters, nc: dl.nc, log }));
    const port = await adminServer.start('127.0.0.1:0');
    client = createClient(admin.AdminServiceClient, `127.0.0.1:${port}`, { defaultDeadlineMs: 5_000 });
  });
  afterAll(async () => {
    client?.close();
    await adminServer?.shutdown({ graceMs: 500 });
    await Promise.all(consumers.splice(0).map((c) => c.stop()));
    await dl?.cleanup();
  });

  it('poison messages end in dead-letter records: undecodable at once, a non-transient error at once, a transient one after maxDeliver', async () => {
    await dl.js.publish(dl.subject(SUBJECTS.datasetVersionDeleted.subject), new Uint8Array([0x0a, 0x05, 0x41]), { msgID: 'garbage-1' });
    await dlPub.publish(SUBJECTS.datasetVersionDeleted, deleted('invalid'), { id: 'evt-invalid' });
    await dlPub.publish(SUBJECTS.datasetVersionDeleted, deleted('flaky'), { id: 'evt-flaky' });
    await dlPub.publish(SUBJECTS.datasetVersionDeleted, deleted('fine'), { id: 'evt-fine' });

    const records = await waitFor(async () => {
      const list = await deadLetters.list({ consumer: 'test-poison', limit: 10 });
      return list.length === 3 ? list : undefined;
    });
    const byError = (re: RegExp) => records.find((r) => re.test(r.error));
    expect(byError(/^undecodable payload/)).toMatchObject({ deliveries: 1, consumer: 'test-poison', stream: dl.streamName(STREAMS.dataset.name) });
    expect(byError(/InvalidArgumentError: digest: is not hex/)).toMatchObject({ deliveries: 1 });
    const flaky = byError(/UnavailableError: still down/);
    expect(flaky).toMatchObject({ deliveries: 3, subject: dl.subject('medtune.dataset.version.deleted') });
    expect(flaky?.headers['ce-id']).toBe('evt-flaky');
    expect(events.DatasetVersionDeleted.decode(flaky?.data ?? new Uint8Array())).toEqual(deleted('flaky'));
    expect(handled).toEqual(['fine']);
    // The stream keeps no message half-processed: all were acked or terminated.
    await waitFor(async () => (await info('test-poison', dl)).num_ack_pending === 0);
    // One record per (stream, consumer, seq), enforced by the unique index.
    if (!flaky) throw new Error('no flaky record');
    const again = await deadLetters.record({ ...flaky, deliveries: 4, error: 'again' });
    expect(again).toMatchObject({ id: flaky.id, deliveries: 4, error: 'again' });
    expect(await mongo.db.collection('dead_letters').countDocuments()).toBe(3);
  });

  it('lists them through the admin gRPC service, newest first, page by page, and re-drives one', async () => {
    const page1 = await client.unary('listDeadLetters', { consumer: 'test-poison', pageSize: 2, pageToken: '' });
    expect(page1.deadLetters).toHaveLength(2);
    expect(page1.nextPageToken).not.toBe('');
    const page2 = await client.unary('listDeadLetters', { consumer: 'test-poison', pageSize: 2, pageToken: page1.nextPageToken });
    expect(page2.deadLetters).toHaveLength(1);
    expect(page2.nextPageToken).toBe('');
    const all = [...page1.deadLetters, ...page2.deadLetters];
    expect(all.map((d) => d.id)).toEqual([...all.map((d) => d.id)].sort().reverse());
    const invalid = all.find((d) => d.headers['ce-id'] === 'evt-invalid');
    expect(invalid).toMatchObject({ consumer: 'test-poison', deliveries: 1, subject: dl.subject('medtune.dataset.version.deleted') });
    expect(invalid?.time).toBeInstanceOf(Date);

    const res = await client.unary('redriveDeadLetter', { id: invalid?.id ?? '' });
    expect(res.deadLetter?.redrivenTime).toBeInstanceOf(Date);
    await waitFor(() => handled.includes('invalid'), 10_000, { message: 're-driven event handled' });
    await expect(client.unary('redriveDeadLetter', { id: invalid?.id ?? '' })).rejects.toBeInstanceOf(FailedPreconditionError);
    await expect(client.unary('redriveDeadLetter', { id: 'dl_missing' })).rejects.toBeInstanceOf(NotFoundError);
    await expect(client.unary('listDeadLetters', { consumer: '', pageSize: 0, pageToken: 'garbage!' })).rejects.toThrow(/^page_token: /);
  });
});
