/**
 * MongoDB repositories of the training service (database medtune_training):
 *
 * - `jobs`: one document per job, `_id` = job id. The public Job and every event in the outbox are
 *   stored as protobuf bytes (exact, and free of Mongo's key rules: tags and metric names may hold
 *   '.'); the fields the service queries on sit beside them in plain form. Writes replace the
 *   whole document compare-and-set on `rev` (FerretDB has no transactions; the kit's one-connection
 *   pool makes each command atomic there). On MongoDB the filter is `{_id, rev, fence}`, atomic and
 *   served by the `_id` index. On FerretDB only an exact `{_id}` filter is pushed down to SQLite,
 *   anything more decodes the whole collection in Go (5-6 s per write at 10,000 jobs): there the
 *   write reads `{_id}` (rev and fence checked here), then replaces by `{_id}` — no less atomic
 *   than FerretDB's own filtered write (query, then write, nothing locked in between), and the
 *   writers that must not race (scheduler, attacher, sweep) are one lease holder, one connection,
 *   one job at a time (core/ledger.ts).
 * - `job_events`: the event log, `_id` = `<job_id>/<seq, 12 digits>`; unique on (jobId, seq) and,
 *   for worker events, on `workerKey` = `<job_id>/<attempt>/<worker seq>` (sparse: the
 *   orchestrator's own events have none), so no event is stored twice.
 * - `workers`: registrations, `_id` = worker id.
 * - `retention`: the log retention watermarks (core/retention.ts); `jobs.endedAt` is what it counts from.
 */
import { isDuplicateKeyError, type IndexPlan } from '@medtune/kit';
import { trainer, training } from '@medtune/contracts';
import { Binary, type Collection, type Db, type Filter } from 'mongodb';
import type { Dispatch, JobEventKind, JobRecord, StoredJobEvent, WorkerRecord } from '../core/model';
import type { RetentionStage, RetentionStore } from '../core/retention';
import { isTerminal } from '../core/state-machine';
import { IdempotencyKeyTakenError, type JobEventRepository, type JobQuery, type JobRepository, type WorkerRepository } from '../core/ports';

/** Indexes of the service's collections (created at every start; idempotent). */
export const TRAINING_INDEXES: IndexPlan = {
  jobs: [
    { key: { idempotencyKey: 1 }, unique: true, name: 'idempotency_key' },
    { key: { state: 1, priority: -1, queuedAt: 1 }, name: 'queue' },
    { key: { occupies: 1 }, name: 'occupies', sparse: true },
    { key: { datasetDigest: 1, _id: -1 }, name: 'dataset' },
    { key: { experiment: 1, _id: -1 }, name: 'experiment' },
    { key: { endedAt: 1 }, name: 'ended', sparse: true },
  ],
  // FerretDB only: jobs never dispatched (see MongoJobRepository). Unique keys hold within it.
  job_queue: [{ key: { idempotencyKey: 1 }, unique: true, name: 'idempotency_key' }],
  job_events: [
    { key: { jobId: 1, seq: 1 }, unique: true, name: 'job_seq' },
    { key: { workerKey: 1 }, unique: true, sparse: true, name: 'worker_event' },
    { key: { jobId: 1, kind: 1, seq: 1 }, name: 'job_kind' },
  ],
  workers: [{ key: { lost: 1 }, name: 'lost' }],
};

interface OutboxDoc {
  seq: number;
  attempt: number;
  workerSeq: number;
  kind: JobEventKind;
  event: Binary;
  subject?: string;
  data?: Binary;
}

