/**
 * The baseline of the ingestion benchmark: the straightforward design, one insert per metric
 * point. A durable consumer of medtune.training.metrics.logged (the kit's, like the service's)
 * whose handler inserts each value of a message as its own document into `metric_points`, with a
 * unique index on (run, key, step) so a redelivery never duplicates (E11000 = already stored),
 * then acks. Same NATS, same FerretDB, same kit connection settings as the tracking service.
 *
 * Started as a process by ingest.bench.ts. On SIGTERM it writes, to BENCH_LATENCY_FILE, the
 * latency of every point it stored: (time its insert returned) − (time in the message), ms.
 */
import { writeFileSync } from 'node:fs';
import { STREAMS, SUBJECTS, type events } from '@medtune/contracts';
import { connectMongo, connectNats, createDeadLetterStore, createLogger, ensureIndexes, isDuplicateKeyError, natsNamespace, startConsumer } from '@medtune/kit';

const env = process.env;
const log = createLogger({ service: 'bench-per-point', level: 'warn' });
const namespace = natsNamespace(env['MEDTUNE_NATS_NAMESPACE']);
const mongo = await connectMongo({ uri: env['MEDTUNE_MONGODB_URI']!, db: env['BENCH_DB']!, log });
await ensureIndexes(mongo.db, { metric_points: [{ key: { run: 1, key: 1, step: 1 }, unique: true, name: 'run_key_step' }] });
const nc = await connectNats({ servers: env['MEDTUNE_NATS_URL']!, name: 'bench-per-point', log });
const points = mongo.db.collection('metric_points');
// Pairs (point time, latency) in a flat array: a million points fit easily.
const latencies: number[] = [];

const consumer = await startConsumer<events.MetricsLogged>(nc, {
  stream: STREAMS.training.name,
  durable: 'bench-per-point',
  filterSubjects: [SUBJECTS.trainingMetricsLogged.subject],
  concurrency: Number(env['BENCH_CONCURRENCY'] ?? 64),
  deadLetters: createDeadLetterStore(mongo.db),
  log,
  namespace,
  handle: async ({ message: m }) => {
    const time = m.time ? m.time.getTime() : Date.now();
    for (const [key, value] of Object.entries(m.values)) {
      try {
        await points.insertOne({ run: m.runId, key, step: m.step, value, time: new Date(time) });
        latencies.push(time, Date.now() - time);
      } catch (err) {
        if (!isDuplicateKeyError(err)) throw err;
      }
    }
  },
});
console.log('per-point consumer ready');

process.once('SIGTERM', () => {
  void (async () => {
    await consumer.stop();
    if (env['BENCH_LATENCY_FILE']) writeFileSync(env['BENCH_LATENCY_FILE'], JSON.stringify(latencies));
    await nc.drain();
    await mongo.close();
    process.exit(0);
  })();
});
