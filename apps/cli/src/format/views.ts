/**
 * How medtune's records read in a terminal: jobs, dataset versions, evaluations, comparisons
 * (the seed's before / after print, from the stored comparison), model versions. Pure functions
 * of the protobuf messages.
 */
import { common, dataset, evaluation, registry, training } from '@medtune/contracts';
import { renderFields, renderTable, truncate } from './table';
import { formatBytes, formatDelta, formatDuration, formatNumber, formatPercent, formatTime, shortDigest } from './units';

/** JOB_STATE_CANCEL_REQUESTED → "cancel_requested". */
export function jobStateName(s: training.JobState): string {
  return (training.JobState[s] ?? 'UNKNOWN').replace(/^JOB_STATE_/, '').toLowerCase();
}

/** Terminal job states. */
export const JOB_TERMINAL: ReadonlySet<training.JobState> = new Set([training.JobState.JOB_STATE_SUCCEEDED, training.JobState.JOB_STATE_FAILED, training.JobState.JOB_STATE_CANCELLED]);

/** EVALUATION_STATUS_COMPLETED → "completed". */
export function evalStatusName(s: evaluation.EvaluationStatus): string {
  return (evaluation.EvaluationStatus[s] ?? 'UNKNOWN').replace(/^EVALUATION_STATUS_/, '').toLowerCase();
}

/** MODEL_VERSION_STATUS_READY → "ready". */
export function versionStatusName(s: registry.ModelVersionStatus): string {
  return (registry.ModelVersionStatus[s] ?? 'UNKNOWN').replace(/^MODEL_VERSION_STATUS_/, '').toLowerCase();
}

/** ARTIFACT_KIND_MERGED_16BIT → "merged_16bit". */
export function artifactKindName(k: common.ArtifactKind): string {
  return (common.ArtifactKind[k] ?? 'UNKNOWN').replace(/^ARTIFACT_KIND_/, '').toLowerCase();
}

/** BACKEND_HF → "hf". */
export function backendName(b: common.Backend): string {
  return (common.Backend[b] ?? 'UNKNOWN').replace(/^BACKEND_/, '').toLowerCase();
}

/** A failure in one line: "user_error: max_seq_length 128 is shorter than every row". */
export function failureText(f: common.Failure | undefined): string {
  if (!f) return 'no reason given';
  const cls = (common.FailureClass[f.class] ?? '').replace(/^FAILURE_CLASS_/, '').toLowerCase();
  return `${cls && cls !== 'unspecified' ? `${cls}: ` : ''}${f.message || 'no message'}`;
}

/** The next step for a failure class. */
export function failureHint(f: common.Failure | undefined): string {
  switch (f?.class) {
    case common.FailureClass.FAILURE_CLASS_USER_ERROR:
      return 'fix the input named in the message and run again';
    case common.FailureClass.FAILURE_CLASS_SETUP:
      return 'the worker\'s environment is missing something: see its log (deploy/local/stack.sh logs trainer)';
    case common.FailureClass.FAILURE_CLASS_RESOURCE:
      return 'retry with smaller settings (batch_size, max_seq_length) or on a larger machine';
    case common.FailureClass.FAILURE_CLASS_PLATFORM:
      return 'a fault of medtune or its infrastructure: running again may succeed';
    default:
      return 'see the job\'s events: medtune train watch <job-id>';
  }
}

/** A table of jobs. */
export function jobsTable(jobs: readonly training.Job[]): string {
  return renderTable(
    jobs,
    [
      { header: 'JOB', value: (j) => j.jobId },
      { header: 'STATE', value: (j) => jobStateName(j.state) },
      { header: 'NAME', value: (j) => j.displayName, max: 24 },
      { header: 'STEP', value: (j) => (j.progress ? `${j.progress.step}/${j.progress.totalSteps}` : '–'), align: 'right' },
      { header: 'LOSS', value: (j) => formatNumber(j.latestMetrics['loss']), align: 'right' },
      { header: 'DATASET', value: (j) => shortDigest(j.datasetDigest) },
      { header: 'CREATED', value: (j) => formatTime(j.createTime) },
    ],
    '(no jobs)',
  );
}

