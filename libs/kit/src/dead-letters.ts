/**
 * Dead letters: events a consumer gave up on (poison, or out of deliveries), kept in the
 * service's own database (collection `dead_letters`) so someone can read and re-drive them
 * through the admin service. One record per (stream, consumer, stream sequence).
 */
import { Binary, type Db } from 'mongodb';
import { createIdGenerator, systemClock, type Clock } from './ids';
import { ensureIndexes, isDuplicateKeyError } from './mongo';

/** The collection name. */
export const DEAD_LETTERS_COLLECTION = 'dead_letters';

/** What a consumer knows when it gives up on a message. */
export interface DeadLetterInput {
  /** Stream name (as on the server, namespace included). */
  stream: string;
  /** Durable consumer name. */
  consumer: string;
  /** Subject (as on the server, namespace included: redrive publishes to it). */
  subject: string;
  /** Stream sequence. */
  streamSeq: number;
  /** Deliveries made. */
  deliveries: number;
  /** The last error, in words. */
  error: string;
  /** Message headers (first value of each). */
  headers: Record<string, string>;
  /** The payload. */
  data: Uint8Array;
}

/** A stored dead letter. */
export interface DeadLetterRecord extends DeadLetterInput {
  /** Record id (time-sortable: 'dl_01J...'). */
  id: string;
  /** When it was (last) dead-lettered. */
  time: Date;
  /** When it was re-driven, if it was. */
  redrivenTime?: Date;
}

/** Filter and page of {@link DeadLetterStore.list}. */
export interface DeadLetterQuery {
  /** Only this consumer. */
  consumer?: string;
  /** At most this many. */
  limit: number;
  /** Only records older than this id (the last id of the previous page). */
  beforeId?: string;
}

/** Reads and writes dead letters. */
export interface DeadLetterStore {
  /** Creates the collection's indexes (done lazily by every other method too). */
  ensureIndexes(): Promise<void>;
  /** Stores a dead letter; recording the same (stream, consumer, seq) again updates deliveries / error / time. */
  record(input: DeadLetterInput): Promise<DeadLetterRecord>;
  /** Newest first. */
  list(query: DeadLetterQuery): Promise<DeadLetterRecord[]>;
  get(id: string): Promise<DeadLetterRecord | undefined>;
  /** Sets redrivenTime unless it is set already; undefined when no record was changed. */
  markRedriven(id: string): Promise<DeadLetterRecord | undefined>;
}

interface DeadLetterDoc extends Omit<DeadLetterRecord, 'id' | 'data'> {
  _id: string;
  data: Binary;
}

/** Options of {@link createDeadLetterStore}. */
export interface DeadLetterStoreOptions {
  clock?: Clock;
  collection?: string;
}

/** A store over `db.dead_letters`. */
export function createDeadLetterStore(db: Db, options: DeadLetterStoreOptions = {}): DeadLetterStore {
  const clock = options.clock ?? systemClock;
  const newId = createIdGenerator(clock);
  const name = options.collection ?? DEAD_LETTERS_COLLECTION;
  const coll = db.collection<DeadLetterDoc>(name);
  let indexes: Promise<void> | undefined;
  const ready = (): Promise<void> => {
    indexes ??= ensureIndexes(db, {
      [name]: [
        { key: { stream: 1, consumer: 1, streamSeq: 1 }, unique: true, name: 'stream_consumer_seq' },
        { key: { consumer: 1, _id: -1 }, name: 'consumer_id' },
      ],
    }).catch((err: unknown) => {
      indexes = undefined; // try again next time
      throw err;
    });
    return indexes;
  };

  const store: DeadLetterStore = {
    ensureIndexes: ready,
    async record(input) {
      await ready();
      const key = { stream: input.stream, consumer: input.consumer, streamSeq: input.streamSeq };
      const update = { deliveries: input.deliveries, error: input.error, time: clock() };
      const insert = { _id: newId('dl'), subject: input.subject, headers: input.headers, data: new Binary(input.data) };
      for (let attempt = 0; ; attempt++) {
        try {
          // Update first, insert when missing: no upsert operators, which keeps this portable.
          const res = await coll.findOneAndUpdate(key, { $set: update }, { returnDocument: 'after' });
          if (res) return fromDoc(res);
          await coll.insertOne({ ...key, ...update, ...insert });
          return fromDoc({ ...key, ...update, ...insert });
        } catch (err) {
          // A concurrent record() of the same message inserted first: update that one.
          if (!isDuplicateKeyError(err) || attempt > 0) throw err;
        }
      }
    },
    async list({ consumer, limit, beforeId }) {
      await ready();
      const filter: Record<string, unknown> = {};
      if (consumer) filter.consumer = consumer;
      if (beforeId) filter._id = { $lt: beforeId };
      const docs = await coll.find(filter).sort({ _id: -1 }).limit(limit).toArray();
      return docs.map(fromDoc);
    },
    async get(id) {
      await ready();
      const doc = await coll.findOne({ _id: id });
      return doc ? fromDoc(doc) : undefined;
    },
    async markRedriven(id) {
      await ready();
      const res = await coll.findOneAndUpdate({ _id: id, redrivenTime: { $exists: false } }, { $set: { redrivenTime: clock() } }, { returnDocument: 'after' });
      return res ? fromDoc(res) : undefined;
    },
  };
  return store;
}

function fromDoc(doc: DeadLetterDoc): DeadLetterRecord {
  const { _id, data, ...rest } = doc;
  return { id: _id, ...rest, data: Uint8Array.from(data.buffer.subarray(0, data.position)) };
}
