/**
 * Retention of job event logs (issue 17, item 5). The log of a job grows with its steps (progress
 * and metric events, one per logged step) and is read back by WatchJob, by re-attaching (the
 * orchestrator's stored position) and by ListCheckpoints (a resume needs the last checkpoint). So
 * only ended jobs are touched, and in two stages counted from the job's end:
 *
 * - after `progressRetentionMs`: the progress and metric events go (the same figures are in the
 *   tracking service's run; the state transitions, checkpoints, artifacts and notices stay, so
 *   WatchJob still replays the job's lifecycle, skipping the removed sequences);
 * - after `logRetentionMs`: the whole log goes (the job document stays: state, latest metrics,
 *   artifacts; WatchJob then sends nothing and ends).
 *
 * A job that has not ended (queued, retrying with its checkpoints, on a worker) keeps its whole
 * log however old it is. Runs in the `training.scheduler` lease holder only. A watermark per stage
 * (the newest end time already pruned) keeps each pass to the jobs that crossed a limit since the
 * last one. 0 turns a stage off.
 */
import type { Clock } from '@medtune/kit';
import type { Logger } from 'pino';
import type { JobEventKind } from './model';

/** Event kinds removed by the first stage. */
export const PROGRESS_KINDS: readonly JobEventKind[] = ['progress', 'metrics'];

/** What retention needs from the store. */
export interface RetentionStore {
  /** Ids of jobs that ended in [from, to), oldest end first, at most `limit`, with their end time. */
  endedBetween(from: Date, to: Date, limit: number): Promise<Array<{ jobId: string; endedAt: Date }>>;
  /** Deletes these jobs' events (of these kinds only, when given); returns how many went. */
  deleteEvents(jobIds: readonly string[], kinds?: readonly JobEventKind[]): Promise<number>;
  /** The stage's watermark (epoch when never run). */
  watermark(stage: RetentionStage): Promise<Date>;
  setWatermark(stage: RetentionStage, at: Date): Promise<void>;
}

export type RetentionStage = 'progress' | 'log';

/** Settings of {@link LogRetention}. */
export interface RetentionSettings {
  /** Progress / metric events of an ended job are kept this long after its end; 0 = forever. */
  progressRetentionMs: number;
  /** The whole log of an ended job is kept this long after its end; 0 = forever. */
  logRetentionMs: number;
}

const PAGE = 500;

/** One retention pass over ended jobs' logs. */
export class LogRetention {
  constructor(
    private readonly d: { store: RetentionStore; clock: Clock; log: Logger; settings: RetentionSettings },
  ) {}

  /** Prunes what crossed a limit; returns the events deleted per stage. */
  async run(): Promise<{ progress: number; log: number }> {
    const now = this.d.clock().getTime();
    const out = { progress: 0, log: 0 };
    const stages: Array<[RetentionStage, number, readonly JobEventKind[] | undefined]> = [
      ['progress', this.d.settings.progressRetentionMs, PROGRESS_KINDS],
      ['log', this.d.settings.logRetentionMs, undefined],
    ];
    for (const [stage, keepMs, kinds] of stages) {
      if (keepMs <= 0) continue;
      const cutoff = new Date(now - keepMs);
      let from = await this.d.store.watermark(stage);
      for (;;) {
        const ended = await this.d.store.endedBetween(from, cutoff, PAGE);
        if (ended.length === 0) break;
        out[stage] += await this.d.store.deleteEvents(ended.map((e) => e.jobId), kinds);
        // Jobs that ended at the page's last instant may continue on the next page: that instant
        // is taken again (a delete of what is gone costs nothing), the watermark moves past it
        // only when the page was not full.
        const last = ended[ended.length - 1]!.endedAt;
        if (ended.length < PAGE) {
          from = new Date(last.getTime() + 1);
          break;
        }
        from = last.getTime() > from.getTime() ? last : new Date(last.getTime() + 1);
      }
      await this.d.store.setWatermark(stage, from);
    }
    if (out.progress + out.log > 0) this.d.log.info(out, 'retention: pruned the logs of ended jobs');
    return out;
  }
}