/** One job in detail. */
export function jobDetails(j: training.Job): string {
  const h = j.hyperparameters;
  const l = j.lora;
  const fields: [string, string | undefined][] = [
    ['job', j.jobId],
    ['state', jobStateName(j.state) + (j.failure ? ` — ${failureText(j.failure)}` : '')],
    ['waiting', j.waitingReason || undefined],
    ['name', j.displayName || undefined],
    ['dataset', j.datasetDigest],
    ['base model', j.baseModel],
    ['backend', `${backendName(j.backend)}${j.backendUsed ? ` (ran: ${backendName(j.backendUsed)})` : ''}`],
    ['progress', j.progress ? `step ${j.progress.step}/${j.progress.totalSteps}, epoch ${j.progress.epoch.toFixed(2)}` : undefined],
    ['metrics', Object.keys(j.latestMetrics).length ? Object.entries(j.latestMetrics).map(([k, v]) => `${k}=${formatNumber(v)}`).join('  ') : undefined],
    ['hyperparameters', h ? `batch ${h.batchSize} × accum ${h.gradientAccumulationSteps}, lr ${formatNumber(h.learningRate)} ${h.lrSchedulerType ?? ''}, ${h.maxSteps ? `max_steps ${h.maxSteps}` : `epochs ${h.numTrainEpochs}`}, seq ${h.maxSeqLength}, ${h.optimizer}` : undefined],
    ['lora', l ? `r ${l.r}, alpha ${l.alpha}, dropout ${l.dropout}, ${l.targetModules.join(',')}` : undefined],
    ['run', j.trackingRunId || undefined],
    ['register as', j.registerAs || undefined],
    ['worker', j.workerId ? `${j.workerId} (attempt ${j.attempt})` : undefined],
    ['created', formatTime(j.createTime)],
    ['created by', j.creator || undefined],
  ];
  const lines = [renderFields(fields)];
  if (j.artifacts.length) lines.push('', artifactsTable(j.artifacts));
  if (j.history.length) lines.push('', renderTable(j.history, [
    { header: 'STATE', value: (t) => jobStateName(t.state) },
    { header: 'AT', value: (t) => formatTime(t.time) },
    { header: 'REASON', value: (t) => t.reason, max: 70 },
  ]));
  return lines.join('\n');
}

/** Artifacts with kind, size, sha256 and URI. */
export function artifactsTable(artifacts: readonly common.Artifact[]): string {
  return renderTable(artifacts, [
    { header: 'ARTIFACT', value: (a) => artifactKindName(a.kind) },
    { header: 'SIZE', value: (a) => formatBytes(a.sizeBytes), align: 'right' },
    { header: 'SHA256', value: (a) => a.sha256.slice(0, 16) },
    { header: 'URI', value: (a) => a.uri },
  ]);
}

/** A table of dataset versions. */
export function versionsTable(versions: readonly dataset.DatasetVersion[]): string {
  return renderTable(
    versions,
    [
      { header: 'DIGEST', value: (v) => shortDigest(v.digest) },
      { header: 'DATASET', value: (v) => v.datasetName },
      { header: 'ROWS', value: (v) => String(v.rowCount), align: 'right' },
      { header: 'TRAIN', value: (v) => String(v.trainRows), align: 'right' },
      { header: 'EVAL', value: (v) => String(v.evalRows), align: 'right' },
      { header: 'TOKENS p50/max', value: (v) => (v.tokenStats ? `${v.tokenStats.p50}/${v.tokenStats.max}` : '–'), align: 'right' },
      { header: 'TEMPLATE', value: (v) => v.lineage?.template?.name ?? '–' },
      { header: 'CREATED', value: (v) => formatTime(v.createTime) },
    ],
    '(no dataset versions)',
  );
}

/** A version's token statistics and validation summary. */
export function versionStats(v: dataset.DatasetVersion): string {
  const t = v.tokenStats;
  const r = v.report;
  const lines = [
    renderFields([
      ['digest', v.digest],
      ['dataset', v.datasetName],
      ['rows', `${v.rowCount} (train ${v.trainRows}, eval ${v.evalRows}; eval_ratio ${v.evalRatio}, seed ${v.splitSeed})`],
      ['source', v.lineage ? `${v.lineage.sourceName} (${formatBytes(v.lineage.sourceSizeBytes)}, sha256 ${v.lineage.sourceSha256.slice(0, 16)})` : undefined],
      ['template', v.lineage?.template?.name],
      ['tokenizer', v.lineage ? `${v.lineage.tokenizerDir} (eos ${JSON.stringify(v.lineage.eosToken)})` : undefined],
      ['tokens', t ? `total ${t.totalTokens}, mean ${t.mean.toFixed(1)}, p50 ${t.p50}, p90 ${t.p90}, p99 ${t.p99}, min ${t.min}, max ${t.max}` : undefined],
      ['over limit', t ? `${t.rowsOverMaxSeqLength} rows over max_seq_length ${t.maxSeqLength}` : undefined],
      ['report', r ? `${r.rowsTotal} read, ${r.rowsValid} valid, ${r.rowsInvalid} invalid, ${r.rowsDuplicate} duplicate (report ${r.reportId})` : undefined],
      ['created', formatTime(v.createTime)],
    ]),
  ];
  return lines.join('\n');
}

