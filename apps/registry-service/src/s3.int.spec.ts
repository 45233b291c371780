// The registry with s3:// artifacts, against a real S3-compatible server (SeaweedFS via
// tools/infra/s3-server.sh), NATS and FerretDB: a version whose objects hash to its declared
// digests turns READY; a tampered object fails it naming the file; a half-uploaded directory (no
// manifest) is never an artifact; bad URIs, buckets and roots get INVALID_ARGUMENT /
// FAILED_PRECONDITION naming the field; the credentials are in no log line.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { common, registry } from '@medtune/contracts';
import { createClient, FailedPreconditionError, InvalidArgumentError, type KitClient } from '@medtune/kit';
import { ObjectStore, S3_MANIFEST } from '@medtune/kit/storage';
import { testMongo, testNats, testS3, waitFor, type TestMongo, type TestNats, type TestS3 } from '@medtune/testing';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRegistry, type RegistryApp } from './app';
import { loadRegistryConfig } from './config';
import { removeTempDirs, writeAdapter, writeGguf } from './core/testing';

const S = registry.ModelVersionStatus;
const lines: string[] = [];
const log = pino({ level: 'debug' }, { write: (s: string) => void lines.push(s) });

let nats: TestNats;
let mongo: TestMongo;
let s3: TestS3;
let store: ObjectStore;
let bucket: string;
let app: RegistryApp;
let client: KitClient<typeof registry.RegistryServiceService>;

/** Uploads writeAdapter's directory under `prefix` the way the trainer does (files, then the manifest). */
async function uploadAdapter(prefix: string, seed: string, withManifest = true): Promise<common.Artifact> {
  const { dir, artifact } = writeAdapter(undefined, seed);
  for (const f of artifact.files) await store.put({ bucket, key: `${prefix}/${f.path}` }, readFileSync(join(dir, f.path)));
  const manifest = artifact.files.map((f) => `${f.sha256}  ${f.path}\n`).join('');
  if (withManifest) await store.put({ bucket, key: `${prefix}/${S3_MANIFEST}` }, manifest);
  return { ...artifact, uri: `s3://${bucket}/${prefix}` };
}

async function waitStatus(name: string, version: number, status: registry.ModelVersionStatus) {
  return waitFor(async () => {
    const v = (await client.unary('getModelVersion', { name, version })).version!;
    return v.status === status ? v : undefined;
  }, 30_000);
}

beforeAll(async () => {
  [nats, mongo, s3] = await Promise.all([testNats(), testMongo(), testS3()]);
  store = new ObjectStore(s3.storeConfig);
  bucket = await s3.bucket();
  const env = {
    MEDTUNE_REGISTRY_GRPC_ADDR: '127.0.0.1:0',
    MEDTUNE_NATS_URL: nats.url,
    MEDTUNE_NATS_NAMESPACE: nats.id,
    MEDTUNE_MONGODB_URI: mongo.uri,
    MEDTUNE_REGISTRY_DB: mongo.dbNameFor('registry-s3'),
    MEDTUNE_REGISTRY_CONFIRM_JOBS: 'off',
    MEDTUNE_REGISTRY_OUTBOX_INTERVAL: '200ms',
    ...s3.env,
    MEDTUNE_S3_ROOTS: `s3://${bucket}/jobs`,
  };
  app = await startRegistry(loadRegistryConfig(env), log);
  client = createClient(registry.RegistryServiceClient, `127.0.0.1:${app.port}`, { defaultDeadlineMs: 20_000 });
}, 600_000);

afterAll(async () => {
  store?.close();
  client?.close();
  if (app) {
    await Promise.all([...app.consumers.map((c) => c.stop()), app.stopBackground(), app.server.shutdown({ graceMs: 1_000 })]);
    await app.nc.drain();
    await app.mongo.close();
  }
  await Promise.all([s3?.stop(), mongo?.cleanup(), nats?.cleanup()]);
  removeTempDirs();
});

