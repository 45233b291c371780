/**
 * MongoDB repositories of the tracking service (FerretDB v1 / SQLite by default).
 *
 * Layout, shaped by FerretDB v1 (tools/infra/README.md): every query reads its whole collection,
 * updates are read-then-write, inserts against a unique index are the only atomic check.
 *
 * - `runs` {_id: run id, ...}: params, tags and summaries as arrays of entries (keys like
 *   "lora.r" cannot be field names there). Written whole by the core under its run lock.
 * - `experiments` {_id: name, description, createTime}.
 * - `metric_dirty` {_id: run id, at}: runs whose summaries may trail their metric log.
 * - `metrics.<run id>`, one collection per run: its metric log, one document per chunk,
 *   {_id: seq zero-padded to 10 digits, at, s: [{k, n, st, v, t}]} where st / v / t are the
 *   steps, values and times (ms) of key k as packed little-endian float64 (BSON binary). The _id's
 *   unique index is the compare-and-set of appends (see core/metrics/types.ts), and a history read
 *   touches only that run's data — a shared collection would be read whole for every history
 *   query. Packed arrays, not BSON arrays: FerretDB stores a type per array element; packing
 *   made writes 1.4-3x and history reads ~3x faster (bench/tracking/README.md).
 */
import { endianness } from 'node:os';
import { Binary, MongoBulkWriteError, type Collection, type Db } from 'mongodb';
import { isDuplicateKeyError, type IndexPlan } from '@medtune/kit';
import type { tracking } from '@medtune/contracts';
import type { MetricChunk, MetricLogStore } from '../core/metrics/types';
import type { DirtyMarks } from '../core/metrics/writer';
import type { ExperimentRepo, RunRepo } from '../core/ports';
import type { ExperimentRecord, MetricSummaryRecord, RunOutboxEntry, RunRecord } from '../core/records';

/** Indexes of the service's database (kept few: FerretDB maintains them on every write but never reads with them). */
export const TRACKING_INDEXES: IndexPlan = {
  runs: [{ key: { experiment: 1, status: 1 }, name: 'experiment_status' }],
};

/** Collection of a run's metric log. */
export function metricLogCollection(runId: string): string {
  return `metrics.${runId}`;
}

interface Entry {
  k: string;
  v: string;
}

interface RunDoc {
  _id: string;
  experiment: string;
  name: string;
  kind: number;
  status: number;
  params: Entry[];
  tags: Entry[];
  parentRunId: string;
  sourceId: string;
  createTime: Date;
  startTime: Date | null;
  endTime: Date | null;
  lastHeartbeatTime: Date | null;
  heartbeatArmed: boolean;
  sourceSeq: number;
  statusChanges: number;
  metrics: MetricSummaryRecord[];
  metricsSeq: number;
  outbox: { id: string; kind: RunOutboxEntry['kind']; status: number; previousStatus: number; time: Date }[];
  createRequestHash: string;
  updateTime: Date;
}

const toEntries = (m: Record<string, string>): Entry[] => Object.entries(m).map(([k, v]) => ({ k, v }));
const fromEntries = (e: Entry[] | undefined): Record<string, string> => Object.fromEntries((e ?? []).map(({ k, v }) => [k, v]));

function toDoc(r: RunRecord): RunDoc {
  return {
    _id: r.runId,
    experiment: r.experiment,
    name: r.name,
    kind: r.kind,
    status: r.status,
    params: toEntries(r.params),
    tags: toEntries(r.tags),
    parentRunId: r.parentRunId,
    sourceId: r.sourceId,
    createTime: r.createTime,
    startTime: r.startTime ?? null,
    endTime: r.endTime ?? null,
    lastHeartbeatTime: r.lastHeartbeatTime ?? null,
    heartbeatArmed: r.heartbeatArmed,
    sourceSeq: r.sourceSeq,
    statusChanges: r.statusChanges,
    metrics: r.metrics.map((m) => ({ key: m.key, last: m.last, min: m.min, max: m.max, lastStep: m.lastStep, count: m.count })),
    metricsSeq: r.metricsSeq,
    outbox: r.outbox.map((e) => ({ ...e })),
    createRequestHash: r.createRequestHash,
    updateTime: r.updateTime,
  };
}

