/**
 * Wires the tracking service: connections → repositories → core → adapters → server. main.ts
 * calls it with the loaded config; integration tests call it in-process with test servers.
 */
import type { NatsConnection } from '@nats-io/nats-core';
import { STREAMS, admin, tracking } from '@medtune/contracts';
import {
  ADMIN_SCOPES,
  adminHandlers,
  serviceSecurity,
  connectMongo,
  connectNats,
  natsConnectOptions,
  streamOptions,
  createDeadLetterStore,
  createGrpcServer,
  createIdGenerator,
  createPublisher,
  ensureIndexes,
  ensureStreams,
  natsNamespace,
  systemClock,
  type Clock,
  type KitGrpcServer,
  type Logger,
  type MongoHandle,
  type RunningConsumer,
} from '@medtune/kit';
import type { TrackingConfig } from './config';
import { EventIngest } from './core/ingest';
import { TrackingCore } from './core/service';
import { natsRunEvents, startTrackingConsumers } from './events/nats';
import { trackingHandlers } from './grpc/handlers';
import { TRACKING_SCOPES } from './grpc/scopes';
import { MongoMetricLog } from './repo/metric-log';
import { MongoDirtyMarks, MongoExperimentRepo, MongoRunRepo, TRACKING_INDEXES } from './repo/mongo';

/** A started tracking service. */
export interface TrackingApp {
  readonly port: number;
  readonly server: KitGrpcServer;
  readonly nc: NatsConnection;
  readonly mongo: MongoHandle;
  readonly consumers: readonly RunningConsumer[];
  readonly core: TrackingCore;
  /** Stops the consumers, writes queued points and pending summaries, closes the read connection. */
  stopBackground(): Promise<void>;
}

/** Connects, provisions, reconciles, serves, and returns the parts (the caller owns shutdown). */
export async function startTracking(cfg: TrackingConfig, log: Logger, clock: Clock = systemClock): Promise<TrackingApp> {
  const namespace = natsNamespace(cfg.natsNamespace);
  // One connection for every write (FerretDB v1 updates are only safe serialised), and a small
  // pool for metric history reads, so a long read does not hold up ingestion.
  const mongo = await connectMongo({ uri: cfg.mongoUri, db: cfg.db, log, maxPoolSize: cfg.mongoPoolSize });
  const reads = await connectMongo({ uri: cfg.mongoUri, db: cfg.db, log, appName: `${cfg.db}-reads`, maxPoolSize: 4 });
  await ensureIndexes(mongo.db, TRACKING_INDEXES);
  const nc = await connectNats(natsConnectOptions(cfg, 'tracking-service', log));
  await ensureStreams(nc, [STREAMS.tracking, STREAMS.training, STREAMS.evaluation], streamOptions(cfg, log));

  const newId = createIdGenerator(clock);
  const metricLog = new MongoMetricLog(mongo.db, reads.db);
  const batchLog = log.child({ component: 'metric-batches' });
  const core = new TrackingCore({
    runs: new MongoRunRepo(mongo.db),
    experiments: new MongoExperimentRepo(mongo.db),
    metrics: metricLog,
    dirty: new MongoDirtyMarks(mongo.db),
    publisher: natsRunEvents(createPublisher(nc, { source: 'medtune/tracking-service', clock, namespace })),
    clock,
    log: log.child({ component: 'core' }),
    newRunId: () => newId('run'),
    batch: {
      maxPoints: cfg.batchMaxPoints,
      maxDelayMs: cfg.batchMaxDelayMs,
      onFlush: ({ items, points, ms, error }) => {
        if (error) batchLog.warn({ err: error, items, points, ms }, 'metric batch not written; its messages will be redelivered');
        else batchLog.debug({ items, points, ms: Math.round(ms) }, 'metric batch written');
      },
    },
    liveness: { crashTimeoutMs: cfg.crashTimeoutMs, persistIntervalMs: cfg.summaryIntervalMs, sweepIntervalMs: cfg.crashSweepMs },
    watchPollMs: cfg.watchPollMs,
    watchEndGraceMs: cfg.watchEndGraceMs,
  });
  // Before serving: summaries a dead process left behind, unpublished run events.
  await core.start();

  const deadLetters = createDeadLetterStore(mongo.db);
  const consumers = await startTrackingConsumers(nc, new EventIngest(core), {
    deadLetters,
    log,
    namespace,
    maxDeliver: cfg.maxDeliver,
    metricConcurrency: cfg.metricConcurrency,
  });
  const security = await serviceSecurity(cfg, 'tracking-service');
  const server = createGrpcServer({ log, auth: security.auth, tls: security.serverTls });
  server.add(tracking.TrackingServiceService, trackingHandlers(core), TRACKING_SCOPES);
  server.add(admin.AdminServiceService, adminHandlers({ deadLetters, nc, log }), ADMIN_SCOPES);
  const port = await server.start(cfg.grpcAddr);
  log.info({ port }, 'tracking service listening');

  let stopped: Promise<void> | undefined;
  return {
    port,
    server,
    nc,
    mongo,
    consumers,
    core,
    stopBackground() {
      stopped ??= (async () => {
        // Consumers first: their handlers wait for the batches they joined, which still write.
        await Promise.all(consumers.map((c) => c.stop()));
        await core.stop();
        await reads.close();
      })();
      return stopped;
    },
  };
}
