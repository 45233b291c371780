/**
 * The gRPC server every TS service runs: async handlers (grpc-handlers.ts) with the one error
 * table, grpc.health.v1, optional TLS / mTLS (tls.ts), optional authentication with a scope per
 * method (auth.ts), per-call debug logs, cancellation through AbortSignal, and an ordered, bounded
 * shutdown. Message size: 4 MiB received, 64 MiB sent, unless `channelOptions` says otherwise
 * (a larger request is refused with RESOURCE_EXHAUSTED before any handler runs).
 */
import { once, setMaxListeners, type EventEmitter } from 'node:events';
import {
  Server,
  status,
  type ChannelOptions,
  type Deadline,
  type Metadata,
  type ServerDuplexStream,
  type ServerReadableStream,
  type ServerUnaryCall,
  type ServerWritableStream,
  type ServiceError,
  type UntypedHandleCall,
  type UntypedServiceImplementation,
  type sendUnaryData,
} from '@grpc/grpc-js';
import { health } from '@medtune/contracts';
import { createAuthenticator, type Authenticator, type MethodScopes, type Principal, type Scope } from './auth';
import { PermissionDeniedError, toServiceError, UnauthenticatedError } from './errors';
import { serviceNameOf, type AnyHandler, type CallContext, type ServiceDefinition, type ServiceHandlers } from './grpc-handlers';
import { HealthState, healthHandlers } from './health';
import type { Logger } from './logger';
import { serverCredentials, type TlsFiles } from './tls';

/** Options of {@link createGrpcServer}. */
export interface GrpcServerOptions {
  log: Logger;
  /** When set, every call except grpc.health.v1 must carry `authorization: Bearer <token>`. */
  authToken?: string | undefined;
  /**
   * Checks callers (the shared token and / or signed JWTs; see auth.ts). Takes precedence over
   * `authToken`. Without either, auth is off (the embedded loopback default).
   */
  auth?: Authenticator | undefined;
  /** Certificate files: TLS when a certificate is given, mTLS with `clientAuth`. Plaintext otherwise. */
  tls?: TlsFiles | undefined;
  /** grpc-js channel options (e.g. 'grpc.max_receive_message_length'). */
  channelOptions?: ChannelOptions;
}

/** Options of {@link KitGrpcServer.shutdown}. */
export interface GrpcShutdownOptions {
  /** How long in-flight calls get to finish before they are cancelled; default 10 s. */
  graceMs?: number;
}

/** A gRPC server built by {@link createGrpcServer}. */
export interface KitGrpcServer {
  /**
   * Registers a service; every method must have a handler of the right kind. `scopes` names the
   * scope each method needs when auth is on; without a table every method needs `service`
   * (closed by default: only the platform itself may call it).
   */
  add<S extends ServiceDefinition>(service: S, handlers: ServiceHandlers<S>, scopes?: MethodScopes<S>): void;
  /** Binds (TLS when configured, else plaintext; port 0 = any free port) and returns the port. Sets the server and every added service SERVING. */
  start(address: string): Promise<number>;
  /** The health statuses (grpc.health.v1). */
  readonly health: HealthState;
  /** Calls running now. */
  inflight(): number;
  /**
   * Health NOT_SERVING → stop accepting calls (tryShutdown) → in-flight calls finish, or are
   * cancelled after `graceMs` (forceShutdown) → waits for their handlers to return (at most
   * another `graceMs`). Safe to call twice.
   */
  shutdown(options?: GrpcShutdownOptions): Promise<void>;
  /** The grpc-js server underneath (escape hatch; prefer `add`). */
  readonly raw: Server;
}

/** What every kind of server call has. */
interface AnyCall extends EventEmitter {
  readonly metadata: Metadata;
  getDeadline(): Deadline;
  getPeer(): string;
}

