/**
 * Wires the dataset service: connections → repositories → core → adapters → server. main.ts
 * calls it with the loaded config; integration tests call it in-process with test servers.
 */
import { availableParallelism } from 'node:os';
import type { NatsConnection } from '@nats-io/nats-core';
import { admin, dataset, STREAMS } from '@medtune/contracts';
import {
  ADMIN_SCOPES,
  adminHandlers,
  dataRoots,
  serviceSecurity,
  connectMongo,
  connectNats,
  natsConnectOptions,
  streamOptions,
  createDeadLetterStore,
  createGrpcServer,
  createIdGenerator,
  createInflight,
  createPublisher,
  ensureIndexes,
  ensureStreams,
  natsNamespace,
  systemClock,
  type Clock,
  type Inflight,
  type KitGrpcServer,
  type Logger,
  type MongoHandle,
  type RunningConsumer,
} from '@medtune/kit';
import { LocalFiles } from './adapters/files';
import { PooledTokenizers } from './adapters/tokenizers';
import type { DatasetConfig } from './config';
import { DatasetCore } from './core/service';
import { natsDatasetEvents, startJobUsageConsumer } from './events/nats';
import { datasetHandlers } from './grpc/handlers';
import { DATASET_SCOPES } from './grpc/scopes';
import { INDEXES, MongoReportRepo, MongoRowRepo, MongoTemplateRepo, MongoUsageRepo, MongoVersionRepo } from './repo/mongo';

/** A started dataset service. */
export interface DatasetApp {
  readonly port: number;
  readonly server: KitGrpcServer;
  readonly nc: NatsConnection;
  readonly mongo: MongoHandle;
  readonly consumers: readonly RunningConsumer[];
  readonly core: DatasetCore;
  readonly inflight: Inflight;
  /** Stops the janitor and closes the tokenizer pools (after the gRPC server is down). */
  stopBackground(): Promise<void>;
}

/** Connects, provisions, starts every part, and returns them (the caller owns shutdown). */
export async function startDataset(cfg: DatasetConfig, log: Logger, clock: Clock = systemClock): Promise<DatasetApp> {
  const namespace = natsNamespace(cfg.natsNamespace);
  const mongo = await connectMongo({ uri: cfg.mongoUri, db: cfg.db, log, maxPoolSize: cfg.mongoPoolSize });
  await ensureIndexes(mongo.db, INDEXES);
  const nc = await connectNats(natsConnectOptions(cfg, 'dataset-service', log));
  await ensureStreams(nc, [STREAMS.dataset, STREAMS.training], streamOptions(cfg, log));

  const tokenizers = new PooledTokenizers({
    threads: cfg.tokenizerThreads || Math.max(1, availableParallelism() - 1),
    maxPools: cfg.tokenizerPools,
    defaultEosToken: cfg.defaultEosToken,
    // Tokenizer directories are model directories: the data roots (not IMPORT_ROOTS, which narrows imports).
    confine: dataRoots(cfg),
    log: log.child({ component: 'tokenizers' }),
  });
  const roots = dataRoots(cfg, cfg.importRoots);
  const core = new DatasetCore({
    versions: new MongoVersionRepo(mongo.db),
    rows: new MongoRowRepo(mongo.db),
    reports: new MongoReportRepo(mongo.db),
    templates: new MongoTemplateRepo(mongo.db),
    usage: new MongoUsageRepo(mongo.db),
    events: natsDatasetEvents(createPublisher(nc, { source: 'medtune/dataset-service', clock, namespace })),
    tokenizers,
    files: new LocalFiles(roots),
    clock,
    newId: createIdGenerator(clock),
    log: log.child({ component: 'core' }),
    batchRows: cfg.batchRows,
    batchesInFlight: cfg.batchesInFlight,
    insertRows: cfg.insertRows,
    maxRowBytes: cfg.maxRowBytes,
    heartbeatMs: cfg.heartbeatMs,
    staleAfterMs: cfg.staleAfterMs,
  });

  // Restart safety: remove what a dead run left half-imported, retry unpublished events.
  const inflight = createInflight();
  const sweep = () => inflight.run(() => core.sweep()).catch((err: unknown) => log.error({ err }, 'janitor sweep failed'));
  await sweep();
  const timer = setInterval(() => void sweep(), cfg.janitorIntervalMs);
  timer.unref();

  const deadLetters = createDeadLetterStore(mongo.db);
  // Uploads carry chunks of up to 4 MiB: allow a message a little larger than that.
  const security = await serviceSecurity(cfg, 'dataset-service');
  const server = createGrpcServer({ log, auth: security.auth, tls: security.serverTls, channelOptions: { 'grpc.max_receive_message_length': 5 << 20 } });
  server.add(dataset.DatasetServiceService, datasetHandlers(core, { maxUploadBytes: cfg.maxUploadBytes }), DATASET_SCOPES);
  server.add(admin.AdminServiceService, adminHandlers({ deadLetters, nc, log }), ADMIN_SCOPES);
  const consumers = [await startJobUsageConsumer(nc, core, { deadLetters, log, namespace, maxDeliver: cfg.maxDeliver })];
  const port = await server.start(cfg.grpcAddr);
  log.info({ port }, 'dataset service listening');

  return {
    port,
    server,
    nc,
    mongo,
    consumers,
    core,
    inflight,
    async stopBackground() {
      clearInterval(timer);
      await inflight.wait();
      await tokenizers.close();
    },
  };
}
