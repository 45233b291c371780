/**
 * The promotion automation. For each registry version that becomes READY (the service consumes
 * medtune.registry.version.ready: artifacts are verified only then), a pipeline is stored and
 * driven step by step, each step idempotent and its result stored before the next:
 *
 *   evaluating  start the version's run and its base model's run (cached by spec) on the policy's
 *               set with the same template and generation settings; when both are COMPLETED,
 *               compare them (stored once per pair) and attach the result to the version's lineage
 *   deciding    the candidate must beat the base model's run (same set and settings) by more than
 *               min_delta and, on a pass/fail metric (accuracy, format_compliance), pass the
 *               exact McNemar test against it at the policy's significance (default 0.05); then
 *               read the alias holder, evaluate it on the same set when it has no run
 *               (idempotent by key), and require the same against the holder; with no holder
 *               the base model is the bar
 *   promoting   SetAlias with expected_version = the holder seen (compare-and-set); ABORTED → decide
 *               again; a crash after the move is recognised (the alias already points here)
 *   done        promotion.decided published with the decision (in the same write)
 *
 * Failures of the registry or the store are retried with backoff; a verdict (set missing, a run
 * failed, metric unavailable, promotion disabled) ends the pipeline with promoted = false.
 */
import { evaluation, events, registry, SUBJECTS } from '@medtune/contracts';
import {
  AbortedError,
  type Clock,
  DeadlineExceededError,
  DomainError,
  type Logger,
  NotFoundError,
  type OutboxRelay,
  ResourceExhaustedError,
  UnavailableError,
} from '@medtune/kit';
import type { EvaluationCore } from './evaluations';
import type { EvalStore, RegistryPort } from './ports';
import type { PipelineRecord, RunRecord } from './records';
import type { GenerationDefaults } from './resolve';
import { hasAccuracy } from './scoring';

const St = evaluation.EvaluationStatus;
const ACTOR = 'evaluation-service';

/** What the automation is built from. */
export interface AutomationDeps {
  store: EvalStore;
  outbox: OutboxRelay;
  registry: RegistryPort;
  core: EvaluationCore;
  clock: Clock;
  newId: (prefix?: string) => string;
  log: Logger;
  /** Generation settings of automatic runs (default: the seed's). */
  generation?: Partial<GenerationDefaults>;
  pollMs?: number;
  backoffMs?: readonly number[];
}

/**
 * The metric a policy judges on. Accuracy (the default) needs a set with correct answers
 * (multiple choice, yes / no / maybe): on a free-form set it is undefined, and `unusable` says
 * why, so nothing is promoted on one free-form question's format.
 */
export function chooseMetric(policy: registry.PromotionPolicy | undefined, setKind: evaluation.EvalSetKind, setName: string) {
  const metric = policy?.metric || 'accuracy';
  const defaultHigher = metric !== 'eval_loss';
  const unusable =
    metric === 'accuracy' && !hasAccuracy(setKind)
      ? `accuracy is not defined on the free-form set ${setName}: the promotion policy needs a multiple-choice (or yes/no/maybe) eval_set, or metric format_compliance`
      : '';
  return { metric, higherIsBetter: policy?.higherIsBetter ?? defaultHigher, unusable };
}

/** The default significance level of the paired test. */
export const DEFAULT_SIGNIFICANCE = 0.05;

/** The McNemar p-value of a comparison for a metric (undefined: the metric is not pass/fail). */
export function pairedPValue(c: evaluation.Comparison, metric: string): number | undefined {
  if (metric === 'accuracy') return c.mcnemarPValue;
  if (metric === 'format_compliance') return c.formatMcnemarPValue;
  return undefined;
}

/** "McNemar p = 0.031 (gained 7, lost 1)" for a metric's comparison. */
function pairedText(c: evaluation.Comparison, metric: string, p: number): string {
  const [g, l] = metric === 'format_compliance' ? [c.formatGained ?? 0, c.formatLost ?? 0] : [c.gained, c.lost];
  return `McNemar p = ${fmtP(p)} (gained ${g}, lost ${l})`;
}

function fmtP(p: number): string {
  return p >= 0.001 ? p.toFixed(3) : p.toExponential(1);
}

