/**
 * What the tracking service does with the events it consumes (transport-free; src/events feeds
 * it). Every handler is idempotent: a redelivered event changes nothing (job events carry their
 * sequence, evaluation events the rank of their status, metric points are unique per
 * (run, key, step)).
 *
 * - medtune.training.job.<state> (JobStateChanged): opens the job's run (run_id = the job's
 *   tracking run id = job id) with its params, tags and status, then follows its state.
 * - medtune.training.job.progressed (JobProgressed): a heartbeat.
 * - medtune.training.metrics.logged (MetricsLogged): points of one step, batched into the store.
 * - medtune.evaluation.run.* (EvaluationRunChanged): an evaluation run under its training run,
 *   with its scores as points at step 0 once completed.
 */
import { InvalidArgumentError } from '@medtune/kit';
import { evaluation, tracking, training, type events } from '@medtune/contracts';
import type { PointInput } from './metrics/types';
import { isTerminal, type RunRecord } from './records';
import { DEFAULT_EXPERIMENT, newRunRecord, type TrackingCore } from './service';
import { evaluationModel, evaluationParams, evaluationPoints, evaluationRank, heartbeatArmedForJob, jobParams, runStatusForEvaluation, runStatusForJob } from './sources';
import { MAX_EXPERIMENT_NAME, MAX_KEY, RUN_ID_PATTERN, checkRunId } from './validate';

const { RunKind, RunStatus } = tracking;

/** Adds the params a run lacks; a param it has keeps its value (written once). Returns the keys that differed. */
function addMissingParams(run: RunRecord, params: Record<string, string>): string[] {
  const differing: string[] = [];
  for (const [k, v] of Object.entries(params)) {
    if (run.params[k] === undefined) run.params[k] = v;
    else if (run.params[k] !== v) differing.push(k);
  }
  return differing;
}

/** The event handlers; see the file comment. */
export class EventIngest {
  constructor(private readonly core: TrackingCore) {}

  /** A job entered a state. */
  async onJobStateChanged(evt: events.JobStateChanged): Promise<void> {
    const job = evt.job;
    if (!job?.jobId) throw new InvalidArgumentError('job.job_id', 'missing in JobStateChanged');
    const runId = checkRunId('job.tracking_run_id', job.trackingRunId || job.jobId);
    const { deps, book, liveness } = this.core;
    const now = deps.clock();
    const experiment = job.experiment && job.experiment.length <= MAX_EXPERIMENT_NAME ? job.experiment : DEFAULT_EXPERIMENT;
    const armed = heartbeatArmedForJob(evt.state);
    // Alive unless the event says the worker is gone.
    const alive = armed && evt.state !== training.JobState.JOB_STATE_RECOVERING;
    const params = jobParams(job);
    const log = deps.log.child({ component: 'ingest', runId, jobId: job.jobId, sequence: evt.sequence });

    await deps.experiments.ensure({ name: experiment, description: '', createTime: now });
    const fresh = newRunRecord({
      runId,
      experiment,
      name: job.displayName || job.jobId,
      kind: RunKind.RUN_KIND_TRAINING,
      status: runStatusForJob(evt.state, undefined) ?? RunStatus.RUN_STATUS_SCHEDULED,
      params,
      tags: { ...job.tags },
      parentRunId: '',
      sourceId: job.jobId,
      now,
      sourceSeq: evt.sequence || 1,
      heartbeatArmed: armed,
    });
    if (!(await book.get(runId))) {
      // A new run: metrics may have been stored before this first event (read only then: the log
      // of a long run is large).
      const { summaries, nextSeq } = await this.core.writer.summariesOf(runId);
      fresh.metrics = summaries;
      fresh.metricsSeq = nextSeq;
    }

    const { run } = await book.createOrUpdate(fresh, (stored) => {
      if (evt.sequence <= stored.sourceSeq) return false; // late or redelivered
      stored.sourceSeq = evt.sequence;
      const differing = addMissingParams(stored, params);
      if (differing.length) log.warn({ keys: differing }, 'job event has other values for params already written; kept the first');
      const next = runStatusForJob(evt.state, stored.status);
      if (next !== undefined) book.setStatus(stored, next, now);
      stored.heartbeatArmed = armed && !isTerminal(stored.status);
      if (alive) stored.lastHeartbeatTime = now;
      return true;
    });
    if (alive) liveness.beat(runId);
    if (isTerminal(run.status)) liveness.settle(runId);
  }

