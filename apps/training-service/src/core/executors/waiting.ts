/**
 * What an executor may write into a job besides the scheduler's transitions: why a waiting job has
 * not started (Job.waiting_reason, plus a notice event so WatchJob and the CLI show it), and the
 * GetJobLogs answer for executors that keep logs (Ray).
 */
import { FailedPreconditionError, InvalidArgumentError } from '@medtune/kit';
import { trainer, type training } from '@medtune/contracts';
import { JobDraft } from '../draft';
import type { Executor } from '../executor';
import type { JobRecord } from '../model';
import { WAITING_STATES } from '../state-machine';

/** Sets the waiting reason of a job that still waits; undefined when nothing changes. */
export function noteWaiting(record: JobRecord, reason: string, now: Date): JobDraft | undefined {
  if (!WAITING_STATES.includes(record.job.state)) return undefined;
  if ((record.job.waitingReason ?? '') === reason) return undefined;
  const draft = new JobDraft(record);
  draft.job.waitingReason = reason;
  if (reason) {
    draft.appendWorkerEvent(
      { jobId: record.job.jobId, sequence: 0, attempt: record.job.attempt, time: now, payload: { $case: 'notice', notice: { level: trainer.NoticeLevel.NOTICE_LEVEL_INFO, code: 'waiting_for_resources', message: reason } } },
      now,
    );
  } else {
    draft.touch(now);
  }
  return draft;
}

/** An executor that keeps each attempt's log (the Ray executor: the Ray job's driver log). */
export interface LogKeeper {
  logs(job: training.Job, tailBytes: number): Promise<{ text: string; source: string; attempt: number; truncated: boolean }>;
}

function keepsLogs(e: Executor): e is Executor & LogKeeper {
  return typeof (e as Partial<LogKeeper>).logs === 'function';
}

const DEFAULT_TAIL = 64 * 1024;
const MAX_TAIL = 4 * 1024 * 1024;

/** GetJobLogs: NOT_FOUND for an unknown job (from getJob), FAILED_PRECONDITION when the executor keeps no logs. */
export async function jobLogs(getJob: (jobId: string) => Promise<training.Job>, executor: Executor, req: training.GetJobLogsRequest): Promise<training.GetJobLogsResponse> {
  if (!req.jobId) throw new InvalidArgumentError('job_id', 'is required');
  if (req.tailBytes > MAX_TAIL) throw new InvalidArgumentError('tail_bytes', `must be at most ${MAX_TAIL} (got ${req.tailBytes})`);
  const job = await getJob(req.jobId);
  if (!keepsLogs(executor)) {
    throw new FailedPreconditionError(`the ${executor.kind} executor keeps no job logs: read the worker's own log (its job directory holds trainer.log)`);
  }
  return executor.logs(job, req.tailBytes || DEFAULT_TAIL);
}
