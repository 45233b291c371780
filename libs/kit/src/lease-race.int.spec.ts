// The concurrency test of issue 17, on the test run's MongoDB-protocol server: two "processes"
// (separate clients) × 8 connections each, racing compare-and-set increments of one counter
// `findOneAndUpdate({_id, v: seen}, {$set: {v: seen + 1}})` for a few seconds.
//
// - The database path: every "successful" compare-and-set must be one increment. FerretDB v1 is
//   not atomic across connections, so there it is expected to break (more successes than the
//   counter moved); on a real MongoDB it must hold. Either way the assertion can fail.
// - The lease path (what the services do): a NATS KV lease decides who writes; only its holder
//   writes, through one connection, each write carrying the fencing token; the holder hands over
//   mid-run. Successes must equal the counter, on any store.
import { randomId, testMongo, testNats, waitFor, type TestMongo, type TestNats } from '@medtune/testing';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { MongoClient, type Collection } from 'mongodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openLeaseBucket, type Lease } from './lease';
import { captureLogs } from './test-logs';

let nats: TestNats;
let mongo: TestMongo;
const { log } = captureLogs();
const clients: MongoClient[] = [];
const conns: NatsConnection[] = [];
const RUN_MS = 3_000;
const CONNECTIONS = 8;

interface Counter {
  _id: string;
  v: number;
  fence?: number;
}

beforeAll(async () => {
  nats = await testNats();
  mongo = await testMongo();
});
afterAll(async () => {
  for (const c of clients) await c.close();
  for (const nc of conns) if (!nc.isClosed()) await nc.close();
  await nats?.cleanup();
  await mongo?.cleanup();
});

async function client(pool: number): Promise<Collection<Counter>> {
  const c = new MongoClient(mongo.uri, { maxPoolSize: pool, minPoolSize: pool, appName: 'race' });
  await c.connect();
  clients.push(c);
  return c.db(mongo.dbName).collection<Counter>('counters');
}

/** One compare-and-set increment; true when it reported success. */
async function casIncrement(col: Collection<Counter>, id: string, fence?: number): Promise<boolean> {
  const doc = await col.findOne({ _id: id });
  if (!doc) return false;
  const filter = fence === undefined ? { _id: id, v: doc.v } : { _id: id, v: doc.v, $or: [{ fence: { $exists: false } }, { fence: { $lte: fence } }] };
  const res = await col.findOneAndUpdate(filter, { $set: { v: doc.v + 1, ...(fence === undefined ? {} : { fence }) } });
  return res !== null;
}

async function isFerretDb(): Promise<boolean> {
  const info = await mongo.db.admin().command({ buildInfo: 1 });
  return 'ferretdbVersion' in info || JSON.stringify(info).toLowerCase().includes('ferretdb');
}

describe('compare-and-set of one counter, 2 processes × 8 connections', () => {
  it('database compare-and-set: one success per increment only where the store is atomic (not FerretDB)', async () => {
    const id = randomId();
    const cols = [await client(CONNECTIONS), await client(CONNECTIONS)];
    await cols[0]!.insertOne({ _id: id, v: 0 });
    let successes = 0;
    const until = Date.now() + RUN_MS;
    await Promise.all(
      cols.flatMap((col) =>
        Array.from({ length: CONNECTIONS }, async () => {
          while (Date.now() < until) if (await casIncrement(col, id)) successes++;
        }),
      ),
    );
    const final = (await cols[0]!.findOne({ _id: id }))?.v ?? -1;
    log.info({ successes, final }, 'database path');
    expect(successes).toBeGreaterThan(0);
    if (await isFerretDb()) {
      // The reason leases exist: FerretDB reports more winners than there were increments.
      expect(successes).toBeGreaterThan(final);
    } else {
      expect(successes).toBe(final);
    }
  });

  it('lease path: only the NATS KV lease holder writes (one connection, fencing token); a mid-run handover loses nothing', async () => {
    const id = randomId();
    const key = `counter-${id}`;
    const procs = await Promise.all(
      [0, 1].map(async () => {
        const nc = await connect({ servers: nats.url, name: 'race' });
        conns.push(nc);
        const bucket = await openLeaseBucket(nc, { namespace: nats, log });
        return { lease: bucket.lease(key, { ttlMs: 1_500 }).start(), col: await client(1), wrote: 0 };
      }),
    );
    await procs[0]!.col.insertOne({ _id: id, v: 0 });
    let successes = 0;
    const until = Date.now() + RUN_MS;
    const worker = async (p: { lease: Lease; col: Collection<Counter>; wrote: number }): Promise<void> => {
      while (Date.now() < until) {
        if (!p.lease.isHeld) {
          await new Promise((r) => setTimeout(r, 20));
          continue;
        }
        const ok = await p.lease.guard((fence) => casIncrement(p.col, id, fence)).catch(() => false);
        if (ok) {
          successes++;
          p.wrote++;
        }
      }
    };
    const handover = (async () => {
      await new Promise((r) => setTimeout(r, RUN_MS / 2));
      const holder = procs.find((p) => p.lease.isHeld);
      await holder?.lease.stop(); // waits for its guarded writes, then releases
      await waitFor(() => procs.some((p) => p.lease.isHeld), 5_000, { message: 'the other process takes the lease' });
      holder?.lease.start();
    })();
    await Promise.all([...procs.flatMap((p) => Array.from({ length: CONNECTIONS }, () => worker(p))), handover]);
    await Promise.all(procs.map((p) => p.lease.stop()));
    const doc = await procs[0]!.col.findOne({ _id: id });
    log.info({ successes, final: doc?.v, wrote: procs.map((p) => p.wrote) }, 'lease path');
    expect(successes).toBeGreaterThan(10);
    expect(doc?.v).toBe(successes);
    expect(procs.every((p) => p.wrote > 0)).toBe(true); // both held it in turn
    expect(doc?.fence).toBeGreaterThan(0);
  });
});
