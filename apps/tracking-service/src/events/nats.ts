/**
 * The NATS adapters: run events out (medtune.tracking.run.created / .status_changed), and the
 * three durable consumers in (names are part of the service's contract with operators; see the
 * README):
 *
 * - `tracking-jobs`        MEDTUNE_TRAINING, medtune.training.job.>  (state changes + progressed)
 * - `tracking-metrics`     MEDTUNE_TRAINING, medtune.training.metrics.logged (batched writes,
 *                          batched-consumer.ts)
 * - `tracking-evaluations` MEDTUNE_EVALUATION, medtune.evaluation.run.>
 */
import type { NatsConnection } from '@nats-io/nats-core';
import { startConsumer, type DeadLetterStore, type Logger, type NatsNamespace, type Publisher, type RunningConsumer } from '@medtune/kit';
import { JOB_STATE_SUBJECTS, STREAMS, SUBJECTS, type events } from '@medtune/contracts';
import type { EventIngest } from '../core/ingest';
import type { RunEventPublisher } from '../core/ports';
import { startBatchedConsumer } from './batched-consumer';

/** Publishes run events with the outbox entry's id (`<run>:created`, `<run>:status:<n>`), so a retry is stored once. */
export function natsRunEvents(pub: Publisher): RunEventPublisher {
  return {
    async publish(entry, run) {
      const spec = entry.kind === 'created' ? SUBJECTS.trackingRunCreated : SUBJECTS.trackingRunStatusChanged;
      await pub.publish(spec, { run, previousStatus: entry.previousStatus }, { id: entry.id });
    },
  };
}

const STATE_SUBJECTS = new Set([...JOB_STATE_SUBJECTS.values()].map((s) => s.subject));

/** Options shared by the consumers. */
export interface ConsumerSettings {
  readonly deadLetters: DeadLetterStore;
  readonly log: Logger;
  readonly namespace: NatsNamespace;
  readonly maxDeliver: number;
  /** Metric messages delivered and not yet acked (they wait for their batch's write). */
  readonly metricConcurrency: number;
}

/** Starts the three consumers (see the file comment). */
export async function startTrackingConsumers(nc: NatsConnection, ingest: EventIngest, s: ConsumerSettings): Promise<RunningConsumer[]> {
  const common = { deadLetters: s.deadLetters, log: s.log, namespace: s.namespace, maxDeliver: s.maxDeliver };
  const jobs = await startConsumer<events.JobStateChanged | events.JobProgressed>(nc, {
    ...common,
    stream: STREAMS.training.name,
    durable: 'tracking-jobs',
    // One filter (nats-server 2.9): state changes and progress share the prefix.
    filterSubjects: ['medtune.training.job.>'],
    concurrency: 16,
    handle: async (evt) => {
      if (evt.subject === SUBJECTS.trainingJobProgressed.subject) ingest.onJobProgressed(evt.message as events.JobProgressed);
      else if (STATE_SUBJECTS.has(evt.subject)) await ingest.onJobStateChanged(evt.message as events.JobStateChanged);
    },
  });
  // Each handler waits for the batch its points joined (see batched-consumer.ts).
  const metrics = await startBatchedConsumer<events.MetricsLogged>(nc, {
    ...common,
    stream: STREAMS.training.name,
    durable: 'tracking-metrics',
    subject: SUBJECTS.trainingMetricsLogged.subject,
    codec: SUBJECTS.trainingMetricsLogged.codec,
    maxAckPending: s.metricConcurrency,
    handle: (message) => ingest.onMetricsLogged(message),
  });
  const evaluations = await startConsumer<events.EvaluationRunChanged>(nc, {
    ...common,
    stream: STREAMS.evaluation.name,
    durable: 'tracking-evaluations',
    filterSubjects: ['medtune.evaluation.run.>'],
    concurrency: 4,
    handle: (evt) => ingest.onEvaluationChanged(evt.message),
  });
  return [jobs, metrics, evaluations];
}
