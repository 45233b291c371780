// Graceful shutdown against real servers: health flips to NOT_SERVING while in-flight calls
// finish; stragglers are cancelled after the grace period; runService's order keeps NATS up
// until the calls that publish are done.
import { dataset, events, health, STREAMS, SUBJECTS } from '@medtune/contracts';
import { grpcHealthStatus, testMongo, testNats, waitFor, type TestMongo, type TestNats } from '@medtune/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CancelledError,
  clientStream,
  connectMongo,
  connectNats,
  createClient,
  createDeadLetterStore,
  createGrpcServer,
  createInflight,
  createPublisher,
  ensureStreams,
  runService,
  serverStream,
  startConsumer,
  unary,
  UnavailableError,
  type CallContext,
  type KitGrpcServer,
} from './index';
import { captureLogs } from './test-logs';

const Svc = {
  getDataset: dataset.DatasetServiceService.getDataset,
  streamRows: dataset.DatasetServiceService.streamRows,
  uploadDataset: dataset.DatasetServiceService.uploadDataset,
};
const STATUS = health.HealthCheckResponse_ServingStatus;

/** A server whose getDataset runs `slow` (the rest are trivial). */
async function serverWith(log: ReturnType<typeof captureLogs>['log'], slow: (ctx: CallContext) => Promise<void>) {
  const server = createGrpcServer({ log });
  server.add(Svc, {
    getDataset: unary(async (_req, ctx) => {
      await slow(ctx);
      return { dataset: undefined };
    }),
    streamRows: serverStream(async function* () {
      yield* [];
    }),
    uploadDataset: clientStream(async () => ({ result: undefined })),
  });
  const addr = `127.0.0.1:${await server.start('127.0.0.1:0')}`;
  return { server, addr, client: createClient({ service: Svc }, addr, { defaultDeadlineMs: 10_000, retry: false }) };
}

/** Watches the server's overall health status, collecting every status it reports. */
function watchHealth(addr: string) {
  const c = createClient(health.HealthClient, addr, { defaultDeadlineMs: 30_000 });
  const seen: health.HealthCheckResponse_ServingStatus[] = [];
  const done = (async () => {
    for await (const r of c.serverStream('watch', { service: '' })) seen.push(r.status);
  })().finally(() => c.close());
  return { seen, done };
}

describe('gRPC server shutdown', () => {
  it('health goes SERVING → NOT_SERVING during shutdown and in-flight calls finish', async () => {
    const { log } = captureLogs();
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    let started = false;
    let finished = false;
    const { server, addr, client } = await serverWith(log, async () => {
      started = true;
      await gate;
      finished = true;
    });
    expect(await grpcHealthStatus(addr, 'medtune.dataset.v1.DatasetService')).toBe('SERVING');
    const watch = watchHealth(addr);
    await waitFor(() => watch.seen.length === 1);
    expect(watch.seen).toEqual([STATUS.SERVING]);

    const call = client.unary('getDataset', { name: 'slow' });
    await waitFor(() => started);
    const stopped = server.shutdown({ graceMs: 10_000 });
    await waitFor(() => watch.seen.includes(STATUS.NOT_SERVING), 5_000, { message: 'NOT_SERVING on the Watch stream' });
    expect(finished).toBe(false); // reported while the call is still running
    expect(server.inflight()).toBe(1);
    await watch.done; // the Watch stream ends by itself: it does not hold the shutdown up

    release();
    await expect(call).resolves.toEqual({ dataset: undefined }); // the in-flight call finished normally
    await stopped;
    expect(watch.seen).toEqual([STATUS.SERVING, STATUS.NOT_SERVING]);
    await expect(client.unary('getDataset', { name: 'late' }, { deadlineMs: 1_000 })).rejects.toBeInstanceOf(UnavailableError);
    client.close();
  });

  it('after the grace period the calls still running are cancelled and their handlers see the abort', async () => {
    const { log } = captureLogs();
    let aborted = false;
    const { server, client } = await serverWith(
      log,
      (ctx) =>
        new Promise<void>((resolve) =>
          ctx.signal.addEventListener('abort', () => {
            aborted = true;
            resolve();
          }),
        ),
    );
    const call = client.unary('getDataset', { name: 'forever' }).catch((e: unknown) => e);
    await waitFor(() => server.inflight() === 1);
    const t0 = Date.now();
    await server.shutdown({ graceMs: 300 });
    const elapsed = Date.now() - t0;
    expect(elapsed).toBeGreaterThanOrEqual(290);
    expect(elapsed).toBeLessThan(3_000);
    expect(aborted).toBe(true);
    const err = await call;
    expect(err instanceof CancelledError || err instanceof UnavailableError).toBe(true);
    client.close();
  });
});

