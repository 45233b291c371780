/**
 * How runs follow the things they record: a training job's params, tags and status from its
 * JobStateChanged events, and an evaluation's from its EvaluationRunChanged events. Pure
 * functions; the ingest module applies them.
 */
import { common, evaluation, tracking, training } from '@medtune/contracts';
import type { PointInput } from './metrics/types';

const { RunStatus } = tracking;
const { JobState } = training;
const { EvaluationStatus } = evaluation;

/** camelCase → snake_case (the proto field names, which users know from the API docs). */
function snake(name: string): string {
  return name.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
}

/** 'PRECISION_BF16' → 'bf16'. */
function enumToken(names: Record<number, string>, value: number, prefix: string): string {
  return (names[value] ?? String(value)).replace(prefix, '').toLowerCase();
}

function paramValue(field: string, v: unknown): string | undefined {
  if (v === undefined || v === null) return undefined;
  if (field === 'precision' && typeof v === 'number') return enumToken(common.Precision, v, 'PRECISION_');
  if (Array.isArray(v)) return v.join(',');
  if (typeof v === 'number' || typeof v === 'boolean' || typeof v === 'string') return String(v);
  return JSON.stringify(v);
}

/**
 * The params of a training run (written once): every resolved hyperparameter under its proto
 * name (learning_rate, batch_size, ...), LoRA settings as lora.<name> (lora.r, lora.target_modules
 * comma-separated), base_model, dataset_digest and backend.
 */
export function jobParams(job: training.Job): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(job.hyperparameters ?? {})) {
    const s = paramValue(snake(k), v);
    if (s !== undefined) out[snake(k)] = s;
  }
  for (const [k, v] of Object.entries(job.lora ?? {})) {
    const s = paramValue(snake(k), v);
    if (s !== undefined && !(Array.isArray(v) && v.length === 0)) out[`lora.${snake(k)}`] = s;
  }
  if (job.baseModel) out['base_model'] = job.baseModel;
  if (job.datasetDigest) out['dataset_digest'] = job.datasetDigest;
  out['backend'] = enumToken(common.Backend, job.backend || common.Backend.BACKEND_AUTO, 'BACKEND_');
  // The worker's execution plan arrives after the first event: later events add these params.
  const plan = job.executionPlan;
  if (plan && plan.microBatchSize > 0) {
    out['plan.micro_batch_size'] = String(plan.microBatchSize);
    out['plan.gradient_accumulation_steps'] = String(plan.gradientAccumulationSteps);
    out['plan.gpus'] = String(plan.gpus);
    out['plan.global_batch_size'] = String(plan.globalBatchSize);
    out['plan.gradient_checkpointing'] = plan.gradientCheckpointing;
    out['plan.packing'] = String(plan.packing);
  }
  return out;
}

/**
 * The run status a job state means, given the run's current status: queued and starting jobs are
 * SCHEDULED until the run has started (a job that recovers passes through starting again, and
 * its run must not go back); running, uploading and cancel_requested are RUNNING (also out of
 * CRASHED: the job shows life); recovering keeps the run as it is (it turns CRASHED when the
 * silence lasts the crash timeout); then FINISHED, FAILED, KILLED.
 * Undefined: no change.
 */
export function runStatusForJob(state: training.JobState, current: tracking.RunStatus | undefined): tracking.RunStatus | undefined {
  switch (state) {
    case JobState.JOB_STATE_VALIDATING:
    case JobState.JOB_STATE_QUEUED:
    case JobState.JOB_STATE_STARTING:
      return current === undefined || current === RunStatus.RUN_STATUS_SCHEDULED ? RunStatus.RUN_STATUS_SCHEDULED : undefined;
    case JobState.JOB_STATE_RUNNING:
      return RunStatus.RUN_STATUS_RUNNING;
    case JobState.JOB_STATE_UPLOADING:
    case JobState.JOB_STATE_CANCEL_REQUESTED:
      // The job is alive: a CRASHED run is RUNNING again; one still SCHEDULED (cancelled while
      // starting) has not started and stays so.
      return current === RunStatus.RUN_STATUS_SCHEDULED ? undefined : RunStatus.RUN_STATUS_RUNNING;
    case JobState.JOB_STATE_RECOVERING:
      // The worker is lost: not a sign of life. A RUNNING run stays RUNNING until the silence
      // lasts the crash timeout; a CRASHED one stays CRASHED.
      return current === undefined || current === RunStatus.RUN_STATUS_RUNNING ? RunStatus.RUN_STATUS_RUNNING : undefined;
    case JobState.JOB_STATE_SUCCEEDED:
      return RunStatus.RUN_STATUS_FINISHED;
    case JobState.JOB_STATE_FAILED:
      return RunStatus.RUN_STATUS_FAILED;
    case JobState.JOB_STATE_CANCELLED:
      return RunStatus.RUN_STATUS_KILLED;
    default:
      return undefined;
  }
}

