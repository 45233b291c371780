/**
 * Publishes the events that state changes left in their documents' outboxes, then removes them.
 * Called right after each write, at startup and periodically, so an event whose publish failed
 * (NATS down, a crash between the write and the publish) goes out later. Its ce-id was fixed when
 * it was written, so a republish is de-duplicated by JetStream (Nats-Msg-Id).
 */
import type { Logger } from '@medtune/kit';
import type { EvalStore, EventSink } from './ports';

/** Serialised outbox flushing: one flush at a time; a request during a flush runs one more after it. */
export class OutboxRelay {
  private running: Promise<void> | null = null;
  private again = false;

  constructor(
    private readonly store: EvalStore,
    private readonly sink: EventSink,
    private readonly log: Logger,
  ) {}

  /** Publishes every pending event; resolves when a flush that started after this call has ended. */
  flush(): Promise<void> {
    if (this.running) {
      this.again = true;
      return this.running;
    }
    this.running = (async () => {
      try {
        do {
          this.again = false;
          await this.flushOnce();
        } while (this.again);
      } finally {
        this.running = null;
      }
    })();
    return this.running;
  }

  private async flushOnce(): Promise<void> {
    let events;
    try {
      events = await this.store.unpublishedEvents();
    } catch (err) {
      this.log.warn({ err }, 'outbox: cannot read pending events; will retry');
      return;
    }
    for (const evt of events) {
      try {
        await this.sink.publish(evt.subject, evt.payload, evt.id);
        await this.store.markPublished(evt.id);
      } catch (err) {
        // Keep the order: later events wait until this one is out.
        this.log.warn({ err, eventId: evt.id, subject: evt.subject }, 'outbox: publish failed; will retry');
        return;
      }
    }
  }
}
