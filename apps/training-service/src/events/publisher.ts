/**
 * The core's EventPublisher over the kit's JetStream publisher: the core stores each message as
 * (catalog subject, encoded payload) in its outbox; here it goes out with the CloudEvents headers
 * and Nats-Msg-Id = the id the core chose (`<job_id>:<sequence>`), under the deployment's namespace.
 */
import { subjectSpec } from '@medtune/contracts';
import type { Publisher } from '@medtune/kit';
import type { EventPublisher } from '../core/ports';

/** Adapts a kit Publisher (which owns ce-source, the clock and the namespace). */
export function natsEventPublisher(publisher: Publisher): EventPublisher {
  return {
    async publish(message, id) {
      const spec = subjectSpec(message.subject);
      if (!spec) throw new Error(`no subject ${message.subject} in the catalog (libs/contracts/src/subjects.ts)`);
      await publisher.publish(spec, spec.codec.decode(message.data), { id, subject: message.subject });
    },
  };
}