describe('runService', () => {
  let nats: TestNats;
  let mongo: TestMongo;
  beforeAll(async () => {
    nats = await testNats();
    mongo = await testMongo();
  });
  afterAll(async () => {
    await nats?.cleanup();
    await mongo?.cleanup();
  });

  it('stops in the standard order; NATS is drained only after in-flight calls published', async () => {
    const logs = captureLogs();
    const log = logs.log;
    const nc = await connectNats({ servers: nats.url, name: 'kit-shutdown-test', log });
    const db = await connectMongo({ uri: mongo.uri, db: mongo.dbName, log });
    await ensureStreams(nc, [STREAMS.dataset], { namespace: nats });
    const pub = createPublisher(nc, { source: 'medtune/test', namespace: nats });
    const consumer = await startConsumer(nc, {
      stream: STREAMS.dataset.name,
      durable: 'shutdown-test',
      namespace: nats,
      deadLetters: createDeadLetterStore(db.db),
      handle: async () => undefined,
      log,
    });
    const built: { server: KitGrpcServer; client: ReturnType<typeof createClient<typeof Svc>> } = await serverWith(log, async () => {
      // A handler that publishes after the shutdown began: NATS must still be up.
      await waitFor(() => built.server.health.get('') === 'NOT_SERVING');
      await new Promise((resolve) => setTimeout(resolve, 200));
      await pub.publish(SUBJECTS.datasetVersionDeleted, events.DatasetVersionDeleted.fromPartial({ digest: 'late' }), { id: 'late-1' });
    });
    const server = built.server;
    const inflight = createInflight();
    let backgroundWrote = false;
    void inflight.run(async () => {
      await waitFor(() => server.health.get('') === 'NOT_SERVING');
      await new Promise((resolve) => setTimeout(resolve, 300));
      await db.db.collection('jobs').insertOne({ _id: 'background' } as never);
      backgroundWrote = true;
    });

    const shutdown = runService({ log, server, consumers: [consumer], inflight, nc, mongo: db, graceMs: 5_000, signals: false });
    const call = built.client.unary('getDataset', { name: 'publishes' });
    await waitFor(() => server.inflight() === 1);
    expect(await shutdown.run('test')).toBe(true);

    await expect(call).resolves.toEqual({ dataset: undefined });
    built.client.close();
    expect(backgroundWrote).toBe(true);
    const stored = await nats.jsm.streams.getMessage(nats.streamName(STREAMS.dataset.name), { last_by_subj: nats.subject(SUBJECTS.datasetVersionDeleted.subject) });
    expect(stored?.header?.get('ce-id')).toBe('late-1');
    expect(await mongo.db.collection('jobs').countDocuments({ _id: 'background' } as never)).toBe(1);
    expect(nc.isClosed()).toBe(true);
    const steps = logs.lines().filter((l) => l.msg === 'shutdown step done').map((l) => l.step);
    expect(steps).toEqual(['health not serving', 'stop consumers and gRPC', 'in-flight work', 'drain NATS', 'close MongoDB', 'flush logs']);
    expect(await shutdown.run('again')).toBe(true); // idempotent
  });
});
