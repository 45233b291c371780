/**
 * The evaluation service's MongoDB store (FerretDB-compatible: single-document atomic updates,
 * unique indexes for idempotency, no projection in findAndModify, no nested arrays, no '.' in
 * keys). Collections:
 *   eval_sets     _id = name
 *   eval_items    _id = "<content sha>:<index>" (items are shared by sets with the same content)
 *   claims        _id = "key:<idempotency key>" | "spec:<spec hash>" → the run that owns it
 *   evaluations   _id = evaluation id (time-sortable); outbox of run events
 *   item_results  _id = "<evaluation id>:<index>"
 *   comparisons   _id = comparison id; unique pairKey; outbox of comparison.created
 *   pipelines     _id = "<model>@<version>"; outbox of promotion.decided
 * Protobuf sub-messages are stored in their proto-JSON form.
 */
import { Binary, type Collection, type Db, type Document } from 'mongodb';
import { common, evaluation, events } from '@medtune/contracts';
import { ensureIndexes, initialOutbox, isDuplicateKeyError, type OutboxDoc, OutboxOwners, payloadBytes, pushEvent } from '@medtune/kit';
import type { EvalItem } from '../core/evalsets';
import type { Claim, EvalStore, RunPatch, RunQuery } from '../core/ports';
import type { ComparisonRecord, EvalSetRecord, PendingEvent, PipelineRecord, PipelineStage, RunRecord } from '../core/records';

const St = evaluation.EvaluationStatus;

const outboxDoc = (e: PendingEvent): OutboxDoc => ({ id: e.id, subject: e.subject, payload: new Binary(e.payload) });
const fromOutbox = (o: OutboxDoc): PendingEvent => ({ id: o.id, subject: o.subject, payload: payloadBytes(o.payload) });
/** The update operators that add an event to a document's outbox (none without an event). */
const withEvent = (event?: PendingEvent): Document => (event ? pushEvent(outboxDoc(event)) : {});

/** Run fields stored in proto-JSON form, and how to read them back. */
const RUN_CODECS = {
  model: common.ModelRef,
  template: common.PromptTemplate,
  scores: evaluation.Scores,
  failure: common.Failure,
} as const;

function runFieldsToDoc(patch: RunPatch): Document {
  const out: Document = {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === undefined) continue;
    const codec = RUN_CODECS[k as keyof typeof RUN_CODECS];
    out[k] = codec ? (codec as { toJSON(m: unknown): unknown }).toJSON(v) : v;
  }
  return out;
}

function docToRun(d: Document): RunRecord {
  const { _id, outbox: _o, outboxCount: _c, outboxRev: _r, ...rest } = d;
  const run = { ...rest, id: _id } as unknown as RunRecord & Record<string, unknown>;
  for (const [k, codec] of Object.entries(RUN_CODECS)) {
    if (d[k] !== undefined && d[k] !== null) run[k] = (codec as { fromJSON(o: unknown): unknown }).fromJSON(d[k]);
    else delete run[k];
  }
  if (run.evalLoss === null) delete run.evalLoss;
  if (run.endTime === null) delete run.endTime;
  return run;
}

function toComparison(d: Document): ComparisonRecord {
  return { ...evaluation.Comparison.fromJSON(d['c']), pairKey: d['pairKey'] as string };
}

function toPipeline(d: Document): PipelineRecord {
  const { _id, outbox: _o, outboxCount: _c, outboxRev: _r, decision, ...rest } = d;
  return { ...(rest as Omit<PipelineRecord, 'id' | 'decision'>), id: _id as string, ...(decision ? { decision: events.PromotionDecided.fromJSON(decision) } : {}) };
}

function pipelineFieldsToDoc(patch: Partial<PipelineRecord>): Document {
  const out: Document = {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === undefined || k === 'id') continue;
    out[k] = k === 'decision' ? events.PromotionDecided.toJSON(v as events.PromotionDecided) : v;
  }
  return out;
}

/** Creates the indexes (idempotent; at startup). */
export async function ensureEvaluationIndexes(db: Db): Promise<void> {
  await ensureIndexes(db, {
    eval_items: [{ key: { sha: 1, index: 1 } }],
    evaluations: [{ key: { status: 1, notBefore: 1 } }, { key: { registryName: 1 } }, { key: { outboxCount: 1 } }],
    item_results: [{ key: { evalId: 1, index: 1 } }],
    comparisons: [{ key: { pairKey: 1 }, unique: true }, { key: { registryName: 1 } }, { key: { outboxCount: 1 } }],
    pipelines: [{ key: { stage: 1 } }, { key: { outboxCount: 1 } }],
  });
}