  /** Progress of a job: a heartbeat of its run. */
  onJobProgressed(evt: events.JobProgressed): void {
    const runId = evt.runId || evt.jobId;
    if (!runId || !RUN_ID_PATTERN.test(runId)) throw new InvalidArgumentError('run_id', `not a run id (${JSON.stringify(runId)})`);
    this.core.liveness.beat(runId);
  }

  /**
   * Metrics of one step: stored through the batcher (resolves once written). Values that are not
   * finite numbers (a diverged loss) or whose key is unusable cannot be stored; the run gets a tag
   * `rejected_metric.<key>` saying so, and the other values of the step are stored.
   */
  async onMetricsLogged(evt: events.MetricsLogged): Promise<void> {
    const runId = evt.runId || evt.jobId;
    if (!runId || !RUN_ID_PATTERN.test(runId)) throw new InvalidArgumentError('run_id', `not a run id (${JSON.stringify(runId)})`);
    const time = evt.time ? evt.time.getTime() : this.core.deps.clock().getTime();
    const points: PointInput[] = [];
    const rejected: [string, number][] = [];
    for (const [key, value] of Object.entries(evt.values)) {
      if (Number.isFinite(value) && key && key.length <= MAX_KEY) points.push({ key, step: evt.step, value, time });
      else rejected.push([key, value]);
    }
    if (rejected.length) await this.noteRejected(runId, evt.step, rejected);
    await this.core.batcher.submit({ runId, points });
  }

  /** An evaluation run started, completed or failed. */
  async onEvaluationChanged(evt: events.EvaluationRunChanged): Promise<void> {
    const e = evt.evaluation;
    if (!e?.evaluationId) throw new InvalidArgumentError('evaluation.evaluation_id', 'missing in EvaluationRunChanged');
    const runId = checkRunId('evaluation.evaluation_id', e.evaluationId);
    const parentRunId = e.trackingRunId && RUN_ID_PATTERN.test(e.trackingRunId) ? e.trackingRunId : '';
    const { deps, book } = this.core;
    const now = deps.clock();
    const rank = evaluationRank(e.status);
    const parent = parentRunId ? await book.get(parentRunId) : undefined;
    const experiment = parent?.experiment ?? DEFAULT_EXPERIMENT;
    await deps.experiments.ensure({ name: experiment, description: '', createTime: now });
    const params = evaluationParams(e);
    const fresh = newRunRecord({
      runId,
      experiment,
      name: `eval ${evaluationModel(e)}${e.evalSet ? ` on ${e.evalSet}` : ''}`,
      kind: RunKind.RUN_KIND_EVALUATION,
      status: runStatusForEvaluation(e.status) ?? RunStatus.RUN_STATUS_SCHEDULED,
      params,
      tags: {},
      parentRunId,
      sourceId: e.evaluationId,
      now,
      sourceSeq: rank || 1,
    });
    await book.createOrUpdate(fresh, (stored) => {
      if (rank <= stored.sourceSeq) return false;
      stored.sourceSeq = rank;
      addMissingParams(stored, params);
      const next = runStatusForEvaluation(e.status);
      if (next !== undefined) book.setStatus(stored, next, now);
      return true;
    });
    const points = evaluationPoints(e, (e.endTime ?? now).getTime());
    if (e.status === evaluation.EvaluationStatus.EVALUATION_STATUS_COMPLETED && points.length) {
      await this.core.batcher.submit({ runId, points });
      this.core.liveness.settle(runId);
    }
  }

  private async noteRejected(runId: string, step: number, rejected: [string, number][]): Promise<void> {
    this.core.deps.log.warn({ runId, step, keys: rejected.map(([k]) => k) }, 'metric values that cannot be stored (not finite, or bad key)');
    await this.core.book.update(runId, (r) => {
      let changed = false;
      for (const [key, value] of rejected) {
        const tag = `rejected_metric.${key.slice(0, MAX_KEY - 20)}`;
        if (r.tags[tag] === undefined) {
          r.tags[tag] = `value ${value} at step ${step} was not stored (first occurrence)`;
          changed = true;
        }
      }
      return changed;
    });
  }
}
