/**
 * The evaluation core: sets, starting runs (idempotent, base-model results cached), reading runs
 * and their items, watching, and paired comparisons. Running them is runner.ts; the promotion
 * automation is automation.ts.
 */
import { createHash } from 'node:crypto';
import { basename, isAbsolute } from 'node:path';
import { evaluation, events, SUBJECTS } from '@medtune/contracts';
import {
  AlreadyExistsError,
  type Clock,
  decodePageToken,
  encodePageToken,
  FailedPreconditionError,
  InvalidArgumentError,
  type Logger,
  NotFoundError,
  type OutboxRelay,
  pageSize,
} from '@medtune/kit';
import { deltas, pairItems } from './compare';
import { judged, toEvaluation } from './convert';
import { checkSetName, contentSha256, itemsFromRows, SEED_ITEMS, SEED_SET_NAME } from './evalsets';
import type { Notifier } from './notifier';
import type { DatasetPort, EvalStore, RegistryPort, RowReader } from './ports';
import type { ComparisonRecord, EvalSetRecord, RunRecord, RunSpec } from './records';
import { canonicalJson, type GenerationDefaults, resolveDecoding, resolveModel, resolveTemplate, specHash } from './resolve';
import { kindName, resolveShape, shapeToMapping } from './shapes';
import { hasAccuracy } from './scoring';

const { EvaluationStatus: St, EvalSetKind } = evaluation;
const PAGE = { defaultSize: 50, maxSize: 500 };
const TERMINAL = new Set([St.EVALUATION_STATUS_COMPLETED, St.EVALUATION_STATUS_FAILED]);

/** What the core is built from. */
export interface EvaluationDeps {
  store: EvalStore;
  outbox: OutboxRelay;
  notifier: Notifier;
  readRows: RowReader;
  registry?: RegistryPort;
  dataset?: DatasetPort;
  clock: Clock;
  newId: (prefix?: string) => string;
  log: Logger;
  /** Wakes the runner when a run is created. */
  onRunCreated: () => void;
}

/** Options of {@link EvaluationCore.startSpec}. */
export interface StartOptions {
  /** Idempotency key: the same key with the same request returns the same run. */
  idempotencyKey?: string;
  /** Reuse a run with the same spec that has not failed (base models: "cached base results"). */
  cache?: boolean;
}

/** The status name without prefix, for messages. */
export function statusName(s: evaluation.EvaluationStatus): string {
  return evaluation.evaluationStatusToJSON(s).replace(/^EVALUATION_STATUS_/, '');
}

/** See the module comment. */
export class EvaluationCore {
  constructor(private readonly d: EvaluationDeps) {}

  // ---- evaluation sets ----

  /** Stores the built-in sets (idempotent; at startup). */
  async ensureBuiltins(): Promise<void> {
    const kind = EvalSetKind.EVAL_SET_KIND_FREE_FORM;
    const sha = contentSha256(kind, SEED_ITEMS);
    await this.d.store.putItems(sha, SEED_ITEMS);
    await this.d.store.insertSet({
      name: SEED_SET_NAME,
      kind,
      itemCount: SEED_ITEMS.length,
      contentSha256: sha,
      sourceName: 'seed script (before / after question)',
      description: "The seed script's test question: a 70-year-old with inferior and right-ventricular STEMI and hypotension.",
      builtin: true,
      createTime: this.d.clock(),
    });
  }

  /** Imports a set from a file; malformed rows → INVALID_ARGUMENT listing them, nothing stored. */
  async createSet(req: evaluation.CreateEvalSetRequest): Promise<evaluation.CreateEvalSetResponse> {
    checkSetName(req.name);
    if (!req.path) throw new InvalidArgumentError('path', 'required: a JSONL or JSON file on the service host');
    if (!isAbsolute(req.path)) throw new InvalidArgumentError('path', `must be an absolute path (got ${JSON.stringify(req.path)})`);
    const shape = resolveShape(req.kind, req.mapping);
    const items = await itemsFromRows(shape, this.d.readRows(req.path), req.limit);
    const sha = contentSha256(shape.kind, items);
    const existing = await this.d.store.getSet(req.name);
    if (existing) return this.sameSet(existing, sha, shape.kind);
    // Items first, then the set document that makes them visible: a crash in between leaves
    // only unreferenced items, which a retry overwrites with the same content.
    await this.d.store.putItems(sha, items);
    const rec: EvalSetRecord = {
      name: req.name,
      kind: shape.kind,
      itemCount: items.length,
      contentSha256: sha,
      sourceName: basename(req.path),
      description: req.description,
      builtin: false,
      createTime: this.d.clock(),
      pinGreedy: req.pinGreedy ?? false,
      mapping: shapeToMapping(shape),
    };
    if (!(await this.d.store.insertSet(rec))) return this.sameSet((await this.d.store.getSet(req.name))!, sha, shape.kind);
    this.d.log.info({ set: req.name, kind: kindName(shape.kind), items: items.length, sha }, 'evaluation set created');
    return { evalSet: toSet(rec), created: true };
  }

