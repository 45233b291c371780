/**
 * Ordered, bounded graceful shutdown (DESIGN.md, style item 7):
 *   health NOT_SERVING → stop consumers + tryShutdown gRPC (forced after a grace period)
 *   → wait for in-flight work → nc.drain() → close Mongo → flush logs.
 * NATS is drained only after the gRPC server and consumers stopped, because their handlers
 * still publish.
 */
import type { NatsConnection } from '@nats-io/nats-core';
import type { RunningConsumer } from './consumer';
import type { KitGrpcServer } from './grpc-server';
import { flushLogger, type Logger } from './logger';
import type { MongoHandle } from './mongo';

/**
 * Steps run in order, each bounded by its own timeout and by what is left of the overall one.
 * Once the overall time is spent, the remaining steps are still started (so a quick close or log
 * flush happens) but not waited for.
 */
export interface Shutdown {
  /** Appends a step. */
  add(name: string, step: () => unknown, options?: { timeoutMs?: number }): void;
  /** Runs the steps once (later calls return the same promise); resolves true when every step finished in time without error. */
  run(reason?: string): Promise<boolean>;
  /** On SIGTERM / SIGINT: run, then exit(0) or exit(1). A second signal exits at once with 130. */
  onSignals(options?: { signals?: NodeJS.Signals[]; exit?: (code: number) => void }): void;
}

/** Options of {@link createShutdown}. */
export interface ShutdownOptions {
  log: Logger;
  /** All steps together; default 15 s. */
  timeoutMs?: number;
}

/** Creates an empty shutdown sequence. */
export function createShutdown(options: ShutdownOptions): Shutdown {
  const log = options.log.child({ component: 'shutdown' });
  const total = options.timeoutMs ?? 15_000;
  const steps: { name: string; step: () => unknown; timeoutMs?: number }[] = [];
  let running: Promise<boolean> | undefined;

  const run = (reason = 'requested'): Promise<boolean> => {
    running ??= (async () => {
      const end = Date.now() + total;
      let ok = true;
      log.info({ reason, steps: steps.map((s) => s.name) }, 'shutting down');
      for (const s of steps) {
        const budget = Math.max(0, Math.min(s.timeoutMs ?? Infinity, end - Date.now()));
        const started = Date.now();
        const outcome = await bounded(s.step, budget);
        const ms = Date.now() - started;
        if (outcome === 'ok') log.info({ step: s.name, ms }, 'shutdown step done');
        else {
          ok = false;
          if (outcome === 'timeout') log.error({ step: s.name, ms }, 'shutdown step timed out; moving on');
          else log.error({ step: s.name, ms, err: outcome.error }, 'shutdown step failed; moving on');
        }
      }
      return ok;
    })();
    return running;
  };

  return {
    add(name, step, opts = {}) {
      steps.push({ name, step, ...(opts.timeoutMs !== undefined ? { timeoutMs: opts.timeoutMs } : {}) });
    },
    run,
    onSignals(opts = {}) {
      const exit = opts.exit ?? ((code: number) => process.exit(code));
      let seen = false;
      for (const signal of opts.signals ?? (['SIGTERM', 'SIGINT'] as NodeJS.Signals[])) {
        process.on(signal, () => {
          if (seen) return exit(130);
          seen = true;
          void run(signal).then((ok) => exit(ok ? 0 : 1));
        });
      }
    },
  };
}

async function bounded(step: () => unknown, ms: number): Promise<'ok' | 'timeout' | { error: unknown }> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), ms)));
  try {
    return await Promise.race([Promise.resolve().then(step).then(() => 'ok' as const), timeout]);
  } catch (error) {
    return { error };
  } finally {
    clearTimeout(timer);
  }
}

/** Work a service runs outside gRPC calls and consumers (imports, dispatch loops), awaited at shutdown. */
export interface Inflight {
  /** Runs `fn` and tracks it until it settles. */
  run<T>(fn: () => Promise<T>): Promise<T>;
  /** Tracks a promise until it settles. */
  track<T>(p: Promise<T>): Promise<T>;
  /** How many are running. */
  size(): number;
  /** Resolves when everything tracked so far has settled. */
  wait(): Promise<void>;
}

/** Creates an in-flight work tracker. */
export function createInflight(): Inflight {
  const set = new Set<Promise<unknown>>();
  const track = <T>(p: Promise<T>): Promise<T> => {
    set.add(p);
    const forget = (): void => void set.delete(p);
    p.then(forget, forget);
    return p;
  };
  return {
    track,
    run: (fn) => track(Promise.resolve().then(fn)),
    size: () => set.size,
    async wait() {
      while (set.size > 0) await Promise.allSettled([...set]);
    },
  };
}

/** The parts of a service {@link runService} stops, all optional. */
export interface ServiceParts {
  log: Logger;
  server?: KitGrpcServer;
  consumers?: readonly RunningConsumer[];
  /** Other loops to stop together with the consumers (schedulers, watchers). */
  background?: readonly (() => Promise<void>)[];
  inflight?: Inflight;
  nc?: NatsConnection;
  mongo?: MongoHandle;
  /** How long in-flight gRPC calls get before they are cancelled; default 10 s. */
  graceMs?: number;
  /** The whole shutdown; default graceMs + 5 s. */
  timeoutMs?: number;
  /** Install SIGTERM / SIGINT handlers; default true. */
  signals?: boolean;
}

/**
 * The standard shutdown of a service, in the standard order; returns it (call `.run()` to stop
 * programmatically, e.g. in tests). With `signals` (default) SIGTERM / SIGINT run it and exit.
 */
export function runService(parts: ServiceParts): Shutdown {
  const graceMs = parts.graceMs ?? 10_000;
  const shutdown = createShutdown({ log: parts.log, timeoutMs: parts.timeoutMs ?? graceMs + 5_000 });
  const { server, consumers = [], background = [], inflight, nc, mongo } = parts;
  if (server) shutdown.add('health not serving', () => server.health.shutdown());
  shutdown.add('stop consumers and gRPC', () =>
    Promise.all([...consumers.map((c) => c.stop()), ...background.map((stop) => stop()), server?.shutdown({ graceMs })]),
  );
  if (inflight) shutdown.add('in-flight work', () => inflight.wait());
  if (nc) shutdown.add('drain NATS', () => nc.drain());
  if (mongo) shutdown.add('close MongoDB', () => mongo.close());
  shutdown.add('flush logs', () => flushLogger(parts.log));
  if (parts.signals ?? true) shutdown.onSignals();
  return shutdown;
}