describe('registry with s3:// artifacts on a real S3 server', () => {
  it('verifies a directory and a single-object artifact to READY from the objects themselves', async () => {
    const adapter = await uploadAdapter('jobs/j1/adapter', 'a');
    const { path, artifact: g } = writeGguf();
    await store.put({ bucket, key: 'jobs/j1/gguf/model-q8_0.gguf' }, readFileSync(path));
    const gguf = { ...g, uri: `s3://${bucket}/jobs/j1/gguf/model-q8_0.gguf` };
    const res = await client.unary('createModelVersion', { name: 'med-s3', idempotencyKey: 'k1', artifacts: [adapter, gguf], tags: {}, lineage: undefined });
    expect(res.version!.status).toBe(S.MODEL_VERSION_STATUS_PENDING_REGISTRATION);
    const ready = await waitStatus('med-s3', 1, S.MODEL_VERSION_STATUS_READY);
    expect(ready.artifacts.map((a) => a.uri)).toEqual([adapter.uri, gguf.uri]);
  });

  it('fails a tampered object naming the file, and a directory without its manifest', async () => {
    const adapter = await uploadAdapter('jobs/j2/adapter', 'b');
    await store.put({ bucket, key: 'jobs/j2/adapter/adapter_model.safetensors' }, 'evil');
    await client.unary('createModelVersion', { name: 'med-s3-t', idempotencyKey: 'k2', artifacts: [adapter], tags: {}, lineage: undefined });
    const failed = await waitStatus('med-s3-t', 1, S.MODEL_VERSION_STATUS_FAILED_REGISTRATION);
    expect(failed.statusMessage).toMatch(/file adapter_model\.safetensors sha256 expected [0-9a-f]{64}, actual [0-9a-f]{64}/);

    const half = await uploadAdapter('jobs/j3/adapter', 'c', false);
    await client.unary('createModelVersion', { name: 'med-s3-h', idempotencyKey: 'k3', artifacts: [half], tags: {}, lineage: undefined });
    const incomplete = await waitStatus('med-s3-h', 1, S.MODEL_VERSION_STATUS_FAILED_REGISTRATION);
    expect(incomplete.statusMessage).toMatch(/nothing found/);
  });

  it('names the field for a malformed URI, a missing bucket and a URI outside the roots', async () => {
    const base = await uploadAdapter('jobs/j4/adapter', 'd');
    const attempt = (uri: string) =>
      client.unary('createModelVersion', { name: 'med-s3-bad', idempotencyKey: `k-${uri}`, artifacts: [{ ...base, uri }], tags: {}, lineage: undefined }).catch((e: unknown) => e);
    const malformed = await attempt('s3://Bad_Bucket/jobs/x');
    expect(malformed).toBeInstanceOf(InvalidArgumentError);
    expect((malformed as InvalidArgumentError).field).toBe('artifacts[0].uri');
    const dots = await attempt(`s3://${bucket}/jobs/../etc`);
    expect(dots).toBeInstanceOf(InvalidArgumentError);
    expect((dots as InvalidArgumentError).field).toBe('artifacts[0].uri');
    const outside = await attempt(`s3://${bucket}/elsewhere/adapter`);
    expect(outside).toBeInstanceOf(InvalidArgumentError);
    expect((outside as InvalidArgumentError).message).toMatch(/outside the object-storage roots/);
    // A missing bucket: roots that name it, a bucket that is not there.
    const missing = await startRegistry(
      loadRegistryConfig({
        MEDTUNE_REGISTRY_GRPC_ADDR: '127.0.0.1:0',
        MEDTUNE_NATS_URL: nats.url,
        MEDTUNE_NATS_NAMESPACE: nats.id,
        MEDTUNE_MONGODB_URI: mongo.uri,
        MEDTUNE_REGISTRY_DB: mongo.dbNameFor('registry-s3'),
        MEDTUNE_REGISTRY_CONFIRM_JOBS: 'off',
        ...s3.env,
        MEDTUNE_S3_ROOTS: `s3://${bucket}/jobs s3://no-such-bucket-h1/jobs`,
      }),
      log,
    );
    const c2 = createClient(registry.RegistryServiceClient, `127.0.0.1:${missing.port}`, { defaultDeadlineMs: 20_000 });
    try {
      const err = await c2
        .unary('createModelVersion', { name: 'med-s3-bad', idempotencyKey: 'k-missing', artifacts: [{ ...base, uri: 's3://no-such-bucket-h1/jobs/a' }], tags: {}, lineage: undefined })
        .catch((e: unknown) => e);
      expect(err).toBeInstanceOf(FailedPreconditionError);
      expect((err as Error).message).toMatch(/artifacts\[0\]\.uri: bucket "no-such-bucket-h1" does not exist/);
    } finally {
      c2.close();
      await Promise.all([...missing.consumers.map((c) => c.stop()), missing.stopBackground(), missing.server.shutdown({ graceMs: 500 })]);
      await missing.nc.drain();
      await missing.mongo.close();
    }
    // The service logged at debug level throughout: never the S3 credentials.
    const all = lines.join('');
    expect(all).not.toContain(s3.secretKey);
    expect(all).not.toContain(s3.accessKey);
  });
});
