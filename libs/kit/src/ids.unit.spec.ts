import { describe, expect, it } from 'vitest';
import { createIdGenerator, idTime, newId } from './ids';

describe('ids', () => {
  it('are prefixed, unique and sort in creation order, also within one millisecond', () => {
    const fixed = new Date('2026-01-02T03:04:05.678Z');
    const gen = createIdGenerator(() => fixed);
    const ids = Array.from({ length: 1000 }, () => gen('job'));
    expect(new Set(ids).size).toBe(1000);
    expect([...ids].sort()).toEqual(ids);
    expect(ids[0]).toMatch(/^job_[0-9A-HJKMNP-TV-Z]{26}$/);
    expect(idTime(ids[0] ?? '')).toEqual(fixed);
  });

  it('later times sort later, and a clock going back does not break the order', () => {
    let now = 1_700_000_000_000;
    const gen = createIdGenerator(() => new Date(now));
    const a = gen();
    now += 1;
    const b = gen();
    now -= 10_000;
    const c = gen();
    expect(a < b && b < c).toBe(true);
  });

  it('newId has no prefix unless asked and idTime rejects foreign strings', () => {
    expect(newId()).toMatch(/^[0-9A-HJKMNP-TV-Z]{26}$/);
    expect(idTime('nope')).toBeUndefined();
  });
});
