/**
 * `medtune run <pipeline.yaml>`: the seed recipe through the platform. import → evaluate the base →
 * train (with register_as) → registration happens on training.job.succeeded → the evaluation
 * service evaluates the new version on registry.version.created and moves the alias → this
 * follows each step live over gRPC and prints where to look. Every step is idempotent, so a second
 * run reuses the dataset version, the base evaluation, the job and the version, and is fast.
 */
import { evaluation, registry } from '@medtune/contracts';
import type { CliContext } from '../context';
import { CliError, EXIT } from '../exit';
import { followEvaluation, followJob } from '../follow';
import { importWithProgress } from '../commands/datasets';
import { jobOutcome } from '../commands/train';
import { evaluationOutcome } from '../commands/evaluate';
import { renderFields } from '../format/table';
import { comparisonText, jobStateName, scoresLine, versionStatusName } from '../format/views';
import { formatDuration, formatPercent, shortDigest } from '../format/units';
import { baseEvaluationRequest, createJobRequest, evalSetRequest, importRequest, promotionPolicy, versionEvaluationRequest } from './requests';
import { trainingKey, type LoadedPipeline } from './spec';

/** Switches of `medtune run`. */
export interface RunOptions {
  /** Train again even if this exact job exists (a new idempotency key). */
  fresh: boolean;
  /** Polling interval for the registry and evaluation lookups. */
  pollMs?: number;
}

/** What a pipeline run produced (the --json output). */
export interface PipelineSummary {
  pipeline: string;
  elapsedMs: number;
  dataset: { name: string; digest: string; created: boolean; rows: number; trainRows: number; evalRows: number };
  baseEvaluation?: { evaluationId: string; scores: unknown } | undefined;
  job: { jobId: string; state: string; created: boolean; runId: string; finalLoss?: number | undefined };
  model?: { name: string; version: number; status: string; aliases: string[]; artifacts: { kind: number; uri: string; sha256: string }[] } | undefined;
  evaluation?: { evaluationId: string; scores: unknown; startedBy: 'automation' | 'cli' } | undefined;
  comparison?: { comparisonId: string; deltas: Record<string, number> } | undefined;
  alias?: { alias: string; version: number; movedToThis: boolean } | undefined;
}