/** A run's value of a policy metric (undefined when the run has none). */
export function metricValue(scores: evaluation.Scores | undefined, metric: string): number | undefined {
  if (!scores) return undefined;
  if (metric === 'accuracy') return scores.accuracy;
  if (metric === 'format_compliance') return scores.formatCompliance;
  if (metric === 'eval_loss') return scores.evalLoss;
  return undefined;
}

/** A run's scores as lineage metrics. */
export function lineageMetrics(s: evaluation.Scores | undefined): Record<string, number> {
  if (!s) return {};
  const m: Record<string, number> = {
    items: s.items,
    format_compliance: s.formatCompliance,
    completion_tokens_p50: s.completionTokensP50,
    completion_tokens_p90: s.completionTokensP90,
    completion_tokens_p99: s.completionTokensP99,
    truncated_share: s.truncatedShare,
  };
  if (s.accuracy !== undefined) m['accuracy'] = s.accuracy;
  if (s.evalLoss !== undefined) m['eval_loss'] = s.evalLoss;
  return m;
}

function transient(err: unknown): boolean {
  if (err instanceof DomainError) {
    return err instanceof UnavailableError || err instanceof ResourceExhaustedError || err instanceof DeadlineExceededError || err instanceof AbortedError;
  }
  return true;
}

/** A verdict that ends a pipeline without promotion. */
class Verdict extends Error {}

/** See the module comment. */
export class Automation {
  private wake: (() => void) | undefined;
  private loopDone: Promise<void> | undefined;
  private stopped = false;
  private busy = false;

  constructor(private readonly d: AutomationDeps) {}

  /** Records a READY version to evaluate (idempotent: one pipeline per name@version). */
  async onVersionReady(v: registry.ModelVersion): Promise<void> {
    if (v.status !== registry.ModelVersionStatus.MODEL_VERSION_STATUS_READY) return;
    const now = this.d.clock();
    const p = await this.d.store.createPipeline({
      id: `${v.name}@${v.version}`,
      name: v.name,
      version: v.version,
      stage: 'evaluating',
      candidateEvalId: '',
      baseEvalId: '',
      comparisonId: '',
      alias: '',
      metric: '',
      incumbentVersion: 0,
      incumbentEvalId: '',
      attempts: 0,
      notBefore: now,
      lastError: '',
      createTime: now,
      updateTime: now,
    });
    this.d.log.info({ pipeline: p.id, stage: p.stage }, 'promotion pipeline recorded');
    this.kick();
  }

  start(): void {
    if (this.loopDone) return;
    this.stopped = false;
    this.loopDone = this.loop();
  }

  kick(): void {
    this.wake?.();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.kick();
    await this.loopDone;
    this.loopDone = undefined; // restartable: the automation lease may come back
  }