  private sameSet(existing: EvalSetRecord, sha: string, kind: evaluation.EvalSetKind): evaluation.CreateEvalSetResponse {
    if (existing.contentSha256 !== sha || existing.kind !== kind) {
      throw new AlreadyExistsError(`evaluation set ${existing.name} exists with other content (sha256 ${existing.contentSha256.slice(0, 12)}…)`);
    }
    return { evalSet: toSet(existing), created: false };
  }

  async getSet(name: string): Promise<evaluation.EvalSet> {
    return toSet(await this.set(name));
  }

  private async set(name: string, field = 'name'): Promise<EvalSetRecord> {
    checkSetName(name, field);
    const s = await this.d.store.getSet(name);
    if (!s) throw new NotFoundError(`evaluation set ${JSON.stringify(name)} not found`);
    return s;
  }

  /** Sets, the built-in ones first, then by name. */
  async listSets(): Promise<evaluation.EvalSet[]> {
    const all = await this.d.store.listSets();
    return all.sort((a, b) => Number(b.builtin) - Number(a.builtin) || (a.name < b.name ? -1 : 1)).map(toSet);
  }

  // ---- runs ----

  /** StartEvaluation: resolves the model, set and template, then starts (or finds) the run. */
  async start(req: evaluation.StartEvaluationRequest): Promise<evaluation.StartEvaluationResponse> {
    const spec = await this.resolveSpec(req);
    const isBase = spec.registryName === '';
    const { run, created } = await this.startSpec(spec, { idempotencyKey: req.idempotencyKey, cache: isBase });
    return { evaluation: toEvaluation(run), created };
  }

  /** Resolves a StartEvaluation request into a run spec (validation included). */
  async resolveSpec(req: evaluation.StartEvaluationRequest, generationDefaults?: Partial<GenerationDefaults>): Promise<RunSpec> {
    resolveDecoding(req.generation, generationDefaults); // range checks before anything is read
    if (req.limit < 0 || !Number.isInteger(req.limit)) throw new InvalidArgumentError('limit', `must be >= 0 (got ${req.limit})`);
    if (req.idempotencyKey.length > 200) throw new InvalidArgumentError('idempotency_key', 'must be at most 200 characters');
    const set = await this.set(req.evalSet || SEED_SET_NAME, 'eval_set');
    const { generation, decoding } = resolveDecoding(req.generation, generationDefaults, set.pinGreedy ?? false);
    const model = await resolveModel(req.model, this.d.registry, req.artifactKind);
    const lineage = model.version?.lineage;
    const template = await resolveTemplate(req.templateName, lineage, this.d.dataset);
    // Eval loss is computed by transformers: a GGUF run (llama.cpp) has none.
    const gguf = model.ggufUri !== '';
    if (gguf && req.evalLossDatasetDigest) throw new InvalidArgumentError('eval_loss_dataset_digest', 'a GGUF run has no eval loss (llama.cpp generates only): evaluate the MERGED_16BIT or ADAPTER artifact for it');
    const evalLossDigest = gguf ? '' : req.evalLossDatasetDigest || lineage?.datasetDigest || '';
    if (evalLossDigest && !this.d.dataset) throw new InvalidArgumentError('eval_loss_dataset_digest', 'eval loss needs a dataset service, and none is configured');
    return {
      model: model.model,
      baseModel: model.baseModel,
      adapterUri: model.adapterUri,
      mergedUri: model.mergedUri,
      ...(model.ggufUri ? { ggufUri: model.ggufUri } : {}),
      ...(model.artifactKind ? { artifactKind: model.artifactKind } : {}),
      registryName: model.registryName,
      registryVersion: model.registryVersion,
      evalSet: set.name,
      setSha: set.contentSha256,
      setKind: set.kind,
      template,
      generation,
      decoding,
      evalLossDigest,
      limit: req.limit && req.limit < set.itemCount ? req.limit : 0,
      trackingRunId: req.parentRunId || lineage?.trackingRunId || '',
    };
  }

