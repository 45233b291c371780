/**
 * NATS connection and JetStream stream provisioning.
 *
 * Names can be namespaced: a {@link NatsNamespace} puts a prefix in front of every subject and
 * stream name the kit touches (publisher, consumer, streams), so tests and parallel runs that
 * share one nats-server stay apart. Services read it from config (MEDTUNE_NATS_NAMESPACE);
 * production leaves it empty.
 */
import { readFileSync } from 'node:fs';
import { JetStreamApiError, jetstreamManager, RetentionPolicy, StorageType, type StreamConfig } from '@nats-io/jetstream';
import { credsAuthenticator, nanos, type NatsConnection } from '@nats-io/nats-core';
import { connect } from '@nats-io/transport-node';
import type { Logger } from './logger';

/** Prefixes in front of subjects and stream names (both empty in production). */
export interface NatsNamespace {
  /** e.g. 't3fa9c01b2e.' → subject 't3fa9c01b2e.medtune.dataset.version.ready'. */
  readonly subjectPrefix: string;
  /** e.g. 'T3FA9C01B2E_' → stream 'T3FA9C01B2E_MEDTUNE_DATASET'. */
  readonly streamPrefix: string;
}

/** No prefixes. */
export const NO_NAMESPACE: NatsNamespace = { subjectPrefix: '', streamPrefix: '' };

/**
 * The namespace of an id (as @medtune/testing's testNats() makes them): `<id>.` for subjects,
 * `<ID>_` for streams. An empty or missing id gives {@link NO_NAMESPACE}.
 */
export function natsNamespace(id?: string): NatsNamespace {
  if (!id) return NO_NAMESPACE;
  if (!/^[A-Za-z0-9_-]+$/.test(id)) throw new Error(`NATS namespace must be letters, digits, _ or - (got ${JSON.stringify(id)})`);
  return { subjectPrefix: `${id}.`, streamPrefix: `${id.toUpperCase()}_` };
}

/** Options of {@link connectNats}. */
export interface NatsOptions {
  /** One URL or several, e.g. 'nats://127.0.0.1:4222'. */
  servers: string | string[];
  /** Connection name shown by the server (e.g. the service name). */
  name: string;
  log: Logger;
  user?: string | undefined;
  pass?: string | undefined;
  token?: string | undefined;
  /** Path of a .creds file (JWT + nkey seed). */
  credsFile?: string | undefined;
  /** First-connect timeout; default 5 s. */
  timeoutMs?: number;
}

/**
 * Connects, reconnecting forever after the first connection, and logs connection events.
 * Close it with `nc.drain()` (see shutdown.ts), never before the gRPC server is down.
 */
export async function connectNats(options: NatsOptions): Promise<NatsConnection> {
  const log = options.log.child({ component: 'nats' });
  const nc = await connect({
    servers: options.servers,
    name: options.name,
    timeout: options.timeoutMs ?? 5_000,
    maxReconnectAttempts: -1,
    reconnectTimeWait: 1_000,
    ...(options.user !== undefined ? { user: options.user, pass: options.pass } : {}),
    ...(options.token !== undefined ? { token: options.token } : {}),
    ...(options.credsFile ? { authenticator: credsAuthenticator(readFileSync(options.credsFile)) } : {}),
  });
  log.info({ server: nc.getServer() }, 'connected to NATS');
  void (async () => {
    for await (const s of nc.status()) {
      if (s.type === 'disconnect' || s.type === 'error' || s.type === 'staleConnection') log.warn({ event: s.type, server: 'server' in s ? s.server : undefined }, 'NATS connection event');
      else if (s.type === 'reconnect') log.info({ event: s.type, server: s.server }, 'NATS reconnected');
      else log.debug({ event: s.type }, 'NATS connection event');
    }
  })().catch(() => undefined);
  return nc;
}

/** A stream to provision: contracts' `STREAMS.<domain>` has this shape. */
export interface StreamDefinition {
  readonly name: string;
  readonly subjects: readonly string[];
  readonly description?: string;
}

/** Options of {@link ensureStreams}. */
export interface EnsureStreamsOptions {
  namespace?: NatsNamespace;
  /** Window in which a repeated Nats-Msg-Id is dropped; default 2 minutes. */
  duplicateWindowMs?: number;
  /** Drop messages older than this; default 0 = keep (services pass NATS_STREAM_MAX_AGE). */
  maxAgeMs?: number;
  /**
   * Drop the oldest messages once the stream holds more than this many bytes; default -1 = no
   * limit (services pass NATS_STREAM_MAX_BYTES). Consumers that fall further behind than the
   * limit lose what was dropped: size it for the longest consumer outage to survive.
   */
  maxBytes?: number;
  /** Replicas (clustered JetStream); default 1. */
  replicas?: number;
  log?: Logger;
}

const STREAM_NOT_FOUND = 10059;
const STREAM_NAME_IN_USE = 10058;

/**
 * Creates each stream, or updates it to this configuration when it exists: safe to run at every
 * start of every service, concurrently. File storage, limits retention (max_age / max_bytes: the
 * oldest messages go first, discard policy old).
 */
export async function ensureStreams(nc: NatsConnection, streams: readonly StreamDefinition[], options: EnsureStreamsOptions = {}): Promise<void> {
  const jsm = await jetstreamManager(nc);
  const ns = options.namespace ?? NO_NAMESPACE;
  for (const s of streams) {
    const wanted = {
      name: ns.streamPrefix + s.name,
      subjects: s.subjects.map((subject) => ns.subjectPrefix + subject),
      description: s.description ?? '',
      duplicate_window: nanos(options.duplicateWindowMs ?? 120_000),
      max_age: nanos(options.maxAgeMs ?? 0),
      max_bytes: options.maxBytes ?? -1,
      num_replicas: options.replicas ?? 1,
    } satisfies Partial<StreamConfig>;
    const existing = await jsm.streams.info(wanted.name).catch((err: unknown) => {
      if (err instanceof JetStreamApiError && err.code === STREAM_NOT_FOUND) return undefined;
      throw err;
    });
    if (existing) {
      await jsm.streams.update(wanted.name, { ...existing.config, ...wanted });
      options.log?.debug({ stream: wanted.name }, 'stream updated');
      continue;
    }
    try {
      await jsm.streams.add({ ...wanted, storage: StorageType.File, retention: RetentionPolicy.Limits });
      options.log?.info({ stream: wanted.name, subjects: wanted.subjects }, 'stream created');
    } catch (err) {
      // Another process created it between our info and add: update instead.
      if (!(err instanceof JetStreamApiError && err.code === STREAM_NAME_IN_USE)) throw err;
      const info = await jsm.streams.info(wanted.name);
      await jsm.streams.update(wanted.name, { ...info.config, ...wanted });
    }
  }
}
