/**
 * MongoDB repositories of the dataset service, shaped for FerretDB v1 (tools/infra/README.md):
 * no transactions, and only `{ _id }` lookups are served by an index — every other filter reads
 * the whole collection. So each version's rows live in a collection of their own
 * (`rows_<record id>`, `_id` = row index: reading a version reads only its rows, deleting one is a
 * drop), each report's issues likewise (`issues_<report id>`), and the small collections
 * (versions, reports, templates, job_usage) are looked up by `_id` where it matters. Protobuf
 * messages are stored encoded (Binary), which keeps map keys such as labels out of BSON keys.
 */
import { Binary, type Collection, type Db, type Document } from 'mongodb';
import { isDuplicateKeyError, type IndexPlan } from '@medtune/kit';
import { dataset, type common } from '@medtune/contracts';
import type { Issue, IssueCode } from '../core/issues';
import type { RecordState, ReportRepo, ReportSummary, RowRepo, SplitIndex, StoredRow, TemplateRepo, UsageRepo, VersionRecord, VersionRepo } from '../core/ports';

/** Indexes of the fixed collections (per-version and per-report collections need none beyond _id). */
export const INDEXES: IndexPlan = {
  versions: [{ key: { digest: 1 }, unique: true, name: 'digest_unique' }],
  reports: [{ key: { createTime: 1 }, name: 'create_time' }],
  templates: [{ key: { language: 1 }, name: 'language' }],
  job_usage: [{ key: { digest: 1 }, name: 'digest' }],
};

interface VersionDoc {
  _id: string;
  /** The public digest once READY; `importing:<id>` / `deleting:<id>` otherwise (unique index). */
  digest: string;
  state: RecordState;
  datasetName: string;
  /** Further names of a READY version (imports of the same content under another name). */
  names?: string[];
  createTime: Date;
  importKey: string;
  reportId: string;
  heartbeatAt: Date;
  announced: boolean;
  version: Binary;
  splitIndex: SplitIndex;
}

function toRecord(d: VersionDoc): VersionRecord {
  return {
    id: d._id,
    state: d.state,
    version: { ...dataset.DatasetVersion.decode(d.version.buffer), otherNames: d.names ?? [] },
    importKey: d.importKey,
    splitIndex: d.splitIndex,
    reportId: d.reportId,
    heartbeatAt: d.heartbeatAt,
  };
}

const bin = (bytes: Uint8Array): Binary => new Binary(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));

/** A version listed under `name`: its first name or one added later. */
const named = (name: string): Document => ({ $or: [{ datasetName: name }, { names: name }] });

/**
 * FerretDB v1 on SQLite answers a unique-index violation of an update with InternalError (code 1)
 * and SQLite's message instead of 11000 (an insert gets 11000).
 */
function isSqliteUniqueError(err: unknown): boolean {
  return err instanceof Error && /UNIQUE constraint failed: index '[^']*_digest_unique'/.test(err.message);
}

/** Versions in `versions`. */
export class MongoVersionRepo implements VersionRepo {
  private readonly col: Collection<VersionDoc>;
  constructor(db: Db) {
    this.col = db.collection<VersionDoc>('versions');
  }

  async createImporting(r: VersionRecord): Promise<void> {
    await this.col.insertOne({
      _id: r.id,
      digest: `importing:${r.id}`,
      state: 'importing',
      datasetName: r.version.datasetName,
      createTime: r.heartbeatAt,
      importKey: r.importKey,
      reportId: r.reportId,
      heartbeatAt: r.heartbeatAt,
      announced: false,
      version: bin(dataset.DatasetVersion.encode(r.version).finish()),
      splitIndex: r.splitIndex,
    });
  }

  async heartbeat(id: string, at: Date): Promise<void> {
    await this.col.updateOne({ _id: id }, { $set: { heartbeatAt: at } });
  }

