/**
 * Leases in NATS JetStream KV: work that must happen once across the replicas of a service
 * (scheduling, attaching, resuming, outbox relays, automation) runs only in the process that holds
 * the lease for it.
 *
 * Why NATS KV and not the database: FerretDB v1 is not atomic across connections (two processes
 * doing `findOneAndUpdate({_id, v: seen}, ...)` both "win"; tools/infra/README.md), while a KV
 * update with an expected revision is decided by the stream's leader and replicated (R3 on a
 * cluster), so exactly one compare-and-set on a revision succeeds.
 *
 * The protocol, per lease key:
 * - The value is `{owner, token, ttlMs, renewedAt}` (JSON). The holder renews it every ttl/3 with
 *   `update(key, value, lastRevision)`; a failed compare-and-set means someone else took it.
 * - A contender takes over a lease only after it has seen the *same* revision for a whole ttl on
 *   its own clock (no wall-clock comparison across hosts), then by `update(key, value, thatRevision)`:
 *   of several contenders exactly one wins. A deleted (released) key is taken at once by `create`.
 * - The holder counts the lease as held until (start of its last successful write) + ttl − margin,
 *   which ends before any contender can have watched that revision for a full ttl: two processes
 *   never both believe they hold it (given clocks that run at the same rate).
 * - The fencing token is the KV revision of the write that acquired the lease: it grows with every
 *   change of owner. Guarded writes carry it (see {@link Lease.fence}); a store that sees a write
 *   with a token lower than one it has already stored refuses it, so a holder that was paused past
 *   its expiry cannot overwrite its successor's work.
 */
import { JetStreamApiCodes, JetStreamApiError } from '@nats-io/jetstream';
import { Kvm, type KV } from '@nats-io/kv';
import type { NatsConnection } from '@nats-io/nats-core';
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { Logger } from './logger';
import { NO_NAMESPACE, natsNamespace, type NatsNamespace } from './nats';

/** The default bucket of every medtune lease. */
export const LEASE_BUCKET = 'medtune_leases';

/** Options of {@link openLeaseBucket}. */
export interface LeaseBucketOptions {
  /** Bucket name before the namespace's stream prefix; default {@link LEASE_BUCKET}. */
  bucket?: string;
  namespace?: NatsNamespace;
  /** Replicas of the bucket's stream (3 on a NATS cluster); default 1. Applied when the bucket is created. */
  replicas?: number;
  /**
   * Owner id of this process's leases; default {@link leaseOwnerId}(). A stable one (the
   * replica's name) lets a restarted replica take its own lease back at once instead of after a
   * ttl; it must then be unique among live processes.
   */
  owner?: string;
  log?: Logger;
}

/** What a lease key holds. */
export interface LeaseRecord {
  /** The holder's id (see {@link leaseOwnerId}). */
  owner: string;
  /** Fencing token: the KV revision of the write that acquired the lease. */
  token: number;
  /** How long the holder may stay silent before a contender takes the lease. */
  ttlMs: number;
  /** Holder's wall clock at its last renewal (for people reading the bucket; never compared). */
  renewedAt: string;
  /** Free-form facts about the holder, e.g. its gRPC address. */
  meta?: Record<string, string>;
}

/** Options of {@link LeaseBucket.lease}. */
export interface LeaseOptions {
  /** This process's id; default {@link leaseOwnerId}() (one per bucket). */
  owner?: string;
  /** Lease lifetime without renewal; default 5 s. A lapsed lease is taken over after ttl + ttl/4 at most. */
  ttlMs?: number;
  /** Stored in the record (e.g. `{ address }`). */
  meta?: Record<string, string>;
  /** Local time in ms, for tests; default Date.now. Only differences of it are used. */
  now?: () => number;
  log?: Logger;
}

/** Raised by {@link Lease.guard} when this process does not hold the lease (anymore). */
export class LeaseNotHeldError extends Error {
  constructor(readonly lease: string) {
    super(`lease ${lease} is not held by this process`);
    this.name = 'LeaseNotHeldError';
  }
}

/** A unique id of this process: `<host>:<pid>:<random>`. */
export function leaseOwnerId(): string {
  return `${hostname()}:${process.pid}:${randomBytes(4).toString('hex')}`;
}

/** A KV bucket of leases. */
export class LeaseBucket {
  private readonly leases = new Set<Lease>();