/** See the module comment. */
export class MongoEvalStore implements EvalStore {
  private readonly sets: Collection<Document>;
  private readonly items: Collection<Document>;
  private readonly claims: Collection<Document>;
  private readonly runs: Collection<Document>;
  private readonly results: Collection<Document>;
  private readonly comparisons: Collection<Document>;
  private readonly pipelines: Collection<Document>;
  private readonly owners = new OutboxOwners();

  constructor(db: Db) {
    this.sets = db.collection('eval_sets');
    this.items = db.collection('eval_items');
    this.claims = db.collection('claims');
    this.runs = db.collection('evaluations');
    this.results = db.collection('item_results');
    this.comparisons = db.collection('comparisons');
    this.pipelines = db.collection('pipelines');
  }

  private async insert(c: Collection<Document>, doc: Document): Promise<boolean> {
    try {
      await c.insertOne(doc);
      return true;
    } catch (err) {
      if (isDuplicateKeyError(err)) return false;
      throw err;
    }
  }

  // ---- sets and items ----

  insertSet(s: EvalSetRecord): Promise<boolean> {
    const { name, ...rest } = s;
    return this.insert(this.sets, { _id: name, ...rest } as Document);
  }
  async getSet(name: string): Promise<EvalSetRecord | null> {
    const d = await this.sets.findOne({ _id: name as never });
    return d ? ({ ...d, name: d['_id'] } as unknown as EvalSetRecord) : null;
  }
  async listSets(): Promise<EvalSetRecord[]> {
    return (await this.sets.find({}).toArray()).map((d) => ({ ...d, name: d['_id'] }) as unknown as EvalSetRecord);
  }
  async putItems(sha: string, items: readonly EvalItem[]): Promise<void> {
    for (let i = 0; i < items.length; i += 500) {
      const docs = items.slice(i, i + 500).map((it) => ({
        _id: `${sha}:${it.index}`,
        sha,
        index: it.index,
        question: it.question,
        options: it.options.map(([k, v]) => ({ k, v })),
        answer: it.answer,
      }));
      try {
        await this.items.insertMany(docs as never[], { ordered: false });
      } catch (err) {
        if (!isDuplicateKeyError(err)) throw err; // same content stored before: fine
      }
    }
  }
  async getItems(sha: string, limit: number): Promise<EvalItem[]> {
    const cursor = this.items.find({ sha }).sort({ index: 1 });
    if (limit) cursor.limit(limit);
    return (await cursor.toArray()).map((d) => ({
      index: d['index'] as number,
      question: d['question'] as string,
      options: (d['options'] as { k: string; v: string }[]).map((o) => [o.k, o.v] as [string, string]),
      answer: d['answer'] as string,
    }));
  }

  // ---- claims ----

  async claim(c: Claim): Promise<Claim | null> {
    if (await this.insert(this.claims, { _id: c.key, evaluationId: c.evaluationId, requestHash: c.requestHash } as Document)) return null;
    const d = await this.claims.findOne({ _id: c.key as never });
    return d ? { key: c.key, evaluationId: d['evaluationId'] as string, requestHash: d['requestHash'] as string } : this.claim(c);
  }
  async reclaim(key: string, from: string, to: Claim): Promise<boolean> {
    const r = await this.claims.updateOne({ _id: key as never, evaluationId: from }, { $set: { evaluationId: to.evaluationId, requestHash: to.requestHash } });
    return r.modifiedCount === 1;
  }

  // ---- runs ----

  async insertRun(run: RunRecord, event?: PendingEvent): Promise<void> {
    const { id, ...rest } = run;
    await this.runs.insertOne({ _id: id as never, ...runFieldsToDoc(rest), ...initialOutbox(event ? outboxDoc(event) : undefined) });
    if (event) this.owners.note(event.id, this.runs, id);
  }
  async getRun(id: string): Promise<RunRecord | null> {
    const d = await this.runs.findOne({ _id: id as never }, { projection: { outbox: 0 } });
    return d ? docToRun(d) : null;
  }
  async listRuns(q: RunQuery): Promise<RunRecord[]> {
    const filter: Document = {};
    if (q.registryName) filter['registryName'] = q.registryName;
    if (q.evalSet) filter['evalSet'] = q.evalSet;
    if (q.beforeId) filter['_id'] = { $lt: q.beforeId };
    return (await this.runs.find(filter, { projection: { outbox: 0 } }).sort({ _id: -1 }).limit(q.limit).toArray()).map(docToRun);
  }
  async runnableRuns(now: Date, limit: number): Promise<RunRecord[]> {
    const filter = { status: { $in: [St.EVALUATION_STATUS_PENDING, St.EVALUATION_STATUS_RUNNING] }, notBefore: { $lte: now } };
    return (await this.runs.find(filter, { projection: { outbox: 0 } }).sort({ _id: 1 }).limit(limit).toArray()).map(docToRun);
  }
  async updateRun(id: string, statuses: evaluation.EvaluationStatus[], patch: RunPatch, event?: PendingEvent): Promise<RunRecord | null> {
    const filter: Document = { _id: id };
    if (statuses.length) filter['status'] = { $in: statuses };
    const update: Document = { $set: runFieldsToDoc(patch), ...withEvent(event) };
    const d = await this.runs.findOneAndUpdate(filter, update, { returnDocument: 'after' });
    if (d && event) this.owners.note(event.id, this.runs, id);
    return d ? docToRun(d) : null;
  }