/**
 * Whether heartbeats are watched in this job state: yes while the job trains (running,
 * cancel_requested) and while it waits to recover (so the run shows CRASHED while nothing
 * trains); no while it uploads artifacts (long and silent; a lost worker there comes back as
 * recovering) and in every other state.
 */
export function heartbeatArmedForJob(state: training.JobState): boolean {
  return state === JobState.JOB_STATE_RUNNING || state === JobState.JOB_STATE_CANCEL_REQUESTED || state === JobState.JOB_STATE_RECOVERING;
}

/** The run status of an evaluation status. */
export function runStatusForEvaluation(status: evaluation.EvaluationStatus): tracking.RunStatus | undefined {
  switch (status) {
    case EvaluationStatus.EVALUATION_STATUS_PENDING:
      return RunStatus.RUN_STATUS_SCHEDULED;
    case EvaluationStatus.EVALUATION_STATUS_RUNNING:
      return RunStatus.RUN_STATUS_RUNNING;
    case EvaluationStatus.EVALUATION_STATUS_COMPLETED:
      return RunStatus.RUN_STATUS_FINISHED;
    case EvaluationStatus.EVALUATION_STATUS_FAILED:
      return RunStatus.RUN_STATUS_FAILED;
    default:
      return undefined;
  }
}

/** Order of evaluation statuses (events carry no sequence): a lower rank never overrides a higher one. */
export function evaluationRank(status: evaluation.EvaluationStatus): number {
  switch (status) {
    case EvaluationStatus.EVALUATION_STATUS_PENDING:
      return 1;
    case EvaluationStatus.EVALUATION_STATUS_RUNNING:
      return 2;
    case EvaluationStatus.EVALUATION_STATUS_COMPLETED:
    case EvaluationStatus.EVALUATION_STATUS_FAILED:
      return 3;
    default:
      return 0;
  }
}

/** How an evaluation names its model: the base model, or "<name>@<version>" of the registry. */
export function evaluationModel(e: evaluation.Evaluation): string {
  if (e.registryName) return `${e.registryName}@${e.registryVersion}`;
  const ref = e.model?.ref;
  if (ref?.$case === 'baseModel') return ref.baseModel;
  if (ref?.$case === 'registry') return ref.registry.name;
  return e.baseModel;
}

/** The params of an evaluation run. */
export function evaluationParams(e: evaluation.Evaluation): Record<string, string> {
  const out: Record<string, string> = { model: evaluationModel(e) };
  if (e.baseModel) out['base_model'] = e.baseModel;
  if (e.adapterUri) out['adapter_uri'] = e.adapterUri;
  if (e.registryName) {
    out['registry_name'] = e.registryName;
    out['registry_version'] = String(e.registryVersion);
  }
  if (e.evalSet) out['eval_set'] = e.evalSet;
  if (e.templateName) out['template_name'] = e.templateName;
  if (e.evalLossDatasetDigest) out['eval_loss_dataset_digest'] = e.evalLossDatasetDigest;
  for (const [k, v] of Object.entries(e.generation ?? {})) {
    if (v !== undefined && v !== null) out[`generation.${snake(k)}`] = String(v);
  }
  return out;
}

/** The scores of a completed evaluation as metric points at step 0 (accuracy, format_compliance, ...). */
export function evaluationPoints(e: evaluation.Evaluation, time: number): PointInput[] {
  const s = e.scores;
  if (!s) return [];
  const out: PointInput[] = [];
  for (const [k, v] of Object.entries(s)) {
    if (typeof v === 'number' && Number.isFinite(v)) out.push({ key: snake(k), step: 0, value: v, time });
  }
  return out;
}
