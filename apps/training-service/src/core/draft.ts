/**
 * A copy of a job record being changed. Every state change and every worker event appended
 * through a draft gets the next sequence number and goes into the record's outbox in the same
 * write, so "state stored" and "event owed" can never disagree, even across a crash.
 */
import { events, jobStateSubject, SUBJECTS, type trainer, training } from '@medtune/contracts';
import type { JobEventKind, JobRecord, OutgoingMessage, StoredJobEvent } from './model';
import { canTransition, isTerminal } from './state-machine';

const S = training.JobState;

/** A deep copy of a record (ts-proto messages are plain data: Dates, numbers, arrays, bytes). */
export function cloneRecord(record: JobRecord): JobRecord {
  return structuredClone(record);
}

/** A mutable copy of a record; `changed` tells whether anything was written into it. */
export class JobDraft {
  readonly record: JobRecord;
  private dirty = false;

  constructor(source: JobRecord) {
    this.record = cloneRecord(source);
  }

  get job(): training.Job {
    return this.record.job;
  }

  get changed(): boolean {
    return this.dirty;
  }

  /** Marks a change that appends no event (dispatch bookkeeping). */
  touch(now: Date): void {
    this.job.updateTime = now;
    this.dirty = true;
  }

  /**
   * Enters `to` if the state machine allows it: history, the job.<state> event with the job as it
   * stands after the change. Terminal and RECOVERING states free the worker. Returns false (and
   * changes nothing) for a transition that is not allowed.
   */
  transition(to: training.JobState, reason: string, now: Date): boolean {
    const from = this.job.state;
    if (from !== S.JOB_STATE_UNSPECIFIED && !canTransition(from, to)) return false;
    this.job.state = to;
    this.job.history.push({ state: to, time: now, reason });
    if (isTerminal(to) || to === S.JOB_STATE_RECOVERING) {
      delete this.record.occupies;
      delete this.record.dispatch;
      delete this.record.workerAddress;
    }
    this.touch(now);
    const seq = ++this.job.lastSequence;
    const payload = events.JobStateChanged.encode({
      job: this.job,
      previousState: from,
      state: to,
      reason,
      time: now,
      sequence: seq,
    }).finish();
    this.push({
      seq,
      attempt: this.job.attempt,
      workerSeq: 0,
      kind: 'state',
      event: { jobId: this.job.jobId, sequence: seq, time: now, payload: { $case: 'stateChanged', stateChanged: { state: to, time: now, reason } } },
      publish: { subject: jobStateSubject(to), data: payload },
    });
    return true;
  }

  /**
   * Appends a worker's event under the next sequence, with the NATS message that tracking and
   * the other consumers read (progress, metrics, checkpoints); other kinds are only stored.
   */
  appendWorkerEvent(ev: trainer.JobEvent, now: Date): StoredJobEvent {
    this.touch(now);
    const seq = ++this.job.lastSequence;
    const time = ev.time ?? now;
    const job = this.job;
    let publish: OutgoingMessage | undefined;
    let kind: JobEventKind = 'other';
    switch (ev.payload?.$case) {
      case 'progress':
        kind = 'progress';
        publish = {
          subject: SUBJECTS.trainingJobProgressed.subject,
          data: events.JobProgressed.encode({ jobId: job.jobId, runId: job.trackingRunId, attempt: job.attempt, progress: ev.payload.progress, sequence: seq, time }).finish(),
        };
        break;
      case 'metrics':
        kind = 'metrics';
        publish = {
          subject: SUBJECTS.trainingMetricsLogged.subject,
          data: events.MetricsLogged.encode({
            jobId: job.jobId,
            runId: job.trackingRunId,
            sequence: seq,
            step: ev.payload.metrics.step,
            values: ev.payload.metrics.values,
            time,
          }).finish(),
        };
        break;
      case 'checkpointSaved':
        kind = 'checkpoint';
        if (ev.payload.checkpointSaved.checkpoint) {
          publish = {
            subject: SUBJECTS.trainingCheckpointSaved.subject,
            data: events.CheckpointSaved.encode({ jobId: job.jobId, checkpoint: ev.payload.checkpointSaved.checkpoint, attempt: job.attempt }).finish(),
          };
        }
        break;
      case 'artifactReady':
        kind = 'artifact';
        break;
      case 'backendSelected':
        kind = 'backend';
        break;
      case 'notice':
        kind = 'notice';
        break;
      case 'stateChanged':
        kind = 'worker_state';
        break;
    }
    const stored: StoredJobEvent = {
      seq,
      attempt: job.attempt,
      workerSeq: ev.sequence,
      kind,
      event: { jobId: job.jobId, sequence: seq, time, payload: { $case: 'workerEvent', workerEvent: ev } },
      ...(publish ? { publish } : {}),
    };
    this.push(stored);
    return stored;
  }

  private push(entry: StoredJobEvent): void {
    this.record.outbox.push(entry);
    this.dirty = true;
  }
}
