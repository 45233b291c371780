/**
 * What a JetStream stream holds, for tests: the count that matters for "published exactly once".
 * A core-NATS subscriber also sees a publish that JetStream dropped as a duplicate (same
 * Nats-Msg-Id, re-sent after a crash), so counting deliveries would count retries; the stream and
 * every durable consumer see each message id once.
 */
import type { JetStreamManager } from '@nats-io/jetstream';

/** A message as stored in a stream. */
export interface StoredMessage {
  readonly subject: string;
  readonly seq: number;
  readonly data: Uint8Array;
  /** Nats-Msg-Id (= ce-id). */
  readonly id: string;
}

/** Every message of `stream` (oldest first) whose subject ends with `subjectSuffix`. */
export async function storedMessages(jsm: JetStreamManager, stream: string, subjectSuffix = ''): Promise<StoredMessage[]> {
  const info = await jsm.streams.info(stream);
  const out: StoredMessage[] = [];
  for (let seq = info.state.first_seq; seq <= info.state.last_seq && info.state.messages > 0; seq++) {
    const m = await jsm.streams.getMessage(stream, { seq }).catch(() => null);
    if (!m || !m.subject.endsWith(subjectSuffix)) continue;
    out.push({ subject: m.subject, seq: m.seq, data: m.data, id: m.header?.get('Nats-Msg-Id') ?? '' });
  }
  return out;
}
