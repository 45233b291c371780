import { writeFileSync } from 'node:fs';
import { Server, ServerCredentials, status as grpcStatus, type ServiceError } from '@grpc/grpc-js';
import { join } from 'node:path';
import { admin as adminApi, common, events, JOB_STATE_SUBJECTS, registry, training } from '@medtune/contracts';
import {
  AbortedError,
  AlreadyExistsError,
  createClient,
  createPublisher,
  FailedPreconditionError,
  InvalidArgumentError,
  natsNamespace,
  NotFoundError,
  type KitClient,
} from '@medtune/kit';
import { collectEvents, testMongo, testNats, waitFor, type TestMongo, type TestNats } from '@medtune/testing';
import { pino } from 'pino';
import { beforeAll, describe, expect, it } from 'vitest';
import { startRegistry, type RegistryApp } from './app';
import { loadRegistryConfig } from './config';
import { removeTempDirs, writeAdapter, writeGguf } from './core/testing';

const S = registry.ModelVersionStatus;
const log = pino({ level: process.env['MEDTUNE_TEST_LOG'] ?? 'silent' });

let nats: TestNats;
let mongo: TestMongo;
let app: RegistryApp;
let client: KitClient<typeof registry.RegistryServiceService>;
// The training service's answer to GetJob, as a stand-in gRPC server (the registry confirms every
// training.job.succeeded with it before registering).
const trainingJobs = new Map<string, training.Job>();
let trainingStandIn: Server;
let trainingAddr: string;

function env(dbName: string) {
  return {
    MEDTUNE_REGISTRY_GRPC_ADDR: '127.0.0.1:0',
    MEDTUNE_NATS_URL: nats.url,
    MEDTUNE_NATS_NAMESPACE: nats.id,
    MEDTUNE_MONGODB_URI: mongo.uri,
    MEDTUNE_REGISTRY_DB: dbName,
    MEDTUNE_REGISTRY_OUTBOX_INTERVAL: '200ms',
    MEDTUNE_REGISTRY_TRAINING_ADDR: trainingAddr,
    MEDTUNE_REGISTRY_MAX_DELIVER: '2',
  };
}

async function stop(a: RegistryApp) {
  await Promise.all([...a.consumers.map((c) => c.stop()), a.stopBackground(), a.server.shutdown({ graceMs: 1_000 })]);
  await a.nc.drain();
  await a.mongo.close();
}

async function waitStatus(name: string, version: number, status: registry.ModelVersionStatus) {
  return waitFor(async () => {
    const v = (await client.unary('getModelVersion', { name, version })).version!;
    return v.status === status ? v : undefined;
  }, 15_000);
}

beforeAll(async () => {
  nats = await testNats();
  mongo = await testMongo();
  trainingStandIn = new Server();
  trainingStandIn.addService(training.TrainingServiceService, {
    getJob: (call: { request: training.GetJobRequest }, cb: (err: Partial<ServiceError> | null, res?: training.GetJobResponse) => void) => {
      const job = trainingJobs.get(call.request.jobId);
      if (job) cb(null, { job });
      else cb({ code: grpcStatus.NOT_FOUND, details: `no job ${call.request.jobId}` });
    },
  });
  trainingAddr = await new Promise<string>((resolve, reject) =>
    trainingStandIn.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (err, port) => (err ? reject(err) : resolve(`127.0.0.1:${port}`))),
  );
  app = await startRegistry(loadRegistryConfig(env(mongo.dbNameFor('registry'))), log);
  client = createClient(registry.RegistryServiceClient, `127.0.0.1:${app.port}`, { defaultDeadlineMs: 10_000 });
  return async () => {
    client.close();
    trainingStandIn.forceShutdown();
    await stop(app);
    await mongo.cleanup();
    await nats.cleanup();
    removeTempDirs();
  };
});

