/**
 * Runs evaluations on trainer workers. A loop picks PENDING / RUNNING runs, gives each an idle
 * worker, generates the prompts in chunks through the worker's Generate stream and stores every
 * item result as it arrives; then computes eval loss (when a dataset digest is known) and the
 * scores. Progress is the stored item results themselves, so after a restart or a lost worker a
 * run resumes with the items still missing. A busy or unreachable worker is a transient failure
 * (retried with backoff, up to maxAttempts); a rejected request (bad model path, bad adapter)
 * fails the run with a user error.
 */
import { evaluation, events, SUBJECTS, type trainer } from '@medtune/contracts';
import { common } from '@medtune/contracts';
import {
  AbortedError,
  type Clock,
  DeadlineExceededError,
  DomainError,
  FailedPreconditionError,
  InvalidArgumentError,
  type Logger,
  NotFoundError,
  type OutboxRelay,
  ResourceExhaustedError,
  UnavailableError,
} from '@medtune/kit';
import { renderInference } from '@medtune/prompting';
import { toEvaluation } from './convert';
import type { EvalItem } from './evalsets';
import type { Notifier } from './notifier';
import type { DatasetPort, EvalStore, IdleWorker, WorkerPort } from './ports';
import type { PendingEvent, RunRecord } from './records';
import { aggregate, scoreItem } from './scoring';

const St = evaluation.EvaluationStatus;
/** End-of-text tokens the worker may leave at the end of an output (it keeps special tokens). */
export const STOP_TOKENS = ['<｜end▁of▁sentence｜>', '<|endoftext|>', '<|im_end|>'];

/** What the runner is built from. */
export interface RunnerDeps {
  store: EvalStore;
  outbox: OutboxRelay;
  notifier: Notifier;
  workers: WorkerPort;
  dataset?: DatasetPort;
  clock: Clock;
  newId: (prefix?: string) => string;
  log: Logger;
  /** Called when a run ends (COMPLETED or FAILED). */
  onRunEnded: (run: RunRecord) => void;
  /** Prompts per Generate call (the unit of progress). Default 8. */
  chunkSize?: number;
  /** The worker's forward batch size. Default: the worker's own. */
  batchSize?: number;
  /** Runs at once (each on its own worker). Default 1. */
  maxConcurrent?: number;
  /** Idle poll interval. Default 1 s. */
  pollMs?: number;
  /** Renewal interval of a worker hold while a run uses it (its ttl is 3× this). Default 10 s. */
  holdRenewMs?: number;
  /** Transient failures before a run fails. Default 10. */
  maxAttempts?: number;
  /** Backoff after the n-th transient failure (the last repeats). Default 1 s, 5 s, 15 s, 30 s. */
  backoffMs?: readonly number[];
}

/** The question text sent to the model: a shared context first, multiple-choice options after it. */
export function questionText(item: EvalItem): string {
  const q = item.context ? `${item.context}\n${item.question}` : item.question;
  if (item.options.length === 0) return q;
  return `${q}\n${item.options.map(([k, v]) => `${k}. ${v}`).join('\n')}`;
}

/** The Generate request's settings: model-config runs leave sampling to the model's generation_config.json. */
export function generateParams(run: RunRecord): { params: common.GenerationParams; useModelGenerationConfig: boolean } {
  if (run.decoding === evaluation.DecodingSource.DECODING_SOURCE_MODEL_GENERATION_CONFIG) {
    return { params: { maxNewTokens: run.generation.maxNewTokens, seed: run.generation.seed }, useModelGenerationConfig: true };
  }
  return { params: run.generation, useModelGenerationConfig: false };
}

/** The worker's model for a run. */
export function inferenceModel(run: RunRecord): trainer.InferenceModel {
  return {
    baseModel: run.baseModel,
    adapterUri: run.adapterUri,
    mergedUri: run.mergedUri,
    // A GGUF run goes to llama.cpp on the worker (the other fields are then ignored there).
    ggufUri: run.ggufUri ?? '',
    backend: common.Backend.BACKEND_UNSPECIFIED,
  };
}

function isTransient(err: unknown): boolean {
  if (err instanceof DomainError) {
    return err instanceof UnavailableError || err instanceof ResourceExhaustedError || err instanceof AbortedError || err instanceof DeadlineExceededError;
  }
  return true; // network, store and unknown errors: retried, and bounded by maxAttempts
}

/** The worker hold of a run (HoldWorker's hold_id). */
export function holdIdOf(evaluationId: string): string {
  return `evaluation:${evaluationId}`;
}

/** See the module comment. */
export class Runner {
  private readonly active = new Map<string, { address: string; abort: AbortController }>();
  private readonly running = new Set<Promise<void>>();
  private wake: (() => void) | undefined;
  private loopDone: Promise<void> | undefined;
  private stopped = false;

  constructor(private readonly d: RunnerDeps) {}

