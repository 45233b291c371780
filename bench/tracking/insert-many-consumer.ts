/**
 * The fair baseline of the ingestion benchmark (issue 17 item 6): the straightforward design done
 * well — one insertMany per fetched batch, not one insert per point. A durable pull consumer of
 * medtune.training.metrics.logged fetches up to BENCH_FETCH messages at a time, turns every value
 * of every message into a document of `metric_points` (unique index on run/key/step, so a
 * redelivery never duplicates), writes them with one unordered insertMany (duplicate-key errors
 * are "already stored"), then acks the batch. Same NATS, same FerretDB, same connection settings.
 *
 * Started as a process by ingest.bench.ts. On SIGTERM it writes, to BENCH_LATENCY_FILE, the
 * latency of every point it stored: (time its insertMany returned) − (time in the message), ms.
 */
import { writeFileSync } from 'node:fs';
import { AckPolicy, DeliverPolicy, jetstream, jetstreamManager } from '@nats-io/jetstream';
import { events, STREAMS, SUBJECTS } from '@medtune/contracts';
import { connectMongo, connectNats, createLogger, ensureIndexes, isDuplicateKeyError, natsNamespace } from '@medtune/kit';

const env = process.env;
const log = createLogger({ service: 'bench-insert-many', level: 'warn' });
const namespace = natsNamespace(env['MEDTUNE_NATS_NAMESPACE']);
const FETCH = Number(env['BENCH_FETCH'] ?? 500);
const mongo = await connectMongo({ uri: env['MEDTUNE_MONGODB_URI']!, db: env['BENCH_DB']!, log });
await ensureIndexes(mongo.db, { metric_points: [{ key: { run: 1, key: 1, step: 1 }, unique: true, name: 'run_key_step' }] });
const nc = await connectNats({ servers: env['MEDTUNE_NATS_URL']!, name: 'bench-insert-many', log });
const points = mongo.db.collection('metric_points');
const stream = namespace.streamPrefix + STREAMS.training.name;
const durable = 'bench-insert-many';
const jsm = await jetstreamManager(nc);
await jsm.consumers.add(stream, {
  durable_name: durable,
  ack_policy: AckPolicy.Explicit,
  deliver_policy: DeliverPolicy.All,
  filter_subject: namespace.subjectPrefix + SUBJECTS.trainingMetricsLogged.subject,
  max_ack_pending: FETCH * 4,
});
const consumer = await jetstream(nc).consumers.get(stream, durable);
const latencies: number[] = [];
let stopping = false;

const loop = (async () => {
  while (!stopping) {
    const batch = await consumer.fetch({ max_messages: FETCH, expires: 1_000 });
    const msgs = [];
    for await (const m of batch) msgs.push(m);
    if (msgs.length === 0) continue;
    const docs: { run: string; key: string; step: number; value: number; time: Date }[] = [];
    for (const m of msgs) {
      const e = events.MetricsLogged.decode(m.data);
      const time = e.time ?? new Date();
      for (const [key, value] of Object.entries(e.values)) docs.push({ run: e.runId, key, step: e.step, value, time });
    }
    try {
      await points.insertMany(docs, { ordered: false });
    } catch (err) {
      if (!isDuplicateKeyError(err)) {
        for (const m of msgs) m.nak(1_000);
        continue;
      }
    }
    const now = Date.now();
    for (const d of docs) latencies.push(d.time.getTime(), now - d.time.getTime());
    for (const m of msgs) m.ack();
  }
})();
console.log('insert-many consumer ready');

process.once('SIGTERM', () => {
  void (async () => {
    stopping = true;
    await loop.catch(() => undefined);
    if (env['BENCH_LATENCY_FILE']) writeFileSync(env['BENCH_LATENCY_FILE'], JSON.stringify(latencies));
    await nc.drain();
    await mongo.close();
    process.exit(0);
  })();
});
