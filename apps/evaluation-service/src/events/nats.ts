/**
 * NATS adapters: the outbox's event sink, and the consumer of medtune.registry.version.ready that
 * starts the promotion automation. The automation listens to .ready, not .created: a version's
 * artifacts are verified (sha256) only when it is READY, and evaluating it means loading them.
 */
import { STREAMS, subjectSpec, type events } from '@medtune/contracts';
import { startConsumer, type DeadLetterStore, type Logger, type NatsNamespace, type Publisher, type RunningConsumer } from '@medtune/kit';
import type { NatsConnection } from '@nats-io/nats-core';
import type { Automation } from '../core/automation';
import type { EventSink } from '../core/ports';

/** Publishes outbox events (stored encoded) through the kit's publisher with their stored ce-id. */
export function natsEventSink(publisher: Publisher): EventSink {
  return {
    async publish(subject, payload, id) {
      const spec = subjectSpec(subject);
      if (!spec) throw new Error(`no subject ${subject} in the catalog`);
      await publisher.publish(spec, spec.codec.decode(payload), { id });
    },
  };
}

/** Durable consumer "evaluation-promotion": records one pipeline per READY version (idempotent by name@version). */
export function startVersionReadyConsumer(
  nc: NatsConnection,
  o: { automation: Automation; deadLetters: DeadLetterStore; log: Logger; namespace: NatsNamespace; maxDeliver: number },
): Promise<RunningConsumer> {
  return startConsumer<events.ModelVersionChanged>(nc, {
    stream: STREAMS.registry.name,
    durable: 'evaluation-promotion',
    filterSubjects: ['medtune.registry.version.ready'],
    handle: async (evt) => {
      if (evt.message.version) await o.automation.onVersionReady(evt.message.version);
    },
    deadLetters: o.deadLetters,
    log: o.log,
    namespace: o.namespace,
    maxDeliver: o.maxDeliver,
    concurrency: 4,
  });
}