interface JobDoc {
  _id: string;
  rev: number;
  idempotencyKey: string;
  requestHash: string;
  state: number;
  priority: number;
  queuedAt: Date;
  datasetDigest: string;
  experiment: string;
  /** JSON [key, value] of each tag, for "has all these tags" queries. */
  tagKv: string[];
  occupies?: string;
  workerAddress?: string;
  workerSeq: number;
  dispatch?: Dispatch;
  lastCheckpointUri?: string;
  deferredTo?: { workerId: string; at: Date };
  /** Fencing token of the scheduler lease holder that last wrote the job (see core/ledger.ts). */
  fence?: number;
  /** When the job reached SUCCEEDED / FAILED / CANCELLED (its updateTime then): log retention counts from it. */
  endedAt?: Date;
  outbox: OutboxDoc[];
  job: Binary;
}

interface EventDoc {
  _id: string;
  jobId: string;
  seq: number;
  attempt: number;
  workerSeq: number;
  workerKey?: string;
  kind: JobEventKind;
  event: Binary;
}

interface WorkerDoc {
  _id: string;
  info: Binary;
  registeredAt: Date;
  lastHeartbeat: Date;
  lost: boolean;
  registeredBy?: string;
}

const bin = (bytes: Uint8Array): Binary => new Binary(Buffer.from(bytes));
const bytes = (b: Binary): Uint8Array => b.value();
const tagKv = (tags: Record<string, string>): string[] => Object.entries(tags).map(([k, v]) => JSON.stringify([k, v]));

function toOutboxDoc(e: StoredJobEvent): OutboxDoc {
  return {
    seq: e.seq,
    attempt: e.attempt,
    workerSeq: e.workerSeq,
    kind: e.kind,
    event: bin(training.JobEvent.encode(e.event).finish()),
    ...(e.publish ? { subject: e.publish.subject, data: bin(e.publish.data) } : {}),
  };
}

function fromOutboxDoc(d: OutboxDoc): StoredJobEvent {
  return {
    seq: d.seq,
    attempt: d.attempt,
    workerSeq: d.workerSeq,
    kind: d.kind,
    event: training.JobEvent.decode(bytes(d.event)),
    ...(d.subject && d.data ? { publish: { subject: d.subject, data: new Uint8Array(bytes(d.data)) } } : {}),
  };
}

function toJobDoc(r: JobRecord): JobDoc {
  const j = r.job;
  const doc: JobDoc = {
    _id: j.jobId,
    rev: r.rev,
    idempotencyKey: j.idempotencyKey,
    requestHash: r.requestHash,
    state: j.state,
    priority: j.priority,
    queuedAt: r.queuedAt,
    datasetDigest: j.datasetDigest,
    experiment: j.experiment,
    tagKv: tagKv(j.tags),
    workerSeq: r.workerSeq,
    outbox: r.outbox.map(toOutboxDoc),
    job: bin(training.Job.encode(j).finish()),
  };
  // Absent, not null: "holds no worker" must not match an occupancy query or index entry.
  if (r.occupies !== undefined) doc.occupies = r.occupies;
  if (r.workerAddress !== undefined) doc.workerAddress = r.workerAddress;
  if (r.dispatch !== undefined) doc.dispatch = { ...r.dispatch };
  if (r.lastCheckpointUri !== undefined) doc.lastCheckpointUri = r.lastCheckpointUri;
  if (r.fence !== undefined) doc.fence = r.fence;
  if (r.deferredTo !== undefined) doc.deferredTo = { ...r.deferredTo };
  if (isTerminal(j.state) && j.updateTime) doc.endedAt = j.updateTime;
  return doc;
}

function fromJobDoc(d: JobDoc): JobRecord {
  const r: JobRecord = {
    job: training.Job.decode(bytes(d.job)),
    rev: d.rev,
    requestHash: d.requestHash,
    queuedAt: d.queuedAt,
    workerSeq: d.workerSeq,
    outbox: (d.outbox ?? []).map(fromOutboxDoc),
  };
  if (d.occupies != null) r.occupies = d.occupies;
  if (d.workerAddress != null) r.workerAddress = d.workerAddress;
  if (d.dispatch != null) r.dispatch = { workerId: d.dispatch.workerId, address: d.dispatch.address, attempt: d.dispatch.attempt, resumeFrom: d.dispatch.resumeFrom };
  if (d.lastCheckpointUri != null) r.lastCheckpointUri = d.lastCheckpointUri;
  if (d.fence != null) r.fence = d.fence;
  if (d.deferredTo?.workerId) r.deferredTo = { workerId: d.deferredTo.workerId, at: new Date(d.deferredTo.at) };
  return r;
}