  /**
   * Starts a run for a resolved spec, or returns the run an idempotency key or the cache points
   * at. Claims are written before the run, so two racing callers end up with one run.
   */
  async startSpec(spec: RunSpec, o: StartOptions): Promise<{ run: RunRecord; created: boolean }> {
    const hash = specHash(spec);
    const requestHash = createHash('sha256').update(canonicalJson({ hash, model: spec.model, tracking: spec.trackingRunId, set: spec.evalSet })).digest('hex');
    const id = this.d.newId('eval');
    const claims = [
      ...(o.idempotencyKey ? [{ key: `key:${o.idempotencyKey}`, requestHash, isKey: true }] : []),
      ...(o.cache ? [{ key: `spec:${hash}`, requestHash: hash, isKey: false }] : []),
    ];
    const mine: { key: string; requestHash: string }[] = [];
    for (const c of claims) {
      for (let attempt = 0; ; attempt++) {
        const held = await this.d.store.claim({ key: c.key, evaluationId: id, requestHash: c.requestHash });
        if (!held) {
          mine.push(c);
          break;
        }
        if (c.isKey && held.requestHash !== c.requestHash) {
          throw new AlreadyExistsError(`idempotency_key ${JSON.stringify(o.idempotencyKey)} was used for another evaluation request (${held.evaluationId})`);
        }
        const run = await this.awaitRun(held.evaluationId);
        const reusable = run && !(!c.isKey && run.status === St.EVALUATION_STATUS_FAILED);
        if (reusable) {
          for (const m of mine) await this.d.store.reclaim(m.key, id, { key: m.key, evaluationId: run.id, requestHash: m.requestHash });
          return { run, created: false };
        }
        // The run behind the claim never appeared (its creator died) or failed: take the claim over.
        if (await this.d.store.reclaim(c.key, held.evaluationId, { key: c.key, evaluationId: id, requestHash: c.requestHash })) {
          mine.push(c);
          break;
        }
        if (attempt > 5) throw new FailedPreconditionError('could not start the evaluation: too much contention on the same request; retry');
      }
    }
    const items = spec.limit || (await this.d.store.getSet(spec.evalSet))?.itemCount || 0;
    const now = this.d.clock();
    const run: RunRecord = {
      ...spec,
      id,
      status: St.EVALUATION_STATUS_PENDING,
      itemsTotal: items,
      itemsDone: 0,
      workerId: '',
      attempts: 0,
      notBefore: now,
      createTime: now,
    };
    await this.d.store.insertRun(run);
    this.d.log.info({ evaluationId: id, model: spec.registryName ? `${spec.registryName}@${spec.registryVersion}` : spec.baseModel, set: spec.evalSet }, 'evaluation created');
    this.d.onRunCreated();
    return { run, created: true };
  }

  /** The run of a claim, waiting briefly for a claimer that has not inserted it yet. */
  private async awaitRun(id: string): Promise<RunRecord | null> {
    for (let i = 0; i < 20; i++) {
      const run = await this.d.store.getRun(id);
      if (run) return run;
      await new Promise((r) => setTimeout(r, 100));
    }
    return null;
  }

  async get(id: string): Promise<evaluation.Evaluation> {
    return toEvaluation(await this.run(id));
  }

  async run(id: string): Promise<RunRecord> {
    if (!id) throw new InvalidArgumentError('evaluation_id', 'required');
    const r = await this.d.store.getRun(id);
    if (!r) throw new NotFoundError(`evaluation ${JSON.stringify(id)} not found`);
    return r;
  }

  async list(req: evaluation.ListEvaluationsRequest): Promise<evaluation.ListEvaluationsResponse> {
    const limit = pageSize(req.pageSize, PAGE);
    const pos = decodePageToken<{ before: string }>(req.pageToken);
    if (pos && typeof pos.before !== 'string') throw new InvalidArgumentError('page_token', 'is not a page token from a previous response');
    const rows = await this.d.store.listRuns({ registryName: req.registryName, evalSet: req.evalSet, beforeId: pos?.before, limit: limit + 1 });
    const page = rows.slice(0, limit);
    return { evaluations: page.map(toEvaluation), nextPageToken: rows.length > limit ? encodePageToken({ before: page[page.length - 1]!.id }) : '' };
  }

  /** The run now, then every change, until it ends (or the caller goes away). */
  async *watch(id: string, signal: AbortSignal): AsyncGenerator<evaluation.Evaluation> {
    let last = '';
    for (;;) {
      const r = await this.run(id);
      const snap = `${r.status}:${r.itemsDone}:${r.workerId}`;
      if (snap !== last) {
        last = snap;
        yield toEvaluation(r);
      }
      if (TERMINAL.has(r.status) || signal.aborted) return;
      await this.d.notifier.wait(id, 1_000, signal);
    }
  }

  async listItems(req: evaluation.ListItemResultsRequest): Promise<evaluation.ListItemResultsResponse> {
    await this.run(req.evaluationId);
    const limit = pageSize(req.pageSize, PAGE);
    const pos = decodePageToken<{ after: number }>(req.pageToken);
    if (pos && !Number.isInteger(pos.after)) throw new InvalidArgumentError('page_token', 'is not a page token from a previous response');
    const rows = await this.d.store.listItemResults(req.evaluationId, pos?.after ?? -1, limit + 1);
    const page = rows.slice(0, limit);
    return { items: page, nextPageToken: rows.length > limit ? encodePageToken({ after: page[page.length - 1]!.index }) : '' };
  }

