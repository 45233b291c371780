import { addr, duration, enumOf, secret, str, url } from './config';
import { LOG_LEVELS } from './logger';

/**
 * The fields every TS service has (conventions.md): spread it into a service's own spec.
 *
 *   const spec = { ...serviceConfigSpec({ grpcAddr: '127.0.0.1:50051', db: 'medtune_dataset' }), maxDeliver: int({...}) };
 *   const cfg = loadConfig(spec, { prefix: 'MEDTUNE_DATASET_' }, process.env);
 *
 * Reads <prefix>GRPC_ADDR, <prefix>DB, and (service prefix first, then MEDTUNE_) NATS_URL,
 * NATS_NAMESPACE, MONGODB_URI, AUTH_TOKEN, LOG_LEVEL, SHUTDOWN_GRACE.
 */
export function serviceConfigSpec(defaults: { grpcAddr: string; db: string }) {
  return {
    grpcAddr: addr({ env: 'GRPC_ADDR', default: defaults.grpcAddr, description: 'gRPC listen address (port 0 = any free port)' }),
    natsUrl: url({ env: 'NATS_URL', shared: true, default: 'nats://127.0.0.1:4222', protocols: ['nats:', 'tls:'], description: 'NATS server' }),
    natsNamespace: str({
      env: 'NATS_NAMESPACE',
      shared: true,
      optional: true,
      pattern: /^[A-Za-z0-9_-]+$/,
      description: 'prefix of subjects and streams (tests; empty in production)',
    }),
    mongoUri: url({ env: 'MONGODB_URI', shared: true, default: 'mongodb://127.0.0.1:27017', protocols: ['mongodb:', 'mongodb+srv:'], secret: true, description: 'MongoDB server' }),
    db: str({ env: 'DB', default: defaults.db, pattern: /^[A-Za-z0-9_-]{1,63}$/, description: 'database name' }),
    authToken: secret({ env: 'AUTH_TOKEN', shared: true, optional: true, description: 'when set, gRPC requires authorization: Bearer <token>' }),
    logLevel: enumOf(LOG_LEVELS, { env: 'LOG_LEVEL', shared: true, default: 'info' }),
    shutdownGraceMs: duration({ env: 'SHUTDOWN_GRACE', shared: true, default: 10_000, description: 'time in-flight calls get at shutdown' }),
  };
}