/** Options of {@link MongoJobRepository}. */
export interface JobRepositoryOptions {
  /**
   * The server (connectMongo's `store`). On FerretDB writes filter on `_id` alone, and jobs that
   * were never dispatched wait in their own collection (`job_queue`, see the class). Default mongodb.
   */
  store?: 'ferretdb' | 'mongodb';
}

/** Sort of the queue: priority descending, then queue time, then id (the `queue` index). */
function queueOrder(a: JobDoc, b: JobDoc): number {
  return b.priority - a.priority || a.queuedAt.getTime() - b.queuedAt.getTime() || (a._id < b._id ? -1 : a._id > b._id ? 1 : 0);
}

/** Deleting moved queue copies: in batches, at most this often (each is one scan of `job_queue`). */
const RETIRE_BATCH = 1_000;
const RETIRE_EVERY_MS = 30_000;

/**
 * Jobs in the `jobs` collection. On FerretDB (`store: 'ferretdb'`) every command but an insert
 * costs a scan of its collection (even `{_id}`: FerretDB's SQLite `_id` index is not used by its
 * own lookups), so a queue of 10,000 jobs would make every write of every running job slow. There
 * a job that was never dispatched (QUEUED, attempt 0, no worker) is stored in `job_queue`, whose
 * documents are never changed in place but for their outbox: its first change — a dispatch, a
 * cancel — moves it to `jobs` by one insert (unique `_id`: one writer wins), and the old copy is
 * deleted later in batches. Reads look in `jobs` first, so a copy not yet deleted is never seen.
 * `jobs` then holds the jobs that run or ran, and the writes of dispatch and of running jobs scan
 * only that.
 */
export class MongoJobRepository implements JobRepository {
  private readonly c: Collection<JobDoc>;
  /** `job_queue` (FerretDB only). */
  private readonly q: Collection<JobDoc> | undefined;
  private readonly idOnly: boolean;
  /** Ids moved from `job_queue` to `jobs` whose queue copy is still to delete. */
  private readonly moved = new Set<string>();
  private retiring: Promise<void> | undefined;
  private lastRetire = 0;

  constructor(db: Db, options: JobRepositoryOptions = {}) {
    this.c = db.collection<JobDoc>('jobs');
    this.idOnly = options.store === 'ferretdb';
    this.q = this.idOnly ? db.collection<JobDoc>('job_queue') : undefined;
  }

  /** rev and fence as stored, read by `_id` (the one lookup FerretDB pushes down). */
  private async stamp(c: Collection<JobDoc>, jobId: string): Promise<{ rev: number; fence?: number } | undefined> {
    const d = await c.findOne({ _id: jobId }, { projection: { rev: 1, fence: 1 } });
    return d ? { rev: d.rev, ...(d.fence != null ? { fence: d.fence } : {}) } : undefined;
  }

  /** Where a new record goes: `job_queue` when it has never been dispatched (FerretDB). */
  private home(r: JobRecord): Collection<JobDoc> {
    const fresh = r.job.state === training.JobState.JOB_STATE_QUEUED && r.job.attempt === 0 && !r.dispatch && r.occupies === undefined;
    return this.q && fresh ? this.q : this.c;
  }

  async insert(record: JobRecord): Promise<void> {
    try {
      await this.home(record).insertOne(toJobDoc(record));
    } catch (err) {
      // The only unique index besides _id (a fresh time-sorted id) is the idempotency key.
      if (isDuplicateKeyError(err)) throw new IdempotencyKeyTakenError(record.job.idempotencyKey);
      throw err;
    }
  }