/** The first issues of a validation summary, one per line. */
export function issuesText(summary: dataset.ValidationSummary | undefined, max = 10): string {
  if (!summary) return '';
  const issues = summary.firstIssues.slice(0, max).map((i) => `  row ${i.row}${i.column ? `, ${i.column}` : ''}: ${i.message}${i.fatal ? '' : ' (warning)'}`);
  const more = summary.rowsInvalid + summary.rowsDuplicate > issues.length ? [`  … see all with: medtune datasets report ${summary.reportId}`] : [];
  return [...issues, ...more].join('\n');
}

/** Scores in one line: "accuracy 40.0%  format 80.0%  tokens p50 312  eval_loss 11.2". */
export function scoresLine(s: evaluation.Scores | undefined): string {
  if (!s) return 'no scores';
  const parts = [`${s.items} items`];
  // Every share with its 95 % interval (Wilson), so a reader sees how much 8 items can tell.
  const ci = (i: evaluation.Interval | undefined) => (i ? ` [${formatPercent(i.low)}–${formatPercent(i.high)}]` : '');
  if (s.accuracy !== undefined) parts.push(`accuracy ${formatPercent(s.accuracy)}${ci(s.accuracyCi)}`);
  parts.push(`format ${formatPercent(s.formatCompliance)}${ci(s.formatComplianceCi)}`);
  if (s.rougeL !== undefined) parts.push(`rouge_l ${formatNumber(s.rougeL)}${s.rougeLCi ? ` [${formatNumber(s.rougeLCi.low)}–${formatNumber(s.rougeLCi.high)}]` : ''}`);
  if (s.tokenF1 !== undefined) parts.push(`token_f1 ${formatNumber(s.tokenF1)}`);
  parts.push(`tokens p50 ${Math.round(s.completionTokensP50)}`);
  if (s.truncatedShare > 0) parts.push(`truncated ${formatPercent(s.truncatedShare)}`);
  if (s.evalLoss !== undefined) parts.push(`eval_loss ${formatNumber(s.evalLoss)}`);
  for (const c of s.byCategory?.categories ?? []) {
    parts.push(`\n    ${c.category}: ${c.items} items${c.accuracy !== undefined ? `  accuracy ${formatPercent(c.accuracy)}${ci(c.accuracyCi)}` : ''}  format ${formatPercent(c.formatCompliance)}${ci(c.formatComplianceCi)}`);
  }
  return parts.join('  ');
}

/** The model an evaluation ran. */
export function evalModelName(e: evaluation.Evaluation): string {
  return e.registryName ? `${e.registryName}@${e.registryVersion}` : e.baseModel;
}

/** A table of evaluations. */
export function evaluationsTable(evals: readonly evaluation.Evaluation[]): string {
  return renderTable(
    evals,
    [
      { header: 'EVALUATION', value: (e) => e.evaluationId },
      { header: 'STATUS', value: (e) => evalStatusName(e.status) },
      { header: 'MODEL', value: (e) => evalModelName(e), max: 40 },
      { header: 'SET', value: (e) => e.evalSet },
      { header: 'ITEMS', value: (e) => `${e.itemsDone}/${e.itemsTotal}`, align: 'right' },
      { header: 'ACCURACY', value: (e) => formatPercent(e.scores?.accuracy), align: 'right' },
      { header: 'FORMAT', value: (e) => formatPercent(e.scores?.formatCompliance), align: 'right' },
    ],
    '(no evaluations)',
  );
}

/** The text after "</think>" (the answer part), for the before / after print. */
export function answerPart(output: string): string {
  const i = output.lastIndexOf('</think>');
  return (i >= 0 ? output.slice(i + '</think>'.length) : output).trim();
}