function fromDoc(d: RunDoc): RunRecord {
  return {
    runId: d._id,
    experiment: d.experiment,
    name: d.name,
    kind: d.kind as tracking.RunKind,
    status: d.status as tracking.RunStatus,
    params: fromEntries(d.params),
    tags: fromEntries(d.tags),
    parentRunId: d.parentRunId,
    sourceId: d.sourceId,
    createTime: d.createTime,
    startTime: d.startTime ?? undefined,
    endTime: d.endTime ?? undefined,
    lastHeartbeatTime: d.lastHeartbeatTime ?? undefined,
    heartbeatArmed: d.heartbeatArmed,
    sourceSeq: d.sourceSeq,
    statusChanges: d.statusChanges,
    metrics: d.metrics ?? [],
    metricsSeq: d.metricsSeq ?? 0,
    outbox: (d.outbox ?? []).map((e) => ({ ...e, status: e.status as tracking.RunStatus, previousStatus: e.previousStatus as tracking.RunStatus })),
    createRequestHash: d.createRequestHash ?? '',
    updateTime: d.updateTime,
  };
}

/** Runs in `runs`. */
export class MongoRunRepo implements RunRepo {
  private readonly col: Collection<RunDoc>;
  constructor(db: Db) {
    this.col = db.collection<RunDoc>('runs');
  }
  async get(runId: string): Promise<RunRecord | undefined> {
    const d = await this.col.findOne({ _id: runId });
    return d ? fromDoc(d) : undefined;
  }
  async insert(run: RunRecord): Promise<boolean> {
    try {
      await this.col.insertOne(toDoc(run));
      return true;
    } catch (err) {
      if (isDuplicateKeyError(err)) return false;
      throw err;
    }
  }
  async save(run: RunRecord): Promise<void> {
    await this.col.replaceOne({ _id: run.runId }, toDoc(run), { upsert: true });
  }
  async list(filter: { experiments?: readonly string[]; statuses?: readonly tracking.RunStatus[] } = {}): Promise<RunRecord[]> {
    const q: Record<string, unknown> = {};
    if (filter.experiments?.length) q['experiment'] = { $in: [...filter.experiments] };
    if (filter.statuses?.length) q['status'] = { $in: [...filter.statuses] };
    return (await this.col.find(q).toArray()).map(fromDoc);
  }
  async withOutbox(): Promise<RunRecord[]> {
    return (await this.col.find({ 'outbox.0': { $exists: true } }).toArray()).map(fromDoc);
  }
  async countByExperiment(): Promise<Map<string, number>> {
    // One accumulator per $group (FerretDB v1 computes only the first).
    const rows = await this.col.aggregate<{ _id: string; n: number }>([{ $group: { _id: '$experiment', n: { $sum: 1 } } }]).toArray();
    return new Map(rows.map((r) => [r._id, r.n]));
  }
}

interface ExperimentDoc {
  _id: string;
  description: string;
  createTime: Date;
}

/** Experiments in `experiments`. */
export class MongoExperimentRepo implements ExperimentRepo {
  private readonly col: Collection<ExperimentDoc>;
  constructor(db: Db) {
    this.col = db.collection<ExperimentDoc>('experiments');
  }
  async get(name: string): Promise<ExperimentRecord | undefined> {
    const d = await this.col.findOne({ _id: name });
    return d ? { name: d._id, description: d.description, createTime: d.createTime } : undefined;
  }
  async ensure(e: ExperimentRecord): Promise<{ experiment: ExperimentRecord; created: boolean }> {
    const found = await this.get(e.name);
    if (found) return { experiment: found, created: false };
    try {
      await this.col.insertOne({ _id: e.name, description: e.description, createTime: e.createTime });
      return { experiment: e, created: true };
    } catch (err) {
      if (!isDuplicateKeyError(err)) throw err;
      return { experiment: (await this.get(e.name))!, created: false };
    }
  }
  async list(afterName: string | undefined, limit: number): Promise<ExperimentRecord[]> {
    const q = afterName === undefined ? {} : { _id: { $gt: afterName } };
    const docs = await this.col.find(q).sort({ _id: 1 }).limit(limit).toArray();
    return docs.map((d) => ({ name: d._id, description: d.description, createTime: d.createTime }));
  }
}

