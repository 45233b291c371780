/** The NATS adapters: the core's events out, training job states in. */
import type { NatsConnection } from '@nats-io/nats-core';
import { startConsumer, type DeadLetterStore, type Logger, type NatsNamespace, type Publisher, type RunningConsumer } from '@medtune/kit';
import { JOB_STATE_SUBJECTS, STREAMS, SUBJECTS, type events } from '@medtune/contracts';
import type { DatasetEvents } from '../core/ports';
import type { DatasetCore } from '../core/service';

/**
 * Publishes the dataset events. Ids are deterministic per version record (or report), so a
 * re-publish (the janitor's retry) inside the stream's duplicate window is stored once, while a
 * version deleted and imported again gets new events.
 */
export function natsDatasetEvents(pub: Publisher): DatasetEvents {
  return {
    async versionReady(version, created, recordId) {
      await pub.publish(SUBJECTS.datasetVersionReady, { version, created }, { id: `dataset.version.ready:${recordId}` });
    },
    async versionFailed(f) {
      await pub.publish(SUBJECTS.datasetVersionFailed, f, { id: `dataset.version.failed:${f.report.reportId}` });
    },
    async versionDeleted(digest, datasetName, recordId) {
      await pub.publish(SUBJECTS.datasetVersionDeleted, { digest, datasetName }, { id: `dataset.version.deleted:${recordId}` });
    },
  };
}

const STATE_SUBJECTS = new Set([...JOB_STATE_SUBJECTS.values()].map((s) => s.subject));

/** Durable consumer of medtune.training.job.* that tells the core which versions unfinished jobs use. */
export function startJobUsageConsumer(
  nc: NatsConnection,
  core: DatasetCore,
  options: { deadLetters: DeadLetterStore; log: Logger; namespace: NatsNamespace; maxDeliver: number },
): Promise<RunningConsumer> {
  return startConsumer<events.JobStateChanged>(nc, {
    stream: STREAMS.training.name,
    durable: 'dataset-usage',
    // One filter (nats-server 2.9 takes only one): progress events come too and are acked unread.
    filterSubjects: ['medtune.training.job.>'],
    handle: async (evt) => {
      if (!STATE_SUBJECTS.has(evt.subject)) return;
      await core.recordJobState(evt.message);
    },
    deadLetters: options.deadLetters,
    log: options.log,
    namespace: options.namespace,
    maxDeliver: options.maxDeliver,
    concurrency: 4,
  });
}