/** The seed's before / after print, from a stored comparison: scores, deltas, then examples. */
export function comparisonText(c: evaluation.Comparison, maxExamples = 3, width = 100): string {
  const metrics: [string, number | undefined, number | undefined, number | undefined][] = [
    ['accuracy', c.baseline?.accuracy, c.candidate?.accuracy, c.deltas['accuracy']],
    ['format_compliance', c.baseline?.formatCompliance, c.candidate?.formatCompliance, c.deltas['format_compliance']],
    ['completion_tokens_p50', c.baseline?.completionTokensP50, c.candidate?.completionTokensP50, c.deltas['completion_tokens_p50']],
    ['eval_loss', c.baseline?.evalLoss, c.candidate?.evalLoss, c.deltas['eval_loss']],
  ];
  const rows = metrics.filter(([, a, b]) => a !== undefined || b !== undefined);
  const pct = (k: string) => k === 'accuracy' || k === 'format_compliance';
  const lines = [
    `comparison ${c.comparisonId}  set ${c.evalSet}  ${c.items} items${c.registryName ? `  model ${c.registryName}@${c.registryVersion}` : ''}`,
    `baseline ${c.baselineEvaluationId}  →  candidate ${c.candidateEvaluationId}`,
    '',
    renderTable(rows, [
      { header: 'METRIC', value: ([k]) => k },
      { header: 'BEFORE', value: ([k, a]) => (pct(k) ? formatPercent(a) : formatNumber(a)), align: 'right' },
      { header: 'AFTER', value: ([k, , b]) => (pct(k) ? formatPercent(b) : formatNumber(b)), align: 'right' },
      { header: 'DELTA', value: ([k, , , d]) => (pct(k) && d !== undefined ? `${d >= 0 ? '+' : ''}${(d * 100).toFixed(1)} pt` : formatDelta(d)), align: 'right' },
    ]),
  ];
  if (c.baseline?.accuracy !== undefined) {
    lines.push('', `gained ${c.gained}, lost ${c.lost}${c.mcnemarPValue !== undefined ? `, McNemar p = ${c.mcnemarPValue.toPrecision(3)}` : ''}`);
  }
  for (const ex of c.examples.slice(0, maxExamples)) {
    const mark = (correct: boolean, fmt: boolean) => `${c.baseline?.accuracy !== undefined ? (correct ? '✓' : '✗') : ''}${fmt ? '' : ' (no <think>)'}`;
    lines.push(
      '',
      `── item ${ex.index}: ${truncate(ex.question.replace(/\s+/g, ' '), width - 12)}`,
      `before ${mark(ex.baselineCorrect, ex.baselineFormatOk)}: ${truncate(answerPart(ex.baselineOutput).replace(/\s+/g, ' ') || '(empty)', width * 2)}`,
      `after  ${mark(ex.candidateCorrect, ex.candidateFormatOk)}: ${truncate(answerPart(ex.candidateOutput).replace(/\s+/g, ' ') || '(empty)', width * 2)}`,
    );
  }
  return lines.join('\n');
}

/** A table of registered models. */
export function modelsTable(models: readonly registry.RegisteredModel[]): string {
  return renderTable(
    models,
    [
      { header: 'MODEL', value: (m) => m.name },
      { header: 'LATEST', value: (m) => (m.latestVersion ? `v${m.latestVersion}` : '–') },
      { header: 'ALIASES', value: (m) => Object.entries(m.aliases).map(([a, v]) => `${a}→v${v}`).join(' ') || '–' },
      { header: 'DESCRIPTION', value: (m) => m.description, max: 50 },
    ],
    '(no registered models)',
  );
}

/** A table of model versions. */
export function modelVersionsTable(versions: readonly registry.ModelVersion[]): string {
  return renderTable(
    versions,
    [
      { header: 'VERSION', value: (v) => `v${v.version}` },
      { header: 'STATUS', value: (v) => versionStatusName(v.status) },
      { header: 'ALIASES', value: (v) => v.aliases.join(',') || '–' },
      { header: 'JOB', value: (v) => v.lineage?.trainingJobId ?? '–' },
      { header: 'DATASET', value: (v) => shortDigest(v.lineage?.datasetDigest ?? '') || '–' },
      { header: 'CREATED', value: (v) => formatTime(v.createTime) },
    ],
    '(no versions)',
  );
}

/** One model version with lineage and artifacts. */
export function modelVersionDetails(v: registry.ModelVersion): string {
  const l = v.lineage;
  const evals = l?.evaluations ?? [];
  const lines = [
    renderFields([
      ['model', `${v.name} v${v.version}`],
      ['status', versionStatusName(v.status) + (v.statusMessage ? ` — ${v.statusMessage}` : '')],
      ['aliases', v.aliases.join(', ') || undefined],
      ['base model', l?.baseModel],
      ['dataset', l?.datasetDigest],
      ['training job', l?.trainingJobId],
      ['tracking run', l?.trackingRunId],
      ['template', l?.templateName || undefined],
      ['backend', l ? backendName(l.backend) : undefined],
      ['tags', Object.keys(v.tags).length ? Object.entries(v.tags).map(([k, x]) => `${k}=${x}`).join(' ') : undefined],
      ['created', formatTime(v.createTime)],
    ]),
  ];
  if (v.artifacts.length) lines.push('', artifactsTable(v.artifacts));
  if (evals.length) {
    lines.push('', renderTable(evals, [
      { header: 'EVALUATION', value: (e) => e.evaluationId },
      { header: 'SET', value: (e) => e.evalSet },
      { header: 'METRICS', value: (e) => Object.entries(e.metrics).map(([k, x]) => `${k}=${formatNumber(x)}`).join('  '), max: 80 },
    ]));
  }
  return lines.join('\n');
}

/** "12.3s" style elapsed time between two dates. */
export function elapsed(from: Date | undefined, to: Date | undefined): string {
  return from && to ? formatDuration(to.getTime() - from.getTime()) : '–';
}
