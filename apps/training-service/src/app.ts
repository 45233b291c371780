/**
 * Wires the training service: connections → repositories → core → adapters → server. main.ts
 * calls it with the loaded config; integration tests call it in-process with test servers.
 */
import type { KeyObject } from 'node:crypto';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { STREAMS, admin, training } from '@medtune/contracts';
import {
  ADMIN_SCOPES,
  adminHandlers,
  serviceSecurity,
  signJobDataToken,
  createDeadLetterStore,
  connectMongo,
  openLeaseBucket,
  serviceLeaseOptions,
  connectNats,
  natsConnectOptions,
  streamOptions,
  createGrpcServer,
  createIdGenerator,
  createPublisher,
  dataRoots,
  ensureIndexes,
  ensureStreams,
  natsNamespace,
  systemClock,
  type Clock,
  type KitGrpcServer,
  type Logger,
  type MongoHandle,
} from '@medtune/kit';
import type { NatsConnection } from '@nats-io/nats-core';
import type { TrainingConfig } from './config';
import { Orchestrator } from './core/orchestrator';
import { LogRetention } from './core/retention';
import { localModelInspector } from './adapters/model-files';
import { natsJobChanges } from './events/job-changes';
import { natsEventPublisher } from './events/publisher';
import { datasetClient, workerClientFactory } from './grpc/clients';
import { trainingHandlers, workerRegistryHandlers } from './grpc/handlers';
import { TRAINING_SCOPES, WORKER_REGISTRY_SCOPES } from './grpc/scopes';
import { HOLD_INDEXES, MongoHoldRepository } from './repo/holds';
import { MongoJobEventRepository, MongoJobRepository, MongoRetentionStore, MongoWorkerRepository, TRAINING_INDEXES } from './repo/mongo';
import { rayExecutorFor } from './ray/wiring';

/** A started training service. */
export interface TrainingApp {
  readonly port: number;
  readonly server: KitGrpcServer;
  readonly nc: NatsConnection;
  readonly mongo: MongoHandle;
  readonly core: Orchestrator;
  /** Stops the orchestrator's loops and closes the clients; the shutdown's "background" step. */
  stopBackground(): Promise<void>;
}

/** Per-job data credentials: two hours, enough to stream a version once; each attempt gets its own. */
function jobDataCredential(key: KeyObject): (jobId: string, versionDigest: string) => Promise<string> {
  return (jobId, versionDigest) => signJobDataToken(key, { jobId, versionDigest });
}