/** Runs the pipeline; returns its summary (prints progress on stderr, the summary on stdout). */
export async function runPipeline(ctx: CliContext, p: LoadedPipeline, options: RunOptions): Promise<PipelineSummary> {
  const { spec } = p;
  const { out } = ctx;
  const t0 = Date.now();
  const poll = options.pollMs ?? 1_000;
  const step = (n: number, text: string) => out.note(`${out.paint(`[${n}/5]`, 'cyan')} ${text}`);

  // 1. the data
  step(1, `import ${spec.dataset.path} as ${spec.dataset.name}`);
  const imported = await importWithProgress(ctx, importRequest(p), '      ');
  const v = imported.version!;
  out.note(`      ${imported.created ? 'stored' : 'reused'} version ${shortDigest(v.digest)}: ${v.rowCount} rows (${v.trainRows} train / ${v.evalRows} eval), tokens p50 ${v.tokenStats?.p50 ?? '?'} max ${v.tokenStats?.max ?? '?'}`);

  // The evaluation set and the model's promotion policy exist before anything reacts to events.
  const setReq = evalSetRequest(p);
  if (setReq) {
    const res = await ctx.clients.evaluation.unary('createEvalSet', setReq).catch((err: unknown) => {
      if (err instanceof CliError && err.exitCode === EXIT.CONFLICT) {
        throw new CliError(EXIT.CONFLICT, `evaluation set ${setReq.name} already exists with other content`, 'give evaluation.set another name (sets are immutable)');
      }
      throw err;
    });
    out.note(`      evaluation set ${res.evalSet?.name}: ${res.evalSet?.itemCount} items${res.created ? ' (created)' : ''}`);
  }
  if (spec.register.enabled) await ensureModel(ctx, p);

  // 2. before
  const runKey = trainingKey(spec, v.digest, p.explicit) + (options.fresh ? `/${Date.now().toString(36)}` : '');
  let base: evaluation.Evaluation | undefined;
  if (spec.evaluation.before) {
    step(2, `evaluate the base model on ${spec.evaluation.set}`);
    // No idempotency key: the service caches base-model results by their full spec, which also
    // makes this the run its automation reuses for the comparison.
    const res = await ctx.clients.evaluation.unary('startEvaluation', baseEvaluationRequest(p, '', v.digest));
    base = await followEvaluation(ctx, res.evaluation!.evaluationId, '      ');
    const bad = evaluationOutcome(base);
    if (bad) throw bad;
    out.note(`      before: ${scoresLine(base.scores)}${res.created ? '' : ' (reused)'}`);
  } else step(2, 'skip the base evaluation (evaluation.before: false)');

  // 3. train
  step(3, `train ${spec.base_model}`);
  const created = await ctx.clients.training.unary('createJob', createJobRequest(p, v.digest, runKey));
  const jobId = created.job!.jobId;
  out.note(`      job ${jobId} ${created.created ? 'created' : `exists (${jobStateName(created.job!.state)}); reusing it — \`medtune run --fresh\` trains anew`}`);
  const job = await followJob(ctx, jobId, { indent: '      ' });
  const failed = jobOutcome(job);
  if (failed) throw failed;
  const finalLoss = job.latestMetrics['loss'];
  out.note(`      ${jobStateName(job.state)}${finalLoss !== undefined ? `, final loss ${finalLoss.toFixed(4)}` : ''}`);

  const summary: PipelineSummary = {
    pipeline: spec.name,
    elapsedMs: 0,
    dataset: { name: v.datasetName, digest: v.digest, created: imported.created, rows: v.rowCount, trainRows: v.trainRows, evalRows: v.evalRows },
    baseEvaluation: base ? { evaluationId: base.evaluationId, scores: evaluation.Scores.toJSON(base.scores ?? evaluation.Scores.fromPartial({})) } : undefined,
    job: { jobId, state: jobStateName(job.state), created: created.created, runId: job.trackingRunId || jobId, finalLoss },
  };

  if (!spec.register.enabled) {
    step(4, 'skip registration (register.enabled: false)');
    step(5, 'skip the evaluation of the result (it evaluates registered versions)');
    return finish(ctx, summary, t0);
  }

  // 4. registration, by the registry on medtune.training.job.succeeded
  const name = spec.register.model;
  step(4, `registration of ${name} (the registry reacts to the job's success)`);
  const version = await waitForVersion(ctx, name, jobId, poll);
  out.note(`      ${name} v${version.version} ${versionStatusName(version.status)} — ${version.artifacts.length} artifacts verified`);
  summary.model = { name, version: version.version, status: versionStatusName(version.status), aliases: version.aliases, artifacts: version.artifacts.map((a) => ({ kind: a.kind, uri: a.uri, sha256: a.sha256 })) };

  // 5. after: the evaluation service evaluates the version on registry.version.created
  step(5, `evaluation of ${name}@${version.version} on ${spec.evaluation.set} (the evaluation service reacts to the new version)`);
  let after = await waitForEvaluation(ctx, name, version.version, spec.evaluation.set, spec.evaluation.automation_timeout_s * 1_000, poll);
  let startedBy: 'automation' | 'cli' = 'automation';
  if (!after) {
    out.note(`      the evaluation service did not start an evaluation within ${spec.evaluation.automation_timeout_s}s; starting it`);
    const res = await ctx.clients.evaluation.unary('startEvaluation', versionEvaluationRequest(p, name, version.version, `${runKey}/after/v${version.version}`));
    after = res.evaluation!;
    startedBy = 'cli';
  }
  after = await followEvaluation(ctx, after.evaluationId, '      ');
  const badAfter = evaluationOutcome(after);
  if (badAfter) throw badAfter;
  out.note(`      after:  ${scoresLine(after.scores)}`);
  summary.evaluation = { evaluationId: after.evaluationId, scores: evaluation.Scores.toJSON(after.scores ?? evaluation.Scores.fromPartial({})), startedBy };

  // Without the automation (it did not evaluate the version) nothing else will compare or promote.
  const automated = startedBy === 'automation';
  const comparison = await findOrMakeComparison(ctx, name, version.version, after, base, automated ? 15_000 : 0, poll);
  if (comparison) summary.comparison = { comparisonId: comparison.comparisonId, deltas: comparison.deltas };

  // The alias decision follows the evaluation; give it a moment to land.
  const alias = spec.register.alias;
  let holder = 0;
  const deadline = Date.now() + (spec.register.auto_promote && automated ? 15_000 : 0);
  for (;;) {
    const { model } = await ctx.clients.registry.unary('getRegisteredModel', { name });
    holder = model?.aliases[alias] ?? 0;
    if (holder === version.version || Date.now() >= deadline) break;
    // A move (or a decision to keep the holder) recorded after the evaluation ended settles it.
    const hist = await ctx.clients.registry.unary('listAliasHistory', { name, alias, pageSize: 5, pageToken: '' });
    if (hist.changes.some((c) => c.time && after!.endTime && c.time >= after!.endTime)) break;
    await ctx.sleep(poll);
  }
  summary.alias = { alias, version: holder, movedToThis: holder === version.version };

  if (comparison && !out.json) out.result(null, () => `\n${comparisonText(comparison, 1, Math.min(out.width, 120))}`);
  return finish(ctx, summary, t0);
}

/** Creates the registered model with the pipeline's promotion policy, or updates the policy. */
async function ensureModel(ctx: CliContext, p: LoadedPipeline): Promise<void> {
  const name = p.spec.register.model;
  const policy = promotionPolicy(p);
  const res = await ctx.clients.registry.unary('createRegisteredModel', registry.CreateRegisteredModelRequest.fromPartial({ name, description: p.spec.description, promotionPolicy: policy, tags: { pipeline: p.spec.name } }));
  const have = res.model?.promotionPolicy;
  const same = have && have.alias === policy.alias && have.metric === policy.metric && have.evalSet === policy.evalSet && have.minDelta === policy.minDelta && have.disabled === policy.disabled;
  if (!res.created && !same) await ctx.clients.registry.unary('updateRegisteredModel', registry.UpdateRegisteredModelRequest.fromPartial({ name, promotionPolicy: policy }));
}

/** Polls the registry until the job's version exists and is verified (READY), or fails. */
async function waitForVersion(ctx: CliContext, name: string, jobId: string, pollMs: number): Promise<registry.ModelVersion> {
  const live = ctx.out.live();
  const started = Date.now();
  try {
    for (;;) {
      const res = await ctx.clients.registry.unary('listModelVersions', registry.ListModelVersionsRequest.fromPartial({ name, pageSize: 50 })).catch((err: unknown) => {
        if (err instanceof CliError && err.exitCode === EXIT.NOT_FOUND) return registry.ListModelVersionsResponse.fromPartial({});
        throw err;
      });
      const v = res.versions.find((x) => x.idempotencyKey === jobId || x.lineage?.trainingJobId === jobId);
      if (v?.status === registry.ModelVersionStatus.MODEL_VERSION_STATUS_READY) return v;
      if (v?.status === registry.ModelVersionStatus.MODEL_VERSION_STATUS_FAILED_REGISTRATION) {
        throw new CliError(EXIT.FAILED, `${name} v${v.version} failed registration: ${v.statusMessage}`, `its artifacts did not verify; see medtune models show ${name}@${v.version}`);
      }
      live.update(`      waiting for the registry: ${v ? `v${v.version} ${versionStatusName(v.status)}` : 'no version yet'} (${formatDuration(Date.now() - started)})`);
      if (Date.now() - started > 10 * 60_000) {
        throw new CliError(EXIT.UNAVAILABLE, `the registry has not registered job ${jobId} after 10 minutes`, 'is the registry service consuming medtune.training.job.succeeded? see deploy/local/stack.sh logs registry');
      }
      await ctx.sleep(pollMs);
    }
  } finally {
    live.done('');
  }
}

/** Polls for an evaluation of name@version on the set (started by the automation); undefined after the timeout. */
async function waitForEvaluation(ctx: CliContext, name: string, version: number, set: string, timeoutMs: number, pollMs: number): Promise<evaluation.Evaluation | undefined> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const res = await ctx.clients.evaluation.unary('listEvaluations', { registryName: name, evalSet: set, pageSize: 50, pageToken: '' });
    const e = res.evaluations.find((x) => x.registryName === name && x.registryVersion === version && x.evalSet === set);
    if (e) return e;
    if (Date.now() > deadline) return undefined;
    await ctx.sleep(pollMs);
  }
}

