/**
 * Publishing events to JetStream with CloudEvents-style headers and a message id, so a retried
 * publish inside the stream's duplicate window is stored once.
 */
import { randomUUID } from 'node:crypto';
import { jetstream, type JetStreamClient } from '@nats-io/jetstream';
import { headers as natsHeaders, type MsgHdrs, type NatsConnection } from '@nats-io/nats-core';
import type { SubjectSpec } from '@medtune/contracts';
import { UnavailableError } from './errors';
import { systemClock, type Clock } from './ids';
import { NO_NAMESPACE, type NatsNamespace } from './nats';

/** Header names the kit sets on every event. */
export const CE_HEADERS = {
  id: 'ce-id',
  type: 'ce-type',
  source: 'ce-source',
  time: 'ce-time',
  specversion: 'ce-specversion',
  contentType: 'content-type',
  msgId: 'Nats-Msg-Id',
} as const;

/** Options of {@link createPublisher}. */
export interface PublisherOptions {
  /** ce-source, e.g. 'medtune/dataset-service'. */
  source: string;
  clock?: Clock;
  namespace?: NatsNamespace;
  /** Id of events published without one; default random UUID. */
  newId?: () => string;
  /** Wait for the stream's ack at most this long; default 5 s. */
  timeoutMs?: number;
}

/** Options of one publish. */
export interface PublishOptions {
  /**
   * ce-id and Nats-Msg-Id. Give a deterministic id (e.g. `${jobId}:${sequence}`) whenever the
   * publish may be retried after a crash: JetStream then stores it once.
   */
  id?: string;
  /** Publish on this subject instead of the spec's (same payload type). */
  subject?: string;
  /** Extra headers. */
  headers?: Record<string, string>;
}

/** What the stream said. */
export interface PublishResult {
  /** The event id used. */
  id: string;
  /** Stream that stored it. */
  stream: string;
  /** Stream sequence of the stored message (of the first copy, for a duplicate). */
  seq: number;
  /** True when the stream had this id already (inside its duplicate window) and dropped this copy. */
  duplicate: boolean;
}

/** Publishes protobuf events (see {@link createPublisher}). */
export interface Publisher {
  publish<T>(spec: SubjectSpec<T>, message: T, options?: PublishOptions): Promise<PublishResult>;
}

/** A publisher for one service (its ce-source). Publishing failures throw UnavailableError (retryable). */
export function createPublisher(nc: NatsConnection, options: PublisherOptions): Publisher {
  const js = jetstream(nc);
  const clock = options.clock ?? systemClock;
  const ns = options.namespace ?? NO_NAMESPACE;
  const newId = options.newId ?? randomUUID;
  return {
    async publish(spec, message, opts = {}) {
      const id = opts.id ?? newId();
      const subject = opts.subject ?? spec.subject;
      const h = natsHeaders();
      h.set(CE_HEADERS.id, id);
      h.set(CE_HEADERS.type, subject);
      h.set(CE_HEADERS.source, options.source);
      h.set(CE_HEADERS.time, clock().toISOString());
      h.set(CE_HEADERS.specversion, '1.0');
      h.set(CE_HEADERS.contentType, 'application/protobuf');
      for (const [k, v] of Object.entries(opts.headers ?? {})) h.set(k, v);
      const data = spec.codec.encode(message).finish();
      return publishRaw(js, ns.subjectPrefix + subject, data, h, id, options.timeoutMs);
    },
  };
}

/** Publishes bytes with headers and a Nats-Msg-Id (used by the publisher and by dead-letter redrive). */
export async function publishRaw(js: JetStreamClient, subject: string, data: Uint8Array, headers: MsgHdrs, msgId: string, timeoutMs = 5_000): Promise<PublishResult> {
  try {
    const ack = await js.publish(subject, data, { msgID: msgId, headers, timeout: timeoutMs });
    return { id: msgId, stream: ack.stream, seq: ack.seq, duplicate: ack.duplicate };
  } catch (err) {
    throw new UnavailableError(`publishing to ${subject} failed: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  }
}

/** Reads the CloudEvents headers of a message (empty strings for missing ones). */
export function cloudEventOf(h: MsgHdrs | undefined): { id: string; type: string; source: string; time: string } {
  return {
    id: h?.get(CE_HEADERS.id) ?? '',
    type: h?.get(CE_HEADERS.type) ?? '',
    source: h?.get(CE_HEADERS.source) ?? '',
    time: h?.get(CE_HEADERS.time) ?? '',
  };
}
