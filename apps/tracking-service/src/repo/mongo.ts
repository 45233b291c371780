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
 * - `metric_inbox` and `metrics.<run id>`: the metric log (metric-log.ts).
 */
import type { Collection, Db } from 'mongodb';
import { isDuplicateKeyError, type IndexPlan } from '@medtune/kit';
import type { tracking } from '@medtune/contracts';
import type { DirtyMarks } from '../core/metrics/writer';
import type { ExperimentRepo, RunRepo } from '../core/ports';
import type { ExperimentRecord, MetricSummaryRecord, RunOutboxEntry, RunRecord } from '../core/records';

/** Indexes of the service's database (kept few: FerretDB maintains them on every write but never reads with them). */
export const TRACKING_INDEXES: IndexPlan = {
  runs: [{ key: { experiment: 1, status: 1 }, name: 'experiment_status' }],
};

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
