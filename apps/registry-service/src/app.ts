/**
 * Wires the registry service: connections → store → core → adapters → server. main.ts calls it
 * with the loaded config; integration tests call it in-process with test servers.
 */
import { admin, registry, STREAMS } from '@medtune/contracts';
import {
  ADMIN_SCOPES,
  adminHandlers,
  type Clock,
  connectMongo,
  openLeaseBucket,
  serviceLeaseOptions,
  whileHeld,
  connectNats,
  createDeadLetterStore,
  createGrpcServer,
  createIdGenerator,
  createPublisher,
  ensureStreams,
  type KitGrpcServer,
  type Logger,
  type MongoHandle,
  natsConnectOptions,
  natsNamespace,
  OutboxRelay,
  type RunningConsumer,
  serviceSecurity,
  dataRoots,
  streamOptions,
  systemClock,
} from '@medtune/kit';
import type { NatsConnection } from '@nats-io/nats-core';
import { ObjectStore, parseS3Roots } from '@medtune/kit/storage';
import { artifactReader, confinedArtifactReader, s3ArtifactReader } from './artifacts/digest';
import type { RegistryConfig } from './config';
import { AliasCore } from './core/aliases';
import { REGISTRY_SCOPES } from './grpc/scopes';
import { RegistryCore } from './core/registry';
import { ResolveCache } from './core/resolve-cache';
import { startCacheInvalidation } from './events/cache-invalidation';
import { Verifier } from './core/verification';
import { natsEventSink, startJobSucceededConsumer } from './events/nats';
import { registryHandlers } from './grpc/handlers';
import { trainingJobsClient } from './grpc/training-jobs';
import { ensureRegistryIndexes, MongoRegistryStore } from './repo/mongo-store';

/** A started registry service. */
export interface RegistryApp {
  readonly port: number;
  readonly server: KitGrpcServer;
  readonly nc: NatsConnection;
  readonly mongo: MongoHandle;
  readonly consumers: readonly RunningConsumer[];
  readonly core: RegistryCore;
  readonly verifier: Verifier;
  /** Stops the background loops (outbox timer, verifier); part of the shutdown's "background" step. */
  stopBackground(): Promise<void>;
}

/** Connects, provisions, starts every part, and returns them (the caller owns shutdown). */
export async function startRegistry(cfg: RegistryConfig, log: Logger, clock: Clock = systemClock): Promise<RegistryApp> {
  const namespace = natsNamespace(cfg.natsNamespace);
  const mongo = await connectMongo({ uri: cfg.mongoUri, db: cfg.db, log, maxPoolSize: cfg.mongoPoolSize });
  await ensureRegistryIndexes(mongo.db);
  const nc = await connectNats(natsConnectOptions(cfg, 'registry-service', log));
  await ensureStreams(nc, [STREAMS.registry, STREAMS.training], streamOptions(cfg, log));

  const newId = createIdGenerator(clock);
  const store = new MongoRegistryStore(mongo.db);
  const publisher = createPublisher(nc, { source: 'medtune/registry-service', clock, namespace });
  const outbox = new OutboxRelay(store, natsEventSink(publisher), log.child({ component: 'outbox' }), async (e) => {
    if (e.aliasChange) await store.insertAliasChange(e.aliasChange);
  });
  const cache = new ResolveCache(cfg.resolveCacheTtlMs, clock, { log: log.child({ component: 'resolve-cache' }) });
  const roots = dataRoots(cfg);
  // s3:// artifacts: read only under MEDTUNE_S3_ROOTS, from the configured endpoint.
  const s3Roots = parseS3Roots(cfg.s3Roots);
  const s3Store = s3Roots.length > 0 ? new ObjectStore(cfg) : null;
  const verifier = new Verifier({
    store,
    reader: artifactReader(confinedArtifactReader(roots), s3Store && s3ArtifactReader(s3Store, s3Roots)),
    outbox,
    cache,
    clock,
    newId,
    log: log.child({ component: 'verifier' }),
    concurrency: cfg.verifyConcurrency,
  });
  const deps = { store, outbox, verifier, cache, clock, newId, log: log.child({ component: 'core' }) };
  const core = new RegistryCore(deps);
  const aliases = new AliasCore(deps);

  // Restart safety, in the holder of the <db>.relay lease only (replicas): publish what a
  // previous process left in the outboxes, verify what it left PENDING, then relay periodically.
  const leases = await openLeaseBucket(nc, serviceLeaseOptions(cfg, 'registry-service', log));
  const relayLease = leases.lease(`${cfg.db}.relay`, { ttlMs: cfg.leaseTtlMs });
  const stopRelay = whileHeld(
    relayLease,
    {
      start: async () => {
        await outbox.flush();
        const resumed = await verifier.resumePending();
        if (resumed) log.info({ versions: resumed }, 'resuming verification of pending versions');
      },
      stop: async () => undefined,
    },
    log,
  );
  await stopRelay.ready;
  const timer = setInterval(() => {
    if (relayLease.isHeld) void outbox.flush();
  }, cfg.outboxIntervalMs);
  timer.unref();

  // Other replicas' alias moves and verification results reach this cache through their events.
  const stopInvalidation = cfg.resolveCacheTtlMs > 0 ? startCacheInvalidation(nc, { cache, namespace, log: log.child({ component: 'resolve-cache' }) }) : async () => undefined;

  const deadLetters = createDeadLetterStore(mongo.db);
  const security = await serviceSecurity(cfg, 'registry-service');
  const server = createGrpcServer({ log, auth: security.auth, tls: security.serverTls });
  server.add(registry.RegistryServiceService, registryHandlers(core, aliases, roots, { roots: s3Roots, store: s3Store }), REGISTRY_SCOPES);
  server.add(admin.AdminServiceService, adminHandlers({ deadLetters, nc, log }), ADMIN_SCOPES);
  // A training.job.succeeded is a claim; the training service's GetJob is the fact it is checked against.
  const trainingJobs = cfg.confirmJobs === 'training' ? trainingJobsClient(cfg.trainingAddr, { authToken: () => security.credential.current(), tls: security.clientTls, log: log.child({ component: 'training-client' }) }) : undefined;
  const consumers = [
    await startJobSucceededConsumer(nc, { core, deadLetters, log, namespace, maxDeliver: cfg.maxDeliver, ...(trainingJobs ? { trainingJobs } : {}) }),
  ];
  const port = await server.start(cfg.grpcAddr);
  log.info({ port }, 'registry service listening');

  return {
    port,
    server,
    nc,
    mongo,
    consumers,
    core,
    verifier,
    async stopBackground() {
      clearInterval(timer);
      await stopInvalidation();
      await verifier.stop();
      await outbox.flush();
      await stopRelay();
      trainingJobs?.close();
      s3Store?.close();
    },
  };
}