/** Dirty marks in `metric_dirty`. */
export class MongoDirtyMarks implements DirtyMarks {
  private readonly col: Collection<{ _id: string; at: Date }>;
  constructor(db: Db) {
    this.col = db.collection('metric_dirty');
  }
  async mark(runIds: readonly string[]): Promise<void> {
    try {
      await this.col.insertMany(
        runIds.map((r) => ({ _id: r, at: new Date() })),
        { ordered: false },
      );
    } catch (err) {
      if (!isDuplicateKeyError(err)) throw err; // marked before: fine
    }
  }
  async clear(runId: string): Promise<void> {
    await this.col.deleteOne({ _id: runId });
  }
  async list(): Promise<string[]> {
    return (await this.col.find({}).toArray()).map((d) => d._id);
  }
}

/** A chunk as stored. */
export interface ChunkDoc {
  _id: string;
  at: number;
  s: { k: string; n: number; st: Binary; v: Binary; t: Binary }[];
}

const SEQ_DIGITS = 10;
const seqId = (seq: number): string => String(seq).padStart(SEQ_DIGITS, '0');

// Float64Array is in the platform's byte order; every platform Node runs medtune on is little-endian.
if (endianness() !== 'LE') throw new Error('the metric log encoding assumes a little-endian platform');

function pack(values: readonly number[]): Binary {
  return new Binary(Buffer.from(Float64Array.from(values).buffer));
}

function unpack(b: Binary, n: number, field: string): number[] {
  const bytes = b.buffer;
  if (bytes.byteLength !== n * 8) throw new Error(`metric chunk: ${field} holds ${bytes.byteLength} bytes, ${n * 8} expected`);
  // Copy: the bytes may not be 8-byte aligned inside the driver's buffer.
  return Array.from(new Float64Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength)));
}

/** The stored form of a chunk. */
export function encodeChunk(c: MetricChunk): ChunkDoc {
  return { _id: seqId(c.seq), at: c.storedAt, s: c.series.map((s) => ({ k: s.key, n: s.steps.length, st: pack(s.steps), v: pack(s.values), t: pack(s.times) })) };
}

/** A chunk from its stored form. */
export function decodeChunk(runId: string, d: ChunkDoc): MetricChunk {
  return {
    runId,
    seq: Number(d._id),
    storedAt: d.at,
    series: d.s.map((s) => ({ key: s.k, steps: unpack(s.st, s.n, 'st'), values: unpack(s.v, s.n, 'v'), times: unpack(s.t, s.n, 't') })),
  };
}

/**
 * Metric logs, one collection per run. `read` may use another connection than `append` (a long
 * history read then does not hold up ingestion on the writer's single connection).
 */
export class MongoMetricLog implements MetricLogStore {
  constructor(
    private readonly writeDb: Db,
    private readonly readDb: Db = writeDb,
  ) {}

  async read(runId: string, afterSeq = -1): Promise<MetricChunk[]> {
    const q = afterSeq >= 0 ? { _id: { $gt: seqId(afterSeq) } } : {};
    const docs = await this.readDb.collection<ChunkDoc>(metricLogCollection(runId)).find(q).toArray();
    docs.sort((a, b) => (a._id < b._id ? -1 : 1));
    return docs.map((d) => decodeChunk(runId, d));
  }

  async lastSeq(runId: string): Promise<number> {
    const docs = await this.readDb
      .collection<ChunkDoc>(metricLogCollection(runId))
      .find({}, { projection: { _id: 1 } })
      .toArray();
    let max = -1;
    for (const d of docs) max = Math.max(max, Number(d._id));
    return max;
  }

  async append(chunks: readonly MetricChunk[]): Promise<{ conflicts: readonly MetricChunk[] }> {
    const byRun = new Map<string, MetricChunk[]>();
    for (const c of chunks) {
      const list = byRun.get(c.runId);
      if (list) list.push(c);
      else byRun.set(c.runId, [c]);
    }
    const conflicts: MetricChunk[] = [];
    for (const [runId, list] of byRun) {
      const docs = list.map(encodeChunk);
      try {
        await this.writeDb.collection<ChunkDoc>(metricLogCollection(runId)).insertMany(docs, { ordered: false });
      } catch (err) {
        if (!(err instanceof MongoBulkWriteError) || !isDuplicateKeyError(err)) throw err;
        const failed = Array.isArray(err.writeErrors) ? err.writeErrors : [err.writeErrors];
        for (const w of failed) conflicts.push(list[w.index]!);
      }
    }
    return { conflicts };
  }
}
