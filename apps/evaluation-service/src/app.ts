/**
 * Wires the evaluation service: connections → store → core, runner, automation → adapters →
 * server. main.ts calls it with the loaded config; integration tests call it in-process.
 */
import { admin, evaluation, STREAMS } from '@medtune/contracts';
import {
  ADMIN_SCOPES,
  adminHandlers,
  serviceSecurity,
  dataRoots,
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
  streamOptions,
  systemClock,
} from '@medtune/kit';
import type { NatsConnection } from '@nats-io/nats-core';
import { datasetPort, registryPort, workerPort } from './clients/services';
import type { EvaluationConfig } from './config';
import { Automation } from './core/automation';
import { EvaluationCore } from './core/evaluations';
import { Notifier } from './core/notifier';
import { Runner } from './core/runner';
import { natsEventSink, startVersionReadyConsumer } from './events/nats';
import { fileRowReader } from './files/rows';
import { evaluationHandlers } from './grpc/handlers';
import { EVALUATION_SCOPES } from './grpc/scopes';
import { ensureEvaluationIndexes, MongoEvalStore } from './repo/mongo-store';

/** A started evaluation service. */
export interface EvaluationApp {
  readonly port: number;
  readonly server: KitGrpcServer;
  readonly nc: NatsConnection;
  readonly mongo: MongoHandle;
  readonly consumers: readonly RunningConsumer[];
  readonly core: EvaluationCore;
  readonly runner: Runner;
  readonly automation: Automation;
  /** Stops the runner, the automation, the outbox timer and the clients (the shutdown's "background" step). */
  stopBackground(): Promise<void>;
}

/** Connects, provisions, starts every part, and returns them (the caller owns shutdown). */
export async function startEvaluation(cfg: EvaluationConfig, log: Logger, clock: Clock = systemClock): Promise<EvaluationApp> {
  const namespace = natsNamespace(cfg.natsNamespace);
  const mongo = await connectMongo({ uri: cfg.mongoUri, db: cfg.db, log, maxPoolSize: cfg.mongoPoolSize });
  await ensureEvaluationIndexes(mongo.db);
  const nc = await connectNats(natsConnectOptions(cfg, 'evaluation-service', log));
  await ensureStreams(nc, [STREAMS.evaluation, STREAMS.registry], streamOptions(cfg, log));

  const newId = createIdGenerator(clock);
  const store = new MongoEvalStore(mongo.db);
  const publisher = createPublisher(nc, { source: 'medtune/evaluation-service', clock, namespace });
  const outbox = new OutboxRelay(store, natsEventSink(publisher), log.child({ component: 'outbox' }));
  const notifier = new Notifier();
  const security = await serviceSecurity(cfg, 'evaluation-service');
  const clientSettings = {
    authToken: security.credential.current,
    tls: security.clientTls,
    sharedToken: cfg.authToken,
    jwtKey: security.jwtKey,
    log: log.child({ component: 'clients' }),
  };
  const registry = registryPort(cfg.registryAddr, clientSettings);
  const dataset = datasetPort(cfg.datasetAddr, cfg.datasetAddrForWorkers ?? cfg.datasetAddr, clientSettings);
  const workers = workerPort({
    ...clientSettings,
    staticAddresses: (cfg.workerAddrs ?? '').split(',').map((s) => s.trim()).filter(Boolean),
    trainingAddress: cfg.trainingAddr,
    generateDeadlineMs: cfg.generateDeadlineMs,
  });

  const wake: { runner?: Runner; automation?: Automation } = {};
  const core = new EvaluationCore({
    store,
    outbox,
    notifier,
    readRows: fileRowReader({ confine: dataRoots(cfg) }),
    registry,
    dataset,
    clock,
    newId,
    log: log.child({ component: 'core' }),
    onRunCreated: () => wake.runner?.kick(),
  });
  const runner = new Runner({
    store,
    outbox,
    notifier,
    workers,
    dataset,
    clock,
    newId,
    log: log.child({ component: 'runner' }),
    onRunEnded: () => wake.automation?.kick(),
    chunkSize: cfg.chunkSize,
    maxConcurrent: cfg.maxConcurrentRuns,
    pollMs: cfg.pollMs,
  });
  const automation = new Automation({
    store,
    outbox,
    registry,
    core,
    clock,
    newId,
    log: log.child({ component: 'automation' }),
    generation: { maxNewTokens: cfg.autoMaxNewTokens },
    pollMs: cfg.pollMs * 2,
  });
  Object.assign(wake, { runner, automation });

  await core.ensureBuiltins();
  // Restart safety: publish what a previous run left in the outboxes; the runner and the
  // automation pick up RUNNING runs and unfinished pipelines from the store.
  // Replicas: the runner (with the resumption of RUNNING runs) and the outbox relay run in the
  // holder of evaluation.runner, the automation in the holder of evaluation.automation.
  const leases = await openLeaseBucket(nc, serviceLeaseOptions(cfg, 'evaluation-service', log));
  const runnerLease = leases.lease(`${cfg.db}.runner`, { ttlMs: cfg.leaseTtlMs });
  const stopRunner = whileHeld(
    runnerLease,
    {
      start: async () => {
        await outbox.flush();
        runner.start();
      },
      stop: () => runner.stop(),
    },
    log,
  );
  const stopAutomation = cfg.automation ? whileHeld(leases.lease(`${cfg.db}.automation`, { ttlMs: cfg.leaseTtlMs }), automation, log) : async () => undefined;
  await stopRunner.ready;
  const timer = setInterval(() => {
    if (runnerLease.isHeld) void outbox.flush();
  }, cfg.outboxIntervalMs);
  timer.unref();

  const deadLetters = createDeadLetterStore(mongo.db);
  const server = createGrpcServer({ log, auth: security.auth, tls: security.serverTls });
  server.add(evaluation.EvaluationServiceService, evaluationHandlers(core), EVALUATION_SCOPES);
  server.add(admin.AdminServiceService, adminHandlers({ deadLetters, nc, log }), ADMIN_SCOPES);
  const consumers = cfg.automation
    ? [await startVersionReadyConsumer(nc, { automation, deadLetters, log, namespace, maxDeliver: cfg.maxDeliver })]
    : [];
  const port = await server.start(cfg.grpcAddr);
  log.info({ port, automation: cfg.automation }, 'evaluation service listening');

  return {
    port,
    server,
    nc,
    mongo,
    consumers,
    core,
    runner,
    automation,
    async stopBackground() {
      clearInterval(timer);
      await Promise.all([stopRunner(), stopAutomation()]);
      await outbox.flush();
      registry.close();
      dataset.close();
      workers.close();
    },
  };
}
