/**
 * Publishes the events that state changes left in their documents' outboxes, then removes them.
 * Each write hands its new events to publish() right away (the fast path); a full sweep of all
 * outboxes runs at startup, periodically, and whenever a publish failed, so an event whose publish
 * failed (NATS down, a crash between the write and the publish) goes out later, before anything
 * newer. Its ce-id was fixed when it was written, so a republish is de-duplicated by JetStream
 * (Nats-Msg-Id). Work is serialised: one publish or sweep at a time, in call order.
 */
import type { Logger } from '@medtune/kit';
import type { PendingEvent } from './records';

/** The store side of the outbox. */
export interface OutboxStore {
  /** Events written but not yet published, oldest first. */
  unpublishedEvents(): Promise<PendingEvent[]>;
  /** Removes a published event from its document's outbox. */
  markPublished(eventId: string): Promise<void>;
}

/** Publishes an encoded event with its ce-id. */
export interface OutboxSink {
  publish(subject: string, payload: Uint8Array, id: string): Promise<void>;
}

/** See the module comment. */
export class OutboxRelay {
  private chain: Promise<void> = Promise.resolve();
  /** True until a full sweep has succeeded: events may be waiting, so new ones must not overtake them. */
  private dirty = true;
  private sweepQueued = false;

  constructor(
    private readonly store: OutboxStore,
    private readonly sink: OutboxSink,
    private readonly log: Logger,
    /** Runs before an event is published (e.g. storing alias history); must be idempotent. */
    private readonly beforePublish: (e: PendingEvent) => Promise<void> = async () => undefined,
  ) {}

  /** Publishes events just written (or sweeps everything when earlier events are still waiting). */
  publish(events: readonly PendingEvent[]): Promise<void> {
    return this.enqueue(async () => {
      if (this.dirty) return this.sweepNow();
      for (const e of events) {
        if (!(await this.send(e))) {
          this.dirty = true;
          return;
        }
      }
    });
  }

  /** Publishes every pending event of every document (startup, timer, after failures). */
  flush(): Promise<void> {
    if (this.sweepQueued) return this.chain;
    this.sweepQueued = true;
    return this.enqueue(async () => {
      this.sweepQueued = false;
      await this.sweepNow();
    });
  }

  private enqueue(job: () => Promise<void>): Promise<void> {
    const next = this.chain.then(job, job);
    this.chain = next.catch((err: unknown) => this.log.warn({ err }, 'outbox: unexpected failure'));
    return this.chain;
  }

  private async sweepNow(): Promise<void> {
    let events: PendingEvent[];
    try {
      events = await this.store.unpublishedEvents();
    } catch (err) {
      this.log.warn({ err }, 'outbox: cannot read pending events; will retry');
      this.dirty = true;
      return;
    }
    for (const e of events) {
      if (!(await this.send(e))) {
        this.dirty = true; // keep the order: later events wait until this one is out
        return;
      }
    }
    this.dirty = false;
  }

  private async send(e: PendingEvent): Promise<boolean> {
    try {
      await this.beforePublish(e);
      await this.sink.publish(e.subject, e.payload, e.id);
      await this.store.markPublished(e.id);
      return true;
    } catch (err) {
      this.log.warn({ err, eventId: e.id, subject: e.subject }, 'outbox: publish failed; will retry');
      return false;
    }
  }
}