describe('registry service over gRPC, NATS and FerretDB', () => {
  it('creates a version, verifies it to READY and publishes created then ready', async () => {
    const sub = await collectEvents(nats.nc, nats.subject('medtune.registry.>'));
    const { artifact } = writeAdapter();
    const gguf = writeGguf().artifact;
    const res = await client.unary('createModelVersion', { name: 'med-a', idempotencyKey: 'k-a1', artifacts: [artifact, gguf], tags: { team: 'x.y' }, lineage: undefined });
    expect(res.version!.status).toBe(S.MODEL_VERSION_STATUS_PENDING_REGISTRATION);
    const ready = await waitStatus('med-a', 1, S.MODEL_VERSION_STATUS_READY);
    expect(ready.artifacts).toHaveLength(2);
    expect(ready.tags).toEqual({ team: 'x.y' });
    const seen = await sub.waitForSequence([
      nats.subject('medtune.registry.model.created'),
      nats.subject('medtune.registry.version.created'),
      nats.subject('medtune.registry.version.ready'),
    ]);
    expect(seen[2]!.headers['ce-source']).toBe('medtune/registry-service');
    expect(seen[2]!.headers['Nats-Msg-Id']).toBe(seen[2]!.id);
    expect(events.ModelVersionChanged.decode(seen[2]!.data).version!.status).toBe(S.MODEL_VERSION_STATUS_READY);
    await sub.stop();

    // Published events leave the outboxes (FerretDB ignores a conditional $pull: the array is rewritten).
    const db = app.mongo.db;
    await waitFor(async () => {
      const left = [...(await db.collection('models').find({}).toArray()), ...(await db.collection('versions').find({}).toArray())].flatMap((d) => d['outbox'] as unknown[]);
      return left.length === 0;
    });

    const again = await client.unary('createModelVersion', { name: 'med-a', idempotencyKey: 'k-a1', artifacts: [artifact, gguf], tags: { team: 'x.y' }, lineage: undefined });
    expect(again).toMatchObject({ created: false, version: { version: 1 } });
    await expect(
      client.unary('createModelVersion', { name: 'med-a', idempotencyKey: 'k-a1', artifacts: [artifact], tags: {}, lineage: undefined }),
    ).rejects.toBeInstanceOf(AlreadyExistsError);
  });

  it('fails a tampered artifact with the file and both digests, and refuses an alias on it', async () => {
    const { dir, artifact } = writeAdapter(undefined, 'tamper');
    writeFileSync(join(dir, 'adapter_model.safetensors'), 'evil');
    await client.unary('createModelVersion', { name: 'med-t', idempotencyKey: 'k-t1', artifacts: [artifact], tags: {}, lineage: undefined });
    const failed = await waitStatus('med-t', 1, S.MODEL_VERSION_STATUS_FAILED_REGISTRATION);
    expect(failed.statusMessage).toMatch(/file adapter_model\.safetensors sha256 expected [0-9a-f]{64}, actual [0-9a-f]{64}/);
    const err = await client.unary('setAlias', { name: 'med-t', alias: 'champion', version: 1, reason: '', actor: 't' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(FailedPreconditionError);
    expect((await client.unary('getRegisteredModel', { name: 'med-t' })).model!.aliases).toEqual({});
    expect((await client.unary('listAliasHistory', { name: 'med-t', alias: '', pageSize: 0, pageToken: '' })).changes).toEqual([]);
    await expect(client.unary('resolveModel', { ref: { name: 'med-t', selector: { $case: 'latest', latest: true } } })).rejects.toBeInstanceOf(NotFoundError);
  });

  it('gives clear errors for bad input and unknown models', async () => {
    const bad = await client
      .unary('createModelVersion', { name: 'm', idempotencyKey: 'k', artifacts: [{ ...writeGguf().artifact, sha256: 'xyz' }], tags: {}, lineage: undefined })
      .catch((e: unknown) => e);
    expect(bad).toBeInstanceOf(InvalidArgumentError);
    expect((bad as InvalidArgumentError).field).toBe('artifacts[0].sha256');
    await expect(client.unary('getRegisteredModel', { name: 'nope' })).rejects.toBeInstanceOf(NotFoundError);
    await expect(client.unary('resolveModel', { ref: { name: 'nope', selector: { $case: 'alias', alias: 'champion' } } })).rejects.toThrow(
      /registered model "nope" not found/,
    );
  });

  it('moves aliases with compare-and-set, resolves them, lists history and versions with filters', async () => {
    for (const k of ['k-b1', 'k-b2', 'k-b3']) {
      await client.unary('createModelVersion', { name: 'med-b', idempotencyKey: k, artifacts: [writeAdapter(undefined, k).artifact], tags: { k }, lineage: undefined });
    }
    await waitStatus('med-b', 3, S.MODEL_VERSION_STATUS_READY);
    await client.unary('setAlias', { name: 'med-b', alias: 'champion', version: 1, expectedVersion: 0, reason: 'first', actor: 't' });
    await expect(client.unary('setAlias', { name: 'med-b', alias: 'champion', version: 2, expectedVersion: 3, reason: '', actor: 't' })).rejects.toBeInstanceOf(
      AbortedError,
    );
    await client.unary('setAlias', { name: 'med-b', alias: 'champion', version: 2, expectedVersion: 1, reason: 'better', actor: 't' });
    const resolved = await client.unary('resolveModel', { ref: { name: 'med-b', selector: { $case: 'alias', alias: 'champion' } } });
    expect(resolved.version).toMatchObject({ version: 2, aliases: ['champion'] });
    const latest = await client.unary('resolveModel', { ref: { name: 'med-b', selector: { $case: 'latest', latest: true } } });
    expect(latest.version!.version).toBe(3);
    await client.unary('deleteAlias', { name: 'med-b', alias: 'champion', reason: 'done', actor: 't' });
    await expect(client.unary('resolveModel', { ref: { name: 'med-b', selector: { $case: 'alias', alias: 'champion' } } })).rejects.toBeInstanceOf(NotFoundError);
    const h = await client.unary('listAliasHistory', { name: 'med-b', alias: 'champion', pageSize: 2, pageToken: '' });
    expect(h.changes.map((c) => [c.fromVersion, c.toVersion])).toEqual([[2, 0], [1, 2]]);
    const h2 = await client.unary('listAliasHistory', { name: 'med-b', alias: 'champion', pageSize: 2, pageToken: h.nextPageToken });
    expect(h2.changes.map((c) => [c.fromVersion, c.toVersion])).toEqual([[0, 1]]);

    const p1 = await client.unary('listModelVersions', { name: 'med-b', statuses: [S.MODEL_VERSION_STATUS_READY], tags: {}, pageSize: 2, pageToken: '' });
    expect(p1.versions.map((v) => v.version)).toEqual([3, 2]);
    const p2 = await client.unary('listModelVersions', { name: 'med-b', statuses: [], tags: {}, pageSize: 2, pageToken: p1.nextPageToken });
    expect(p2.versions.map((v) => v.version)).toEqual([1]);
    const tagged = await client.unary('listModelVersions', { name: 'med-b', statuses: [], tags: { k: 'k-b2' }, pageSize: 0, pageToken: '' });
    expect(tagged.versions.map((v) => v.version)).toEqual([2]);

    await client.unary('attachEvaluation', { name: 'med-b', version: 2, result: { evaluationId: 'ev1', evalSet: 's', metrics: { accuracy: 0.5 }, time: undefined } });
    const attached = await client.unary('attachEvaluation', { name: 'med-b', version: 2, result: { evaluationId: 'ev1', evalSet: 's', metrics: { accuracy: 0.5 }, time: undefined } });
    expect(attached.version!.lineage!.evaluations.map((e) => e.evaluationId)).toEqual(['ev1']);
    await client.unary('setVersionTags', { name: 'med-b', version: 1, set: { stage: 'old' }, remove: ['k'] });
    expect((await client.unary('getModelVersion', { name: 'med-b', version: 1 })).version!.tags).toEqual({ stage: 'old' });
    const models = await client.unary('listRegisteredModels', { tags: {}, pageSize: 1, pageToken: '', namePrefix: 'med-' });
    expect(models.models.map((m) => m.name)).toEqual(['med-a']);
    const models2 = await client.unary('listRegisteredModels', { tags: {}, pageSize: 1, pageToken: models.nextPageToken, namePrefix: 'med-' });
    expect(models2.models.map((m) => m.name)).toEqual(['med-b']);
  });

  it('registers a succeeded training job once, however often the event comes', async () => {
    const publisher = createPublisher(nats.nc, { source: 'medtune/training-service', namespace: natsNamespace(nats.id) });
    const { artifact } = writeAdapter(undefined, 'job');
    const job = training.Job.fromPartial({
      jobId: 'job_auto1',
      registerAs: 'med-auto',
      baseModel: '/models/tiny',
      datasetDigest: 'sha256:d1',
      state: training.JobState.JOB_STATE_SUCCEEDED,
      artifacts: [artifact],
      backendUsed: common.Backend.BACKEND_HF,
    });
    trainingJobs.set(job.jobId, job);
    const spec = JOB_STATE_SUBJECTS.get(training.JobState.JOB_STATE_SUCCEEDED)!;
    const msg = { job, previousState: training.JobState.JOB_STATE_UPLOADING, state: training.JobState.JOB_STATE_SUCCEEDED, reason: '', time: new Date(), sequence: 9 };
    await publisher.publish(spec, msg, { id: 'job_auto1:9' });
    await publisher.publish(spec, msg, { id: 'job_auto1:9-redelivered' });
    const v = await waitStatus('med-auto', 1, S.MODEL_VERSION_STATUS_READY);
    expect(v.lineage).toMatchObject({ trainingJobId: 'job_auto1', baseModel: '/models/tiny', datasetDigest: 'sha256:d1' });
    await waitFor(async () => nats.jsm.consumers.info(nats.streamName('MEDTUNE_TRAINING'), 'registry-autoregister').then((i) => i.num_ack_pending === 0 && i.num_pending === 0));
    const all = await client.unary('listModelVersions', { name: 'med-auto', statuses: [], tags: {}, pageSize: 0, pageToken: '' });
    expect(all.versions).toHaveLength(1);
  });

  it('a forged training.job.succeeded crowns nothing: the job is confirmed with the training service first', async () => {
    const publisher = createPublisher(nats.nc, { source: 'medtune/training-service', namespace: natsNamespace(nats.id) });
    const spec = JOB_STATE_SUBJECTS.get(training.JobState.JOB_STATE_SUCCEEDED)!;
    const forged = (jobId: string, registerAs: string) => {
      const job = training.Job.fromPartial({ jobId, registerAs, baseModel: '/models/evil', state: training.JobState.JOB_STATE_SUCCEEDED, artifacts: [writeAdapter(undefined, jobId).artifact] });
      return { job, previousState: training.JobState.JOB_STATE_UPLOADING, state: training.JobState.JOB_STATE_SUCCEEDED, reason: '', time: new Date(), sequence: 9 };
    };
    // Unknown to the training service, and a job it has but that is still running.
    trainingJobs.set('job_running', training.Job.fromPartial({ jobId: 'job_running', registerAs: 'med-forged-2', state: training.JobState.JOB_STATE_RUNNING }));
    await publisher.publish(spec, forged('job_forged', 'med-forged'), { id: 'job_forged:9' });
    await publisher.publish(spec, forged('job_running', 'med-forged-2'), { id: 'job_running:9' });
    // A real one whose event carries other artifacts than the training service has: the service's win.
    const { artifact } = writeAdapter(undefined, 'real');
    trainingJobs.set('job_real', training.Job.fromPartial({ jobId: 'job_real', registerAs: 'med-real', baseModel: '/models/tiny', state: training.JobState.JOB_STATE_SUCCEEDED, artifacts: [artifact] }));
    await publisher.publish(spec, forged('job_real', 'med-evil-name'), { id: 'job_real:9' });
    const v = await waitStatus('med-real', 1, S.MODEL_VERSION_STATUS_READY);
    expect(v.lineage).toMatchObject({ trainingJobId: 'job_real', baseModel: '/models/tiny' });
    const admin_ = createClient(adminApi.AdminServiceClient, `127.0.0.1:${app.port}`, { defaultDeadlineMs: 10_000 });
    try {
      const dead = await waitFor(async () => {
        const res = await admin_.unary('listDeadLetters', { consumer: '', pageSize: 50, pageToken: '' });
        const mine = res.deadLetters.filter((d) => /job_forged|job_running/.test(d.error));
        return mine.length === 2 ? mine : undefined;
      }, 20_000);
      expect(dead.map((d) => d.error).sort()).toEqual([
        expect.stringMatching(/job "job_forged": the training service has no such job; nothing registered/),
        expect.stringMatching(/job job_running: the training service has it in state JOB_STATE_RUNNING, not SUCCEEDED/),
      ]);
    } finally {
      admin_.close();
    }
    for (const name of ['med-forged', 'med-forged-2', 'med-evil-name']) {
      await expect(client.unary('getModelVersion', { name, version: 1 })).rejects.toBeInstanceOf(NotFoundError);
    }
  });

  it('after a restart, verifies versions left PENDING and publishes events left in the outbox', async () => {
    const dbName = mongo.dbNameFor('restart');
    const first = await startRegistry(loadRegistryConfig(env(dbName)), log);
    await first.verifier.stop(); // the verifier "dies" before it runs
    const c = createClient(registry.RegistryServiceClient, `127.0.0.1:${first.port}`, { defaultDeadlineMs: 10_000 });
    await c.unary('createModelVersion', { name: 'med-r', idempotencyKey: 'k-r1', artifacts: [writeAdapter(undefined, 'r').artifact], tags: {}, lineage: undefined });
    expect((await c.unary('getModelVersion', { name: 'med-r', version: 1 })).version!.status).toBe(S.MODEL_VERSION_STATUS_PENDING_REGISTRATION);
    c.close();
    await stop(first);

    const sub = await collectEvents(nats.nc, nats.subject('medtune.registry.version.ready'));
    const second = await startRegistry(loadRegistryConfig(env(dbName)), log);
    try {
      const c2 = createClient(registry.RegistryServiceClient, `127.0.0.1:${second.port}`, { defaultDeadlineMs: 10_000 });
      await waitFor(async () => (await c2.unary('getModelVersion', { name: 'med-r', version: 1 })).version!.status === S.MODEL_VERSION_STATUS_READY, 15_000);
      const ready = await sub.waitFor(nats.subject('medtune.registry.version.ready'));
      expect(events.ModelVersionChanged.decode(ready.data).version!.name).toBe('med-r');
      c2.close();
    } finally {
      await sub.stop();
      await stop(second);
    }
  });
});
