// Leases against the real nats-server: one holder at a time, takeover of a lapsed lease within
// seconds, release handing over at once, fencing tokens that grow with every change of owner.
import { randomId, testNats, waitFor, type TestNats } from '@medtune/testing';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LeaseNotHeldError, openLeaseBucket, type Lease, type LeaseBucket } from './lease';
import { captureLogs } from './test-logs';

let nats: TestNats;
const { log } = captureLogs();
const extra: NatsConnection[] = [];

beforeAll(async () => {
  nats = await testNats();
});
afterAll(async () => {
  for (const nc of extra) if (!nc.isClosed()) await nc.close();
  await nats?.cleanup();
});

/** A bucket on a connection of its own, as another process would have. */
async function processBucket(): Promise<{ nc: NatsConnection; bucket: LeaseBucket }> {
  const nc = await connect({ servers: nats.url, name: 'lease-test' });
  extra.push(nc);
  return { nc, bucket: await openLeaseBucket(nc, { namespace: nats, log }) };
}

function heldBy(leases: Lease[]): Lease[] {
  return leases.filter((l) => l.isHeld);
}

describe('Lease', () => {
  it('of three contenders exactly one holds it; stop() hands it to another at once, with a larger token', async () => {
    const key = `sched-${randomId()}`;
    const procs = await Promise.all([processBucket(), processBucket(), processBucket()]);
    const leases = procs.map((p) => p.bucket.lease(key, { ttlMs: 2_000 }).start());
    const first = await waitFor(() => (heldBy(leases).length === 1 ? heldBy(leases)[0] : undefined), 10_000, { message: 'a holder' });
    // It stays one for several renewals.
    for (let i = 0; i < 10; i++) {
      expect(heldBy(leases)).toHaveLength(1);
      await new Promise((r) => setTimeout(r, 150));
    }
    const token1 = first.fence;
    expect(token1).toBeGreaterThan(0);
    const record = await procs[0]!.bucket.holder(key);
    expect(record?.owner).toBe(first.ownerId);

    const t0 = Date.now();
    await first.stop();
    expect(first.isHeld).toBe(false);
    const rest = leases.filter((l) => l !== first);
    const second = await waitFor(() => heldBy(rest)[0], 5_000, { message: 'a successor' });
    expect(Date.now() - t0).toBeLessThan(1_500); // ttl/4 polling, not a whole ttl
    expect(second.fence).toBeGreaterThan(token1!);
    expect(heldBy(leases)).toHaveLength(1);
    await Promise.all(rest.map((l) => l.stop()));
  });

  it('a holder that dies (connection gone, nothing released) is taken over after its ttl, never before it stopped counting itself as holder', async () => {
    const key = `dies-${randomId()}`;
    const a = await processBucket();
    const b = await processBucket();
    const ttlMs = 1_500;
    const la = a.bucket.lease(key, { ttlMs }).start();
    await waitFor(() => la.isHeld, 5_000, { message: 'a holds the lease' });
    const lb = b.bucket.lease(key, { ttlMs }).start();
    let lostAt = 0;
    la.onLost(() => (lostAt = Date.now()));
    let acquiredAt = 0;
    let aHeldThen: boolean | undefined;
    lb.onAcquired(() => {
      acquiredAt = Date.now();
      aHeldThen = la.isHeld;
    });
    await new Promise((r) => setTimeout(r, 500));
    expect(lb.isHeld).toBe(false);

    const killed = Date.now();
    await a.nc.close(); // like kill -9 for the lease: no release, renewals fail
    await waitFor(() => lb.isHeld, 10_000, { message: 'b takes over' });
    const gap = acquiredAt - killed;
    expect(gap).toBeGreaterThanOrEqual(ttlMs - 600); // it waited (about) a ttl
    expect(gap).toBeLessThan(ttlMs * 3);
    // a's own view had already expired when b acquired (a renewal failure never extends it).
    expect(aHeldThen).toBe(false);
    await waitFor(() => lostAt > 0 || !la.isHeld, 3_000, { message: 'a knows it lost' });
    expect(la.isHeld).toBe(false);
    await expect(la.guard(async () => 'work')).rejects.toBeInstanceOf(LeaseNotHeldError);
    await expect(lb.guard(async (token) => token)).resolves.toBe(lb.fence);
    await lb.stop();
  });

  it('a holder whose record was overwritten learns it at the next renewal and stops counting itself as holder', async () => {
    const key = `stolen-${randomId()}`;
    const a = await processBucket();
    const la = a.bucket.lease(key, { ttlMs: 900 }).start();
    await waitFor(() => la.isHeld, 5_000, { message: 'held' });
    const lost = new Promise<number>((resolve) => la.onLost(resolve));
    await a.bucket.kv.put(key, JSON.stringify({ owner: 'intruder', token: 1, ttlMs: 60_000, renewedAt: '' }));
    const token = await lost;
    expect(token).toBeGreaterThan(0);
    expect(la.isHeld).toBe(false);
    await la.stop();
    expect((await a.bucket.holder(key))?.owner).toBe('intruder'); // stop() does not delete someone else's lease
  });
});
