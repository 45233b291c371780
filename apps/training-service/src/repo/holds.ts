/**
 * `worker_holds`: one document per worker hold (core/holds.ts), `_id` = hold id. Any replica
 * inserts, renews and releases; only the scheduler lease holder grants (WAITING → GRANTED), so the
 * one compare-and-set here (`grant`, on the state) has a single writer.
 */
import type { IndexPlan } from '@medtune/kit';
import type { training } from '@medtune/contracts';
import type { Collection, Db } from 'mongodb';
import type { HoldRecord, HoldRepository } from '../core/holds';

/** Indexes of `worker_holds`. */
export const HOLD_INDEXES: IndexPlan = {
  worker_holds: [{ key: { state: 1, requestedAt: 1 }, name: 'state_requested' }],
};

interface HoldDoc extends Omit<HoldRecord, 'holdId'> {
  _id: string;
}

function toDoc(r: HoldRecord): HoldDoc {
  const { holdId, ...rest } = r;
  return { _id: holdId, ...rest };
}

function fromDoc(d: HoldDoc): HoldRecord {
  const { _id, ...rest } = d;
  const r: HoldRecord = { holdId: _id, ...rest };
  if (d.workerId == null) delete r.workerId;
  if (d.address == null) delete r.address;
  return r;
}

/** Holds in MongoDB. */
export class MongoHoldRepository implements HoldRepository {
  private readonly c: Collection<HoldDoc>;
  constructor(db: Db) {
    this.c = db.collection<HoldDoc>('worker_holds');
  }

  async get(holdId: string): Promise<HoldRecord | undefined> {
    const d = await this.c.findOne({ _id: holdId });
    return d ? fromDoc(d) : undefined;
  }

  async put(record: HoldRecord): Promise<void> {
    await this.c.replaceOne({ _id: record.holdId }, toDoc(record), { upsert: true });
  }

  async renew(holdId: string, at: Date, ttlMs: number): Promise<void> {
    await this.c.updateOne({ _id: holdId }, { $set: { renewedAt: at, ttlMs } });
  }

  async release(holdId: string): Promise<void> {
    await this.c.updateOne({ _id: holdId }, { $set: { state: 3 satisfies training.HoldState.HOLD_STATE_RELEASED } });
  }

  async grant(holdId: string, workerId: string, address: string): Promise<boolean> {
    const res = await this.c.updateOne({ _id: holdId, state: 1 satisfies training.HoldState.HOLD_STATE_WAITING }, { $set: { state: 2, workerId, address } });
    return res.modifiedCount === 1;
  }

  async inStates(states: readonly training.HoldState[]): Promise<HoldRecord[]> {
    const docs = await this.c.find({ state: { $in: [...states] } }).sort({ requestedAt: 1, _id: 1 }).toArray();
    return docs.map(fromDoc);
  }
}