/** Creates the server, with grpc.health.v1 already registered (and open without a token). */
export function createGrpcServer(options: GrpcServerOptions): KitGrpcServer {
  const log = options.log.child({ component: 'grpc' });
  const raw = new Server({ 'grpc.max_receive_message_length': 4 << 20, 'grpc.max_send_message_length': 64 << 20, ...options.channelOptions });
  const healthState = new HealthState();
  const serviceNames: string[] = [];
  const running = new Set<Promise<unknown>>();
  const stopping = new AbortController();
  const forced = new AbortController();
  // Every in-flight call listens on `forced` (and watch streams on `stopping`) until it ends;
  // hundreds at once are normal, not a leak.
  setMaxListeners(0, stopping.signal, forced.signal);
  const authenticator = options.auth ?? createAuthenticator({ sharedToken: options.authToken });
  let shutdownPromise: Promise<void> | undefined;

  function context(method: string, call: AnyCall): { ctx: CallContext; done: () => void } {
    const abort = new AbortController();
    const onCancel = (): void => abort.abort(new Error('call cancelled'));
    const onForced = (): void => abort.abort(new Error('server stopped'));
    call.once('cancelled', onCancel);
    forced.signal.addEventListener('abort', onForced);
    const deadline = call.getDeadline();
    const ctx: CallContext = {
      method,
      metadata: call.metadata,
      deadline: deadline instanceof Date ? deadline : Number.isFinite(deadline) ? new Date(deadline) : undefined,
      signal: abort.signal,
      stopping: stopping.signal,
      peer: call.getPeer(),
      // Made on first use: most calls never log, and a child logger per call is garbage.
      get log() {
        const child = log.child({ method });
        Object.defineProperty(this, 'log', { value: child });
        return child;
      },
    };
    const done = (): void => {
      call.removeListener('cancelled', onCancel);
      forced.signal.removeEventListener('abort', onForced);
    };
    return { ctx, done };
  }

  /** Runs one call: auth, context, the handler body, the debug log line, in-flight tracking. */
  function dispatch(method: string, scope: Scope | null, call: AnyCall, body: (ctx: CallContext) => Promise<void>, fail: (e: ServiceError) => void): void {
    const started = performance.now();
    const { ctx, done } = context(method, call);
    const finish = (code: status): void => {
      done();
      log.debug({ method, code: status[code], ms: Math.round(performance.now() - started) }, 'call');
    };
    const authorize = async (): Promise<void> => {
      if (scope === null || !authenticator) return;
      const principal = await authenticator.authenticate(call.metadata);
      if (!principal) throw new UnauthenticatedError('missing or invalid credential');
      if (!principal.scopes.has(scope)) throw new PermissionDeniedError(`a ${principal.role} credential may not call ${method} (it needs scope ${scope})`);
      (ctx as { principal?: Principal }).principal = principal;
    };
    const p = authorize().then(() => body(ctx)).then(
      () => finish(ctx.signal.aborted ? status.CANCELLED : status.OK),
      (err: unknown) => {
        const e = toServiceError(err, ctx.log, { method });
        if (!ctx.signal.aborted) fail(e);
        finish(ctx.signal.aborted ? status.CANCELLED : e.code);
      },
    );
    running.add(p);
    void p.finally(() => running.delete(p));
  }

  function toGrpc(method: string, h: AnyHandler, scope: Scope | null): UntypedHandleCall {
    switch (h.kind) {
      case 'unary':
        return ((call: ServerUnaryCall<never, unknown>, cb: sendUnaryData<unknown>) =>
          dispatch(method, scope, call, async (ctx) => cb(null, await h.fn(call.request, ctx)), (e) => cb(e))) as never;
      case 'clientStream':
        return ((call: ServerReadableStream<never, unknown>, cb: sendUnaryData<unknown>) =>
          dispatch(method, scope, call, async (ctx) => cb(null, await h.fn(call as AsyncIterable<never>, ctx)), (e) => cb(e))) as never;
      case 'serverStream':
        return ((call: ServerWritableStream<never, unknown>) =>
          dispatch(method, scope, call, (ctx) => writeAll(call, h.fn(call.request, ctx), ctx.signal), (e) => call.emit('error', e))) as never;
      case 'bidi':
        return ((call: ServerDuplexStream<never, unknown>) =>
          dispatch(method, scope, call, (ctx) => writeAll(call, h.fn(call as AsyncIterable<never>, ctx), ctx.signal), (e) => call.emit('error', e))) as never;
    }
  }

  /** `scopes` null: open to anyone (health); undefined: every method needs `service`. */
  function addService(service: ServiceDefinition, handlers: Record<string, AnyHandler>, scopes: Record<string, Scope> | null | undefined): void {
    const impl: UntypedServiceImplementation = {};
    for (const [name, def] of Object.entries(service)) {
      const h = handlers[name];
      const kind = def.requestStream ? (def.responseStream ? 'bidi' : 'clientStream') : def.responseStream ? 'serverStream' : 'unary';
      if (!h || h.kind !== kind) throw new Error(`${def.path}: needs a ${kind}() handler, got ${h ? `${h.kind}()` : 'none'}`);
      const scope = scopes === null ? null : (scopes?.[name] ?? 'service');
      impl[name] = toGrpc(def.path, h, scope);
    }
    raw.addService(service as never, impl);
  }

  addService(health.HealthService, healthHandlers(healthState) as unknown as Record<string, AnyHandler>, null);

  return {
    raw,
    health: healthState,
    inflight: () => running.size,
    add(service, handlers, scopes) {
      addService(service, handlers as unknown as Record<string, AnyHandler>, (scopes ?? undefined) as Record<string, Scope> | undefined);
      serviceNames.push(serviceNameOf(service));
    },
    async start(address) {
      const port = await new Promise<number>((resolve, reject) =>
        raw.bindAsync(address, serverCredentials(options.tls), (err, p) => (err ? reject(err) : resolve(p))),
      );
      healthState.set('', 'SERVING');
      for (const name of serviceNames) if (healthState.get(name) === undefined) healthState.set(name, 'SERVING');
      log.info({ address, port, services: serviceNames, auth: Boolean(authenticator), tls: Boolean(options.tls?.certFile), mtls: Boolean(options.tls?.clientAuth) }, 'gRPC server listening');
      return port;
    },
    shutdown(opts = {}) {
      shutdownPromise ??= (async () => {
        const graceMs = opts.graceMs ?? 10_000;
        healthState.shutdown();
        stopping.abort();
        const graceful = new Promise<boolean>((resolve) => raw.tryShutdown(() => resolve(true)));
        if (!(await withTimeout(graceful, graceMs))) {
          log.warn({ inflight: running.size, graceMs }, 'grace period over: cancelling the calls still running');
          forced.abort();
          raw.forceShutdown();
        }
        if (!(await withTimeout(Promise.allSettled([...running]).then(() => true), graceMs))) {
          log.warn({ inflight: running.size }, 'handlers still running after shutdown');
        }
        log.info('gRPC server stopped');
      })();
      return shutdownPromise;
    },
  };
}

/** Writes every message of `source` with backpressure; stops (returning the generator) when the call is aborted. */
async function writeAll(call: ServerWritableStream<never, unknown> | ServerDuplexStream<never, unknown>, source: AsyncIterable<unknown>, signal: AbortSignal): Promise<void> {
  const it = source[Symbol.asyncIterator]();
  let finished = false;
  try {
    for (;;) {
      if (signal.aborted) return;
      const next = await it.next();
      if (next.done) {
        finished = true;
        break;
      }
      if (signal.aborted) return;
      if (!call.write(next.value)) {
        try {
          await once(call, 'drain', { signal });
        } catch {
          return; // aborted while waiting: the client is gone
        }
      }
    }
  } finally {
    if (!finished) await it.return?.(undefined);
  }
  call.end();
}

function withTimeout(p: Promise<boolean>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), ms)));
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}
