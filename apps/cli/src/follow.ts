/**
 * Following long-running work live: a training job through WatchJob (re-attaching from the last
 * sequence seen when the stream breaks, e.g. the training service restarted), and an evaluation
 * through WatchEvaluation (polling GetEvaluation where watching is not possible).
 */
import { evaluation, training, trainer } from '@medtune/contracts';
import type { CliContext } from './context';
import { CliError, EXIT } from './exit';
import { trainingProgressLine, progressBar } from './format/progress';
import { artifactKindName, backendName, evalStatusName, failureText, jobStateName, JOB_TERMINAL } from './format/views';
import { formatBytes } from './format/units';

const DAY_MS = 24 * 3_600_000;

/** Options of {@link followJob}. */
export interface FollowJobOptions {
  /** Called for every event (--json streams them). */
  onEvent?: (e: training.JobEvent) => void;
  /** Prefix of narrative lines. */
  indent?: string;
}

/** Watches a job until it ends, drawing a progress bar with the loss; returns the final job. */
export async function followJob(ctx: CliContext, jobId: string, options: FollowJobOptions = {}): Promise<training.Job> {
  const { out } = ctx;
  const indent = options.indent ?? '  ';
  const live = out.live();
  const view = { step: 0, totalSteps: 0, epoch: undefined as number | undefined, etaSeconds: undefined as number | undefined, loss: undefined as number | undefined, tokensPerSecond: undefined as number | undefined, state: 'queued' };
  let nextSeq = 1;
  let failures = 0;
  const tty = Boolean(ctx.io.stderr.isTTY);
  // Off a terminal a bar without a step count says nothing the state lines do not.
  const draw = () => (tty || view.totalSteps > 0) && live.update(`${indent}${trainingProgressLine(view, Math.min(30, Math.max(10, out.width - 70)))}`);

  for (;;) {
    if (ctx.signal.aborted) break;
    try {
      const stream = ctx.clients.training.serverStream('watchJob', { jobId, fromSequence: nextSeq }, { deadlineMs: DAY_MS, signal: ctx.signal });
      for await (const msg of stream) {
        const e = msg.event;
        if (!e) continue;
        failures = 0;
        nextSeq = e.sequence + 1;
        options.onEvent?.(e);
        describeEvent(e, view, (line) => live.log(`${indent}${line}`));
        draw();
      }
    } catch (err) {
      if (ctx.signal.aborted) break;
      // NOT_FOUND and friends are real answers; a broken stream is re-opened from where it stopped.
      if (!(err instanceof CliError) || err.exitCode !== EXIT.UNAVAILABLE || ++failures > 5) {
        live.done();
        throw err;
      }
      live.log(`${indent}(lost the job's event stream: ${err.message}; re-attaching from event ${nextSeq})`);
      await ctx.sleep(Math.min(10_000, 500 * 2 ** failures));
      continue;
    }
    // The stream ended: the job ended (or the service closed it). Confirm with GetJob.
    const { job } = await ctx.clients.training.unary('getJob', { jobId });
    if (job && JOB_TERMINAL.has(job.state)) {
      live.done();
      return job;
    }
    await ctx.sleep(1_000);
  }
  live.done();
  throw interrupted(`the job ${jobId} keeps running on the training service`, `follow it with: medtune train watch ${jobId}   (cancel: medtune train cancel ${jobId})`);
}

