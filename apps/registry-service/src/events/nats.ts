/**
 * The registry's NATS adapters: the event sink the outbox publishes through, and the consumer of
 * medtune.training.job.succeeded that registers versions automatically.
 */
import { events, STREAMS, subjectSpec } from '@medtune/contracts';
import { startConsumer, type DeadLetterStore, type Logger, type NatsNamespace, type Publisher, type RunningConsumer } from '@medtune/kit';
import type { NatsConnection } from '@nats-io/nats-core';
import type { EventSink, TrainingJobs } from '../core/ports';
import type { RegistryCore } from '../core/registry';

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

/** Options of {@link startJobSucceededConsumer}. */
export interface JobConsumerOptions {
  core: RegistryCore;
  deadLetters: DeadLetterStore;
  log: Logger;
  namespace: NatsNamespace;
  maxDeliver: number;
  /** Confirms each job with the training service before registering it (absent: the event is trusted). */
  trainingJobs?: TrainingJobs;
}

/**
 * Durable consumer "registry-autoregister" of medtune.training.job.succeeded: registers the job's
 * artifacts under job.register_as (idempotency key = job id, so a redelivery returns the same
 * version). A job without artifacts or with a bad name is a verdict on the event: dead-lettered.
 */
export function startJobSucceededConsumer(nc: NatsConnection, o: JobConsumerOptions): Promise<RunningConsumer> {
  return startConsumer<events.JobStateChanged>(nc, {
    stream: STREAMS.training.name,
    durable: 'registry-autoregister',
    filterSubjects: ['medtune.training.job.succeeded'],
    handle: async (evt) => {
      const job = evt.message.job;
      if (!job) return;
      const res = await o.core.registerConfirmedJob(job, o.trainingJobs);
      if (res) o.log.info({ jobId: job.jobId, model: job.registerAs, version: res.version?.version, created: res.created }, 'registered training job');
    },
    deadLetters: o.deadLetters,
    log: o.log,
    namespace: o.namespace,
    maxDeliver: o.maxDeliver,
    concurrency: 4,
  });
}
