/**
 * The core's JobChangeFeed over a plain NATS subscription to the job state subjects
 * (`medtune.training.job.<state>`, JobStateChanged): whichever replica wrote a job, the scheduler
 * lease holder hears of it and updates its queue index. Core NATS, not a JetStream consumer: a
 * message missed while disconnected is repaired by the index's reconcile scan.
 */
import { events, SUBJECTS } from '@medtune/contracts';
import type { Logger, NatsNamespace } from '@medtune/kit';
import type { NatsConnection } from '@nats-io/nats-core';
import type { JobChangeFeed } from '../core/ports';

/** Job state events of this deployment's namespace. */
export function natsJobChanges(nc: NatsConnection, ns: NatsNamespace, log: Logger): JobChangeFeed {
  const progressed = ns.subjectPrefix + SUBJECTS.trainingJobProgressed.subject;
  return {
    subscribe(listener) {
      const sub = nc.subscribe(`${ns.subjectPrefix}medtune.training.job.*`, {
        callback: (err, msg) => {
          if (err || msg.subject === progressed) return;
          try {
            const e = events.JobStateChanged.decode(msg.data);
            if (e.job?.jobId) listener(e.job.jobId, Number(e.sequence));
          } catch (error) {
            log.debug({ err: error, subject: msg.subject }, 'job event not readable as JobStateChanged; ignored');
          }
        },
      });
      return () => sub.unsubscribe();
    },
  };
}