  async markReady(id: string, version: dataset.DatasetVersion, splitIndex: SplitIndex, importKey: string): Promise<'ok' | 'duplicate'> {
    try {
      const res = await this.col.updateOne(
        { _id: id, state: 'importing' },
        {
          $set: {
            digest: version.digest,
            state: 'ready',
            createTime: version.createTime!,
            importKey,
            version: bin(dataset.DatasetVersion.encode(version).finish()),
            splitIndex,
            announced: false,
          },
        },
      );
      if (res.matchedCount !== 1) throw new Error(`version record ${id} is no longer IMPORTING`);
      return 'ok';
    } catch (err) {
      if (isDuplicateKeyError(err) || isSqliteUniqueError(err)) return 'duplicate';
      throw err;
    }
  }

  async addName(id: string, name: string): Promise<boolean> {
    const res = await this.col.updateOne({ _id: id, state: 'ready', datasetName: { $ne: name }, names: { $ne: name } }, { $push: { names: name } });
    return res.modifiedCount === 1;
  }

  async findUnannounced(limit: number): Promise<VersionRecord[]> {
    return (await this.col.find({ state: 'ready', announced: false }).limit(limit).toArray()).map(toRecord);
  }

  async markAnnounced(id: string): Promise<void> {
    await this.col.updateOne({ _id: id }, { $set: { announced: true } });
  }

  async findReady(prefix: string, limit: number): Promise<VersionRecord[]> {
    const filter = prefix.length === 64 ? { digest: prefix, state: 'ready' as const } : { digest: { $gte: prefix, $lt: `${prefix}~` }, state: 'ready' as const };
    return (await this.col.find(filter).limit(limit).toArray()).map(toRecord);
  }

  async findReadyByImportKey(importKey: string): Promise<VersionRecord | undefined> {
    const d = await this.col.findOne({ importKey, state: 'ready' });
    return d ? toRecord(d) : undefined;
  }

  async listReady(filter: { datasetName?: string; after?: { time: Date; id: string } }, limit: number): Promise<VersionRecord[]> {
    const q: Document = { state: 'ready' };
    if (filter.datasetName) q.$and = [named(filter.datasetName)];
    if (filter.after) q.$or = [{ createTime: { $lt: filter.after.time } }, { createTime: filter.after.time, _id: { $lt: filter.after.id } }];
    return (await this.col.find(q).sort({ createTime: -1, _id: -1 }).limit(limit).toArray()).map(toRecord);
  }

  async datasetNames(after: string | undefined, limit: number): Promise<string[]> {
    const first = (await this.col.distinct('datasetName', { state: 'ready' })) as string[];
    const more = (await this.col.distinct('names', { state: 'ready' })) as string[];
    return [...new Set([...first, ...more])]
      .filter((n) => after === undefined || n > after)
      .sort()
      .slice(0, limit);
  }

  async byDataset(name: string): Promise<VersionRecord[]> {
    return (await this.col.find({ state: 'ready', ...named(name) }).sort({ createTime: -1, _id: -1 }).toArray()).map(toRecord);
  }

  async markDeleting(id: string, at: Date): Promise<boolean> {
    const res = await this.col.updateOne({ _id: id, state: 'ready' }, { $set: { state: 'deleting', digest: `deleting:${id}`, heartbeatAt: at } });
    return res.modifiedCount === 1;
  }

  async remove(id: string): Promise<void> {
    await this.col.deleteOne({ _id: id });
  }

  async findAbandoned(before: Date): Promise<VersionRecord[]> {
    return (await this.col.find({ state: { $in: ['importing', 'deleting'] }, heartbeatAt: { $lt: before } }).toArray()).map(toRecord);
  }
}

interface RowDoc {
  _id: number;
  q: string;
  c: string;
  r: string;
  m?: string;
  t: number;
  s: number;
  k: number;
}

/** Rows in one collection per version record. */
export class MongoRowRepo implements RowRepo {
  constructor(private readonly db: Db) {}

  private col(versionId: string): Collection<RowDoc> {
    return this.db.collection<RowDoc>(`rows_${versionId}`);
  }

  async insert(versionId: string, rows: readonly StoredRow[]): Promise<void> {
    if (rows.length === 0) return;
    const docs: RowDoc[] = rows.map((r) => {
      const d: RowDoc = { _id: r.index, q: r.question, c: r.cot, r: r.response, t: r.tokenCount, s: r.sourceRow, k: r.splitKey };
      if (r.metadataJson) d.m = r.metadataJson;
      return d;
    });
    await this.col(versionId).insertMany(docs, { ordered: true });
  }