  /**
   * Stores many new records in one unordered insertMany (bulk seeding of a queue, e.g. the load
   * bench's setup). Unlike create through the ledger it publishes nothing and writes no log:
   * callers store the records' events themselves ({@link MongoJobEventRepository.insertMany}).
   */
  async insertMany(records: readonly JobRecord[]): Promise<void> {
    const queued = records.filter((r) => this.home(r) !== this.c);
    const rest = records.filter((r) => this.home(r) === this.c);
    if (queued.length > 0) await this.q?.insertMany(queued.map(toJobDoc), { ordered: false });
    if (rest.length > 0) await this.c.insertMany(rest.map(toJobDoc), { ordered: false });
  }

  async get(jobId: string): Promise<JobRecord | undefined> {
    const d = (await this.c.findOne({ _id: jobId })) ?? (this.q ? await this.q.findOne({ _id: jobId }) : null);
    return d ? fromJobDoc(d) : undefined;
  }

  async getByIdempotencyKey(key: string): Promise<JobRecord | undefined> {
    const d = (await this.c.findOne({ idempotencyKey: key })) ?? (this.q ? await this.q.findOne({ idempotencyKey: key }) : null);
    return d ? fromJobDoc(d) : undefined;
  }

  async replace(record: JobRecord, expectedRev: number): Promise<boolean> {
    if (this.idOnly) {
      const id = record.job.jobId;
      const stored = await this.stamp(this.c, id);
      if (stored) {
        if (stored.rev !== expectedRev) return false;
        if (record.fence !== undefined && stored.fence !== undefined && stored.fence > record.fence) return false;
        return (await this.c.replaceOne({ _id: id }, toJobDoc(record))).matchedCount === 1;
      }
      // Not in `jobs`: waiting in `job_queue`, whose documents keep their revision; moving one is an
      // insert into `jobs`, which succeeds once.
      const queued = this.q ? await this.stamp(this.q, id) : undefined;
      if (!queued || queued.rev !== expectedRev) return false;
      try {
        await this.c.insertOne(toJobDoc(record));
      } catch (err) {
        if (isDuplicateKeyError(err)) return false;
        throw err;
      }
      this.retire(id);
      return true;
    }
    // A write that carries a fencing token never lands over one written with a larger token.
    const fenced = record.fence === undefined ? {} : { $or: [{ fence: { $exists: false } }, { fence: { $lte: record.fence } }] };
    const res = await this.c.replaceOne({ _id: record.job.jobId, rev: expectedRev, ...fenced }, toJobDoc(record));
    return res.matchedCount === 1;
  }

  /** Queues the deletion of a moved job's `job_queue` copy; deletes a batch now and then. */
  private retire(jobId: string): void {
    this.moved.add(jobId);
    if (this.retiring || !this.q) return;
    if (this.moved.size < RETIRE_BATCH && Date.now() - this.lastRetire < RETIRE_EVERY_MS) return;
    const q = this.q;
    const ids = [...this.moved];
    this.moved.clear();
    this.lastRetire = Date.now();
    this.retiring = q
      .deleteMany({ _id: { $in: ids } })
      .then(() => undefined)
      .catch(() => {
        for (const id of ids) this.moved.add(id); // harmless until deleted: reads prefer `jobs`
      })
      .finally(() => (this.retiring = undefined));
  }

  async removeFromOutbox(record: JobRecord, seqs: readonly number[]): Promise<void> {
    // The remaining entries are written whole (FerretDB v1 ignores $pull with a condition such as
    // { seq: { $in } }, silently), compare-and-set on rev.
    const keep = record.outbox.filter((e) => !seqs.includes(e.seq));
    if (keep.length === record.outbox.length) return;
    if (this.idOnly) {
      const id = record.job.jobId;
      const inJobs = await this.stamp(this.c, id);
      const where = inJobs ? this.c : this.q;
      const stored = inJobs ?? (this.q ? await this.stamp(this.q, id) : undefined);
      if (!where || stored?.rev !== record.rev) return;
      await where.updateOne({ _id: id }, { $set: { outbox: keep.map(toOutboxDoc) } });
      return;
    }
    await this.c.updateOne({ _id: record.job.jobId, rev: record.rev }, { $set: { outbox: keep.map(toOutboxDoc) } });
  }

