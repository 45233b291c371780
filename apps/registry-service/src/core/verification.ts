/**
 * Background verification of new versions: recompute every artifact's sha256 and size from its
 * URI and end PENDING_REGISTRATION in READY or FAILED_REGISTRATION (with the reason). It runs off
 * the request path with bounded concurrency; at startup every version still PENDING is scheduled
 * again, so a restart in the middle loses nothing. A read error that is not "nothing there"
 * (EIO, EMFILE, ...) leaves the version PENDING and is retried with backoff.
 */
import { events, registry, SUBJECTS } from '@medtune/contracts';
import type { Clock, Logger, OutboxRelay } from '@medtune/kit';
import { toVersion } from './convert';
import type { ArtifactReader, RegistryStore } from './ports';
import { artifactLocation } from './records';
import { pendingEvent, type VerificationScheduler } from './registry';
import type { ResolveCache } from './resolve-cache';
import { mismatchReason } from './verify';

const { ModelVersionStatus } = registry;

/** What the verifier is built from. */
export interface VerifierDeps {
  store: RegistryStore;
  reader: ArtifactReader;
  outbox: OutboxRelay;
  cache: ResolveCache;
  clock: Clock;
  newId: (prefix?: string) => string;
  log: Logger;
  /** Versions verified at once. Default 2. */
  concurrency?: number;
  /** Delays before retrying after a read error. Default 1 s, 5 s, 30 s (then 30 s). */
  retryDelaysMs?: readonly number[];
}

/** Schedules and runs verifications; see the module comment. */
export class Verifier implements VerificationScheduler {
  private readonly queue: string[] = [];
  private readonly queued = new Set<string>();
  private readonly attempts = new Map<string, number>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private active = 0;
  private idleWaiters: (() => void)[] = [];
  private stopped = false;

  constructor(private readonly d: VerifierDeps) {}

  /** Queues a version (no-op when it is queued already). */
  schedule(name: string, version: number): void {
    const key = `${name}\u0000${version}`;
    if (this.stopped || this.queued.has(key)) return;
    this.queued.add(key);
    this.queue.push(key);
    this.pump();
  }

  /** Queues every version still PENDING_REGISTRATION (call at startup). Returns how many. */
  async resumePending(): Promise<number> {
    const pending = await this.d.store.pendingVersions();
    for (const v of pending) {
      // A crash between inserting the version and raising latest_version is repaired here.
      await this.d.store.raiseLatestVersion(v.name, v.version);
      this.schedule(v.name, v.version);
    }
    return pending.length;
  }

  /** Resolves when nothing is queued or running (tests; shutdown). */
  idle(): Promise<void> {
    if (this.active === 0 && this.queue.length === 0 && this.timers.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** Stops taking work and waits for running verifications (retries left PENDING resume at next start). */
  async stop(): Promise<void> {
    this.stopped = true;
    this.queue.length = 0;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    await this.idle();
  }

  private pump(): void {
    const limit = this.d.concurrency ?? 2;
    while (!this.stopped && this.active < limit && this.queue.length > 0) {
      const key = this.queue.shift()!;
      this.active++;
      void this.run(key).finally(() => {
        this.active--;
        this.queued.delete(key);
        this.pump();
        this.notifyIdle();
      });
    }
    this.notifyIdle();
  }

  private notifyIdle(): void {
    if (this.active === 0 && this.queue.length === 0 && this.timers.size === 0) {
      const waiters = this.idleWaiters;
      this.idleWaiters = [];
      waiters.forEach((w) => w());
    }
  }

  private async run(key: string): Promise<void> {
    const [name, versionText] = key.split('\u0000') as [string, string];
    const version = Number(versionText);
    try {
      await this.verify(name, version);
      this.attempts.delete(key);
    } catch (err) {
      const n = (this.attempts.get(key) ?? 0) + 1;
      this.attempts.set(key, n);
      const delays = this.d.retryDelaysMs ?? [1_000, 5_000, 30_000];
      const delay = delays[Math.min(n - 1, delays.length - 1)] ?? 30_000;
      this.d.log.warn({ err, model: name, version, attempt: n, retryInMs: delay }, 'verification did not finish (read or store error); will retry');
      if (this.stopped) return;
      const timer = setTimeout(() => {
        this.timers.delete(timer);
        this.schedule(name, version);
      }, delay);
      timer.unref();
      this.timers.add(timer);
    }
  }

  /** Verifies one version now (no-op unless it is PENDING). Throws on read errors worth retrying. */
  async verify(name: string, version: number): Promise<void> {
    const v = await this.d.store.getVersion(name, version);
    if (!v || v.status !== ModelVersionStatus.MODEL_VERSION_STATUS_PENDING_REGISTRATION) return;
    let failure: string | null = null;
    for (const artifact of v.artifacts) {
      const digest = await this.d.reader.digest(artifactLocation(artifact.uri));
      failure = mismatchReason(artifact, digest);
      if (failure) break;
    }
    const status = failure ? ModelVersionStatus.MODEL_VERSION_STATUS_FAILED_REGISTRATION : ModelVersionStatus.MODEL_VERSION_STATUS_READY;
    const message = failure ?? '';
    const time = this.d.clock();
    const model = await this.d.store.getModel(name);
    const after = { ...v, status, statusMessage: message, updateTime: time };
    const payload = events.ModelVersionChanged.encode({ version: toVersion(after, model) }).finish();
    const subject = failure ? SUBJECTS.registryVersionFailed.subject : SUBJECTS.registryVersionReady.subject;
    const evt = pendingEvent(this.d.newId, subject, payload);
    const done = await this.d.store.completeVerification(name, version, status, message, time, evt);
    if (!done) return; // another process finished it first
    this.d.cache.invalidate(name);
    if (failure) this.d.log.warn({ model: name, version, reason: failure }, 'model version failed registration');
    else this.d.log.info({ model: name, version }, 'model version ready');
    await this.d.outbox.publish([evt]);
  }
}
