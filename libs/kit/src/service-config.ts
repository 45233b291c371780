import { addr, duration, enumOf, int, secret, str, url } from './config';
import { LOG_LEVELS, type Logger } from './logger';
import { natsNamespace, type EnsureStreamsOptions, type NatsOptions } from './nats';

/**
 * The fields every TS service has (conventions.md): spread it into a service's own spec.
 *
 *   const spec = { ...serviceConfigSpec({ grpcAddr: '127.0.0.1:50051', db: 'medtune_dataset' }), maxDeliver: int({...}) };
 *   const cfg = loadConfig(spec, { prefix: 'MEDTUNE_DATASET_' }, process.env);
 *
 * Reads <prefix>GRPC_ADDR, <prefix>DB, and (service prefix first, then MEDTUNE_) NATS_URL,
 * NATS_NAMESPACE, NATS_USER / NATS_PASSWORD / NATS_TOKEN / NATS_CREDS (credentials; nats.js ignores
 * credentials written into the URL), NATS_STREAM_REPLICAS, MONGODB_URI, AUTH_TOKEN, LOG_LEVEL,
 * SHUTDOWN_GRACE.
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
    natsUser: str({ env: 'NATS_USER', shared: true, optional: true, description: 'NATS user (with NATS_PASSWORD)' }),
    natsPassword: secret({ env: 'NATS_PASSWORD', shared: true, optional: true, description: 'NATS password' }),
    natsToken: secret({ env: 'NATS_TOKEN', shared: true, optional: true, description: 'NATS token' }),
    natsCredsFile: str({ env: 'NATS_CREDS', shared: true, optional: true, description: 'path of a NATS .creds file (JWT + nkey seed)' }),
    natsStreamReplicas: int({ env: 'NATS_STREAM_REPLICAS', shared: true, default: 1, min: 1, max: 5, description: 'JetStream replicas of the streams this service provisions (3 on a NATS cluster)' }),
    mongoUri: url({ env: 'MONGODB_URI', shared: true, default: 'mongodb://127.0.0.1:27017', protocols: ['mongodb:', 'mongodb+srv:'], secret: true, description: 'MongoDB server' }),
    db: str({ env: 'DB', default: defaults.db, pattern: /^[A-Za-z0-9_-]{1,63}$/, description: 'database name' }),
    authToken: secret({ env: 'AUTH_TOKEN', shared: true, optional: true, description: 'when set, gRPC requires authorization: Bearer <token>' }),
    logLevel: enumOf(LOG_LEVELS, { env: 'LOG_LEVEL', shared: true, default: 'info' }),
    shutdownGraceMs: duration({ env: 'SHUTDOWN_GRACE', shared: true, default: 10_000, description: 'time in-flight calls get at shutdown' }),
  };
}

/** The NATS-related part of a loaded {@link serviceConfigSpec} config. */
export interface NatsServiceConfig {
  natsUrl: string;
  natsNamespace?: string | undefined;
  natsUser?: string | undefined;
  natsPassword?: string | undefined;
  natsToken?: string | undefined;
  natsCredsFile?: string | undefined;
  natsStreamReplicas: number;
}

/** connectNats options from a service's config: URL, credentials, connection name. */
export function natsConnectOptions(cfg: NatsServiceConfig, name: string, log: Logger): NatsOptions {
  return {
    servers: cfg.natsUrl,
    name,
    log,
    user: cfg.natsUser,
    pass: cfg.natsPassword,
    token: cfg.natsToken,
    credsFile: cfg.natsCredsFile,
  };
}

/** ensureStreams options from a service's config: namespace and replicas. */
export function streamOptions(cfg: NatsServiceConfig, log: Logger): EnsureStreamsOptions {
  return { namespace: natsNamespace(cfg.natsNamespace), replicas: cfg.natsStreamReplicas, log };
}