  /**
   * Reads in natural order, which FerretDB streams (a sorted query is materialised first), and
   * checks that the indexes come contiguously; if they ever do not, it goes on with a sorted query
   * from the next expected index.
   */
  async *read(versionId: string, fromIndex: number, signal?: AbortSignal): AsyncGenerator<StoredRow> {
    let next = fromIndex;
    let sorted = false;
    for (;;) {
      const cursor = this.col(versionId).find(next > 0 ? { _id: { $gte: next } } : {}, { batchSize: 256 });
      if (sorted) cursor.sort({ _id: 1 });
      let broken = false;
      try {
        for await (const d of cursor) {
          if (signal?.aborted) return;
          if (d._id !== next) {
            if (sorted) throw new Error(`rows of ${versionId}: expected index ${next}, found ${d._id}`);
            broken = true;
            break;
          }
          next++;
          yield { index: d._id, question: d.q, cot: d.c, response: d.r, metadataJson: d.m ?? '', tokenCount: d.t, sourceRow: d.s, splitKey: d.k };
        }
      } finally {
        await cursor.close();
      }
      if (!broken) return;
      sorted = true;
    }
  }

  async removeAll(versionId: string): Promise<void> {
    await dropIfExists(this.col(versionId));
  }
}

async function dropIfExists(col: Collection<never> | Collection<RowDoc> | Collection<IssueDoc>): Promise<void> {
  try {
    await col.drop();
  } catch (err) {
    // 26 NamespaceNotFound: nothing was written (or it was dropped already)
    if ((err as { code?: unknown }).code !== 26 && !/ns not found|does not exist/i.test((err as Error).message)) throw err;
  }
}

interface ReportDoc {
  _id: string;
  datasetName: string;
  sourceName: string;
  versionId: string;
  createTime: Date;
  finished: boolean;
  summary?: Binary;
}

interface IssueDoc {
  _id: number;
  row: number;
  column: string;
  code: IssueCode;
  message: string;
  fatal: boolean;
  dup?: number;
}

function encodeSummary(s: ReportSummary): Binary {
  return bin(dataset.ValidationSummary.encode({ reportId: '', ...s }).finish());
}

function decodeSummary(b: Binary): ReportSummary {
  const { reportId: _, ...rest } = dataset.ValidationSummary.decode(b.buffer);
  return rest;
}

/** Reports in `reports`, their issues in one collection per report. */
export class MongoReportRepo implements ReportRepo {
  private readonly col: Collection<ReportDoc>;
  constructor(private readonly db: Db) {
    this.col = db.collection<ReportDoc>('reports');
  }

  private issuesOf(reportId: string): Collection<IssueDoc> {
    return this.db.collection<IssueDoc>(`issues_${reportId}`);
  }

  async create(reportId: string, meta: { datasetName: string; sourceName: string; versionId: string; createTime: Date }): Promise<void> {
    await this.col.insertOne({ _id: reportId, ...meta, finished: false });
  }

  async addIssues(reportId: string, issues: readonly Issue[], firstSeq: number): Promise<void> {
    if (issues.length === 0) return;
    const docs = issues.map((i, n): IssueDoc => {
      const d: IssueDoc = { _id: firstSeq + n, row: i.row, column: i.column, code: i.code, message: i.message, fatal: i.fatal };
      if (i.duplicateOfRow !== undefined) d.dup = i.duplicateOfRow;
      return d;
    });
    await this.issuesOf(reportId).insertMany(docs, { ordered: true });
  }

  async finish(reportId: string, summary: ReportSummary): Promise<void> {
    await this.col.updateOne({ _id: reportId }, { $set: { finished: true, summary: encodeSummary(summary) } });
  }

  async get(reportId: string): Promise<{ summary: ReportSummary; finished: boolean } | undefined> {
    const d = await this.col.findOne({ _id: reportId });
    if (!d) return undefined;
    const summary = d.summary
      ? decodeSummary(d.summary)
      : dataset.ValidationSummary.fromPartial({ rejected: false, rejectionReason: 'the import is still running' });
    return { summary, finished: d.finished };
  }