  constructor(
    /** The underlying KV (for inspection; leases write through {@link Lease}). */
    readonly kv: KV,
    private readonly log?: Logger,
    private readonly defaultOwner: string = leaseOwnerId(),
  ) {}

  /**
   * A lease on `name` (letters, digits, `.-_/=`); call start() to contend for it. Services name
   * theirs `<database>.<work>` (e.g. `medtune_training.scheduler`): once-only work is once per
   * store, and deployments (or tests) on one NATS with separate databases do not share it.
   */
  lease(name: string, options: LeaseOptions = {}): Lease {
    const lease = new Lease(this.kv, name, { owner: this.defaultOwner, ...(this.log ? { log: this.log } : {}), ...options }, () => this.leases.delete(lease));
    this.leases.add(lease);
    return lease;
  }

  /** The current record of a lease, or undefined when it is free. */
  async holder(name: string): Promise<(LeaseRecord & { revision: number }) | undefined> {
    const e = await this.kv.get(name);
    if (!e || e.operation !== 'PUT') return undefined;
    return { ...(e.json() as LeaseRecord), revision: e.revision };
  }

  /** Stops (and so releases) every lease made from this bucket. */
  async stopAll(): Promise<void> {
    await Promise.all([...this.leases].map((l) => l.stop()));
  }
}

/** The lease bucket of a service from its config: namespace, stream replicas, instance id. */
export function serviceLeaseOptions(
  cfg: { natsNamespace?: string | undefined; natsStreamReplicas: number; instanceId?: string | undefined },
  service: string,
  log: Logger,
): LeaseBucketOptions {
  return {
    namespace: natsNamespace(cfg.natsNamespace),
    replicas: cfg.natsStreamReplicas,
    log,
    ...(cfg.instanceId ? { owner: `${service}@${cfg.instanceId}` } : {}),
  };
}

/** Opens (creating if needed) the lease bucket. Safe to run concurrently at every start. */
export async function openLeaseBucket(nc: NatsConnection, options: LeaseBucketOptions = {}): Promise<LeaseBucket> {
  const ns = options.namespace ?? NO_NAMESPACE;
  const name = ns.streamPrefix + (options.bucket ?? LEASE_BUCKET);
  const kv = await new Kvm(nc).create(name, { history: 1, replicas: options.replicas ?? 1 });
  return new LeaseBucket(kv, options.log, options.owner);
}

type Listener = (token: number) => void;

/**
 * One lease key contended for by this process. start() runs the loop (acquire when free or lapsed,
 * renew while held); isHeld / fence say whether work guarded by it may run now.
 */
export class Lease {
  private readonly owner: string;
  private readonly ttlMs: number;
  private readonly now: () => number;
  private readonly log: Logger | undefined;
  /** Revision of our last successful write, while we hold it. */
  private revision: number | undefined;
  private token: number | undefined;
  private validUntil = 0;
  /** The other holder's revision we are watching, and when we first saw it. */
  private seen: { revision: number; at: number } | undefined;
  private timer: NodeJS.Timeout | undefined;
  private ticking: Promise<void> | undefined;
  private running = false;
  private readonly acquiredListeners = new Set<Listener>();
  private readonly lostListeners = new Set<Listener>();
  private waiters: Array<() => void> = [];
  private readonly inflight = new Set<Promise<unknown>>();
  private first: Promise<void> = Promise.resolve();

  constructor(
    private readonly kv: KV,
    /** The key. */
    readonly name: string,
    options: LeaseOptions & { owner: string },
    private readonly onStopped: () => void = () => undefined,
  ) {
    this.owner = options.owner;
    this.ttlMs = options.ttlMs ?? 5_000;
    this.now = options.now ?? Date.now;
    this.log = options.log?.child({ component: 'lease', lease: name });
    this.meta = options.meta;
  }

  private readonly meta: Record<string, string> | undefined;

  /** This process's owner id. */
  get ownerId(): string {
    return this.owner;
  }

  /** True while this process holds the lease (checked against its own expiry, not just the last loop). */
  get isHeld(): boolean {
    return this.token !== undefined && this.now() < this.validUntil;
  }

  /** The fencing token while held, else undefined. */
  get fence(): number | undefined {
    return this.isHeld ? this.token : undefined;
  }

