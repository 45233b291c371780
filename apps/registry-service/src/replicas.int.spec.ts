// Two registry replicas on one database and NATS, the ResolveModel cache on with a lifetime far
// longer than the test (10 min): an alias moved through replica A is resolved to the new version
// by replica B, which had the old answer cached, within seconds — B's cache is invalidated by A's
// alias.moved event, not by expiry. A version that becomes READY clears a cached "latest" likewise.
import { type common, registry } from '@medtune/contracts';
import { createClient, type KitClient } from '@medtune/kit';
import { testMongo, testNats, waitFor, type TestMongo, type TestNats } from '@medtune/testing';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRegistry, type RegistryApp } from './app';
import { loadRegistryConfig } from './config';
import { removeTempDirs, writeAdapter } from './core/testing';

const S = registry.ModelVersionStatus;
const log = pino({ level: process.env['MEDTUNE_TEST_LOG'] ?? 'silent' });
let nats: TestNats;
let mongo: TestMongo;
const apps: RegistryApp[] = [];
const clients: Array<KitClient<typeof registry.RegistryServiceService>> = [];

beforeAll(async () => {
  nats = await testNats();
  mongo = await testMongo();
  const db = mongo.dbNameFor('registry');
  for (let i = 0; i < 2; i++) {
    const app = await startRegistry(
      loadRegistryConfig({
        MEDTUNE_REGISTRY_GRPC_ADDR: '127.0.0.1:0',
        MEDTUNE_NATS_URL: nats.url,
        MEDTUNE_NATS_NAMESPACE: nats.id,
        MEDTUNE_MONGODB_URI: mongo.uri,
        MEDTUNE_REGISTRY_DB: db,
        MEDTUNE_REGISTRY_OUTBOX_INTERVAL: '200ms',
        MEDTUNE_REGISTRY_CONFIRM_JOBS: 'off',
        MEDTUNE_REGISTRY_RESOLVE_CACHE_TTL: '10m',
      }),
      log,
    );
    apps.push(app);
    clients.push(createClient(registry.RegistryServiceClient, `127.0.0.1:${app.port}`, { defaultDeadlineMs: 10_000 }));
  }
});
afterAll(async () => {
  for (const c of clients) c.close();
  for (const a of apps) {
    await Promise.all([...a.consumers.map((c) => c.stop()), a.stopBackground(), a.server.shutdown({ graceMs: 500 })]);
    await a.nc.drain();
    await a.mongo.close();
  }
  await mongo?.cleanup();
  await nats?.cleanup();
  removeTempDirs();
});

describe('ResolveModel cache across registry replicas', () => {
  it("sees another replica's alias move and new READY version at once, not after the cache lifetime", async () => {
    const [a, b] = clients as [KitClient<typeof registry.RegistryServiceService>, KitClient<typeof registry.RegistryServiceService>];
    const version = async (seed: string, key: string) => {
      await a.unary('createModelVersion', { name: 'med-r', idempotencyKey: key, artifacts: [writeAdapter(undefined, seed).artifact], tags: {}, lineage: undefined });
    };
    const ready = (v: number) => waitFor(async () => (await a.unary('getModelVersion', { name: 'med-r', version: v })).version!.status === S.MODEL_VERSION_STATUS_READY, 15_000);
    const resolve = async (c: typeof a, selector: common.RegistryModelRef['selector']) =>
      (await c.unary('resolveModel', { ref: { name: 'med-r', selector } })).version!.version;
    await version('one', 'k1');
    await ready(1);
    await version('two', 'k2');
    await ready(2);
    await a.unary('setAlias', registry.SetAliasRequest.fromPartial({ name: 'med-r', alias: 'champion', version: 1 }));
    // B caches champion → 1 and latest → 2.
    expect(await waitFor(async () => ((await resolve(b, { $case: 'alias', alias: 'champion' })) === 1 ? 1 : 0), 10_000)).toBe(1);
    expect(await resolve(b, { $case: 'latest', latest: true })).toBe(2);

    const t0 = Date.now();
    await a.unary('setAlias', registry.SetAliasRequest.fromPartial({ name: 'med-r', alias: 'champion', version: 2 }));
    await waitFor(async () => (await resolve(b, { $case: 'alias', alias: 'champion' })) === 2, 10_000, { message: 'B resolves the moved alias', intervalMs: 20 });
    expect(Date.now() - t0).toBeLessThan(10_000); // the lifetime is 10 min: only the event can have done it

    await version('three', 'k3');
    await ready(3);
    await waitFor(async () => (await resolve(b, { $case: 'latest', latest: true })) === 3, 10_000, { message: 'B resolves the new latest', intervalMs: 20 });
  }, 60_000);
});
