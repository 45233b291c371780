import { describe, expect, it } from 'vitest';
import { createInflight, createShutdown } from './shutdown';
import { captureLogs } from './test-logs';

describe('createShutdown', () => {
  it('runs steps in order, bounds each one, and goes on after a failure or a timeout', async () => {
    const logs = captureLogs();
    const order: string[] = [];
    const s = createShutdown({ log: logs.log, timeoutMs: 5_000 });
    s.add('a', () => void order.push('a'));
    s.add('hangs', () => new Promise(() => order.push('hangs')), { timeoutMs: 100 });
    s.add('fails', () => {
      order.push('fails');
      throw new Error('boom');
    });
    s.add('z', async () => void order.push('z'));
    const t0 = Date.now();
    expect(await s.run()).toBe(false);
    expect(Date.now() - t0).toBeLessThan(1_000);
    expect(order).toEqual(['a', 'hangs', 'fails', 'z']);
    const lines = logs.lines();
    expect(lines.find((l) => l.step === 'hangs')?.msg).toBe('shutdown step timed out; moving on');
    expect(lines.find((l) => l.step === 'fails')?.msg).toBe('shutdown step failed; moving on');
  });

  it('the overall timeout bounds the sum of the steps', async () => {
    const s = createShutdown({ log: captureLogs().log, timeoutMs: 150 });
    let last = false;
    s.add('slow', () => new Promise((resolve) => setTimeout(resolve, 1_000)));
    s.add('last', () => void (last = true));
    const t0 = Date.now();
    expect(await s.run()).toBe(false);
    expect(Date.now() - t0).toBeLessThan(600);
    expect(last).toBe(true); // later steps still start (closing, flushing logs), with no time to wait for them
  });

  it('a signal runs it once and exits with its outcome; a second signal exits at once', async () => {
    const codes: number[] = [];
    const s = createShutdown({ log: captureLogs().log });
    let runs = 0;
    s.add('count', () => void runs++);
    const signal = 'SIGUSR2' as NodeJS.Signals;
    const before = process.listenerCount(signal);
    s.onSignals({ signals: [signal], exit: (code) => void codes.push(code) });
    process.emit(signal, signal);
    process.emit(signal, signal);
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(runs).toBe(1);
    expect(codes).toEqual([130, 0]);
    for (const l of process.listeners(signal).slice(before)) process.removeListener(signal, l);
  });
});

describe('createInflight', () => {
  it('wait() resolves when the tracked work has settled, failures included', async () => {
    const inflight = createInflight();
    let done = 0;
    void inflight.run(async () => {
      await new Promise((resolve) => setTimeout(resolve, 50));
      done++;
    });
    inflight.track(Promise.reject(new Error('x'))).catch(() => undefined);
    expect(inflight.size()).toBe(2);
    await inflight.wait();
    expect(done).toBe(1);
    expect(inflight.size()).toBe(0);
  });
});
