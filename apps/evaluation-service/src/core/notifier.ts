/**
 * In-process wake-ups for watchers of a run: the runner calls notify(id) after each change, and
 * WatchEvaluation waits on it (with a timeout, so changes made by another process are still seen
 * by polling).
 */
export class Notifier {
  private readonly waiters = new Map<string, Set<() => void>>();

  notify(id: string): void {
    const set = this.waiters.get(id);
    if (!set) return;
    this.waiters.delete(id);
    for (const w of set) w();
  }

  /** Resolves on notify(id), after `timeoutMs`, or when `signal` aborts. */
  wait(id: string, timeoutMs: number, signal?: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      let set = this.waiters.get(id);
      if (!set) this.waiters.set(id, (set = new Set()));
      const done = () => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', done);
        this.waiters.get(id)?.delete(done);
        resolve();
      };
      const timer = setTimeout(done, timeoutMs);
      signal?.addEventListener('abort', done, { once: true });
      set.add(done);
    });
  }
}
