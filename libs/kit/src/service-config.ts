import { createPrivateKey, createPublicKey, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createAuthenticator, serviceCredential, type Authenticator, type ServiceCredential } from './auth';
import { addr, bool, duration, enumOf, int, secret, str, url } from './config';
import type { TlsFiles } from './tls';
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
 * credentials written into the URL), NATS_STREAM_REPLICAS, MONGODB_URI, AUTH_TOKEN, JWT_KEY_FILE,
 * TLS_CERT / TLS_KEY / TLS_CA / TLS_CLIENT_AUTH, LOG_LEVEL, SHUTDOWN_GRACE.
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
    natsStreamMaxAgeMs: duration({
      env: 'NATS_STREAM_MAX_AGE',
      shared: true,
      default: 30 * 24 * 3_600_000,
      min: 0,
      description: 'JetStream streams drop messages older than this (0 = never); consumers must catch up within it',
    }),
    natsStreamMaxBytes: int({
      env: 'NATS_STREAM_MAX_BYTES',
      shared: true,
      default: 1024 * 1024 * 1024,
      min: -1,
      max: Number.MAX_SAFE_INTEGER,
      description: 'JetStream streams drop their oldest messages beyond this size (-1 = no limit)',
    }),
    natsStreamReplicas: int({ env: 'NATS_STREAM_REPLICAS', shared: true, default: 1, min: 1, max: 5, description: 'JetStream replicas of the streams this service provisions (3 on a NATS cluster)' }),
    mongoUri: url({ env: 'MONGODB_URI', shared: true, default: 'mongodb://127.0.0.1:27017', protocols: ['mongodb:', 'mongodb+srv:'], secret: true, description: 'MongoDB server' }),
    db: str({ env: 'DB', default: defaults.db, pattern: /^[A-Za-z0-9_-]{1,63}$/, description: 'database name' }),
    mongoPoolSize: int({
      env: 'MONGODB_POOL_SIZE',
      shared: true,
      default: 0,
      min: 0,
      max: 200,
      description: 'connections per process; 0 = auto: 1 on FerretDB (not atomic across connections), 10 on MongoDB',
    }),
    instanceId: str({
      env: 'INSTANCE_ID',
      shared: true,
      optional: true,
      pattern: /^[A-Za-z0-9_.:-]{1,100}$/,
      description: 'stable id of this replica (e.g. the pod name): its leases are taken back at once after a restart; default random per process',
    }),
    leaseTtlMs: duration({ env: 'LEASE_TTL', shared: true, default: 5_000, min: 200, description: 'lifetime of the NATS KV leases of once-only work (a lapsed one is taken over after about this long)' }),
    authToken: secret({ env: 'AUTH_TOKEN', shared: true, optional: true, description: 'when set, gRPC requires authorization: Bearer <token>' }),
    jwtKeyFile: str({ env: 'JWT_KEY_FILE', shared: true, optional: true, description: 'PEM (PKCS#8) ES256 private key: signs this service\'s own tokens and per-job data credentials, and verifies callers; when set, gRPC requires a credential' }),
    jwtPublicKeyFile: str({ env: 'JWT_PUBLIC_KEY_FILE', shared: true, optional: true, description: 'PEM public key that verifies caller tokens (without JWT_KEY_FILE: verify only)' }),
    tlsCert: str({ env: 'TLS_CERT', shared: true, optional: true, description: 'PEM certificate: the gRPC server serves TLS (and presents it as client certificate for mTLS)' }),
    tlsKey: str({ env: 'TLS_KEY', shared: true, optional: true, description: 'PEM private key of TLS_CERT' }),
    tlsCa: str({ env: 'TLS_CA', shared: true, optional: true, description: 'PEM CA: clients verify servers with it (TLS on for outgoing calls); with TLS_CLIENT_AUTH the server verifies clients' }),
    varDir: str({ env: 'VAR_DIR', shared: true, default: 'var', description: "the stack's state directory (its secrets/ are never readable through a request)" }),
    dataRoots: str({
      env: 'DATA_ROOTS',
      shared: true,
      optional: true,
      description: 'colon-separated directories every user-given path must resolve under (symlinks resolved); default: VAR_DIR, the system temp directory, examples/ and ../shared (the read-only data and models next to the checkout)',
    }),
    tlsClientAuth: bool({ env: 'TLS_CLIENT_AUTH', shared: true, default: false, description: 'require a client certificate signed by TLS_CA (mutual TLS)' }),
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
  natsStreamMaxAgeMs?: number;
  natsStreamMaxBytes?: number;
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
  return {
    namespace: natsNamespace(cfg.natsNamespace),
    replicas: cfg.natsStreamReplicas,
    ...(cfg.natsStreamMaxAgeMs !== undefined ? { maxAgeMs: cfg.natsStreamMaxAgeMs } : {}),
    ...(cfg.natsStreamMaxBytes !== undefined ? { maxBytes: cfg.natsStreamMaxBytes } : {}),
    log,
  };
}