/** Updates the view from one event and logs the lines worth keeping. */
function describeEvent(e: training.JobEvent, view: { step: number; totalSteps: number; epoch: number | undefined; etaSeconds: number | undefined; loss: number | undefined; tokensPerSecond: number | undefined; state: string }, log: (line: string) => void): void {
  const p = e.payload;
  if (!p) return;
  if (p.$case === 'stateChanged') {
    const s = p.stateChanged;
    view.state = jobStateName(s.state);
    log(`${view.state}${s.reason ? ` — ${s.reason}` : ''}`);
    return;
  }
  const w = p.workerEvent.payload;
  if (!w) return;
  switch (w.$case) {
    case 'progress':
      view.step = w.progress.step;
      view.totalSteps = w.progress.totalSteps;
      view.epoch = w.progress.epoch;
      view.etaSeconds = w.progress.etaSeconds;
      if (w.progress.tokensPerSecond) view.tokensPerSecond = w.progress.tokensPerSecond;
      break;
    case 'metrics': {
      const loss = w.metrics.values['loss'];
      if (loss !== undefined) view.loss = loss;
      view.step = Math.max(view.step, w.metrics.step);
      const tps = w.metrics.values['tokens_per_second'];
      if (tps) view.tokensPerSecond = tps;
      break;
    }
    case 'checkpointSaved':
      log(`checkpoint at step ${w.checkpointSaved.checkpoint?.step ?? '?'}: ${w.checkpointSaved.checkpoint?.uri ?? ''}`);
      break;
    case 'artifactReady':
      log(`artifact ${artifactKindName(w.artifactReady.kind)} (${formatBytes(w.artifactReady.sizeBytes)}): ${w.artifactReady.uri}`);
      break;
    case 'backendSelected':
      log(`backend ${backendName(w.backendSelected.backend)}${w.backendSelected.reason ? ` — ${w.backendSelected.reason}` : ''}`);
      break;
    case 'notice':
      log(`${w.notice.level === trainer.NoticeLevel.NOTICE_LEVEL_WARNING ? 'warning' : 'note'}: ${w.notice.message}`);
      break;
    case 'stateChanged':
      if (w.stateChanged.failure) log(`worker: ${failureText(w.stateChanged.failure)}`);
      break;
  }
}

/** Terminal evaluation statuses. */
const EVAL_TERMINAL = new Set([evaluation.EvaluationStatus.EVALUATION_STATUS_COMPLETED, evaluation.EvaluationStatus.EVALUATION_STATUS_FAILED]);

/** Follows an evaluation until it ends, with a progress bar over its items; returns it. */
export async function followEvaluation(ctx: CliContext, evaluationId: string, indent = '  '): Promise<evaluation.Evaluation> {
  const live = ctx.out.live();
  const draw = (e: evaluation.Evaluation) => live.update(`${indent}${progressBar(e.itemsDone, e.itemsTotal, 20)}  ${e.itemsDone}/${e.itemsTotal || '?'} items  ${evalStatusName(e.status)}`);
  let watching = true;
  for (;;) {
    if (ctx.signal.aborted) break;
    if (watching) {
      try {
        for await (const msg of ctx.clients.evaluation.serverStream('watchEvaluation', { evaluationId }, { deadlineMs: DAY_MS, signal: ctx.signal })) {
          if (!msg.evaluation) continue;
          draw(msg.evaluation);
          if (EVAL_TERMINAL.has(msg.evaluation.status)) {
            live.done();
            return msg.evaluation;
          }
        }
      } catch (err) {
        if (ctx.signal.aborted) break;
        if (!(err instanceof CliError) || err.exitCode === EXIT.NOT_FOUND) {
          live.done();
          throw err;
        }
        watching = false; // fall back to polling
      }
    }
    const { evaluation: e } = await ctx.clients.evaluation.unary('getEvaluation', { evaluationId });
    if (e) {
      draw(e);
      if (EVAL_TERMINAL.has(e.status)) {
        live.done();
        return e;
      }
    }
    await ctx.sleep(1_000);
  }
  live.done();
  throw interrupted(`the evaluation ${evaluationId} keeps running`, `see it with: medtune eval show ${evaluationId}`);
}

/** The error of a Ctrl-C during a wait (exit 130). */
export function interrupted(message: string, hint: string): CliError {
  return new CliError(EXIT.INTERRUPTED, `interrupted: ${message}`, hint);
}
