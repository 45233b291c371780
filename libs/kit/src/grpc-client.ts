/**
 * A typed gRPC client over a ts-proto service definition where every call has a deadline (there
 * is no way to call without one), errors come back as DomainError classes, and only UNAVAILABLE /
 * RESOURCE_EXHAUSTED / ABORTED are retried, with jittered exponential backoff inside the deadline.
 */
import { once } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import { Client, Metadata, type ChannelCredentials, type ChannelOptions, type ClientDuplexStream } from '@grpc/grpc-js';
import { bearer, AUTHORIZATION_KEY } from './auth';
import { fromServiceError, RETRYABLE, type DomainError } from './errors';
import type { RequestOf, ResponseOf, ServiceDefinition } from './grpc-handlers';
import type { Logger } from './logger';
import { channelCredentials, type TlsFiles } from './tls';

/** Retry policy for retryable statuses (UNAVAILABLE, RESOURCE_EXHAUSTED, ABORTED only). */
export interface RetryOptions {
  /** Attempts in all, the first included; default 4. */
  maxAttempts?: number;
  /** Backoff base; the n-th retry waits a random time in [0, min(maxMs, baseMs·2^(n-1))]. Default 100 ms. */
  baseMs?: number;
  /** Backoff cap; default 2 000 ms. */
  maxMs?: number;
}

/** Options of {@link createClient}. */
export interface ClientOptions {
  /** Deadline of calls that do not set `deadlineMs` (required: every call has a deadline). */
  defaultDeadlineMs: number;
  /** Retries (default { maxAttempts: 4, baseMs: 100, maxMs: 2000 }); false = never retry. */
  retry?: RetryOptions | false;
  /**
   * Sent as `authorization: Bearer <token>` on every call when set; a function is read per call
   * (a {@link ServiceCredential}'s re-signed token).
   */
  authToken?: string | (() => string | undefined) | undefined;
  /** TLS from files (a CA to verify the server; a certificate and key for mTLS). Ignored when `credentials` is set. */
  tls?: TlsFiles | undefined;
  /** Logs retries at debug. */
  log?: Logger;
  /** Default: from `tls`, else insecure (loopback, the embedded default). */
  credentials?: ChannelCredentials;
  channelOptions?: ChannelOptions;
  /** Random source for the backoff jitter (tests pin it); default Math.random. */
  random?: () => number;
}

/** Per-call options. */
export interface CallOptions {
  /** Deadline of this call (all attempts together), in ms from now; default the client's defaultDeadlineMs. */
  deadlineMs?: number;
  /** Cancels the call. */
  signal?: AbortSignal;
  /** Extra request metadata. */
  metadata?: Record<string, string>;
}

type MethodsOfKind<S, Req extends boolean, Res extends boolean> = {
  [K in keyof S]: S[K] extends { requestStream: Req; responseStream: Res } ? K : never;
}[keyof S] &
  string;

/** A typed client of one service (build with {@link createClient}). */
export interface KitClient<S extends ServiceDefinition> {
  /** One request, one response. */
  unary<K extends MethodsOfKind<S, false, false>>(method: K, request: RequestOf<S[K]>, options?: CallOptions): Promise<ResponseOf<S[K]>>;
  /** One request, a stream of responses; breaking out of the loop cancels the call. Retried only before the first response. */
  serverStream<K extends MethodsOfKind<S, false, true>>(method: K, request: RequestOf<S[K]>, options?: CallOptions): AsyncIterable<ResponseOf<S[K]>>;
  /** A stream of requests (written with backpressure), one response. Never retried (the stream cannot be replayed). */
  clientStream<K extends MethodsOfKind<S, true, false>>(
    method: K,
    requests: AsyncIterable<RequestOf<S[K]>> | Iterable<RequestOf<S[K]>>,
    options?: CallOptions,
  ): Promise<ResponseOf<S[K]>>;
  /** Streams both ways. Never retried. */
  bidi<K extends MethodsOfKind<S, true, true>>(
    method: K,
    requests: AsyncIterable<RequestOf<S[K]>> | Iterable<RequestOf<S[K]>>,
    options?: CallOptions,
  ): AsyncIterable<ResponseOf<S[K]>>;
  /** Resolves when the channel is connected; rejects after `timeoutMs`. */
  waitForReady(timeoutMs: number): Promise<void>;
  /** Closes the channel. */
  close(): void;
}

/**
 * Creates a client from a ts-proto generated client constructor (e.g. `dataset.DatasetServiceClient`,
 * which carries the service definition as `.service`) and an address `host:port`.
 */