  /** Documents of `job_queue` matching `filter` that were not moved to `jobs` (moved copies not yet deleted are dropped). */
  private async queued(filter: Filter<JobDoc>, sort?: Record<string, 1 | -1>, limit?: number): Promise<JobDoc[]> {
    if (!this.q) return [];
    let cursor = this.q.find(filter);
    if (sort) cursor = cursor.sort(sort);
    if (limit !== undefined) cursor = cursor.limit(limit);
    const docs = (await cursor.toArray()).filter((d) => !this.moved.has(d._id));
    if (docs.length === 0) return docs;
    // Copies left by a process that stopped before deleting them (their job is in `jobs`).
    // (One pass over `jobs` either way on FerretDB; a large `$in` would be compared document by document.)
    const ids = new Set(docs.map((d) => d._id));
    const inJobs = (await this.c.find({}, { projection: { _id: 1 } }).toArray()).map((d) => d._id).filter((id) => ids.has(id));
    for (const id of inJobs) this.retire(id);
    const stale = new Set(inJobs);
    return docs.filter((d) => !stale.has(d._id));
  }

  async withPendingOutbox(): Promise<JobRecord[]> {
    const filter = { 'outbox.0': { $exists: true } };
    const docs = [...(await this.c.find(filter).toArray()), ...(await this.queued(filter))];
    return docs.map(fromJobDoc);
  }

  async findInStates(states: readonly training.JobState[], page?: { limit: number; skip?: number }): Promise<JobRecord[]> {
    const filter = { state: { $in: [...states] } };
    const sort = { priority: -1, queuedAt: 1, _id: 1 } as const;
    if (this.q) {
      const want = page ? (page.skip ?? 0) + Math.max(1, page.limit) : undefined;
      const docs = [...(await this.c.find(filter).sort(sort).limit(want ?? 0).toArray()), ...(await this.queued(filter, sort, want))].sort(queueOrder);
      const from = page?.skip ?? 0;
      return docs.slice(from, want ?? docs.length).map(fromJobDoc);
    }
    let cursor = this.c.find(filter).sort(sort);
    if (page?.skip) cursor = cursor.skip(page.skip);
    if (page) cursor = cursor.limit(Math.max(1, page.limit));
    const docs = await cursor.toArray();
    return docs.map(fromJobDoc);
  }

  async findOccupying(workerIds: readonly string[]): Promise<JobRecord[]> {
    if (workerIds.length === 0) return [];
    // Never a `job_queue` document: those hold no worker.
    const docs = await this.c.find({ occupies: { $in: [...workerIds] } }).toArray();
    return docs.map(fromJobDoc);
  }

  async list(q: JobQuery): Promise<JobRecord[]> {
    const and: Filter<JobDoc>[] = [];
    if (q.states?.length) and.push({ state: { $in: [...q.states] } });
    if (q.datasetDigest) and.push({ datasetDigest: q.datasetDigest });
    if (q.experiment) and.push({ experiment: q.experiment });
    for (const kv of tagKv({ ...q.tags })) and.push({ tagKv: kv });
    if (q.beforeJobId) and.push({ _id: { $lt: q.beforeJobId } });
    const filter = and.length ? { $and: and } : {};
    const docs = await this.c.find(filter).sort({ _id: -1 }).limit(q.limit).toArray();
    if (this.q) {
      docs.push(...(await this.queued(filter, { _id: -1 }, q.limit)));
      docs.sort((a, b) => (a._id < b._id ? 1 : a._id > b._id ? -1 : 0));
      docs.length = Math.min(docs.length, q.limit);
    }
    return docs.map(fromJobDoc);
  }
}

