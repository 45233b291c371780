/**
 * A durable JetStream pull consumer: explicit ack after the handler resolved (i.e. after its
 * database write), bounded concurrency, nak with backoff on transient failures, and term + a
 * dead-letter record for poison messages or when deliveries run out.
 *
 * Deliveries: the server's max_deliver is `maxDeliver + 1`. Deliveries 1..maxDeliver run the
 * handler; a failure on the last one dead-letters the message. The spare delivery exists for a
 * message whose handler never finished (the process crashed or ack_wait ran out on it): it is
 * dead-lettered without running the handler again.
 */
import { AckPolicy, DeliverPolicy, JetStreamApiError, jetstream, jetstreamManager, type ConsumerConfig, type JsMsg } from '@nats-io/jetstream';
import { status } from '@grpc/grpc-js';
import { nanos, type NatsConnection } from '@nats-io/nats-core';
import { subjectSpec, type EventCodec } from '@medtune/contracts';
import type { DeadLetterStore } from './dead-letters';
import { DomainError } from './errors';
import type { Logger } from './logger';
import { NO_NAMESPACE, type NatsNamespace } from './nats';
import { cloudEventOf } from './publisher';

/** One event as a handler sees it. */
export interface ConsumedEvent<T = unknown> {
  /** Subject without the namespace prefix, e.g. 'medtune.training.job.succeeded'. */
  subject: string;
  /** The decoded payload. */
  message: T;
  /** CloudEvents headers. */
  ce: { id: string; type: string; source: string; time: string };
  /** All headers (first value of each). */
  headers: Record<string, string>;
  /** 1 on the first delivery. */
  deliveryCount: number;
  /** Sequence in the stream. */
  streamSeq: number;
}

/** Options of {@link startConsumer}. */
export interface ConsumerOptions<T = unknown> {
  /** Stream name without namespace, e.g. STREAMS.training.name. */
  stream: string;
  /** Durable name, "<consumer-service>-<purpose>", e.g. 'dataset-usage'. */
  durable: string;
  /** Subjects to receive (without namespace); default: the whole stream. Several need nats-server >= 2.10. */
  filterSubjects?: readonly string[];
  /** Codec of a subject's payload; default: the contracts' catalog (subjectSpec). undefined → poison. */
  decode?: (subject: string) => EventCodec<T> | undefined;
  /** Does the work; must be idempotent (a redelivered event is normal). Resolve = ack. */
  handle: (event: ConsumedEvent<T>) => Promise<void>;
  /** Where poison messages go. */
  deadLetters: DeadLetterStore;
  log: Logger;
  /** Handlers running at once; default 8. */
  concurrency?: number;
  /** Deliveries that run the handler before the message is dead-lettered; default 5. */
  maxDeliver?: number;
  /** nak delay after the n-th failed delivery (the last value repeats); default [200, 1000, 5000]. */
  backoffMs?: readonly number[];
  /** Time the server waits for an ack before redelivering; kept alive while the handler runs. Default 30 s. */
  ackWaitMs?: number;
  /** How long one pull waits for messages; stop() may wait this long for it. Default 1 000 ms (the minimum). */
  pullExpiresMs?: number;
  /** Which failures are worth another delivery; default {@link isTransientError}. */
  isTransient?: (err: unknown) => boolean;
  namespace?: NatsNamespace;
}

/** A running consumer. */
export interface RunningConsumer {
  /** Durable name. */
  readonly name: string;
  /** Handlers running now. */
  inflight(): number;
  /** Stops pulling (the open pull ends within pullExpiresMs), hands back what arrives meanwhile, and waits for running handlers to finish. */
  stop(): Promise<void>;
}

/**
 * Default classification: a DomainError is transient only when its status is retryable
 * (UNAVAILABLE, RESOURCE_EXHAUSTED, ABORTED, DEADLINE_EXCEEDED); any other DomainError is a
 * verdict on the event (poison now). Errors that are not DomainErrors (network, Mongo, bugs) are
 * transient: retried with backoff, and dead-lettered when deliveries run out.
 */
export function isTransientError(err: unknown): boolean {
  if (err instanceof DomainError) return err.retryable || err.code === status.DEADLINE_EXCEEDED;
  return true;
}

