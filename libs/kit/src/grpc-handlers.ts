/**
 * Async handler adapters for gRPC methods. A service implements each RPC of a ts-proto service
 * definition with one of `unary`, `serverStream`, `clientStream`, `bidi`; `server.add()` checks
 * the kinds and message types against the definition at compile time and turns them into
 * grpc-js handlers (see grpc-server.ts).
 */
import type { Metadata } from '@grpc/grpc-js';
import type { Principal } from './auth';
import type { Logger } from './logger';

/** What a handler knows about its call. */
export interface CallContext {
  /** Full method path, e.g. '/medtune.dataset.v1.DatasetService/GetVersion'. */
  readonly method: string;
  /** Request metadata (the `authorization` entry is already checked; never log it). */
  readonly metadata: Metadata;
  /** The client's deadline, if it set one. */
  readonly deadline: Date | undefined;
  /**
   * Aborted when the call is over for the caller: it cancelled, its deadline passed, or the
   * server was forced down. Pass it to anything slow (fetch, Mongo cursors, waits).
   */
  readonly signal: AbortSignal;
  /**
   * Aborted when the server begins to shut down. Long-lived watch streams should end then, so the
   * graceful shutdown does not have to wait for its grace period to run out.
   */
  readonly stopping: AbortSignal;
  /** Peer address. */
  readonly peer: string;
  /** Logger with { component: 'grpc', method }. */
  readonly log: Logger;
  /** The authenticated caller; undefined when auth is off. */
  readonly principal?: Principal;
}

/** An RPC with one request and one response. */
export interface UnaryHandler<Req, Res> {
  readonly kind: 'unary';
  readonly fn: (request: Req, ctx: CallContext) => Promise<Res>;
}
/** An RPC with one request and a stream of responses. */
export interface ServerStreamHandler<Req, Res> {
  readonly kind: 'serverStream';
  readonly fn: (request: Req, ctx: CallContext) => AsyncIterable<Res>;
}
/** An RPC with a stream of requests and one response. */
export interface ClientStreamHandler<Req, Res> {
  readonly kind: 'clientStream';
  readonly fn: (requests: AsyncIterable<Req>, ctx: CallContext) => Promise<Res>;
}
/** An RPC with streams both ways. */
export interface BidiHandler<Req, Res> {
  readonly kind: 'bidi';
  readonly fn: (requests: AsyncIterable<Req>, ctx: CallContext) => AsyncIterable<Res>;
}
/** Any of the four. */
export type AnyHandler = UnaryHandler<never, unknown> | ServerStreamHandler<never, unknown> | ClientStreamHandler<never, unknown> | BidiHandler<never, unknown>;

/** Wraps an async function as a unary RPC handler; a thrown DomainError becomes its status. */
export function unary<Req, Res>(fn: (request: Req, ctx: CallContext) => Promise<Res>): UnaryHandler<Req, Res> {
  return { kind: 'unary', fn };
}
/**
 * Wraps an async generator as a server-streaming handler. Each yielded message is written with
 * backpressure (the generator is not resumed while the client is not reading); when the client
 * cancels, the generator is returned (its `finally` runs) at its next `yield`.
 */
export function serverStream<Req, Res>(fn: (request: Req, ctx: CallContext) => AsyncIterable<Res>): ServerStreamHandler<Req, Res> {
  return { kind: 'serverStream', fn };
}
/** Wraps an async function that consumes the request stream (for await ... of) and returns the response. */
export function clientStream<Req, Res>(fn: (requests: AsyncIterable<Req>, ctx: CallContext) => Promise<Res>): ClientStreamHandler<Req, Res> {
  return { kind: 'clientStream', fn };
}
/** Wraps an async generator that consumes the request stream and yields responses. */
export function bidi<Req, Res>(fn: (requests: AsyncIterable<Req>, ctx: CallContext) => AsyncIterable<Res>): BidiHandler<Req, Res> {
  return { kind: 'bidi', fn };
}

/** One method of a ts-proto grpc-js service definition (e.g. `dataset.DatasetServiceService.getVersion`). */
export interface MethodDefinition {
  readonly path: string;
  readonly requestStream: boolean;
  readonly responseStream: boolean;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- variance: any message type fits
  readonly requestSerialize: (value: any) => Buffer;
  readonly requestDeserialize: (value: Buffer) => unknown;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- variance: any message type fits
  readonly responseSerialize: (value: any) => Buffer;
  readonly responseDeserialize: (value: Buffer) => unknown;
}
/** A ts-proto grpc-js service definition: method name → method. */
export type ServiceDefinition = { readonly [method: string]: MethodDefinition };

/** The request message type of a method. */
export type RequestOf<M> = M extends { requestDeserialize: (value: Buffer) => infer R } ? R : never;
/** The response message type of a method. */
export type ResponseOf<M> = M extends { responseDeserialize: (value: Buffer) => infer R } ? R : never;

/** The handler a method needs, by its streaming kind. */
export type HandlerFor<M> = M extends { requestStream: false; responseStream: false }
  ? UnaryHandler<RequestOf<M>, ResponseOf<M>>
  : M extends { requestStream: false; responseStream: true }
    ? ServerStreamHandler<RequestOf<M>, ResponseOf<M>>
    : M extends { requestStream: true; responseStream: false }
      ? ClientStreamHandler<RequestOf<M>, ResponseOf<M>>
      : BidiHandler<RequestOf<M>, ResponseOf<M>>;

/** Handlers for every method of a service definition (all required: the contract is the contract). */
export type ServiceHandlers<S extends ServiceDefinition> = { [K in keyof S]: HandlerFor<S[K]> };

/** The fully qualified service name of a definition, e.g. 'medtune.dataset.v1.DatasetService'. */
export function serviceNameOf(service: ServiceDefinition): string {
  const first = Object.values(service)[0];
  if (!first) throw new Error('service definition has no methods');
  const name = first.path.split('/')[1];
  if (!name) throw new Error(`bad method path ${first.path}`);
  return name;
}