/** The access-control part of a loaded {@link serviceConfigSpec} config. */
export interface SecurityServiceConfig {
  authToken?: string | undefined;
  jwtKeyFile?: string | undefined;
  jwtPublicKeyFile?: string | undefined;
  tlsCert?: string | undefined;
  tlsKey?: string | undefined;
  tlsCa?: string | undefined;
  tlsClientAuth: boolean;
}

/** What a service needs to serve and call securely, from its config (see {@link serviceSecurity}). */
export interface ServiceSecurity {
  /** For createGrpcServer({ auth }); undefined = auth off. */
  auth: Authenticator | undefined;
  /** For createGrpcServer({ tls }). */
  serverTls: TlsFiles | undefined;
  /** For createClient({ tls }): TLS when a CA is configured; the service's certificate for mTLS. */
  clientTls: TlsFiles | undefined;
  /** For createClient({ authToken: credential.current }): the shared token or a re-signed service JWT. */
  credential: ServiceCredential;
  /** The private key (signs per-job data credentials); undefined without JWT_KEY_FILE. */
  jwtKey: KeyObject | undefined;
}

/** Reads the key file once and builds the server and client sides of access control. */
export async function serviceSecurity(cfg: SecurityServiceConfig, subject: string): Promise<ServiceSecurity> {
  const jwtKey = cfg.jwtKeyFile ? readKey(cfg.jwtKeyFile, 'private') : undefined;
  const jwtPublicKey = cfg.jwtPublicKeyFile ? readKey(cfg.jwtPublicKeyFile, 'public') : jwtKey ? createPublicKey(jwtKey) : undefined;
  const serverTls = cfg.tlsCert || cfg.tlsKey ? { certFile: cfg.tlsCert, keyFile: cfg.tlsKey, caFile: cfg.tlsCa, clientAuth: cfg.tlsClientAuth } : undefined;
  const clientTls = cfg.tlsCa ? { caFile: cfg.tlsCa, certFile: cfg.tlsCert, keyFile: cfg.tlsKey } : undefined;
  return {
    auth: createAuthenticator({ sharedToken: cfg.authToken, jwtPublicKey }),
    serverTls,
    clientTls,
    credential: await serviceCredential({ sharedToken: cfg.authToken, jwtKey, subject }),
    jwtKey,
  };
}

/** A PEM key from a file. The error names the file, never its content. */
export function readKey(file: string, kind: 'private' | 'public'): KeyObject {
  let pem: string;
  try {
    pem = readFileSync(file, 'utf8');
  } catch (err) {
    throw new Error(`JWT key file ${file}: cannot read it (${(err as NodeJS.ErrnoException).code ?? 'error'})`, { cause: err });
  }
  try {
    const key = kind === 'private' ? createPrivateKey(pem) : createPublicKey(pem);
    if (key.asymmetricKeyType !== 'ec') throw new Error('not an EC key');
    return key;
  } catch {
    throw new Error(`JWT key file ${file}: expected a PEM ${kind} EC P-256 key (tools/dev/certs/make.sh makes one)`);
  }
}

/** Where user-given paths may point: the roots and the denied directories, resolved (see paths.ts). */
export interface DataRoots {
  readonly roots: readonly string[];
  readonly deny: readonly string[];
}

/**
 * The confinement of a service's user-given paths: `DATA_ROOTS` when set, otherwise the stack's
 * own data directory (`VAR_DIR`), the system temp directory, `examples/` (the demo data) and
 * `../shared` (the read-only data and models next to the checkout), each relative to the working directory; `<VAR_DIR>/secrets` is
 * always denied. `extra` (e.g. the dataset service's IMPORT_ROOTS) replaces the roots when non-empty.
 */
export function dataRoots(cfg: { varDir: string; dataRoots?: string | undefined }, extra?: string | undefined): DataRoots {
  const split = (s: string | undefined) => (s ?? '').split(':').filter(Boolean).map((r) => path.resolve(r));
  const own = split(extra);
  const configured = split(cfg.dataRoots);
  const roots = own.length > 0 ? own : configured.length > 0 ? configured : [path.resolve(cfg.varDir), tmpdir(), path.resolve('examples'), path.resolve('../shared')];
  return { roots, deny: [path.join(path.resolve(cfg.varDir), 'secrets')] };
}