/** Creates (or updates) the durable consumer and starts handling messages. */
export async function startConsumer<T = unknown>(nc: NatsConnection, options: ConsumerOptions<T>): Promise<RunningConsumer> {
  const ns = options.namespace ?? NO_NAMESPACE;
  const stream = ns.streamPrefix + options.stream;
  const durable = options.durable;
  const log = options.log.child({ component: 'consumer', consumer: durable, stream });
  const concurrency = options.concurrency ?? 8;
  const maxDeliver = options.maxDeliver ?? 5;
  const backoff = options.backoffMs?.length ? options.backoffMs : [200, 1_000, 5_000];
  const ackWaitMs = options.ackWaitMs ?? 30_000;
  const pullExpiresMs = Math.max(1_000, options.pullExpiresMs ?? 1_000);
  const isTransient = options.isTransient ?? isTransientError;
  const decode = options.decode ?? ((subject: string) => subjectSpec(subject)?.codec as EventCodec<T> | undefined);
  const filters = (options.filterSubjects ?? []).map((s) => ns.subjectPrefix + s);

  await ensureConsumer(nc, stream, {
    durable_name: durable,
    ack_policy: AckPolicy.Explicit,
    deliver_policy: DeliverPolicy.All,
    ack_wait: nanos(ackWaitMs),
    max_deliver: maxDeliver + 1,
    ...(filters.length === 1 ? { filter_subject: filters[0] } : filters.length > 1 ? { filter_subjects: filters } : {}),
  });
  const consumer = await jetstream(nc).consumers.get(stream, durable);

  const running = new Set<Promise<void>>();
  const waiters: (() => void)[] = [];
  let stopping = false;

  const poison = async (m: JsMsg, reason: string): Promise<void> => {
    const headers = headersOf(m);
    try {
      const dl = await options.deadLetters.record({
        stream,
        consumer: durable,
        subject: m.subject,
        streamSeq: m.seq,
        deliveries: m.info.deliveryCount,
        error: reason,
        headers,
        data: m.data,
      });
      // No reason argument: nats-server 2.9 ignores a '+TERM <reason>' ack (the record has the reason).
      m.term();
      log.error({ seq: m.seq, subject: m.subject, deliveries: m.info.deliveryCount, deadLetter: dl.id, reason }, 'message dead-lettered');
    } catch (err) {
      // Without the record, terminating would lose the event: let it come back instead.
      log.error({ err, seq: m.seq }, 'could not record a dead letter; message will be redelivered');
      m.nak(backoff[backoff.length - 1] ?? 0);
    }
  };

  const handleMessage = async (m: JsMsg): Promise<void> => {
    const deliveryCount = m.info.deliveryCount;
    const subject = m.subject.startsWith(ns.subjectPrefix) ? m.subject.slice(ns.subjectPrefix.length) : m.subject;
    if (deliveryCount > maxDeliver) return poison(m, `delivered ${deliveryCount} times without an ack or a verdict (handler crashed or outlived ack_wait)`);
    const codec = decode(subject);
    if (!codec) return poison(m, `no decoder for subject ${subject}`);
    let message: T;
    try {
      message = codec.decode(m.data);
    } catch (err) {
      return poison(m, `undecodable payload: ${err instanceof Error ? err.message : String(err)}`);
    }
    const headers = headersOf(m);
    // Tell the server we are still at it, so a slow handler does not get the message redelivered.
    const keepAlive = setInterval(() => m.working(), Math.max(1_000, ackWaitMs / 2));
    try {
      await options.handle({ subject, message, ce: cloudEventOf(m.headers), headers, deliveryCount, streamSeq: m.seq });
    } catch (err) {
      clearInterval(keepAlive);
      const reason = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
      if (isTransient(err) && deliveryCount < maxDeliver) {
        const delay = backoff[Math.min(deliveryCount, backoff.length) - 1] ?? 0;
        log.warn({ err, seq: m.seq, subject, deliveryCount, delayMs: delay }, 'handler failed; redelivery scheduled');
        m.nak(delay);
        return;
      }
      return poison(m, reason);
    }
    clearInterval(keepAlive);
    try {
      await m.ackAck();
    } catch (err) {
      // The write is done; a lost ack only means one more (idempotent) delivery.
      log.warn({ err, seq: m.seq }, 'ack not confirmed');
    }
  };

  const slotFreed = (): Promise<void> => new Promise((resolve) => waiters.push(resolve));
  const start = (m: JsMsg): void => {
    const p = handleMessage(m).catch((err: unknown) => log.error({ err, seq: m.seq }, 'message handling failed'));
    running.add(p);
    void p.finally(() => {
      running.delete(p);
      waiters.shift()?.();
    });
  };

  // Pull loop: fetch only as many messages as there are free slots, and never abandon a pull
  // request: one left open on the server after its subscription is gone keeps receiving
  // messages that then wait out ack_wait. So stop() lets the current fetch end (pullExpiresMs).
  const loop = (async () => {
    while (!stopping) {
      while (running.size >= concurrency && !stopping) await slotFreed();
      if (stopping) break;
      try {
        const batch = await consumer.fetch({ max_messages: concurrency - running.size, expires: pullExpiresMs });
        for await (const m of batch) {
          // Arrived after stop(): hand it back, delayed past this fetch so it is not redelivered into it.
          if (stopping) m.nak(pullExpiresMs + 500);
          else start(m);
        }
      } catch (err) {
        if (stopping) break;
        log.error({ err }, 'fetch failed; retrying in 1 s');
        await new Promise((resolve) => setTimeout(resolve, 1_000));
      }
    }
  })();

  log.info({ concurrency, maxDeliver, filters }, 'consumer started');
  let stopped: Promise<void> | undefined;
  return {
    name: durable,
    inflight: () => running.size,
    stop() {
      stopped ??= (async () => {
        stopping = true;
        for (const wake of waiters.splice(0)) wake();
        await loop;
        await Promise.allSettled([...running]);
        log.info('consumer stopped');
      })();
      return stopped;
    },
  };
}

/** Creates the durable consumer, or updates its settings when it exists (safe concurrently). */
async function ensureConsumer(nc: NatsConnection, stream: string, config: Partial<ConsumerConfig> & { durable_name: string }): Promise<void> {
  const jsm = await jetstreamManager(nc);
  const exists = await jsm.consumers.info(stream, config.durable_name).then(
    () => true,
    (err: unknown) => {
      if (err instanceof JetStreamApiError && err.code === 10014 /* consumer not found */) return false;
      throw err;
    },
  );
  if (!exists) {
    try {
      await jsm.consumers.add(stream, config);
      return;
    } catch (err) {
      if (!(err instanceof JetStreamApiError)) throw err; // lost a creation race: update below
    }
  }
  const { ack_wait, max_deliver, filter_subject, filter_subjects } = config;
  await jsm.consumers.update(stream, config.durable_name, {
    ack_wait,
    max_deliver,
    ...(filter_subject !== undefined ? { filter_subject } : {}),
    ...(filter_subjects !== undefined ? { filter_subjects } : {}),
  });
}

function headersOf(m: JsMsg): Record<string, string> {
  const out: Record<string, string> = {};
  const h = m.headers;
  if (h) for (const k of h.keys()) out[k] = h.get(k);
  return out;
}