export function createClient<S extends ServiceDefinition>(generated: { readonly service: S }, address: string, options: ClientOptions): KitClient<S> {
  const service = generated.service;
  checkDeadline(options.defaultDeadlineMs, 'defaultDeadlineMs');
  const client = new Client(address, options.credentials ?? channelCredentials(options.tls), options.channelOptions);
  const retry = options.retry === false ? { maxAttempts: 1, baseMs: 0, maxMs: 0 } : { maxAttempts: 4, baseMs: 100, maxMs: 2_000, ...options.retry };
  const random = options.random ?? Math.random;

  const def = (method: string) => {
    const d = service[method];
    if (!d) throw new Error(`${String(method)} is not a method of this service`);
    return d;
  };
  const prepare = (opts: CallOptions = {}) => {
    // Only `undefined` means "the default": null / 0 / Infinity are attempts to go without one and fail.
    const ms = opts.deadlineMs === undefined ? options.defaultDeadlineMs : opts.deadlineMs;
    checkDeadline(ms, 'deadlineMs');
    const metadata = new Metadata();
    for (const [k, v] of Object.entries(opts.metadata ?? {})) metadata.set(k, v);
    const token = typeof options.authToken === 'function' ? options.authToken() : options.authToken;
    if (token) metadata.set(AUTHORIZATION_KEY, bearer(token));
    return { deadline: Date.now() + ms, metadata, signal: opts.signal };
  };

  /** Runs `attempt` until it succeeds, fails for good, or the next backoff would pass the deadline. */
  async function withRetries<T>(method: string, deadline: number, signal: AbortSignal | undefined, attempt: (n: number) => Promise<T>): Promise<T> {
    for (let n = 1; ; n++) {
      try {
        return await attempt(n);
      } catch (err) {
        const e = fromServiceError(err);
        const delay = Math.round(random() * Math.min(retry.maxMs, retry.baseMs * 2 ** (n - 1)));
        if (!RETRYABLE.has(e.code) || n >= retry.maxAttempts || signal?.aborted || Date.now() + delay >= deadline) throw e;
        options.log?.debug({ method, attempt: n, code: e.code, delayMs: delay }, 'retrying gRPC call');
        await sleep(delay, undefined, signal ? { signal } : {}).catch(() => {
          throw e;
        });
      }
    }
  }

  return {
    async unary(method, request, opts) {
      const d = def(method);
      const { deadline, metadata, signal } = prepare(opts);
      return withRetries(method, deadline, signal, () =>
        new Promise((resolve, reject) => {
          const call = client.makeUnaryRequest(d.path, d.requestSerialize, d.responseDeserialize, request, metadata, { deadline }, (err, res) =>
            err ? reject(err) : resolve(res as never),
          );
          abortWith(signal, () => call.cancel());
        }),
      );
    },

    async *serverStream(method, request, opts) {
      const d = def(method);
      const { deadline, metadata, signal } = prepare(opts);
      // The retry wrapper only re-opens the stream while nothing was received yet.
      const open = () =>
        withRetries(method, deadline, signal, async () => {
          const call = client.makeServerStreamRequest(d.path, d.requestSerialize, d.responseDeserialize, request, metadata, { deadline });
          const it = (call as AsyncIterable<unknown>)[Symbol.asyncIterator]();
          try {
            return { call, it, first: await it.next() };
          } catch (err) {
            call.cancel();
            throw err;
          }
        });
      const { call, it, first } = await open();
      const unlisten = abortWith(signal, () => call.cancel());
      try {
        for (let next = first; !next.done; next = await it.next()) {
          yield next.value as never;
        }
      } catch (err) {
        throw fromServiceError(err);
      } finally {
        unlisten();
        call.cancel(); // a no-op when the stream already ended; stops it when the caller broke out
      }
    },

    async clientStream(method, requests, opts) {
      const d = def(method);
      const { deadline, metadata, signal } = prepare(opts);
      return new Promise((resolve, reject) => {
        const call = client.makeClientStreamRequest(d.path, d.requestSerialize, d.responseDeserialize, metadata, { deadline }, (err, res) =>
          err ? reject(fromServiceError(err)) : resolve(res as never),
        );
        abortWith(signal, () => call.cancel());
        pump(call, requests).catch((err: unknown) => {
          call.cancel();
          reject(err as DomainError);
        });
      });
    },

    async *bidi(method, requests, opts) {
      const d = def(method);
      const { deadline, metadata, signal } = prepare(opts);
      const call: ClientDuplexStream<unknown, unknown> = client.makeBidiStreamRequest(d.path, d.requestSerialize, d.responseDeserialize, metadata, { deadline });
      const unlisten = abortWith(signal, () => call.cancel());
      let pumpError: unknown;
      pump(call, requests).catch((err: unknown) => {
        pumpError = err;
        call.cancel();
      });
      try {
        for await (const msg of call as AsyncIterable<unknown>) yield msg as never;
      } catch (err) {
        throw pumpError ?? fromServiceError(err);
      } finally {
        unlisten();
        call.cancel();
      }
    },

    waitForReady(timeoutMs) {
      return new Promise((resolve, reject) => client.waitForReady(Date.now() + timeoutMs, (err) => (err ? reject(err) : resolve())));
    },

    close() {
      client.close();
    },
  };
}

/** Writes every request with backpressure, then half-closes. */
async function pump(call: NodeJS.WritableStream, requests: AsyncIterable<unknown> | Iterable<unknown>): Promise<void> {
  for await (const req of requests) {
    if (!call.write(req as never)) await once(call, 'drain');
  }
  call.end();
}

function checkDeadline(ms: unknown, name: string): void {
  if (typeof ms !== 'number' || !Number.isFinite(ms) || ms <= 0) {
    throw new TypeError(`${name} must be a finite number of milliseconds > 0 (got ${String(ms)}): every gRPC call needs a deadline`);
  }
}

const noop = (): void => undefined;

function abortWith(signal: AbortSignal | undefined, onAbort: () => void): () => void {
  if (!signal) return noop;
  if (signal.aborted) {
    onAbort();
    return noop;
  }
  signal.addEventListener('abort', onAbort, { once: true });
  return () => signal.removeEventListener('abort', onAbort);
}
