// What a heartbeat tells a worker to stop. A Ray-placed trainer always reports the job it is bound
// to (medtune_trainer.ray_job): while that job waits to start exactly that attempt (a StartJob
// that timed out, or one in flight through a submission slot), the trainer is not told to cancel
// it — it was, and the job then failed with "the Ray job ... ended SUCCEEDED before the trainer
// started". A trainer of an older attempt, and an ordinary worker, still are.
import { trainer, training } from '@medtune/contracts';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { parseSubmissionId } from './executors/ray';
import type { LedgerWriter } from './ledger';
import type { JobRecord } from './model';
import { ManualClock, MemoryJobRepository, MemoryWorkerRepository, RecordingPublisher } from './testing/fakes';
import { WorkerRegistry } from './workers';

const S = training.JobState;
const JOB = 'job_0001';

function record(state: training.JobState, attempt: number, extra: Pick<JobRecord, 'occupies' | 'dispatch' | 'deferredTo'> = {}): JobRecord {
  return { job: training.Job.fromPartial({ jobId: JOB, idempotencyKey: 'k', state, attempt }), rev: 1, requestHash: 'h', queuedAt: new Date(0), workerSeq: 0, outbox: [], ...extra };
}

async function heartbeatOf(workerId: string, rec: JobRecord, bound: boolean): Promise<string[]> {
  const jobs = new MemoryJobRepository();
  await jobs.insert(rec);
  const clock = new ManualClock();
  const registry = new WorkerRegistry({
    workers: new MemoryWorkerRepository(),
    jobs,
    ledger: {} as LedgerWriter,
    publisher: new RecordingPublisher(),
    clock: clock.now,
    log: pino({ level: 'silent' }),
    heartbeatIntervalMs: 500,
    leaseMs: 10_000,
    ...(bound ? { boundAttempt: (id: string) => parseSubmissionId('medtune', id) } : {}),
  });
  const info = trainer.WorkerInfo.fromPartial({ workerId, address: '127.0.0.1:40001', gpuCount: 1, currentJobId: JOB, busy: true });
  await registry.register(info);
  return (await registry.heartbeat(info)).cancelJobIds;
}

describe('heartbeat answer for a trainer bound to one attempt (Ray)', () => {
  it('a RECOVERING job’s next-attempt trainer is not told to stop it; an older attempt’s trainer is', async () => {
    const recovering = record(S.JOB_STATE_RECOVERING, 1);
    expect(await heartbeatOf(`medtune-${JOB}-a2`, recovering, true)).toEqual([]);
    expect(await heartbeatOf(`medtune-${JOB}-a1`, recovering, true)).toEqual([JOB]);
  });

  it('a job in dispatch through a Ray submission slot does not stop its own trainer', async () => {
    const dispatching = record(S.JOB_STATE_QUEUED, 0, { occupies: 'ray-submit-0', dispatch: { workerId: 'ray-submit-0', address: 'ray-submission:0', attempt: 1, resumeFrom: '' } });
    expect(await heartbeatOf(`medtune-${JOB}-a1`, dispatching, true)).toEqual([]);
  });

  it('a job that ended or runs elsewhere is still stopped on a bound trainer', async () => {
    expect(await heartbeatOf(`medtune-${JOB}-a1`, record(S.JOB_STATE_CANCELLED, 1), true)).toEqual([JOB]);
    expect(await heartbeatOf(`medtune-${JOB}-a1`, record(S.JOB_STATE_RUNNING, 2, { occupies: `medtune-${JOB}-a2` }), true)).toEqual([JOB]);
  });

  it('an ordinary worker whose StartJob of a RECOVERING job timed out just now is not told to stop it (the scheduler offers it there again); another worker, or long after, is', async () => {
    // ManualClock starts at its own epoch: a deferral "now" is the clock's start.
    const now = new ManualClock().now();
    const deferred = record(S.JOB_STATE_RECOVERING, 2, { deferredTo: { workerId: 'w-b', at: now } });
    expect(await heartbeatOf('w-b', deferred, false)).toEqual([]);
    expect(await heartbeatOf('w-c', deferred, false)).toEqual([JOB]);
    const old = record(S.JOB_STATE_RECOVERING, 2, { deferredTo: { workerId: 'w-b', at: new Date(now.getTime() - 120_000) } });
    expect(await heartbeatOf('w-b', old, false)).toEqual([JOB]);
  });

  it('an ordinary worker reporting a RECOVERING job is told to stop it (unchanged)', async () => {
    expect(await heartbeatOf(`medtune-${JOB}-a2`, record(S.JOB_STATE_RECOVERING, 1), false)).toEqual([JOB]);
    expect(await heartbeatOf('gpu-box-1', record(S.JOB_STATE_RECOVERING, 1), true)).toEqual([JOB]);
  });
});

describe('parseSubmissionId', () => {
  it('reads the job and attempt of a submission id of the prefix, nothing else', () => {
    expect(parseSubmissionId('medtune', 'medtune-job_01-x-a12')).toEqual({ jobId: 'job_01-x', attempt: 12 });
    expect(parseSubmissionId('medtune', 'stack-job_01-a1')).toBeUndefined();
    expect(parseSubmissionId('medtune', 'medtune-job_01')).toBeUndefined();
    expect(parseSubmissionId('medtune', 'medtune-job_01-a0')).toBeUndefined();
  });
});