  // ---- item results ----

  async putItemResult(evalId: string, r: evaluation.ItemResult): Promise<void> {
    await this.results.replaceOne({ _id: `${evalId}:${r.index}` as never }, { evalId, ...r }, { upsert: true });
  }
  async doneIndices(evalId: string): Promise<Set<number>> {
    const docs = await this.results.find({ evalId }, { projection: { index: 1 } }).toArray();
    return new Set(docs.map((d) => d['index'] as number));
  }
  async listItemResults(evalId: string, afterIndex: number, limit: number): Promise<evaluation.ItemResult[]> {
    const docs = await this.results.find({ evalId, index: { $gt: afterIndex } }).sort({ index: 1 }).limit(limit).toArray();
    return docs.map(({ _id, evalId: _e, ...r }) => evaluation.ItemResult.fromPartial(r as Partial<evaluation.ItemResult>));
  }

  // ---- comparisons ----

  async insertComparison(c: ComparisonRecord, event: PendingEvent): Promise<boolean> {
    const { pairKey, ...rest } = c;
    const inserted = await this.insert(this.comparisons, {
      _id: c.comparisonId,
      pairKey,
      registryName: c.registryName,
      c: evaluation.Comparison.toJSON(rest),
      ...initialOutbox(outboxDoc(event)),
    } as Document);
    if (inserted) this.owners.note(event.id, this.comparisons, c.comparisonId);
    return inserted;
  }
  async getComparison(id: string): Promise<ComparisonRecord | null> {
    const d = await this.comparisons.findOne({ _id: id as never }, { projection: { outbox: 0 } });
    return d ? toComparison(d) : null;
  }
  async getComparisonByPair(pairKey: string): Promise<ComparisonRecord | null> {
    const d = await this.comparisons.findOne({ pairKey }, { projection: { outbox: 0 } });
    return d ? toComparison(d) : null;
  }
  async listComparisons(registryName: string, beforeId: string | undefined, limit: number): Promise<ComparisonRecord[]> {
    const filter: Document = {};
    if (registryName) filter['registryName'] = registryName;
    if (beforeId) filter['_id'] = { $lt: beforeId };
    return (await this.comparisons.find(filter, { projection: { outbox: 0 } }).sort({ _id: -1 }).limit(limit).toArray()).map(toComparison);
  }

  // ---- pipelines ----

  async createPipeline(p: PipelineRecord): Promise<PipelineRecord> {
    const { id, ...rest } = p;
    await this.insert(this.pipelines, { _id: id, ...pipelineFieldsToDoc(rest), ...initialOutbox(undefined) } as Document);
    return (await this.getPipeline(id))!;
  }
  async getPipeline(id: string): Promise<PipelineRecord | null> {
    const d = await this.pipelines.findOne({ _id: id as never }, { projection: { outbox: 0 } });
    return d ? toPipeline(d) : null;
  }
  async activePipelines(now: Date): Promise<PipelineRecord[]> {
    const docs = await this.pipelines.find({ stage: { $ne: 'done' }, notBefore: { $lte: now } }, { projection: { outbox: 0 } }).sort({ createTime: 1 }).toArray();
    return docs.map(toPipeline);
  }
  async updatePipeline(id: string, from: PipelineStage, patch: Partial<Omit<PipelineRecord, 'id'>>, event?: PendingEvent): Promise<PipelineRecord | null> {
    const update: Document = { $set: pipelineFieldsToDoc(patch), ...withEvent(event) };
    const d = await this.pipelines.findOneAndUpdate({ _id: id as never, stage: from }, update, { returnDocument: 'after' });
    if (d && event) this.owners.note(event.id, this.pipelines, id);
    return d ? toPipeline(d) : null;
  }

  // ---- outbox ----

  async unpublishedEvents(): Promise<PendingEvent[]> {
    return (await this.owners.pending([this.runs, this.comparisons, this.pipelines])).map(fromOutbox);
  }

  async markPublished(eventId: string): Promise<void> {
    await this.owners.remove(eventId, [this.runs, this.comparisons, this.pipelines]);
  }
}
