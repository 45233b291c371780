/**
 * An in-process cache of ResolveModel answers (name@alias, name@version, name@latest), so that a
 * deployment looking up its model under load does not hit the store each time. Every write that
 * can change an answer for a model calls invalidate(name), which also bumps the model's
 * generation: a lookup that started before the write cannot put its (stale) answer afterwards.
 * Entries also expire after `ttlMs`, which bounds staleness when several registry processes
 * share one database (a write in one does not invalidate another's cache).
 */
import type { registry } from '@medtune/contracts';
import type { Clock } from '@medtune/kit';

interface Entry {
  value: registry.ModelVersion;
  expires: number;
}

/** See the module comment. `ttlMs` 0 turns caching off. */
export class ResolveCache {
  private readonly entries = new Map<string, Map<string, Entry>>();
  private readonly generations = new Map<string, number>();

  constructor(
    private readonly ttlMs: number,
    private readonly clock: Clock,
    private readonly maxModels = 10_000,
  ) {}

  get(model: string, key: string): registry.ModelVersion | undefined {
    const e = this.entries.get(model)?.get(key);
    if (!e) return undefined;
    if (e.expires <= this.clock().getTime()) {
      this.entries.get(model)?.delete(key);
      return undefined;
    }
    return e.value;
  }

  /** The model's generation now; pass it to put() after the reads. */
  generation(model: string): number {
    return this.generations.get(model) ?? 0;
  }

  put(model: string, key: string, value: registry.ModelVersion, generation: number): void {
    if (this.ttlMs <= 0 || generation !== this.generation(model)) return;
    if (!this.entries.has(model) && this.entries.size >= this.maxModels) this.entries.clear();
    let m = this.entries.get(model);
    if (!m) this.entries.set(model, (m = new Map()));
    m.set(key, { value, expires: this.clock().getTime() + this.ttlMs });
  }

  invalidate(model: string): void {
    this.entries.delete(model);
    this.generations.set(model, this.generation(model) + 1);
  }
}
