/**
 * @medtune/kit — the service kit every TS service is built on: config, logging, domain errors and
 * their one gRPC status table, the gRPC server (health, auth, async handlers) and client
 * (deadlines, retries), NATS publishing and consuming with dead letters, MongoDB, ids, paging,
 * and the ordered shutdown. Nothing here reads process.env or holds module state.
 */
export * from './config';
export * from './service-config';
export * from './logger';
export * from './errors';
export * from './auth';
export * from './tls';
export * from './paths';
export * from './grpc-handlers';
export * from './health';
export * from './grpc-server';
export * from './grpc-client';
export * from './nats';
export * from './publisher';
export * from './consumer';
export * from './mongo';
export * from './dead-letters';
export * from './admin';
export * from './shutdown';
export * from './ids';
export * from './paging';
export * from './outbox';
export * from './outbox-docs';
export * from './lease';
export * from './names';
