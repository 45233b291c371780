/**
 * What every subscriber needs, with plain nats.js: a durable JetStream consumer on one subject,
 * the payload decoded with the generated protobuf class, explicit ack after the side effect, and a
 * delayed redelivery (nak) when the side effect failed. Side effects must be idempotent: a message
 * can arrive again (after a crash before the ack, or a nak).
 */
import { AckPolicy, DeliverPolicy, jetstream, jetstreamManager, type JsMsg } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/nats-core';
import type { EventCodec } from '@medtune/contracts';

/** One received event. */
export interface Received<T> {
  message: T;
  /** CloudEvents id (`ce-id` header): the key for idempotent side effects. */
  id: string;
  /** The subject as medtune names it (without a test namespace prefix). */
  type: string;
  time: string;
  deliveryCount: number;
}

/** Options of {@link subscribe}. */
export interface SubscribeOptions<T> {
  /** JetStream stream, e.g. MEDTUNE_REGISTRY. */
  stream: string;
  /** Subject, e.g. medtune.registry.alias.moved. */
  subject: string;
  /** Durable consumer name: the subscription survives restarts and resumes where it stopped. */
  durable: string;
  codec: EventCodec<T>;
  handle: (event: Received<T>) => Promise<void>;
  /** Called with each failure (the message is redelivered after `retryDelayMs`). */
  onError?: (err: unknown, event: Received<T> | undefined) => void;
  retryDelayMs?: number;
  /** Prefix of subjects / streams on a shared server (tests): "<id>." and "<ID>_". */
  namespace?: { subjectPrefix: string; streamPrefix: string };
  /** Only events published after the consumer was first created (default), or all in the stream. */
  deliver?: 'new' | 'all';
}

/** A running subscription. */
export interface Subscription {
  /** Stops receiving and waits for the event being handled. */
  stop(): Promise<void>;
}

/** Subscribes; resolves once the consumer exists (events published after this are delivered). */
export async function subscribe<T>(nc: NatsConnection, o: SubscribeOptions<T>): Promise<Subscription> {
  const ns = o.namespace ?? { subjectPrefix: '', streamPrefix: '' };
  const stream = ns.streamPrefix + o.stream;
  const jsm = await jetstreamManager(nc);
  await jsm.consumers.add(stream, {
    durable_name: o.durable,
    filter_subject: ns.subjectPrefix + o.subject,
    ack_policy: AckPolicy.Explicit,
    deliver_policy: o.deliver === 'all' ? DeliverPolicy.All : DeliverPolicy.New,
    max_deliver: -1,
  });
  const consumer = await jetstream(nc).consumers.get(stream, o.durable);
  const messages = await consumer.consume({ max_messages: 16 });
  const done = (async () => {
    for await (const m of messages) await handleOne(m);
  })();

  async function handleOne(m: JsMsg): Promise<void> {
    let event: Received<T> | undefined;
    try {
      event = {
        message: o.codec.decode(m.data),
        id: m.headers?.get('ce-id') ?? `${stream}:${m.seq}`,
        type: m.headers?.get('ce-type') ?? m.subject.slice(ns.subjectPrefix.length),
        time: m.headers?.get('ce-time') ?? '',
        deliveryCount: m.info.deliveryCount,
      };
      await o.handle(event);
      m.ack();
    } catch (err) {
      o.onError?.(err, event);
      m.nak(o.retryDelayMs ?? 2_000);
    }
  }

  return {
    async stop() {
      await messages.close();
      await done;
    },
  };
}