const eventId = (jobId: string, seq: number): string => `${jobId}/${String(seq).padStart(12, '0')}`;

/** The event log in `job_events`. */
export class MongoJobEventRepository implements JobEventRepository {
  private readonly c: Collection<EventDoc>;
  constructor(db: Db) {
    this.c = db.collection<EventDoc>('job_events');
  }

  async insert(jobId: string, e: StoredJobEvent): Promise<boolean> {
    try {
      await this.c.insertOne(toEventDoc(jobId, e));
      return true;
    } catch (err) {
      if (isDuplicateKeyError(err)) return false;
      throw err;
    }
  }

  async insertAll(jobId: string, events: readonly StoredJobEvent[]): Promise<void> {
    if (events.length === 0) return;
    try {
      // Unordered: a repeat (an earlier flush that crashed before clearing the outbox) does not stop the others.
      await this.c.insertMany(events.map((e) => toEventDoc(jobId, e)), { ordered: false });
    } catch (err) {
      if (!isDuplicateKeyError(err)) throw err;
    }
  }

  /** The events of many jobs in one unordered insertMany (bulk seeding; see MongoJobRepository.insertMany). */
  async insertMany(entries: ReadonlyArray<{ jobId: string; event: StoredJobEvent }>): Promise<void> {
    if (entries.length > 0) await this.c.insertMany(entries.map((e) => toEventDoc(e.jobId, e.event)), { ordered: false });
  }

  async listFrom(jobId: string, fromSeq: number, limit: number): Promise<StoredJobEvent[]> {
    const docs = await this.c
      .find({ jobId, seq: { $gte: fromSeq } })
      .sort({ seq: 1 })
      .limit(limit)
      .toArray();
    return docs.map(fromEventDoc);
  }

  async listKind(jobId: string, kind: JobEventKind): Promise<StoredJobEvent[]> {
    const docs = await this.c.find({ jobId, kind }).sort({ seq: 1 }).toArray();
    return docs.map(fromEventDoc);
  }
}

function toEventDoc(jobId: string, e: StoredJobEvent): EventDoc {
  const doc: EventDoc = {
    _id: eventId(jobId, e.seq),
    jobId,
    seq: e.seq,
    attempt: e.attempt,
    workerSeq: e.workerSeq,
    kind: e.kind,
    event: bin(training.JobEvent.encode(e.event).finish()),
  };
  if (e.workerSeq > 0) doc.workerKey = `${jobId}/${e.attempt}/${e.workerSeq}`;
  return doc;
}

function fromEventDoc(d: EventDoc): StoredJobEvent {
  return { seq: d.seq, attempt: d.attempt, workerSeq: d.workerSeq, kind: d.kind, event: training.JobEvent.decode(bytes(d.event)) };
}

/** Log retention (core/retention.ts): ended jobs by end time, event deletion, a watermark per stage in `retention`. */
export class MongoRetentionStore implements RetentionStore {
  private readonly jobs: Collection<JobDoc>;
  private readonly events: Collection<EventDoc>;
  private readonly marks: Collection<{ _id: string; at: Date }>;
  constructor(db: Db) {
    this.jobs = db.collection<JobDoc>('jobs');
    this.events = db.collection<EventDoc>('job_events');
    this.marks = db.collection<{ _id: string; at: Date }>('retention');
  }

  async endedBetween(from: Date, to: Date, limit: number): Promise<Array<{ jobId: string; endedAt: Date }>> {
    const docs = await this.jobs
      .find({ endedAt: { $gte: from, $lt: to } }, { projection: { _id: 1, endedAt: 1 } })
      .sort({ endedAt: 1 })
      .limit(limit)
      .toArray();
    return docs.map((d) => ({ jobId: d._id, endedAt: d.endedAt! }));
  }