  /**
   * Starts the loop (RUNNING runs of a previous process are resumed by it). With replicas it runs
   * only in the holder of the `evaluation.runner` lease; stop() and start() again when the lease
   * moves away and back.
   */
  start(): void {
    if (this.loopDone) return;
    this.stopped = false;
    this.loopDone = this.loop();
  }

  /** Looks for work now. */
  kick(): void {
    this.wake?.();
  }

  /** Stops the loop and interrupts running runs; they stay RUNNING and resume at the next start. */
  async stop(): Promise<void> {
    this.stopped = true;
    for (const a of this.active.values()) a.abort.abort();
    this.kick();
    await this.loopDone;
    await Promise.allSettled([...this.running]);
    this.loopDone = undefined;
  }

  /** Resolves when nothing runs and nothing runnable is left (tests). */
  async idle(): Promise<void> {
    for (;;) {
      if (this.active.size === 0 && (await this.d.store.runnableRuns(new Date(8.64e15), 1)).length === 0) return;
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  private async loop(): Promise<void> {
    while (!this.stopped) {
      try {
        await this.tick();
      } catch (err) {
        this.d.log.warn({ err }, 'runner: looking for work failed; will retry');
      }
      if (this.stopped) break;
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, this.d.pollMs ?? 1_000);
        this.wake = () => {
          clearTimeout(t);
          resolve();
        };
      });
    }
  }

  private async tick(): Promise<void> {
    const max = this.d.maxConcurrent ?? 1;
    if (this.active.size >= max) return;
    const runs = (await this.d.store.runnableRuns(this.d.clock(), 50)).filter((r) => !this.active.has(r.id));
    if (runs.length === 0) return;
    const busy = new Set([...this.active.values()].map((a) => a.address));
    const hold = this.d.workers.hold?.bind(this.d.workers);
    // With the training service placing workers, ask for one per run that could start now (the
    // asks also renew the holds of runs still waiting); otherwise take the idle ones.
    const idle = hold ? [] : (await this.d.workers.idleWorkers()).filter((w) => !busy.has(w.address));
    for (const run of runs) {
      if (this.active.size >= max || this.stopped) break;
      const worker = hold ? await hold(holdIdOf(run.id)) : idle.shift();
      if (!worker) {
        if (hold) continue;
        break; // the rest wait for a worker
      }
      const abort = new AbortController();
      this.active.set(run.id, { address: worker.address, abort });
      const renew = hold ? setInterval(() => void hold(holdIdOf(run.id)).catch(() => undefined), this.d.holdRenewMs ?? 10_000) : undefined;
      renew?.unref();
      const p = this.execute(run, worker, abort.signal)
        .catch((err: unknown) => this.d.log.error({ err, evaluationId: run.id }, 'runner: unexpected failure'))
        .finally(() => {
          clearInterval(renew);
          void this.d.workers.release?.(holdIdOf(run.id)).catch((err: unknown) => this.d.log.warn({ err, evaluationId: run.id }, 'could not release the worker hold'));
          this.active.delete(run.id);
          this.running.delete(p);
          this.kick();
        });
      this.running.add(p);
    }
  }

  private event(subject: string, run: RunRecord): PendingEvent {
    return { id: this.d.newId('evt'), subject, payload: events.EvaluationRunChanged.encode({ evaluation: toEvaluation(run) }).finish() };
  }

  private async execute(run: RunRecord, worker: IdleWorker, signal: AbortSignal): Promise<void> {
    const log = this.d.log.child({ evaluationId: run.id, worker: worker.workerId });
    let cur: RunRecord | null;
    if (run.status === St.EVALUATION_STATUS_PENDING) {
      const started = { ...run, status: St.EVALUATION_STATUS_RUNNING, workerId: worker.workerId };
      const evt = this.event(SUBJECTS.evaluationRunStarted.subject, started);
      cur = await this.d.store.updateRun(run.id, [St.EVALUATION_STATUS_PENDING], { status: started.status, workerId: worker.workerId }, evt);
      if (cur) await this.d.outbox.publish([evt]);
    } else {
      cur = await this.d.store.updateRun(run.id, [St.EVALUATION_STATUS_RUNNING], { workerId: worker.workerId });
    }
    if (!cur) return; // another process took it, or it ended meanwhile
    this.d.notifier.notify(run.id);
    log.info({ resumed: run.status === St.EVALUATION_STATUS_RUNNING }, 'evaluation running');
    try {
      await this.generateAll(cur, worker, signal);
      let evalLoss = cur.evalLoss;
      if (cur.evalLossDigest && evalLoss === undefined) {
        if (!this.d.dataset) throw new InvalidArgumentError('eval_loss_dataset_digest', 'no dataset service is configured');
        const res = await this.d.workers.evaluateLoss(
          worker.address,
          { model: inferenceModel(cur), data: { $case: 'dataset', dataset: await this.d.dataset.sourceFor(cur.evalLossDigest, cur.id) }, maxRows: 0 },
          signal,
        );
        evalLoss = res.meanLoss;
        await this.d.store.updateRun(cur.id, [St.EVALUATION_STATUS_RUNNING], { evalLoss });
      }
      const results = await this.d.store.listItemResults(cur.id, -1, 1_000_000_000);
      const scores = aggregate(results, cur.setKind, evalLoss);
      const patch = { status: St.EVALUATION_STATUS_COMPLETED, scores, itemsDone: results.length, endTime: this.d.clock(), ...(evalLoss !== undefined ? { evalLoss } : {}) };
      const evt = this.event(SUBJECTS.evaluationRunCompleted.subject, { ...cur, ...patch });
      const done = await this.d.store.updateRun(cur.id, [St.EVALUATION_STATUS_RUNNING], patch, evt);
      if (!done) return;
      log.info({ scores }, 'evaluation completed');
      await this.d.outbox.publish([evt]);
      this.d.notifier.notify(cur.id);
      this.d.onRunEnded(done);
    } catch (err) {
      if (this.stopped && signal.aborted) return; // shutting down: the run resumes at the next start
      await this.failed(cur, err, log);
    }
  }

  private async generateAll(run: RunRecord, worker: IdleWorker, signal: AbortSignal): Promise<void> {
    const items = await this.d.store.getItems(run.setSha, run.limit);
    const done = await this.d.store.doneIndices(run.id);
    const todo = items.filter((i) => !done.has(i.index));
    const kind = run.setKind;
    let applied = run.applied;
    const opts = { promptEndsWithThink: run.template.inferenceFormat.trimEnd().endsWith('<think>'), stopTokens: STOP_TOKENS };
    const chunk = this.d.chunkSize ?? 8;
    for (let i = 0; i < todo.length; i += chunk) {
      const part = todo.slice(i, i + chunk);
      const prompts = part.map((it) => renderInference(run.template, questionText(it)));
      const req = { model: inferenceModel(run), prompts, ...generateParams(run), ...(this.d.batchSize ? { batchSize: this.d.batchSize } : {}) };
      let got = 0;
      for await (const res of this.d.workers.generate(worker.address, req, signal)) {
        const it = part[res.index];
        if (!it) throw new UnavailableError(`worker answered prompt ${res.index} of ${part.length}`);
        const c = { text: res.text, promptTokens: res.promptTokens, completionTokens: res.completionTokens, finishReason: res.finishReason };
        await this.d.store.putItemResult(run.id, scoreItem(it, prompts[res.index]!, c, kind, opts));
        if (!applied && res.sampled !== undefined) {
          // What the worker applied (the model's generation_config.json for model-config runs).
          applied = { sampled: res.sampled, temperature: res.temperature ?? 0, topP: res.topP ?? 1 };
          await this.d.store.updateRun(run.id, [St.EVALUATION_STATUS_RUNNING], { applied });
        }
        done.add(it.index);
        got++;
      }
      if (got < part.length) throw new UnavailableError(`worker stream ended after ${got} of ${part.length} completions`);
      await this.d.store.updateRun(run.id, [St.EVALUATION_STATUS_RUNNING], { itemsDone: done.size });
      this.d.notifier.notify(run.id);
    }
  }

  private async failed(run: RunRecord, err: unknown, log: Logger): Promise<void> {
    const attempts = run.attempts + 1;
    const message = err instanceof Error ? err.message : String(err);
    if (isTransient(err) && attempts < (this.d.maxAttempts ?? 10)) {
      const backoff = this.d.backoffMs ?? [1_000, 5_000, 15_000, 30_000];
      const delay = backoff[Math.min(attempts - 1, backoff.length - 1)] ?? 30_000;
      log.warn({ err, attempts, retryInMs: delay }, 'evaluation interrupted; will resume');
      await this.d.store.updateRun(run.id, [St.EVALUATION_STATUS_RUNNING], { attempts, workerId: '', notBefore: new Date(this.d.clock().getTime() + delay) });
      return;
    }
    const userError = err instanceof InvalidArgumentError || err instanceof NotFoundError || err instanceof FailedPreconditionError;
    const failure = {
      class: userError ? common.FailureClass.FAILURE_CLASS_USER_ERROR : common.FailureClass.FAILURE_CLASS_PLATFORM,
      message: userError ? message : `evaluation failed after ${attempts} attempt(s): ${message}`,
      detail: err instanceof Error ? err.name : '',
    };
    const patch = { status: St.EVALUATION_STATUS_FAILED, failure, attempts, endTime: this.d.clock() };
    const evt = this.event(SUBJECTS.evaluationRunFailed.subject, { ...run, ...patch });
    const done = await this.d.store.updateRun(run.id, [St.EVALUATION_STATUS_RUNNING], patch, evt);
    log.error({ err, failure }, 'evaluation failed');
    if (!done) return;
    await this.d.outbox.publish([evt]);
    this.d.notifier.notify(run.id);
    this.d.onRunEnded(done);
  }
}