/** Connects, provisions, restores (outbox, re-attach), serves, and returns the parts (the caller owns shutdown). */
export async function startTraining(cfg: TrainingConfig, log: Logger, clock: Clock = systemClock): Promise<TrainingApp> {
  const namespace = natsNamespace(cfg.natsNamespace);
  const mongo = await connectMongo({ uri: cfg.mongoUri, db: cfg.db, log, maxPoolSize: cfg.mongoPoolSize });
  await ensureIndexes(mongo.db, { ...TRAINING_INDEXES, ...HOLD_INDEXES });
  const nc = await connectNats(natsConnectOptions(cfg, 'training-service', log));
  await ensureStreams(nc, [STREAMS.training], streamOptions(cfg, log));
  // Replicas: scheduling, attaching, the lost-worker sweep and the outbox relay run in the holder only.
  const leases = await openLeaseBucket(nc, serviceLeaseOptions(cfg, 'training-service', log));

  const security = await serviceSecurity(cfg, 'training-service');
  const callAuth = { authToken: security.credential.current, tls: security.clientTls };
  const timing = { callDeadlineMs: cfg.callDeadlineMs, watchDeadlineMs: cfg.watchDeadlineMs };
  const datasets = datasetClient(cfg.datasetAddr, { log: log.child({ component: 'dataset-client' }), ...callAuth, timing });
  const workerClients = workerClientFactory({ log: log.child({ component: 'worker-client' }), ...callAuth, timing });
  const newId = createIdGenerator(clock);
  // EXECUTOR=ray: attempts run as Ray jobs (ray/wiring.ts); an unreachable cluster stops the start here.
  const made: { core?: Orchestrator } = {};
  const executor =
    cfg.executor === 'ray'
      ? await rayExecutorFor(cfg, {
          workers: new MongoWorkerRepository(mongo.db, { store: mongo.store }),
          jobs: new MongoJobRepository(mongo.db, { store: mongo.store }),
          workerClients,
          resetChannel: (address) => workerClients.reset(address),
          ledger: () => made.core?.ledger,
          clock,
          log,
        })
      : undefined;
  const core = new Orchestrator({
    ...(executor ? { executor } : {}),
    jobs: new MongoJobRepository(mongo.db, { store: mongo.store }),
    events: new MongoJobEventRepository(mongo.db),
    // The lease holder schedules from an in-memory queue index kept by these events (core/queue-index.ts).
    jobChanges: natsJobChanges(nc, namespace, log.child({ component: 'job-changes' })),
    workers: new MongoWorkerRepository(mongo.db, { store: mongo.store }),
    publisher: natsEventPublisher(createPublisher(nc, { source: 'medtune/training-service', clock, namespace })),
    datasets,
    workerClients,
    ...(cfg.modelCheck === 'local' ? { models: localModelInspector(dataRoots(cfg, cfg.modelRoots)) } : {}),
    resetWorkerChannel: (address) => workerClients.reset(address),
    holds: new MongoHoldRepository(mongo.db),
    lease: leases.lease(`${cfg.db}.scheduler`, { ttlMs: cfg.leaseTtlMs }),
    dispatch: {
      datasetAddress: cfg.workerDatasetAddr ?? cfg.datasetAddr,
      ...(cfg.authToken ? { datasetAuthToken: cfg.authToken } : {}),
      // With signed tokens, each StartJob carries a data credential for that job's version only.
      ...(security.jwtKey ? { datasetCredential: jobDataCredential(security.jwtKey) } : {}),
      artifactRoot: cfg.artifactRoot ?? pathToFileURL(resolve('var/artifacts')).href,
    },
    clock,
    newJobId: () => newId('job'),
    log,
    timing: {
      heartbeatIntervalMs: cfg.heartbeatIntervalMs,
      leaseMs: cfg.leaseMs,
      scheduleIntervalMs: cfg.scheduleIntervalMs,
      outboxIntervalMs: cfg.outboxIntervalMs,
      watchPollMs: cfg.watchPollMs,
      workerBackoffMs: cfg.workerBackoffMs,
      dispatchDeadlineMs: cfg.dispatchDeadlineMs,
    },
  });
  // Before serving: publish what a previous process left in outboxes, re-attach to running jobs.
  made.core = core;
  await core.start();
  // Log retention (core/retention.ts), in the scheduler lease holder only, one pass at a time.
  const retention = new LogRetention({
    store: new MongoRetentionStore(mongo.db),
    clock,
    log: log.child({ component: 'retention' }),
    settings: { progressRetentionMs: cfg.progressRetentionMs, logRetentionMs: cfg.logRetentionMs },
  });
  let pruning: Promise<unknown> | undefined;
  const retentionTimer = setInterval(() => {
    if (pruning || !core.isLeading) return;
    pruning = retention
      .run()
      .catch((err: unknown) => log.warn({ err }, 'retention pass failed; the next one retries'))
      .finally(() => (pruning = undefined));
  }, cfg.retentionIntervalMs);
  retentionTimer.unref();

  const server = createGrpcServer({ log, auth: security.auth, tls: security.serverTls });
  server.add(training.TrainingServiceService, trainingHandlers(core), TRAINING_SCOPES);
  server.add(training.WorkerRegistryServiceService, workerRegistryHandlers(core), WORKER_REGISTRY_SCOPES);
  // Every service answers AdminService (admin.proto). The training service consumes no stream
  // today, so its dead-letter list is empty, but the contract and the tooling stay uniform.
  server.add(admin.AdminServiceService, adminHandlers({ deadLetters: createDeadLetterStore(mongo.db), nc, log }), ADMIN_SCOPES);
  const port = await server.start(cfg.grpcAddr);
  log.info({ port }, 'training service listening');

  return {
    port,
    server,
    nc,
    mongo,
    core,
    async stopBackground() {
      clearInterval(retentionTimer);
      await pruning;
      await core.stop();
      datasets.close();
      workerClients.close();
    },
  };
}
