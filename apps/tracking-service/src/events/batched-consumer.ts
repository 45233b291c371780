/**
 * A durable JetStream consumer for high-rate events whose handler resolves when the batch the
 * event joined is written (the metric points). Same contract as the kit's startConsumer — ack
 * only after the handler resolved, nak with backoff on transient failures, term + dead letter for
 * poison or when deliveries run out (max_deliver = maxDeliver + 1, the spare delivery dead-letters
 * a message whose handler never finished) — built for throughput instead:
 *
 * - messages stream in through `consume()` and every one starts its handler at once; the number
 *   waiting for a write is bounded by the server (max_ack_pending), not by client slots, so the
 *   next batch fills while the current one is written;
 * - acks are plain acks, not confirmed ones: a lost ack only means one more delivery, which the
 *   unique (run, key, step) makes harmless; the kit's confirmed ack is a request per message and
 *   costs more than the write at tens of thousands of messages per second (bench/tracking).
 */
import { AckPolicy, DeliverPolicy, JetStreamApiError, jetstream, jetstreamManager, type ConsumerMessages, type JsMsg } from '@nats-io/jetstream';
import { nanos, type NatsConnection } from '@nats-io/nats-core';
import { isTransientError, type DeadLetterStore, type Logger, type NatsNamespace, type RunningConsumer } from '@medtune/kit';
import type { EventCodec } from '@medtune/contracts';

/** Options of {@link startBatchedConsumer}. */
export interface BatchedConsumerOptions<T> {
  /** Stream name without namespace. */
  readonly stream: string;
  readonly durable: string;
  /** The one subject it reads (without namespace). */
  readonly subject: string;
  readonly codec: EventCodec<T>;
  /** Resolves once the event is stored (ack), rejects otherwise (nak or dead letter). */
  readonly handle: (message: T, delivery: { deliveryCount: number; streamSeq: number }) => Promise<void>;
  readonly deadLetters: DeadLetterStore;
  readonly log: Logger;
  readonly namespace: NatsNamespace;
  /** Messages delivered and not yet acked, at most (the server holds back the rest). */
  readonly maxAckPending: number;
  /** Deliveries that run the handler; default 5. */
  readonly maxDeliver?: number;
  /** nak delay after the n-th failed delivery; default [200, 1000, 5000]. */
  readonly backoffMs?: readonly number[];
  /** Default 30 s: far above a batch write; a message outliving it is redelivered (harmless). */
  readonly ackWaitMs?: number;
}

/** Creates (or updates) the durable consumer and starts handling messages. */
export async function startBatchedConsumer<T>(nc: NatsConnection, o: BatchedConsumerOptions<T>): Promise<RunningConsumer> {
  const stream = o.namespace.streamPrefix + o.stream;
  const maxDeliver = o.maxDeliver ?? 5;
  const backoff = o.backoffMs?.length ? o.backoffMs : [200, 1_000, 5_000];
  const log = o.log.child({ component: 'consumer', consumer: o.durable, stream });
  const jsm = await jetstreamManager(nc);
  const config = {
    durable_name: o.durable,
    ack_policy: AckPolicy.Explicit,
    deliver_policy: DeliverPolicy.All,
    ack_wait: nanos(o.ackWaitMs ?? 30_000),
    max_deliver: maxDeliver + 1,
    max_ack_pending: o.maxAckPending,
    filter_subject: o.namespace.subjectPrefix + o.subject,
  };
  const exists = await jsm.consumers.info(stream, o.durable).then(
    () => true,
    (err: unknown) => {
      if (err instanceof JetStreamApiError && err.code === 10014 /* consumer not found */) return false;
      throw err;
    },
  );
  if (exists) {
    const { ack_wait, max_deliver, max_ack_pending, filter_subject } = config;
    await jsm.consumers.update(stream, o.durable, { ack_wait, max_deliver, max_ack_pending, filter_subject });
  } else {
    await jsm.consumers.add(stream, config);
  }
  const consumer = await jetstream(nc).consumers.get(stream, o.durable);
  const messages: ConsumerMessages = await consumer.consume({ max_messages: Math.min(o.maxAckPending, 1_000) });

  let inflight = 0;
  let stopping = false;
  let idle: (() => void) | undefined;

  const poison = async (m: JsMsg, reason: string): Promise<void> => {
    try {
      const headers: Record<string, string> = {};
      if (m.headers) for (const k of m.headers.keys()) headers[k] = m.headers.get(k);
      const dl = await o.deadLetters.record({ stream, consumer: o.durable, subject: m.subject, streamSeq: m.seq, deliveries: m.info.deliveryCount, error: reason, headers, data: m.data });
      m.term();
      log.error({ seq: m.seq, deliveries: m.info.deliveryCount, deadLetter: dl.id, reason }, 'message dead-lettered');
    } catch (err) {
      log.error({ err, seq: m.seq }, 'could not record a dead letter; message will be redelivered');
      m.nak(backoff[backoff.length - 1] ?? 0);
    }
  };

  const start = (m: JsMsg): void => {
    const deliveryCount = m.info.deliveryCount;
    if (deliveryCount > maxDeliver) {
      void poison(m, `delivered ${deliveryCount} times without an ack or a verdict (handler crashed or outlived ack_wait)`);
      return;
    }
    let message: T;
    try {
      message = o.codec.decode(m.data);
    } catch (err) {
      void poison(m, `undecodable payload: ${err instanceof Error ? err.message : String(err)}`);
      return;
    }
    inflight++;
    o.handle(message, { deliveryCount, streamSeq: m.seq })
      .then(
        () => m.ack(),
        (err: unknown) => {
          const reason = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
          if (isTransientError(err) && deliveryCount < maxDeliver) {
            const delay = backoff[Math.min(deliveryCount, backoff.length) - 1] ?? 0;
            log.warn({ err, seq: m.seq, deliveryCount, delayMs: delay }, 'handler failed; redelivery scheduled');
            m.nak(delay);
            return;
          }
          return poison(m, reason);
        },
      )
      .catch((err: unknown) => log.error({ err, seq: m.seq }, 'message handling failed'))
      .finally(() => {
        inflight--;
        if (inflight === 0) idle?.();
      });
  };

  const loop = (async () => {
    for await (const m of messages) {
      // Arrived while stopping: hand it back at once.
      if (stopping) m.nak();
      else start(m);
    }
  })().catch((err: unknown) => log.error({ err }, 'consume loop ended with an error'));

  log.info({ maxAckPending: o.maxAckPending, maxDeliver }, 'consumer started');
  let stopped: Promise<void> | undefined;
  return {
    name: o.durable,
    inflight: () => inflight,
    stop() {
      stopped ??= (async () => {
        stopping = true;
        await messages.close();
        await loop;
        if (inflight > 0) await new Promise<void>((resolve) => (idle = resolve));
        log.info('consumer stopped');
      })();
      return stopped;
    },
  };
}
