/**
 * Outbox arrays inside documents, on FerretDB: an event is pushed in the same update as the state
 * change it announces; removing it rewrites the array under a compare-and-set on `outboxRev`
 * (FerretDB ignores a conditional `$pull: { outbox: { id } }`, and array positional updates are
 * not supported). Every push bumps `outboxRev`, so a removal never drops an event pushed meanwhile.
 */
import { Binary, type Collection, type Document } from 'mongodb';

/** An event as stored in a document's outbox. */
export interface OutboxDoc {
  id: string;
  subject: string;
  payload: Binary;
}

/** Update operators that append `doc` to the outbox (merge them into the state change's update). */
export function pushEvent(doc: OutboxDoc): Document {
  return { $push: { outbox: doc }, $inc: { outboxCount: 1, outboxRev: 1 } };
}

/** The fields of a new document whose outbox holds `doc`. */
export function initialOutbox(doc: OutboxDoc | undefined): Document {
  return { outbox: doc ? [doc] : [], outboxCount: doc ? 1 : 0, outboxRev: doc ? 1 : 0 };
}

/** The bytes of a stored payload. */
export function payloadBytes(b: Binary): Uint8Array {
  return new Uint8Array(b.buffer.subarray(0, b.position));
}

/**
 * Finds which document holds each event, so removal can address it by _id (the only filter
 * FerretDB pushes down); unknown ids fall back to a query on `outbox.id`.
 */
export class OutboxOwners {
  private readonly owners = new Map<string, { coll: Collection<Document>; id: unknown }>();

  note(eventId: string, coll: Collection<Document>, id: unknown): void {
    this.owners.set(eventId, { coll, id });
  }

  /** Lists the outbox events of documents with any, noting their owners. */
  async pending(colls: readonly Collection<Document>[]): Promise<OutboxDoc[]> {
    const out: OutboxDoc[] = [];
    for (const coll of colls) {
      for (const d of await coll.find({ outboxCount: { $gt: 0 } }, { projection: { outbox: 1 } }).toArray()) {
        for (const e of (d['outbox'] as OutboxDoc[] | undefined) ?? []) {
          this.note(e.id, coll, d._id);
          out.push(e);
        }
      }
    }
    return out.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }

  /** Removes one event from its document's outbox. */
  async remove(eventId: string, colls: readonly Collection<Document>[]): Promise<void> {
    const known = this.owners.get(eventId);
    const targets = known ? [known] : colls.map((coll) => ({ coll, id: undefined }));
    for (const t of targets) {
      for (let attempt = 0; attempt < 20; attempt++) {
        const filter: Document = t.id !== undefined ? { _id: t.id } : { 'outbox.id': eventId };
        const d = await t.coll.findOne(filter, { projection: { outbox: 1, outboxRev: 1 } });
        const events = (d?.['outbox'] as OutboxDoc[] | undefined) ?? [];
        if (!d || !events.some((e) => e.id === eventId)) break;
        const rest = events.filter((e) => e.id !== eventId);
        const r = await t.coll.updateOne({ _id: d._id, outboxRev: d['outboxRev'] ?? 0 }, { $set: { outbox: rest, outboxCount: rest.length }, $inc: { outboxRev: 1 } });
        if (r.matchedCount === 1) {
          this.owners.delete(eventId);
          return;
        }
      }
    }
    this.owners.delete(eventId);
  }
}
