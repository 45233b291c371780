/**
 * medtune.admin.v1.AdminService, served by every TS service next to its own API: list the dead
 * letters of this service and re-drive one (publish it again to its subject).
 */
import { jetstream } from '@nats-io/jetstream';
import { headers as natsHeaders, type NatsConnection } from '@nats-io/nats-core';
import type { admin } from '@medtune/contracts';
import type { DeadLetterRecord, DeadLetterStore } from './dead-letters';
import { FailedPreconditionError, NotFoundError } from './errors';
import type { MethodScopes } from './auth';
import { unary, type ServiceHandlers } from './grpc-handlers';
import type { Logger } from './logger';
import { decodePageToken, encodePageToken, pageSize } from './paging';
import { CE_HEADERS, publishRaw } from './publisher';

/** Dead letters are an operator's (access control on: libs/kit auth.ts). */
export const ADMIN_SCOPES: MethodScopes<typeof admin.AdminServiceService> = {
  listDeadLetters: 'operator',
  redriveDeadLetter: 'operator',
};

/** Header put on a re-driven message: the dead-letter record it came from. */
export const REDRIVE_HEADER = 'medtune-redrive-of';

/** What the admin handlers need. */
export interface AdminDeps {
  deadLetters: DeadLetterStore;
  nc: NatsConnection;
  log?: Logger;
}

/**
 * Handlers for `admin.AdminServiceService`. Re-drive publishes the stored payload and headers
 * to the stored subject with a new Nats-Msg-Id (`redrive:<record id>`, so retrying a re-drive
 * is stored once); every consumer of that subject sees it again, which is safe because consumers
 * are idempotent. The record is marked re-driven after the publish succeeded.
 */
export function adminHandlers(deps: AdminDeps): ServiceHandlers<typeof admin.AdminServiceService> {
  const js = jetstream(deps.nc);
  return {
    listDeadLetters: unary(async (req) => {
      const limit = pageSize(req.pageSize, { defaultSize: 50, maxSize: 500 });
      const position = decodePageToken<{ before: string }>(req.pageToken);
      const records = await deps.deadLetters.list({
        limit: limit + 1,
        ...(req.consumer ? { consumer: req.consumer } : {}),
        ...(position?.before ? { beforeId: position.before } : {}),
      });
      const page = records.slice(0, limit);
      const last = page[page.length - 1];
      return {
        deadLetters: page.map(toProto),
        nextPageToken: records.length > limit && last ? encodePageToken({ before: last.id }) : '',
      };
    }),
    redriveDeadLetter: unary(async (req) => {
      const record = await deps.deadLetters.get(req.id);
      if (!record) throw new NotFoundError(`dead letter ${JSON.stringify(req.id)} not found`);
      if (record.redrivenTime) throw new FailedPreconditionError(`dead letter ${req.id} was re-driven at ${record.redrivenTime.toISOString()}`);
      const h = natsHeaders();
      for (const [k, v] of Object.entries(record.headers)) if (k.toLowerCase() !== CE_HEADERS.msgId.toLowerCase()) h.set(k, v);
      h.set(REDRIVE_HEADER, record.id);
      const res = await publishRaw(js, record.subject, record.data, h, `redrive:${record.id}`);
      const marked = await deps.deadLetters.markRedriven(record.id);
      deps.log?.info({ deadLetter: record.id, subject: record.subject, seq: res.seq }, 'dead letter re-driven');
      if (!marked) throw new FailedPreconditionError(`dead letter ${req.id} was re-driven concurrently`);
      return { deadLetter: toProto(marked) };
    }),
  };
}

function toProto(r: DeadLetterRecord): admin.DeadLetter {
  return {
    id: r.id,
    stream: r.stream,
    consumer: r.consumer,
    subject: r.subject,
    streamSequence: r.streamSeq,
    deliveries: r.deliveries,
    error: r.error,
    headers: r.headers,
    data: Buffer.from(r.data),
    time: r.time,
    redrivenTime: r.redrivenTime,
  };
}
