/** Options of {@link waitFor}. */
export interface WaitForOptions {
  /** Pause between two calls of the predicate (default 50 ms). */
  intervalMs?: number;
  /** What is awaited, for the timeout error; a function is called only when the wait fails. */
  message?: string | (() => string);
}

/**
 * Calls `predicate` until it returns a truthy value (or a promise of one) and returns that value.
 * A predicate that throws counts as "not yet"; its last error is part of the timeout error, so
 * `waitFor(() => { expect(x).toBe(1); return true; })` reports the failed expectation.
 */
export async function waitFor<T>(
  predicate: () => T | Promise<T>,
  timeoutMs = 10_000,
  options: WaitForOptions = {},
): Promise<NonNullable<T>> {
  const intervalMs = options.intervalMs ?? 50;
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await predicate();
      if (value) return value as NonNullable<T>;
      lastError = undefined;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() >= deadline) break;
    await new Promise((resolve) => setTimeout(resolve, Math.min(intervalMs, Math.max(0, deadline - Date.now()))));
  }
  const what = typeof options.message === 'function' ? options.message() : (options.message ?? 'condition');
  const last = lastError instanceof Error ? `; last error: ${lastError.message}` : lastError ? `; last error: ${String(lastError)}` : '';
  throw new Error(`waitFor: ${what} not met within ${timeoutMs} ms${last}`, { cause: lastError });
}
