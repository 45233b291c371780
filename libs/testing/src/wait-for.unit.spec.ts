import { describe, expect, it } from 'vitest';
import { waitFor } from './wait-for';

describe('waitFor', () => {
  it('returns the first truthy value of the predicate', async () => {
    let calls = 0;
    const value = await waitFor(() => (++calls >= 3 ? { calls } : undefined), 1_000, { intervalMs: 1 });
    expect(value).toEqual({ calls: 3 });
  });

  it('awaits async predicates', async () => {
    await expect(waitFor(async () => 'ok', 100)).resolves.toBe('ok');
  });

  it('times out with the message and the last error of the predicate', async () => {
    const started = Date.now();
    const failing = waitFor(
      () => {
        throw new Error('expected 1 to be 2');
      },
      120,
      { intervalMs: 10, message: () => 'the job to succeed' },
    );
    await expect(failing).rejects.toThrow(/the job to succeed not met within 120 ms; last error: expected 1 to be 2/);
    expect(Date.now() - started).toBeGreaterThanOrEqual(110);
  });

  it('times out on a predicate that stays falsy', async () => {
    await expect(waitFor(() => 0, 30, { intervalMs: 5 })).rejects.toThrow(/condition not met within 30 ms$/);
  });
});