  async issues(reportId: string, fatalOnly: boolean, after: { row: number; seq: number } | undefined, limit: number): Promise<(Issue & { seq: number })[]> {
    const q: Document = {};
    if (fatalOnly) q.fatal = true;
    if (after) q.$or = [{ row: { $gt: after.row } }, { row: after.row, _id: { $gt: after.seq } }];
    const docs = await this.issuesOf(reportId).find(q).sort({ row: 1, _id: 1 }).limit(limit).toArray();
    return docs.map((d) => ({
      seq: d._id,
      row: d.row,
      column: d.column,
      code: d.code,
      message: d.message,
      fatal: d.fatal,
      ...(d.dup !== undefined ? { duplicateOfRow: d.dup } : {}),
    }));
  }

  async abandon(reportId: string, reason: string): Promise<void> {
    const d = await this.col.findOne({ _id: reportId });
    if (!d) return;
    const summary = d.summary ? decodeSummary(d.summary) : dataset.ValidationSummary.fromPartial({});
    await this.col.updateOne({ _id: reportId }, { $set: { finished: true, summary: encodeSummary({ ...summary, rejected: true, rejectionReason: reason }) } });
  }
}

interface TemplateDoc {
  _id: string;
  description: string;
  inferenceFormat: string;
  trainFormat: string;
  language: string;
}

/** User templates in `templates`. */
export class MongoTemplateRepo implements TemplateRepo {
  private readonly col: Collection<TemplateDoc>;
  constructor(db: Db) {
    this.col = db.collection<TemplateDoc>('templates');
  }

  async get(name: string): Promise<common.PromptTemplate | undefined> {
    const d = await this.col.findOne({ _id: name });
    return d ? fromTemplateDoc(d) : undefined;
  }

  async list(): Promise<common.PromptTemplate[]> {
    return (await this.col.find({}).toArray()).map(fromTemplateDoc);
  }

  async insert(t: common.PromptTemplate): Promise<'created' | 'exists'> {
    try {
      await this.col.insertOne({ _id: t.name, description: t.description, inferenceFormat: t.inferenceFormat, trainFormat: t.trainFormat, language: t.language });
      return 'created';
    } catch (err) {
      if (isDuplicateKeyError(err)) return 'exists';
      throw err;
    }
  }
}

function fromTemplateDoc(d: TemplateDoc): common.PromptTemplate {
  return { name: d._id, description: d.description, inferenceFormat: d.inferenceFormat, trainFormat: d.trainFormat, language: d.language, builtin: false };
}

interface UsageDoc {
  _id: string;
  digest: string;
  state: string;
  terminal: boolean;
  seq: number;
  time: Date;
}

/** Training jobs' use of versions in `job_usage`, one document per job. */
export class MongoUsageRepo implements UsageRepo {
  private readonly col: Collection<UsageDoc>;
  constructor(db: Db) {
    this.col = db.collection<UsageDoc>('job_usage');
  }

  async apply(u: { jobId: string; digest: string; state: string; terminal: boolean; sequence: number; time: Date }): Promise<void> {
    try {
      // Only a newer transition wins; an older or repeated one finds no match, and its upsert then
      // collides with the existing _id (11000): nothing to do.
      // Order: the job's sequence, and at equal sequence (e.g. a publisher that sends none) a
      // terminal state after a non-terminal one, so that a finished job never looks active again.
      const seq = u.sequence * 2 + (u.terminal ? 1 : 0);
      await this.col.updateOne(
        { _id: u.jobId, seq: { $lt: seq } },
        { $set: { digest: u.digest, state: u.state, terminal: u.terminal, seq, time: u.time } },
        { upsert: true },
      );
    } catch (err) {
      if (!isDuplicateKeyError(err)) throw err;
    }
  }

  async activeJobs(digest: string, limit: number): Promise<string[]> {
    return (await this.col.find({ digest, terminal: false }).limit(limit).toArray()).map((d) => d._id);
  }
}