/** The comparison the automation stored for this version, else one made here against `base`. */
async function findOrMakeComparison(ctx: CliContext, name: string, version: number, after: evaluation.Evaluation, base: evaluation.Evaluation | undefined, waitMs: number, pollMs: number): Promise<evaluation.Comparison | undefined> {
  const deadline = Date.now() + waitMs;
  for (;;) {
    const res = await ctx.clients.evaluation.unary('listComparisons', { registryName: name, pageSize: 50, pageToken: '' });
    const c = res.comparisons.find((x) => x.candidateEvaluationId === after.evaluationId) ?? res.comparisons.find((x) => x.registryVersion === version && x.evalSet === after.evalSet);
    if (c) return c;
    if (Date.now() > deadline) break;
    await ctx.sleep(pollMs);
  }
  if (!base) return undefined;
  const res = await ctx.clients.evaluation.unary('compareEvaluations', { baselineEvaluationId: base.evaluationId, candidateEvaluationId: after.evaluationId });
  return res.comparison;
}

/** Prints where to look and returns the summary. */
function finish(ctx: CliContext, summary: PipelineSummary, t0: number): PipelineSummary {
  summary.elapsedMs = Date.now() - t0;
  const s = summary;
  ctx.out.result(summary, () =>
    [
      '',
      `${ctx.out.paint('done', 'green')}: pipeline ${s.pipeline} in ${formatDuration(s.elapsedMs)} — where to look:`,
      renderFields([
        ['  dataset', `${s.dataset.name}@${shortDigest(s.dataset.digest)} (${s.dataset.rows} rows)   medtune datasets stats ${shortDigest(s.dataset.digest)}`],
        ['  job', `${s.job.jobId} ${s.job.state}   medtune train show ${s.job.jobId}`],
        ['  loss curve', `medtune runs metrics ${s.job.runId}`],
        ['  before', s.baseEvaluation ? `${s.baseEvaluation.evaluationId}   medtune eval show ${s.baseEvaluation.evaluationId} --items 1` : undefined],
        ['  after', s.evaluation ? `${s.evaluation.evaluationId} (started by ${s.evaluation.startedBy})   medtune eval show ${s.evaluation.evaluationId} --items 1` : undefined],
        ['  comparison', s.comparison ? `${s.comparison.comparisonId}${s.comparison.deltas['accuracy'] !== undefined ? ` (accuracy ${s.comparison.deltas['accuracy'] >= 0 ? '+' : ''}${formatPercent(s.comparison.deltas['accuracy'])})` : ''}   medtune eval compare --id ${s.comparison.comparisonId}` : undefined],
        ['  model', s.model ? `${s.model.name} v${s.model.version} ${s.model.status}   medtune models show ${s.model.name}@${s.model.version}` : undefined],
        ['  alias', s.alias && s.model ? `${s.alias.alias} → ${s.alias.version ? `v${s.alias.version}` : 'unset'}${s.alias.movedToThis ? ' (this version)' : ' (not moved to this version)'}   medtune models resolve ${s.model.name}@${s.alias.alias}` : undefined],
      ]),
    ].join('\n'),
  );
  return summary;
}