  // ---- comparisons ----

  /** Compares two COMPLETED runs on the same set item by item; the same pair returns the stored comparison. */
  async compare(baselineId: string, candidateId: string): Promise<evaluation.Comparison> {
    if (!baselineId) throw new InvalidArgumentError('baseline_evaluation_id', 'required');
    if (!candidateId) throw new InvalidArgumentError('candidate_evaluation_id', 'required');
    const pairKey = `${baselineId}|${candidateId}`;
    const existing = await this.d.store.getComparisonByPair(pairKey);
    if (existing) return stripPair(existing);
    const [b, c] = [await this.run(baselineId), await this.run(candidateId)];
    for (const r of [b, c]) {
      if (r.status !== St.EVALUATION_STATUS_COMPLETED) throw new FailedPreconditionError(`evaluation ${r.id} is ${statusName(r.status)}, not COMPLETED`);
    }
    if (b.setSha !== c.setSha) {
      throw new FailedPreconditionError(`the runs used different evaluation sets (${b.evalSet} ${b.setSha.slice(0, 12)}… vs ${c.evalSet} ${c.setSha.slice(0, 12)}…)`);
    }
    const all = 1_000_000_000;
    const [bi, ci] = await Promise.all([this.d.store.listItemResults(b.id, -1, all), this.d.store.listItemResults(c.id, -1, all)]);
    const paired = pairItems(bi, ci, hasAccuracy(b.setKind));
    const rec: ComparisonRecord = {
      comparisonId: this.d.newId('cmp'),
      baselineEvaluationId: b.id,
      candidateEvaluationId: c.id,
      evalSet: c.evalSet,
      items: paired.items,
      baseline: b.scores,
      candidate: c.scores,
      deltas: deltas(b.scores!, c.scores!),
      gained: paired.gained,
      lost: paired.lost,
      mcnemarPValue: paired.mcnemarPValue,
      formatMcnemarPValue: paired.formatMcnemarPValue,
      formatGained: paired.formatGained,
      formatLost: paired.formatLost,
      examples: paired.examples,
      registryName: c.registryName,
      registryVersion: c.registryVersion,
      baselineArtifactKind: judged(b).artifactKind,
      candidateArtifactKind: judged(c).artifactKind,
      createTime: this.d.clock(),
      pairKey,
    };
    const payload = events.ComparisonCreated.encode({ comparison: stripPair(rec) }).finish();
    const evt = { id: this.d.newId('evt'), subject: SUBJECTS.evaluationComparisonCreated.subject, payload };
    const inserted = await this.d.store.insertComparison(rec, evt);
    if (!inserted) return stripPair((await this.d.store.getComparisonByPair(pairKey))!);
    this.d.log.info({ comparisonId: rec.comparisonId, baseline: b.id, candidate: c.id, deltas: rec.deltas }, 'comparison stored');
    await this.d.outbox.publish([evt]);
    return stripPair(rec);
  }

  async getComparison(id: string): Promise<evaluation.Comparison> {
    if (!id) throw new InvalidArgumentError('comparison_id', 'required');
    const c = await this.d.store.getComparison(id);
    if (!c) throw new NotFoundError(`comparison ${JSON.stringify(id)} not found`);
    return stripPair(c);
  }

  async listComparisons(req: evaluation.ListComparisonsRequest): Promise<evaluation.ListComparisonsResponse> {
    const limit = pageSize(req.pageSize, PAGE);
    const pos = decodePageToken<{ before: string }>(req.pageToken);
    if (pos && typeof pos.before !== 'string') throw new InvalidArgumentError('page_token', 'is not a page token from a previous response');
    const rows = await this.d.store.listComparisons(req.registryName, pos?.before, limit + 1);
    const page = rows.slice(0, limit);
    return { comparisons: page.map(stripPair), nextPageToken: rows.length > limit ? encodePageToken({ before: page[page.length - 1]!.comparisonId }) : '' };
  }
}

function stripPair(c: ComparisonRecord): evaluation.Comparison {
  const { pairKey: _pairKey, ...rest } = c;
  return rest;
}

function toSet(s: EvalSetRecord): evaluation.EvalSet {
  return {
    name: s.name,
    kind: s.kind,
    itemCount: s.itemCount,
    contentSha256: s.contentSha256,
    sourceName: s.sourceName,
    description: s.description,
    builtin: s.builtin,
    createTime: s.createTime,
    pinGreedy: s.pinGreedy ?? false,
    mapping: s.mapping,
  };
}
