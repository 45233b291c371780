import { describe, expect, it } from 'vitest';
import { batches } from './attacher';

/** A source that yields `items` with a pause after each of the `pausesAfter` indexes, then maybe fails. */
async function* source<T>(items: T[], pausesAfter: number[], fail?: Error): AsyncGenerator<T> {
  for (const [i, item] of items.entries()) {
    yield item;
    if (pausesAfter.includes(i)) await new Promise((r) => setTimeout(r, 20));
  }
  if (fail) throw fail;
}

describe('batches', () => {
  it('groups what arrived while the consumer was busy, in order, losing nothing', async () => {
    const seen: number[][] = [];
    for await (const batch of batches(source([1, 2, 3, 4, 5, 6, 7], [0, 3]))) {
      seen.push(batch);
      await new Promise((r) => setTimeout(r, 5)); // a slow write
    }
    expect(seen.flat()).toEqual([1, 2, 3, 4, 5, 6, 7]);
    expect(seen[0]).toEqual([1]);
    expect(seen.length).toBeLessThan(7);
  });

  it('delivers the items read before a failure, then throws it', async () => {
    const seen: number[] = [];
    const boom = new Error('stream broke');
    await expect(
      (async () => {
        for await (const batch of batches(source([1, 2, 3], [], boom))) seen.push(...batch);
      })(),
    ).rejects.toBe(boom);
    expect(seen).toEqual([1, 2, 3]);
  });

  it('lets the consumer stop early', async () => {
    const endless = (async function* () {
      for (let i = 0; ; i++) {
        yield i;
        await new Promise((r) => setTimeout(r, 1));
        if (i > 1_000) return;
      }
    })();
    let first: number[] = [];
    for await (const batch of batches(endless)) {
      first = batch;
      break;
    }
    expect(first[0]).toBe(0);
  });
});
