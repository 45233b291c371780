import type { Msg, NatsConnection, Subscription } from '@nats-io/transport-node';
import { waitFor } from './wait-for';

/** One message seen by an {@link EventCollector}, in arrival order. */
export interface CollectedEvent {
  /** 0, 1, 2, ... across all subjects of the collector: the order the server delivered them in. */
  readonly seq: number;
  readonly subject: string;
  /** All headers, first value of each (CloudEvents `ce-*`, `Nats-Msg-Id`, ...). */
  readonly headers: Readonly<Record<string, string>>;
  /** `ce-type` header, when present. */
  readonly type: string | undefined;
  /** `ce-id` header, when present. */
  readonly id: string | undefined;
  /** Payload bytes (a protobuf message for medtune events; decode with @medtune/contracts). */
  readonly data: Uint8Array;
  /** Date.now() at arrival. */
  readonly receivedAt: number;
}

/** A match on an event: a subject (exact, or with NATS wildcards `*` / `>`) or a predicate. */
export type EventMatch = string | ((event: CollectedEvent) => boolean);

/** Records every message on some subjects, in order, for end-to-end assertions. */
export interface EventCollector {
  /** Everything received so far, in arrival order. */
  readonly events: readonly CollectedEvent[];
  /** Subjects received so far, in arrival order. */
  subjects(): string[];
  /** Resolves with the first event (in order) matching `match`, waiting for it if needed. */
  waitFor(match: EventMatch, timeoutMs?: number): Promise<CollectedEvent>;
  /** Resolves once `count` events have arrived, with the first `count`. */
  waitForCount(count: number, timeoutMs?: number): Promise<CollectedEvent[]>;
  /**
   * Resolves once events matching `matches` have arrived in this order (others may come in
   * between); fails with the subjects that did arrive. E.g. `waitForSequence(['a.created', 'a.done'])`.
   */
  waitForSequence(matches: readonly EventMatch[], timeoutMs?: number): Promise<CollectedEvent[]>;
  /** Unsubscribes; the events stay readable. */
  stop(): Promise<void>;
}

/**
 * Subscribes (core NATS, so JetStream publishes are seen too) to `subjects` and records what
 * arrives. Resolves after the server has registered the subscriptions, so anything published
 * afterwards is recorded. One connection delivers in order, so `seq` is the delivery order.
 */
export async function collectEvents(nc: NatsConnection, subjects: string | readonly string[]): Promise<EventCollector> {
  const events: CollectedEvent[] = [];
  const record = (err: Error | null, msg: Msg): void => {
    if (err) return;
    const headers: Record<string, string> = {};
    const h = msg.headers;
    if (h) for (const key of h.keys()) headers[key] = h.get(key);
    events.push({
      seq: events.length,
      subject: msg.subject,
      headers,
      type: headers['ce-type'],
      id: headers['ce-id'],
      data: msg.data,
      receivedAt: Date.now(),
    });
  };
  const subs: Subscription[] = [subjects].flat().map((subject) => nc.subscribe(subject, { callback: record }));
  await nc.flush();

  const describe = (): string => `received so far: [${events.map((e) => e.subject).join(', ')}]`;
  const findFrom = (from: number, match: EventMatch): CollectedEvent | undefined =>
    events.slice(from).find((e) => matches(e, match));

  return {
    events,
    subjects: () => events.map((e) => e.subject),
    waitFor: (match, timeoutMs = 10_000) =>
      waitFor(() => findFrom(0, match), timeoutMs, { intervalMs: 20, message: () => `event ${label(match)}; ${describe()}` }),
    waitForCount: (count, timeoutMs = 10_000) =>
      waitFor(() => (events.length >= count ? events.slice(0, count) : undefined), timeoutMs, {
        intervalMs: 20,
        message: () => `${count} events; ${describe()}`,
      }),
    waitForSequence: (sequence, timeoutMs = 10_000) =>
      waitFor(
        () => {
          const found: CollectedEvent[] = [];
          let from = 0;
          for (const match of sequence) {
            const event = findFrom(from, match);
            if (!event) return undefined;
            found.push(event);
            from = event.seq + 1;
          }
          return found;
        },
        timeoutMs,
        { intervalMs: 20, message: () => `events in order [${sequence.map(label).join(', ')}]; ${describe()}` },
      ),
    async stop(): Promise<void> {
      for (const sub of subs) sub.unsubscribe();
      if (!nc.isClosed()) await nc.flush();
    },
  };
}

function label(match: EventMatch): string {
  return typeof match === 'string' ? match : match.name || 'predicate';
}

function matches(event: CollectedEvent, match: EventMatch): boolean {
  return typeof match === 'string' ? subjectMatches(match, event.subject) : match(event);
}

/** NATS subject matching: `*` is one token, a final `>` is one or more tokens. */
export function subjectMatches(pattern: string, subject: string): boolean {
  const p = pattern.split('.');
  const s = subject.split('.');
  for (let i = 0; i < p.length; i++) {
    if (p[i] === '>') return i === p.length - 1 && s.length > i;
    if (i >= s.length || (p[i] !== '*' && p[i] !== s[i])) return false;
  }
  return p.length === s.length;
}