  /** Calls `fn(token)` whenever this process acquires the lease; returns the unsubscribe function. */
  onAcquired(fn: Listener): () => void {
    this.acquiredListeners.add(fn);
    return () => this.acquiredListeners.delete(fn);
  }

  /** Calls `fn(token)` whenever this process loses (or releases) the lease. */
  onLost(fn: Listener): () => void {
    this.lostListeners.add(fn);
    return () => this.lostListeners.delete(fn);
  }

  /**
   * Runs `fn` with the fencing token if the lease is held now; LeaseNotHeldError otherwise.
   * release() waits for guarded calls in flight before it hands the lease over, so keep them short
   * (well under a tenth of the ttl: a lapse does not wait).
   */
  async guard<T>(fn: (token: number) => Promise<T>): Promise<T> {
    const token = this.fence;
    if (token === undefined) throw new LeaseNotHeldError(this.name);
    const p = fn(token);
    this.inflight.add(p);
    try {
      return await p;
    } finally {
      this.inflight.delete(p);
    }
  }

  /** Resolves when the lease is held (or at once if it is), or when `signal` aborts. */
  waitUntilHeld(signal?: AbortSignal): Promise<void> {
    if (this.isHeld || signal?.aborted) return Promise.resolve();
    return new Promise((resolve) => {
      const done = (): void => {
        signal?.removeEventListener('abort', done);
        resolve();
      };
      this.waiters.push(done);
      signal?.addEventListener('abort', done);
    });
  }

  /** Starts contending: one attempt now, then every ttl/4 (renewals every ttl/3 while held). */
  start(): this {
    if (this.running) return this;
    this.running = true;
    this.first = this.loop();
    return this;
  }

  /** Resolves after the first attempt made by start() (held or not by then); at once before start(). */
  ready(): Promise<void> {
    return this.first;
  }

  /** Stops the loop and releases the lease if held (a successor takes it at once). */
  async stop(): Promise<void> {
    this.running = false;
    clearTimeout(this.timer);
    await this.ticking;
    await this.release();
    this.onStopped();
    for (const w of this.waiters.splice(0)) w();
  }

  /** Gives the lease up now (deletes the key at our revision); a no-op if not held. */
  async release(): Promise<void> {
    const revision = this.revision;
    if (revision === undefined) return;
    this.lose('released');
    // Guarded work already running finishes before a successor may start its own.
    await Promise.allSettled([...this.inflight]);
    try {
      await this.kv.delete(this.name, { previousSeq: revision });
    } catch (err) {
      this.log?.debug({ err }, 'lease not deleted at release (already taken over)');
    }
  }

  /** One step of the protocol; exposed for tests that drive it by hand. */
  async tick(): Promise<void> {
    const p = (this.ticking ??= this.step().finally(() => (this.ticking = undefined)));
    return p;
  }

  private async loop(): Promise<void> {
    if (!this.running) return;
    try {
      await this.tick();
    } catch (err) {
      this.log?.warn({ err }, 'lease step failed');
    }
    if (!this.running) return;
    const every = this.token !== undefined ? this.ttlMs / 3 : this.ttlMs / 4;
    this.timer = setTimeout(() => void this.loop(), Math.max(20, Math.floor(every)));
    this.timer.unref();
  }

  private async step(): Promise<void> {
    if (this.token !== undefined) return this.renew();
    const entry = await this.kv.get(this.name);
    const started = this.now();
    if (!entry || entry.operation !== 'PUT') {
      await this.acquire(started, entry ? entry.revision : 0);
      return;
    }
    const held = entry.json<LeaseRecord>();
    if (held.owner === this.owner) {
      // Our own record from before (a restart under a stable instance id, or a renewal we lost
      // track of): no one else may hold it, take it back at once.
      await this.acquire(started, entry.revision);
      return;
    }
    if (this.seen?.revision !== entry.revision) {
      this.seen = { revision: entry.revision, at: started };
      return;
    }
    const ttl = Number.isFinite(held.ttlMs) && held.ttlMs > 0 ? held.ttlMs : this.ttlMs;
    if (started - this.seen.at >= ttl) {
      this.log?.info({ previousOwner: held.owner, revision: entry.revision }, 'lease lapsed; taking it over');
      await this.acquire(started, entry.revision);
    }
  }

