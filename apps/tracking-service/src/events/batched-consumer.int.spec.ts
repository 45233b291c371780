/** The batched consumer against a real nats-server (and FerretDB for the dead letters). */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jetstreamManager } from '@nats-io/jetstream';
import { STREAMS, SUBJECTS, type events } from '@medtune/contracts';
import { InvalidArgumentError, UnavailableError, createDeadLetterStore, createLogger, createPublisher, ensureStreams, natsNamespace, type DeadLetterStore, type Publisher } from '@medtune/kit';
import { testMongo, testNats, waitFor, type TestMongo, type TestNats } from '@medtune/testing';
import { startBatchedConsumer } from './batched-consumer';

const log = createLogger({ service: 'batched-consumer-test', level: 'silent' });
let nats: TestNats;
let mongo: TestMongo;
let pub: Publisher;
let deadLetters: DeadLetterStore;

beforeAll(async () => {
  nats = await testNats();
  mongo = await testMongo();
  await ensureStreams(nats.nc, [STREAMS.training], { namespace: natsNamespace(nats.id), log });
  pub = createPublisher(nats.nc, { source: 'medtune/training-service', namespace: natsNamespace(nats.id) });
  deadLetters = createDeadLetterStore(mongo.db);
});

afterAll(async () => {
  await nats?.cleanup();
  await mongo?.cleanup();
});

const metrics = (step: number): events.MetricsLogged => ({ jobId: 'job', runId: 'job', sequence: step, step, values: { loss: step }, time: new Date() });

async function consumerInfo(durable: string) {
  return (await jetstreamManager(nats.nc)).consumers.info(nats.streamName(STREAMS.training.name), durable);
}

function start(durable: string, handle: (m: events.MetricsLogged, d: { deliveryCount: number }) => Promise<void>) {
  return startBatchedConsumer<events.MetricsLogged>(nats.nc, {
    stream: STREAMS.training.name,
    durable,
    subject: SUBJECTS.trainingMetricsLogged.subject,
    codec: SUBJECTS.trainingMetricsLogged.codec,
    handle,
    deadLetters,
    log,
    namespace: natsNamespace(nats.id),
    maxAckPending: 100,
    maxDeliver: 3,
    backoffMs: [50],
  });
}

describe('batched consumer', () => {
  it('acks only once the handler resolved; a transient failure comes back; poison goes to the dead letters', async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const handled = new Map<number, number>();
    const consumer = await start('c1', async (m, d) => {
      handled.set(m.step, d.deliveryCount);
      if (m.step === 2 && d.deliveryCount === 1) throw new UnavailableError('store is down');
      if (m.step === 3) throw new InvalidArgumentError('run_id', 'not a run id');
      if (m.step === 1) await gate; // a batch still being written
    });
    for (const step of [1, 2, 3]) await pub.publish(SUBJECTS.trainingMetricsLogged, metrics(step), { id: `m${step}` });
    // Not a MetricsLogged: undecodable bytes on the subject.
    await nats.nc.publish(nats.subject(SUBJECTS.trainingMetricsLogged.subject), new Uint8Array([0xff, 0xff, 0xff]));
    await nats.nc.flush();

    await waitFor(() => handled.get(2) === 2); // redelivered after the nak
    let info = await consumerInfo('c1');
    expect(info.num_ack_pending).toBeGreaterThanOrEqual(1); // step 1 waits for its write
    release();
    await waitFor(async () => {
      info = await consumerInfo('c1');
      return info.num_ack_pending === 0 && info.num_pending === 0;
    });
    const letters = await waitFor(async () => {
      const rows = await deadLetters.list({ consumer: 'c1', limit: 10 });
      return rows.length >= 2 ? rows : undefined;
    });
    expect(letters.map((l) => l.error).sort()).toEqual([expect.stringContaining('run_id: not a run id'), expect.stringContaining('undecodable payload')].sort());
    expect(handled.get(1)).toBe(1);
    expect(handled.get(3)).toBe(1); // not transient: no second delivery
    await consumer.stop();
  });

  it('stop() waits for the handlers in flight', async () => {
    let finished = false;
    let started = false;
    // A new durable sees the earlier messages too; only step 10 is slow.
    const consumer = await start('c2', async (m) => {
      if (m.step === 10) {
        started = true;
        await new Promise((r) => setTimeout(r, 300));
        finished = true;
      }
    });
    await pub.publish(SUBJECTS.trainingMetricsLogged, metrics(10), { id: 'm10' });
    await waitFor(() => started);
    await consumer.stop();
    expect(finished).toBe(true);
    await waitFor(async () => (await consumerInfo('c2')).num_ack_pending === 0);
  });
});
