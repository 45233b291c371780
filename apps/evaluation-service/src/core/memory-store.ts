/** An in-memory EvalStore with the Mongo store's semantics, for unit tests of the core. */
import type { evaluation } from '@medtune/contracts';
import type { EvalItem } from './evalsets';
import type { Claim, EvalStore, RunPatch, RunQuery } from './ports';
import type { ComparisonRecord, EvalSetRecord, PendingEvent, PipelineRecord, PipelineStage, RunRecord } from './records';
import { evaluation as ev } from '@medtune/contracts';

const copy = <T>(v: T): T => structuredClone(v);

/** See the module comment. */
export class MemoryEvalStore implements EvalStore {
  readonly sets = new Map<string, EvalSetRecord>();
  readonly items = new Map<string, EvalItem[]>();
  readonly claims = new Map<string, Claim>();
  readonly runs = new Map<string, RunRecord>();
  readonly results = new Map<string, Map<number, evaluation.ItemResult>>();
  readonly comparisons = new Map<string, ComparisonRecord>();
  readonly pipelines = new Map<string, PipelineRecord>();
  private outbox: PendingEvent[] = [];

  async insertSet(set: EvalSetRecord) {
    if (this.sets.has(set.name)) return false;
    this.sets.set(set.name, copy(set));
    return true;
  }
  async getSet(name: string) {
    const s = this.sets.get(name);
    return s ? copy(s) : null;
  }
  async listSets() {
    return [...this.sets.values()].map(copy);
  }
  async putItems(sha: string, items: readonly EvalItem[]) {
    this.items.set(sha, copy([...items]));
  }
  async getItems(sha: string, limit: number) {
    const all = this.items.get(sha) ?? [];
    return copy(limit ? all.slice(0, limit) : all);
  }
  async claim(c: Claim) {
    const held = this.claims.get(c.key);
    if (held) return copy(held);
    this.claims.set(c.key, copy(c));
    return null;
  }
  async reclaim(key: string, from: string, to: Claim) {
    if (this.claims.get(key)?.evaluationId !== from) return false;
    this.claims.set(key, copy(to));
    return true;
  }
  async insertRun(run: RunRecord, event?: PendingEvent) {
    this.runs.set(run.id, copy(run));
    if (event) this.outbox.push(copy(event));
  }
  async getRun(id: string) {
    const r = this.runs.get(id);
    return r ? copy(r) : null;
  }
  async listRuns(q: RunQuery) {
    return [...this.runs.values()]
      .filter((r) => (!q.registryName || r.registryName === q.registryName) && (!q.evalSet || r.evalSet === q.evalSet) && (!q.beforeId || r.id < q.beforeId))
      .sort((a, b) => (a.id < b.id ? 1 : -1))
      .slice(0, q.limit)
      .map(copy);
  }
  async runnableRuns(now: Date, limit: number) {
    const open = [ev.EvaluationStatus.EVALUATION_STATUS_PENDING, ev.EvaluationStatus.EVALUATION_STATUS_RUNNING];
    return [...this.runs.values()]
      .filter((r) => open.includes(r.status) && r.notBefore <= now)
      .sort((a, b) => (a.id < b.id ? -1 : 1))
      .slice(0, limit)
      .map(copy);
  }
  async updateRun(id: string, statuses: evaluation.EvaluationStatus[], patch: RunPatch, event?: PendingEvent) {
    const r = this.runs.get(id);
    if (!r || (statuses.length && !statuses.includes(r.status))) return null;
    Object.assign(r, copy(patch));
    if (event) this.outbox.push(copy(event));
    return copy(r);
  }
  async putItemResult(id: string, result: evaluation.ItemResult) {
    let m = this.results.get(id);
    if (!m) this.results.set(id, (m = new Map()));
    m.set(result.index, copy(result));
  }
  async doneIndices(id: string) {
    return new Set(this.results.get(id)?.keys() ?? []);
  }
  async listItemResults(id: string, after: number, limit: number) {
    return [...(this.results.get(id)?.values() ?? [])]
      .filter((r) => r.index > after)
      .sort((a, b) => a.index - b.index)
      .slice(0, limit)
      .map(copy);
  }
  async insertComparison(c: ComparisonRecord, event: PendingEvent) {
    if ([...this.comparisons.values()].some((x) => x.pairKey === c.pairKey)) return false;
    this.comparisons.set(c.comparisonId, copy(c));
    this.outbox.push(copy(event));
    return true;
  }
  async getComparison(id: string) {
    const c = this.comparisons.get(id);
    return c ? copy(c) : null;
  }
  async getComparisonByPair(pairKey: string) {
    const c = [...this.comparisons.values()].find((x) => x.pairKey === pairKey);
    return c ? copy(c) : null;
  }
  async listComparisons(registryName: string, beforeId: string | undefined, limit: number) {
    return [...this.comparisons.values()]
      .filter((c) => (!registryName || c.registryName === registryName) && (!beforeId || c.comparisonId < beforeId))
      .sort((a, b) => (a.comparisonId < b.comparisonId ? 1 : -1))
      .slice(0, limit)
      .map(copy);
  }
  async createPipeline(p: PipelineRecord) {
    if (!this.pipelines.has(p.id)) this.pipelines.set(p.id, copy(p));
    return copy(this.pipelines.get(p.id)!);
  }
  async getPipeline(id: string) {
    const p = this.pipelines.get(id);
    return p ? copy(p) : null;
  }
  async activePipelines(now: Date) {
    return [...this.pipelines.values()].filter((p) => p.stage !== 'done' && p.notBefore <= now).map(copy);
  }
  async updatePipeline(id: string, from: PipelineStage, patch: Partial<Omit<PipelineRecord, 'id'>>, event?: PendingEvent) {
    const p = this.pipelines.get(id);
    if (!p || p.stage !== from) return null;
    Object.assign(p, copy(patch));
    if (event) this.outbox.push(copy(event));
    return copy(p);
  }
  async unpublishedEvents() {
    return copy(this.outbox);
  }
  async markPublished(id: string) {
    this.outbox = this.outbox.filter((e) => e.id !== id);
  }
}
