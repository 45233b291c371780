import { registry } from '@medtune/contracts';
import { describe, expect, it } from 'vitest';
import { ResolveCache } from './resolve-cache';

const v = (version: number) => registry.ModelVersion.fromPartial({ name: 'm', version });

function setup(ttlMs = 1_000) {
  let now = 0;
  const cache = new ResolveCache(ttlMs, () => new Date(now));
  let loads = 0;
  let answer = 1;
  let release: (() => void) | undefined;
  let gate: Promise<void> | undefined;
  const load = async () => {
    loads++;
    if (gate) await gate;
    return v(answer);
  };
  return {
    cache,
    load,
    loads: () => loads,
    setAnswer: (n: number) => (answer = n),
    advance: (ms: number) => (now += ms),
    hold: () => (gate = new Promise<void>((r) => (release = r))),
    release: () => (gate = undefined, release?.()),
  };
}

describe('ResolveCache', () => {
  it('shares one store lookup among concurrent misses', async () => {
    const t = setup();
    t.hold();
    const all = Array.from({ length: 50 }, () => t.cache.get('m', 'a:champion', t.load));
    t.release();
    expect((await Promise.all(all)).every((x) => x.version === 1)).toBe(true);
    expect(t.loads()).toBe(1);
  });

  it('serves a stale answer while one background lookup refreshes it, then the new one', async () => {
    const t = setup(1_000);
    await t.cache.get('m', 'k', t.load);
    t.advance(1_500);
    t.setAnswer(2);
    t.hold();
    const stale = await Promise.all([t.cache.get('m', 'k', t.load), t.cache.get('m', 'k', t.load)]);
    expect(stale.map((x) => x.version)).toEqual([1, 1]);
    expect(t.loads()).toBe(2);
    t.release();
    await new Promise((r) => setTimeout(r, 0));
    expect((await t.cache.get('m', 'k', t.load)).version).toBe(2);
    t.advance(10_000); // far past maxStale: a plain miss
    t.setAnswer(3);
    expect((await t.cache.get('m', 'k', t.load)).version).toBe(3);
  });

  it('drops answers on invalidate, including a lookup that was in flight during the write', async () => {
    const t = setup();
    t.hold();
    const before = t.cache.get('m', 'k', t.load);
    t.cache.invalidate('m');
    t.setAnswer(2);
    t.release();
    expect((await before).version).toBe(2); // the held lookup reads after the write here
    t.hold();
    const inflight = t.cache.get('m', 'k', t.load);
    t.setAnswer(3);
    t.cache.invalidate('m');
    const after = t.cache.get('m', 'k', t.load); // must not join the old lookup
    t.release();
    await inflight;
    expect((await after).version).toBe(3);
    expect(t.loads()).toBe(3);
  });

  it('with ttl 0 always asks the store', async () => {
    const t = setup(0);
    await t.cache.get('m', 'k', t.load);
    await t.cache.get('m', 'k', t.load);
    expect(t.loads()).toBe(2);
  });
});