  async deleteEvents(jobIds: readonly string[], kinds?: readonly JobEventKind[]): Promise<number> {
    if (jobIds.length === 0) return 0;
    const filter: Filter<EventDoc> = { jobId: { $in: [...jobIds] }, ...(kinds ? { kind: { $in: [...kinds] } } : {}) };
    return (await this.events.deleteMany(filter)).deletedCount;
  }

  async watermark(stage: RetentionStage): Promise<Date> {
    return (await this.marks.findOne({ _id: stage }))?.at ?? new Date(0);
  }

  async setWatermark(stage: RetentionStage, at: Date): Promise<void> {
    await this.marks.replaceOne({ _id: stage }, { at }, { upsert: true });
  }
}

/** Registered workers in `workers`. */
export class MongoWorkerRepository implements WorkerRepository {
  private readonly c: Collection<WorkerDoc>;
  private readonly idOnly: boolean;
  /** `store: 'ferretdb'`: the heartbeat's write filters on `_id` alone (see MongoJobRepository). */
  constructor(db: Db, options: { store?: 'ferretdb' | 'mongodb' } = {}) {
    this.c = db.collection<WorkerDoc>('workers');
    this.idOnly = options.store === 'ferretdb';
  }

  async upsert(r: WorkerRecord): Promise<void> {
    await this.c.replaceOne({ _id: r.workerId }, toWorkerDoc(r), { upsert: true });
  }

  async get(workerId: string): Promise<WorkerRecord | undefined> {
    const d = await this.c.findOne({ _id: workerId });
    return d ? fromWorkerDoc(d) : undefined;
  }

  async heartbeat(workerId: string, info: trainer.WorkerInfo, at: Date): Promise<boolean> {
    if (this.idOnly) {
      // Two lookups FerretDB pushes down instead of one `{_id, lost}` filter it decodes every
      // registration for. A worker declared lost in between gets this beat's time and stays lost.
      const w = await this.c.findOne({ _id: workerId }, { projection: { lost: 1 } });
      if (!w || w.lost) return false;
      return (await this.c.updateOne({ _id: workerId }, { $set: { info: bin(trainer.WorkerInfo.encode(info).finish()), lastHeartbeat: at } })).matchedCount === 1;
    }
    const res = await this.c.updateOne({ _id: workerId, lost: false }, { $set: { info: bin(trainer.WorkerInfo.encode(info).finish()), lastHeartbeat: at } });
    return res.matchedCount === 1;
  }

  async markLost(workerId: string, lastHeartbeat: Date): Promise<boolean> {
    const res = await this.c.updateOne({ _id: workerId, lost: false, lastHeartbeat }, { $set: { lost: true } });
    return res.modifiedCount === 1;
  }

  async list(includeLost: boolean): Promise<WorkerRecord[]> {
    const docs = await this.c
      .find(includeLost ? {} : { lost: false })
      .sort({ _id: 1 })
      .toArray();
    return docs.map(fromWorkerDoc);
  }
}

function toWorkerDoc(r: WorkerRecord): WorkerDoc {
  return {
    _id: r.workerId,
    info: bin(trainer.WorkerInfo.encode(r.info).finish()),
    registeredAt: r.registeredAt,
    lastHeartbeat: r.lastHeartbeat,
    lost: r.lost,
    ...(r.registeredBy !== undefined ? { registeredBy: r.registeredBy } : {}),
  };
}

function fromWorkerDoc(d: WorkerDoc): WorkerRecord {
  return {
    workerId: d._id,
    info: trainer.WorkerInfo.decode(bytes(d.info)),
    registeredAt: d.registeredAt,
    lastHeartbeat: d.lastHeartbeat,
    lost: d.lost,
    ...(d.registeredBy !== undefined ? { registeredBy: d.registeredBy } : {}),
  };
}
