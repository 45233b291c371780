// Two training-service replicas (main.ts as child processes) against one database and a
// three-node NATS cluster (streams and the lease bucket with 3 replicas). The replica holding the
// scheduler lease is killed with SIGKILL mid-job; the other takes the lease over and re-attaches;
// then the NATS node the survivor is connected to is killed too. The job must finish once, with
// every metric the worker logged stored exactly once and the job's log gap-free.
import { resolve } from 'node:path';
import { dataset, events, training } from '@medtune/contracts';
import { createClient, createLogger, openLeaseBucket, type Logger } from '@medtune/kit';
import {
  collectEvents,
  freePort,
  printLogsOnFailure,
  randomId,
  startNatsCluster,
  startProcess,
  testMongo,
  waitFor,
  type NatsCluster,
  type RunningProcess,
  type TestMongo,
} from '@medtune/testing';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeWorker } from './core/testing/fakes';
import { serveDatasetVersions, serveFakeWorker, type StandIn } from './testing/stand-ins';
import { storedMessages } from '@medtune/testing';

printLogsOnFailure();
const DIGEST = 'ab'.repeat(32);
const repoRoot = resolve(import.meta.dirname, '../../..');
const log: Logger = createLogger({ service: 'training-replicas-test', level: 'warn' });

let cluster: NatsCluster;
let mongo: TestMongo;
let datasets: StandIn;
let nc: NatsConnection;
const ns = randomId();

beforeAll(async () => {
  cluster = await startNatsCluster({ nameHint: 'training' });
  mongo = await testMongo();
  datasets = await serveDatasetVersions(new Map([[DIGEST, dataset.VersionState.VERSION_STATE_READY]]), log);
  // The test's own connection goes to the third node, which stays up.
  nc = await connect({ servers: cluster.urls[2], name: 'replicas-test' });
  return async () => {
    await nc?.close();
    await datasets?.stop();
    await mongo?.cleanup();
    await cluster?.stop();
  };
}, 60_000);
afterAll(() => undefined);

function env(db: string, natsUrl: string, port: number): Record<string, string> {
  return {
    MEDTUNE_TRAINING_GRPC_ADDR: `127.0.0.1:${port}`,
    MEDTUNE_NATS_URL: natsUrl,
    MEDTUNE_NATS_NAMESPACE: ns,
    MEDTUNE_NATS_STREAM_REPLICAS: '3',
    MEDTUNE_LEASE_TTL: '2s',
    MEDTUNE_MONGODB_URI: mongo.uri,
    MEDTUNE_TRAINING_DB: db,
    MEDTUNE_TRAINING_DATASET_ADDR: datasets.address,
    MEDTUNE_TRAINING_ARTIFACT_ROOT: 'file:///tmp/medtune-test-artifacts',
    MEDTUNE_TRAINING_HEARTBEAT_INTERVAL: '200',
    MEDTUNE_TRAINING_WORKER_LEASE: '5000',
    MEDTUNE_TRAINING_SCHEDULE_INTERVAL: '200',
    MEDTUNE_TRAINING_OUTBOX_INTERVAL: '500',
    MEDTUNE_TRAINING_WATCH_POLL: '100',
    MEDTUNE_TRAINING_WORKER_BACKOFF: '100',
    MEDTUNE_TRAINING_MODEL_CHECK: 'off',
    MEDTUNE_LOG_LEVEL: 'info',
  };
}

function replica(name: string, db: string, natsUrl: string, port: number): Promise<RunningProcess> {
  return startProcess({
    cmd: process.execPath,
    args: ['--import', 'tsx', 'apps/training-service/src/main.ts'],
    cwd: repoRoot,
    env: env(db, natsUrl, port),
    name,
    readyWhen: { grpcHealth: `127.0.0.1:${port}`, service: 'medtune.training.v1.TrainingService' },
    readyTimeoutMs: 60_000,
  });
}

