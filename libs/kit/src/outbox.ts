/**
 * Publishes the events that state changes left in their documents' outboxes, then removes them.
 * Each write hands its new events to publish() right away (the fast path); a full sweep of all
 * outboxes runs at startup, periodically, and whenever a publish failed, so an event whose publish
 * failed (NATS down, a crash between the write and the publish) goes out later, before anything
 * newer. Its ce-id was fixed when it was written, so a republish is de-duplicated by JetStream
 * (Nats-Msg-Id). Work is serialised: one publish or sweep at a time, in call order.
 */
import type { Logger } from './logger';

/** An event written in the same document update as the state change it announces. */
export interface PendingEvent {
  /** ce-id and Nats-Msg-Id: fixed when written, so a republish after a crash is de-duplicated. */
  id: string;
  /** Subject from the catalog. */
  subject: string;
  /** The encoded protobuf payload. */
  payload: Uint8Array;
}

/** The store side of the outbox. */
export interface OutboxStore<E extends PendingEvent = PendingEvent> {
  /** Events written but not yet published, oldest first. */
  unpublishedEvents(): Promise<E[]>;
  /** Removes a published event from its document's outbox. */
  markPublished(eventId: string): Promise<void>;
}

/** Publishes an encoded event with its ce-id. */
export interface OutboxSink {
  publish(subject: string, payload: Uint8Array, id: string): Promise<void>;
}

/** See the module comment. Used by services that keep their events in their documents (FerretDB has no transactions). */
export class OutboxRelay<E extends PendingEvent = PendingEvent> {
  private chain: Promise<void> = Promise.resolve();
  /** True until a full sweep has succeeded: events may be waiting, so new ones must not overtake them. */
  private dirty = true;
  private sweepQueued = false;

  constructor(
    private readonly store: OutboxStore<E>,
    private readonly sink: OutboxSink,
    private readonly log: Logger,
    /** Runs before an event is published (e.g. storing alias history); must be idempotent. */
    private readonly beforePublish: (e: E) => Promise<void> = async () => undefined,
  ) {}

  /** Publishes events just written (or sweeps everything when earlier events are still waiting). */
  publish(events: readonly E[]): Promise<void> {
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
    let events: E[];
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

  private async send(e: E): Promise<boolean> {
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