  /** Writes our record over `revision` (0: the key must not exist). */
  private async acquire(started: number, revision: number): Promise<void> {
    let rev: number;
    try {
      rev = revision > 0 ? await this.kv.update(this.name, this.record(0), revision) : await this.kv.create(this.name, this.record(0));
    } catch (err) {
      this.log?.debug({ err: (err as Error).message }, 'lease taken by another contender');
      this.seen = undefined;
      return;
    }
    // The token is this acquiring write's revision; write it into the record so readers see it.
    this.token = rev;
    this.revision = rev;
    this.validUntil = started + this.ttlMs - this.margin();
    this.seen = undefined;
    // Held from here on (isHeld is true): tell the listeners now, not after the next await, so no
    // one sees the lease held before its onAcquired callbacks ran.
    this.log?.info({ owner: this.owner, token: rev }, 'lease acquired');
    for (const fn of this.acquiredListeners) safely(() => fn(rev), this.log);
    for (const w of this.waiters.splice(0)) w();
    try {
      this.revision = await this.kv.update(this.name, this.record(rev), rev);
    } catch {
      // Harmless: the record says token 0 until the next renewal; the token we use is rev.
    }
  }

  private async renew(): Promise<void> {
    const started = this.now();
    if (started >= this.validUntil) {
      this.lose('expired before it could be renewed');
      return;
    }
    try {
      this.revision = await this.kv.update(this.name, this.record(this.token ?? 0), this.revision ?? 0);
      this.validUntil = started + this.ttlMs - this.margin();
    } catch (err) {
      if (isConflict(err)) this.lose('taken over by another process');
      else this.log?.warn({ err: (err as Error).message }, 'lease renewal failed; retrying until it expires');
    }
  }

  private lose(why: string): void {
    const token = this.token;
    if (token === undefined) return;
    this.token = undefined;
    this.revision = undefined;
    this.validUntil = 0;
    this.log?.warn({ owner: this.owner, token, why }, 'lease lost');
    for (const fn of this.lostListeners) safely(() => fn(token), this.log);
  }

  /** Slack for a renewal write that took a while: a tenth of the ttl. */
  private margin(): number {
    return Math.floor(this.ttlMs / 10);
  }

  private record(token: number): string {
    const r: LeaseRecord = { owner: this.owner, token, ttlMs: this.ttlMs, renewedAt: new Date().toISOString(), ...(this.meta ? { meta: this.meta } : {}) };
    return JSON.stringify(r);
  }
}

/** Work that runs only while a lease is held: start() when acquired, stop() when lost. */
export interface LeasedWork {
  start(): void | Promise<void>;
  stop(): Promise<void>;
}

/**
 * Runs `work` while `lease` is held (starting the lease): start() on every acquisition, stop() on
 * every loss, one after the other. Returns a function that stops the work and releases the lease
 * (the work stops first, so a successor starts after this process's last write); its `ready`
 * resolves after the first attempt (and the work's start when it won), so a single instance does
 * its restart work before it serves, as it did without leases.
 */
export function whileHeld(lease: Lease, work: LeasedWork, log?: Logger): (() => Promise<void>) & { ready: Promise<void> } {
  let chain: Promise<unknown> = Promise.resolve();
  let running = false;
  const then = (fn: () => void | Promise<void>): void => {
    chain = chain.then(fn).catch((err: unknown) => log?.error({ err, lease: lease.name }, 'leased work failed to start or stop'));
  };
  const offA = lease.onAcquired(() =>
    then(async () => {
      if (running) return;
      running = true;
      await work.start();
    }),
  );
  const offL = lease.onLost(() =>
    then(async () => {
      if (!running) return;
      running = false;
      await work.stop();
    }),
  );
  lease.start();
  // After the first attempt, and after work.start() when that attempt acquired the lease.
  const ready = lease.ready().then(() => chain).then(() => undefined);
  const stop = async (): Promise<void> => {
    offA();
    offL();
    await chain;
    if (running) {
      running = false;
      await work.stop();
    }
    await lease.stop();
  };
  return Object.assign(stop, { ready });
}

/** A compare-and-set that lost: the key is at another revision. */
function isConflict(err: unknown): boolean {
  return err instanceof JetStreamApiError && (err.code === JetStreamApiCodes.StreamWrongLastSequence || err.code === JetStreamApiCodes.StreamWrongLastSequenceUnknown);
}

function safely(fn: () => void, log: Logger | undefined): void {
  try {
    fn();
  } catch (err) {
    log?.error({ err }, 'lease listener failed');
  }
}