describe('two training-service replicas on a three-node NATS cluster', () => {
  it('SIGKILL of the scheduler lease holder mid-job, then of a NATS node: the job finishes once, nothing lost or doubled', async () => {
    const db = mongo.dbNameFor('replicas');
    const [portA, portB] = [await freePort(), await freePort()];
    const a = await replica('training-a', db, cluster.urls[0]!, portA);
    const b = await replica('training-b', db, cluster.urls[1]!, portB);
    const fast = { channelOptions: { 'grpc.initial_reconnect_backoff_ms': 100, 'grpc.max_reconnect_backoff_ms': 500 } };
    // Clients and the worker talk to replica B: requests are served by any replica.
    const jobs = createClient(training.TrainingServiceClient, `127.0.0.1:${portB}`, { defaultDeadlineMs: 15_000, ...fast });
    const registry = createClient(training.WorkerRegistryServiceClient, `127.0.0.1:${portB}`, { defaultDeadlineMs: 15_000, ...fast });
    const leases = await openLeaseBucket(nc, { namespace: { subjectPrefix: `${ns}.`, streamPrefix: `${ns.toUpperCase()}_` }, replicas: 3 });
    const holder = async () => (await leases.holder(`${db}.scheduler`))?.owner ?? '';
    const collector = await collectEvents(nc, `${ns}.medtune.training.>`);
    const fake = new FakeWorker('w-replicas');
    const standIn = await serveFakeWorker(fake, log);
    const info = () => ({ ...fake.info(standIn.address), busy: [...fake.jobs.values()].some((j) => j.state <= 3) });
    const beat = setInterval(() => void registry.unary('heartbeat', { info: info() }).catch(() => undefined), 200);
    try {
      expect(await waitFor(holder, 10_000, { message: 'a scheduler lease holder' })).toContain(`:${a.pid}:`);
      const bucket = await (await jetstreamManager(nc)).streams.info(`KV_${ns.toUpperCase()}_medtune_leases`);
      expect(bucket.config.num_replicas).toBe(3);
      await registry.unary('registerWorker', { info: info() });

      const { job } = await jobs.unary('createJob', training.CreateJobRequest.fromPartial({ idempotencyKey: `k-${randomId()}`, datasetDigest: DIGEST, baseModel: '/models/tiny' }));
      const jobId = job!.jobId;
      await waitFor(() => fake.jobs.has(jobId), 20_000, { message: 'the job reaches the worker' });
      fake.emitState(jobId, 2, 'training');
      const STEPS = 90;
      let step = 0;
      const logging = (async () => {
        for (step = 1; step <= STEPS; step++) {
          fake.emitMetrics(jobId, step, 1 / step);
          await new Promise((r) => setTimeout(r, 40));
        }
      })();
      const metric = (min: number) => collector.waitFor((e) => e.subject.endsWith('metrics.logged') && events.MetricsLogged.decode(e.data).step >= min, 30_000);

      await metric(10);
      a.kill('SIGKILL'); // the lease holder, mid-job
      expect((await a.exited).signal).toBe('SIGKILL');
      expect(await waitFor(async () => ((await holder()).includes(`:${b.pid}:`) ? 'b' : ''), 15_000, { message: 'replica B takes the lease' })).toBe('b');
      await metric(step + 5); // B re-attached and publishes again

      cluster.nodes[1]!.process.kill('SIGKILL'); // the NATS node replica B is connected to
      await metric(step + 5); // B failed over to another node and goes on
      await logging;
      fake.succeed(jobId, 0);
      await collector.waitFor(`${ns}.medtune.training.job.succeeded`, 30_000);

      // The killed node may have led the JetStream meta group: API calls wait for the re-election.
      const jsm = await waitFor(async () => {
        const m = await jetstreamManager(nc, { timeout: 5_000 });
        await m.streams.info(`${ns.toUpperCase()}_MEDTUNE_TRAINING`);
        return m;
      }, 60_000, { message: 'the JetStream API answers after the node kill', intervalMs: 500 });
      const stored = (await storedMessages(jsm, `${ns.toUpperCase()}_MEDTUNE_TRAINING`, 'medtune.training.metrics.logged'))
        .map((m) => ({ id: m.id, metric: events.MetricsLogged.decode(m.data) }))
        .filter((m) => m.metric.jobId === jobId);
      expect(stored.map((m) => m.metric.step)).toEqual(Array.from({ length: STEPS }, (_, i) => i + 1));
      expect(new Set(stored.map((m) => m.id)).size).toBe(STEPS);
      const succeeded = await storedMessages(jsm, `${ns.toUpperCase()}_MEDTUNE_TRAINING`, 'medtune.training.job.succeeded');
      expect(succeeded.filter((m) => events.JobStateChanged.decode(m.data).job?.jobId === jobId)).toHaveLength(1);
      const watched: number[] = [];
      for await (const res of jobs.serverStream('watchJob', { jobId, fromSequence: 1 })) watched.push(res.event!.sequence);
      expect(watched).toEqual(Array.from({ length: watched.length }, (_, i) => i + 1));
      expect(b.logs()).toContain('orchestrator leading');
    } finally {
      clearInterval(beat);
      await collector.stop();
      await standIn.stop();
      jobs.close();
      registry.close();
      await Promise.allSettled([a.stop(), b.stop()]);
    }
  }, 240_000);
});
