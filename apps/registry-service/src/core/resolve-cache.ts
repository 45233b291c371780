/**
 * An in-process read-through cache of ResolveModel answers (name@alias, name@version,
 * name@latest), so a deployment looking its model up under load does not hit the store each time
 * (on FerretDB, with one serialised connection, the store alone cannot serve 1,000 lookups/s).
 *
 * - Every write that can change an answer for a model calls invalidate(name): its entries go,
 *   and its generation is bumped so a lookup that started before the write cannot store its
 *   (stale) answer afterwards. Within one process a change is therefore seen at once.
 * - Across replicas, the registry's alias / version events invalidate too
 *   (events/cache-invalidation.ts), so `ttlMs` bounds only changes that publish no event (tags,
 *   attached evaluations) and a missed message.
 * - Entries are fresh for `ttlMs`; a stale entry (younger than `maxStaleMs`) is still served
 *   while one background lookup refreshes it.
 * - Concurrent misses of one key share a single store lookup (no thundering herd at expiry).
 * `ttlMs` 0 turns all of it off: every call goes to the store.
 */
import type { registry } from '@medtune/contracts';
import type { Clock, Logger } from '@medtune/kit';

interface Entry {
  value: registry.ModelVersion;
  loadedAt: number;
}

/** See the module comment. */
export class ResolveCache {
  private readonly entries = new Map<string, Map<string, Entry>>();
  private readonly generations = new Map<string, number>();
  private readonly inflight = new Map<string, Promise<registry.ModelVersion>>();

  constructor(
    private readonly ttlMs: number,
    private readonly clock: Clock,
    private readonly options: { maxStaleMs?: number; maxModels?: number; log?: Logger } = {},
  ) {}

  /** The answer for `key` of `model`, from the cache or from `load` (which throws for misses). */
  async get(model: string, key: string, load: () => Promise<registry.ModelVersion>): Promise<registry.ModelVersion> {
    if (this.ttlMs <= 0) return load();
    const e = this.entries.get(model)?.get(key);
    const age = e ? this.clock().getTime() - e.loadedAt : Infinity;
    if (e && age < this.ttlMs) return e.value;
    if (e && age < (this.options.maxStaleMs ?? this.ttlMs * 5)) {
      this.refresh(model, key, load).catch((err: unknown) => {
        // Gone or failing: stop serving the old answer; the next call reports the error.
        this.entries.get(model)?.delete(key);
        this.options.log?.debug({ err, model, key }, 'resolve cache refresh failed');
      });
      return e.value;
    }
    return this.refresh(model, key, load);
  }

  private refresh(model: string, key: string, load: () => Promise<registry.ModelVersion>): Promise<registry.ModelVersion> {
    const flightKey = `${model}\u0000${key}`;
    const running = this.inflight.get(flightKey);
    if (running) return running;
    const generation = this.generation(model);
    const p = load()
      .then((value) => {
        if (generation === this.generation(model)) this.put(model, key, value);
        return value;
      })
      .finally(() => this.inflight.delete(flightKey));
    this.inflight.set(flightKey, p);
    return p;
  }

  private generation(model: string): number {
    return this.generations.get(model) ?? 0;
  }

  private put(model: string, key: string, value: registry.ModelVersion): void {
    if (!this.entries.has(model) && this.entries.size >= (this.options.maxModels ?? 10_000)) this.entries.clear();
    let m = this.entries.get(model);
    if (!m) this.entries.set(model, (m = new Map()));
    m.set(key, { value, loadedAt: this.clock().getTime() });
  }

  /** Forgets every answer (e.g. after a reconnect to NATS, when invalidations may have been missed). */
  clear(): void {
    for (const model of [...this.entries.keys(), ...this.generations.keys()]) this.invalidate(model);
  }

  /** Forgets every answer about `model` (call after any write that concerns it). */
  invalidate(model: string): void {
    this.entries.delete(model);
    this.generations.set(model, this.generation(model) + 1);
    // A lookup in flight may have read the old state: new callers must not join it.
    for (const k of this.inflight.keys()) if (k.startsWith(`${model}\u0000`)) this.inflight.delete(k);
  }
}