  private async loop(): Promise<void> {
    while (!this.stopped) {
      try {
        this.busy = true;
        for (const p of await this.d.store.activePipelines(this.d.clock())) {
          if (this.stopped) break;
          await this.advance(p);
        }
      } catch (err) {
        this.d.log.warn({ err }, 'automation: reading pipelines failed; will retry');
      } finally {
        this.busy = false;
      }
      if (this.stopped) break;
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, this.d.pollMs ?? 2_000);
        this.wake = () => {
          clearTimeout(t);
          resolve();
        };
      });
    }
  }

  /** Runs the pipeline's next steps until it must wait (for a run) or ends. */
  async advance(p: PipelineRecord): Promise<void> {
    let cur: PipelineRecord | null = p;
    try {
      while (cur && cur.stage !== 'done') {
        const next: PipelineRecord | null | 'wait' = await this.step(cur);
        if (next === 'wait') return;
        cur = next;
      }
    } catch (err) {
      if (!cur) return;
      if (err instanceof Verdict || !transient(err)) {
        await this.finish(cur, { promoted: false, reason: err instanceof Error ? err.message : String(err) });
        return;
      }
      const attempts = cur.attempts + 1;
      const backoff = this.d.backoffMs ?? [1_000, 5_000, 15_000, 30_000];
      const delay = backoff[Math.min(attempts - 1, backoff.length - 1)] ?? 30_000;
      this.d.log.warn({ err, pipeline: cur.id, stage: cur.stage, attempts }, 'automation step failed; will retry');
      await this.d.store.updatePipeline(cur.id, cur.stage, { attempts, lastError: String(err), notBefore: new Date(this.d.clock().getTime() + delay) });
    }
  }

  private async step(p: PipelineRecord): Promise<PipelineRecord | null | 'wait'> {
    if (p.stage === 'evaluating') return this.evaluate(p);
    if (p.stage === 'deciding' || p.stage === 'incumbent') return this.decide(p);
    if (p.stage === 'promoting') return this.promote(p);
    return null;
  }

  private async policyOf(name: string): Promise<registry.PromotionPolicy | undefined> {
    return (await this.d.registry.getModel(name)).promotionPolicy;
  }

  private async evaluate(p: PipelineRecord): Promise<PipelineRecord | null | 'wait'> {
    const policy = await this.policyOf(p.name);
    const evalSet = policy?.evalSet || 'seed-question';
    const req = evaluation.StartEvaluationRequest.fromPartial({
      model: { ref: { $case: 'registry', registry: { name: p.name, selector: { $case: 'version', version: p.version } } } },
      evalSet,
      idempotencyKey: `auto:${p.id}:candidate`,
    });
    const spec = await this.specOrVerdict(req);
    const cand = (await this.d.core.startSpec(spec, { idempotencyKey: req.idempotencyKey })).run;
    const baseSpec = { ...spec, model: { ref: { $case: 'baseModel' as const, baseModel: spec.baseModel } }, adapterUri: '', mergedUri: '', registryName: '', registryVersion: 0 };
    const base = (await this.d.core.startSpec(baseSpec, { idempotencyKey: `auto:${p.id}:base`, cache: true })).run;
    if (p.candidateEvalId !== cand.id || p.baseEvalId !== base.id) {
      const saved = await this.d.store.updatePipeline(p.id, 'evaluating', { candidateEvalId: cand.id, baseEvalId: base.id, updateTime: this.d.clock() });
      if (!saved) return this.d.store.getPipeline(p.id);
      p = saved;
    }
    const [c, b] = [await this.d.core.run(cand.id), await this.d.core.run(base.id)];
    for (const r of [c, b]) {
      if (r.status === St.EVALUATION_STATUS_FAILED) throw new Verdict(`evaluation ${r.id} (${r === c ? 'candidate' : 'base model'}) failed: ${r.failure?.message ?? 'unknown'}`);
    }
    if (c.status !== St.EVALUATION_STATUS_COMPLETED || b.status !== St.EVALUATION_STATUS_COMPLETED) return 'wait';
    const comparison = await this.d.core.compare(b.id, c.id);
    await this.d.registry.attachEvaluation({
      name: p.name,
      version: p.version,
      result: { evaluationId: c.id, evalSet: c.evalSet, metrics: lineageMetrics(c.scores), time: c.endTime },
    });
    return this.d.store.updatePipeline(p.id, 'evaluating', { stage: 'deciding', comparisonId: comparison.comparisonId, updateTime: this.d.clock() });
  }

  private async specOrVerdict(req: evaluation.StartEvaluationRequest) {
    try {
      return await this.d.core.resolveSpec(req, this.d.generation);
    } catch (err) {
      if (!transient(err)) throw new Verdict(`cannot evaluate: ${err instanceof Error ? err.message : String(err)}`);
      throw err;
    }
  }

  private async decide(p: PipelineRecord): Promise<PipelineRecord | null | 'wait'> {
    const model = await this.d.registry.getModel(p.name);
    const policy = model.promotionPolicy;
    const cand = await this.d.core.run(p.candidateEvalId);
    const { metric, higherIsBetter, unusable } = chooseMetric(policy, cand.setKind, cand.evalSet);
    const alias = policy?.alias || 'champion';
    const minDelta = policy?.minDelta ?? 0;
    const significance = policy?.significance ?? DEFAULT_SIGNIFICANCE;
    const candValue = metricValue(cand.scores, metric);
    const baseRun = await this.d.core.run(p.baseEvalId);
    const baseValue = metricValue(baseRun.scores, metric);
    const base = { alias, metric, candidateValue: candValue ?? 0, significance, baseEvaluationId: baseRun.id, ...(baseValue !== undefined ? { baseValue } : {}) };
    if (unusable) return this.finish(p, { ...base, promoted: false, reason: unusable });
    if (candValue === undefined) return this.finish(p, { ...base, promoted: false, reason: `${metric} is not available for evaluation ${cand.id}` });
    if (baseValue === undefined) return this.finish(p, { ...base, promoted: false, reason: `${metric} is not available for the base model's evaluation ${baseRun.id}` });
    if (policy?.disabled) return this.finish(p, { ...base, promoted: false, reason: 'automatic promotion is disabled for this model' });
    const better = (a: number, b: number) => (higherIsBetter ? a - b : b - a) > minDelta;
    const vsBase = `${metric} ${fmt(candValue)} vs the base model's ${fmt(baseValue)} (min_delta ${minDelta})`;
    if (!better(candValue, baseValue)) return this.finish(p, { ...base, promoted: false, reason: `not better than the base model: ${vsBase}` });
    const cmpBase = await this.d.core.getComparison(p.comparisonId);
    const pBase = pairedPValue(cmpBase, metric);
    const testBase = pBase === undefined || significance >= 1 ? '' : `, ${pairedText(cmpBase, metric, pBase)}`;
    const withP = { ...base, ...(pBase !== undefined ? { basePValue: pBase } : {}) };
    if (pBase !== undefined && significance < 1 && !(pBase < significance)) {
      return this.finish(p, { ...withP, promoted: false, reason: `not significantly better than the base model: ${vsBase}${testBase} is not below ${significance}` });
    }
    const holder = model.aliases[alias] ?? 0;
    if (holder === p.version) return this.finish(p, { ...withP, promoted: false, incumbentVersion: holder, reason: `version ${p.version} already holds ${alias}` });
    if (holder === 0) return this.toPromoting(p, { ...withP, incumbentVersion: 0, reason: `better than the base model: ${vsBase}${testBase}; no version holds ${alias}` });

    const inc = await this.incumbentRun(p, holder, cand);
    if (p.incumbentEvalId !== inc.id || p.incumbentVersion !== holder || p.stage !== 'incumbent') {
      const saved = await this.d.store.updatePipeline(p.id, p.stage, { stage: 'incumbent', incumbentEvalId: inc.id, incumbentVersion: holder, updateTime: this.d.clock() });
      if (!saved) return this.d.store.getPipeline(p.id);
      p = saved;
    }
    if (inc.status === St.EVALUATION_STATUS_FAILED) {
      return this.finish(p, { ...base, promoted: false, incumbentVersion: holder, reason: `the holder (version ${holder}) could not be evaluated: ${inc.failure?.message ?? ''}` });
    }
    if (inc.status !== St.EVALUATION_STATUS_COMPLETED) return 'wait';
    const incValue = metricValue(inc.scores, metric);
    if (incValue === undefined) return this.toPromoting(p, { ...withP, incumbentVersion: holder, reason: `better than the base model: ${vsBase}${testBase}; the holder (version ${holder}) has no ${metric}` });
    const verdict = `${metric} ${fmt(candValue)} vs holder version ${holder}'s ${fmt(incValue)} (min_delta ${minDelta})`;
    const withInc = { ...withP, incumbentVersion: holder, incumbentValue: incValue };
    if (!better(candValue, incValue)) return this.finish(p, { ...withInc, promoted: false, reason: `not better than the holder: ${verdict}` });
    let testInc = '';
    if (pBase !== undefined && significance < 1) {
      const cmpInc = await this.d.core.compare(inc.id, cand.id);
      const pInc = pairedPValue(cmpInc, metric) ?? 1;
      testInc = `, ${pairedText(cmpInc, metric, pInc)}`;
      if (!(pInc < significance)) {
        return this.finish(p, { ...withInc, incumbentPValue: pInc, promoted: false, reason: `not significantly better than the holder: ${verdict}${testInc} is not below ${significance}` });
      }
      Object.assign(withInc, { incumbentPValue: pInc });
    }
    return this.toPromoting(p, { ...withInc, reason: `better: ${verdict}${testInc}; vs the base model: ${vsBase}${testBase}` });
  }

  /** The holder's run on the candidate's set and settings (started once, by key). */
  private async incumbentRun(p: PipelineRecord, holder: number, cand: RunRecord): Promise<RunRecord> {
    if (p.incumbentEvalId && p.incumbentVersion === holder) return this.d.core.run(p.incumbentEvalId);
    // The same decoding as the candidate: its explicit settings, or (model config / set greedy)
    // none, so that the holder's run resolves the same way on the same set.
    const explicit = !cand.decoding || cand.decoding === evaluation.DecodingSource.DECODING_SOURCE_REQUEST;
    const g = cand.generation;
    const req = evaluation.StartEvaluationRequest.fromPartial({
      model: { ref: { $case: 'registry', registry: { name: p.name, selector: { $case: 'version', version: holder } } } },
      evalSet: cand.evalSet,
      generation: explicit ? g : { maxNewTokens: g.maxNewTokens, seed: g.seed },
      idempotencyKey: `auto:${p.name}@${holder}:holder:${cand.setSha.slice(0, 16)}:${g.maxNewTokens}:${explicit ? `${g.temperature}:${g.topP}` : `d${cand.decoding}`}:${g.seed}`,
    });
    const spec = await this.specOrVerdict(req);
    return (await this.d.core.startSpec(spec, { idempotencyKey: req.idempotencyKey })).run;
  }

  private async toPromoting(p: PipelineRecord, draft: Partial<events.PromotionDecided>): Promise<PipelineRecord | null> {
    const decision = this.decision(p, { ...draft, promoted: false });
    return this.d.store.updatePipeline(p.id, p.stage, { stage: 'promoting', decision, incumbentVersion: decision.incumbentVersion, updateTime: this.d.clock() });
  }

  private async promote(p: PipelineRecord): Promise<PipelineRecord | null | 'wait'> {
    const draft = p.decision!;
    const model = await this.d.registry.getModel(p.name);
    const now = model.aliases[draft.alias] ?? 0;
    // A crash after SetAlias and before recording it: the alias already points here.
    if (now === p.version) return this.finish(p, { ...draft, promoted: true });
    if (now !== draft.incumbentVersion) return this.d.store.updatePipeline(p.id, 'promoting', { stage: 'deciding', updateTime: this.d.clock() });
    try {
      await this.d.registry.setAlias({ name: p.name, alias: draft.alias, version: p.version, expectedVersion: draft.incumbentVersion, reason: draft.reason, actor: ACTOR });
    } catch (err) {
      if (err instanceof AbortedError) return this.d.store.updatePipeline(p.id, 'promoting', { stage: 'deciding', updateTime: this.d.clock() });
      if (err instanceof NotFoundError) throw new Verdict(`cannot move ${draft.alias}: ${err.message}`);
      throw err;
    }
    return this.finish(p, { ...draft, promoted: true });
  }

  private decision(p: PipelineRecord, d: Partial<events.PromotionDecided>): events.PromotionDecided {
    return events.PromotionDecided.fromPartial({
      name: p.name,
      version: p.version,
      evaluationId: p.candidateEvalId,
      comparisonId: p.comparisonId,
      alias: p.decision?.alias ?? '',
      metric: p.decision?.metric ?? '',
      ...d,
    });
  }

  private async finish(p: PipelineRecord, d: Partial<events.PromotionDecided>): Promise<PipelineRecord | null> {
    const decision = this.decision(p, d);
    const payload = events.PromotionDecided.encode(decision).finish();
    const evt = { id: this.d.newId('evt'), subject: SUBJECTS.evaluationPromotionDecided.subject, payload };
    const done = await this.d.store.updatePipeline(p.id, p.stage, { stage: 'done', decision, updateTime: this.d.clock() }, evt);
    if (done) {
      this.d.log.info({ pipeline: p.id, promoted: decision.promoted, alias: decision.alias, reason: decision.reason }, 'promotion decided');
      await this.d.outbox.publish([evt]);
    }
    return done;
  }

  /** Resolves when no pipeline can move (tests). */
  async idle(): Promise<void> {
    for (;;) {
      const active = await this.d.store.activePipelines(new Date(8.64e15));
      if (!this.busy && active.length === 0) return;
      await new Promise((r) => setTimeout(r, 20));
    }
  }
}

function fmt(x: number): string {
  return Number.isInteger(x) ? String(x) : x.toFixed(4);
}
