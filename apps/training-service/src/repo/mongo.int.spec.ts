// The Mongo repositories against the test run's real MongoDB-protocol server (FerretDB): the
// compare-and-set, the unique indexes that make the log exactly-once, and the queries the
// scheduler and ListJobs run.
import { connectMongo, ensureIndexes, type MongoHandle } from '@medtune/kit';
import { common, trainer, training } from '@medtune/contracts';
import { testMongo, type TestMongo } from '@medtune/testing';
import { pino } from 'pino';
import { beforeAll, describe, expect, it } from 'vitest';
import { resolveBackend, resolveExports, resolveHyperparameters, resolveLora } from '../core/defaults';
import type { JobRecord } from '../core/model';
import { IdempotencyKeyTakenError } from '../core/ports';
import { beginDispatch, newJobRecord } from '../core/transitions';
import { MongoJobEventRepository, MongoJobRepository, MongoWorkerRepository, TRAINING_INDEXES } from './mongo';

const S = training.JobState;
let tm: TestMongo;
let mongo: MongoHandle;
let jobs: MongoJobRepository;
let events: MongoJobEventRepository;

beforeAll(async () => {
  tm = await testMongo();
  mongo = await connectMongo({ uri: tm.uri, db: tm.dbName, log: pino({ level: 'silent' }) });
  await ensureIndexes(mongo.db, TRAINING_INDEXES);
  jobs = new MongoJobRepository(mongo.db);
  events = new MongoJobEventRepository(mongo.db);
  return async () => {
    await mongo.close();
    await tm.cleanup();
  };
});

let n = 0;
function record(partial: Parameters<typeof training.CreateJobRequest.fromPartial>[0] = {}, at = new Date()): JobRecord {
  const id = `job_${String(++n).padStart(6, '0')}`;
  const req = training.CreateJobRequest.fromPartial({ idempotencyKey: `key-${id}`, datasetDigest: 'd1', baseModel: '/m', ...partial });
  return newJobRecord(
    {
      jobId: id,
      request: req,
      spec: { hyperparameters: resolveHyperparameters(req.hyperparameters), lora: resolveLora(req.lora), exports: resolveExports(undefined), backend: resolveBackend(0), maxRetries: 2, experiment: req.experiment || 'default' },
      requestHash: 'h',
      datasetDigest: req.datasetDigest,
      validatedSince: at,
    },
    at,
  );
}

describe('MongoJobRepository on FerretDB', () => {
  it('round-trips a record exactly, outbox bytes included', async () => {
    const r = record({ tags: { 'team.name': 'ml', 'a/b': 'c' }, lora: { r: 8 } });
    await jobs.insert(r);
    const back = await jobs.get(r.job.jobId);
    expect(back).toEqual(r);
    expect(back?.job.tags).toEqual({ 'team.name': 'ml', 'a/b': 'c' });
    expect(await jobs.getByIdempotencyKey(r.job.idempotencyKey)).toEqual(r);
  });

  it('refuses a second job with the same idempotency key', async () => {
    const r = record({ idempotencyKey: 'same' });
    await jobs.insert(r);
    await expect(jobs.insert(record({ idempotencyKey: 'same' }))).rejects.toThrow(IdempotencyKeyTakenError);
  });

  it('replaces only at the expected revision', async () => {
    const r = record();
    await jobs.insert(r);
    const next = { ...r, rev: 1, requestHash: 'changed' };
    expect(await jobs.replace(next, 0)).toBe(true);
    expect(await jobs.replace({ ...r, rev: 1, requestHash: 'lost' }, 0)).toBe(false);
    expect((await jobs.get(r.job.jobId))?.requestHash).toBe('changed');
  });

  it('clears published outbox entries and finds records that still owe events', async () => {
    const r = record();
    await jobs.insert(r);
    expect((await jobs.withPendingOutbox()).map((x) => x.job.jobId)).toContain(r.job.jobId);
    await jobs.removeFromOutbox(r, [1]);
    const after = (await jobs.get(r.job.jobId))!;
    expect(after.outbox.map((e) => e.seq)).toEqual([2]);
    await jobs.removeFromOutbox({ ...after, rev: 7 }, [2]); // another revision: left alone
    expect((await jobs.get(r.job.jobId))?.outbox.map((e) => e.seq)).toEqual([2]);
    await jobs.removeFromOutbox(after, [2]);
    expect((await jobs.withPendingOutbox()).map((x) => x.job.jobId)).not.toContain(r.job.jobId);
  });

  it('orders the queue by priority then age, and finds the holders of workers', async () => {
    const t = Date.UTC(2030, 0, 1);
    const a = record({ priority: 1, experiment: 'queue' }, new Date(t + 2));
    const b = record({ priority: 9, experiment: 'queue' }, new Date(t + 3));
    const c = record({ priority: 1, experiment: 'queue' }, new Date(t + 1));
    for (const r of [a, b, c]) await jobs.insert(r);
    const order = (await jobs.findInStates([S.JOB_STATE_QUEUED])).filter((r) => r.job.experiment === 'queue').map((r) => r.job.jobId);
    expect(order).toEqual([b.job.jobId, c.job.jobId, a.job.jobId]);

    const claimed = beginDispatch(a, { workerId: 'w-hold', address: 'h:1' }, new Date())!.record;
    claimed.rev = 1;
    expect(await jobs.replace(claimed, 0)).toBe(true);
    expect((await jobs.findOccupying(['w-hold', 'w-other'])).map((r) => r.job.jobId)).toEqual([a.job.jobId]);
    const unclaimed = { ...claimed, rev: 2 };
    delete unclaimed.occupies;
    delete unclaimed.dispatch;
    expect(await jobs.replace(unclaimed, 1)).toBe(true);
    expect(await jobs.findOccupying(['w-hold'])).toEqual([]);
  });

  it('lists newest first with filters on state, digest, experiment and tags, paging by id', async () => {
    const made: string[] = [];
    for (let i = 0; i < 4; i++) {
      const r = record({ experiment: 'listing', datasetDigest: i < 2 ? 'dA' : 'dB', tags: { k: i % 2 ? 'odd' : 'even', fixed: 'x' } });
      await jobs.insert(r);
      made.push(r.job.jobId);
    }
    const all = await jobs.list({ experiment: 'listing', limit: 10 });
    expect(all.map((r) => r.job.jobId)).toEqual([...made].reverse());
    expect((await jobs.list({ experiment: 'listing', datasetDigest: 'dA', limit: 10 })).map((r) => r.job.jobId)).toEqual([made[1], made[0]]);
    expect((await jobs.list({ experiment: 'listing', tags: { k: 'odd', fixed: 'x' }, limit: 10 })).map((r) => r.job.jobId)).toEqual([made[3], made[1]]);
    expect(await jobs.list({ experiment: 'listing', tags: { k: 'odd', fixed: 'y' }, limit: 10 })).toEqual([]);
    expect((await jobs.list({ experiment: 'listing', beforeJobId: made[2], limit: 1 })).map((r) => r.job.jobId)).toEqual([made[1]]);
    expect(await jobs.list({ experiment: 'listing', states: [S.JOB_STATE_RUNNING], limit: 10 })).toEqual([]);
  });
});

describe('MongoJobRepository with writes filtered on _id alone (store: ferretdb, what app.ts picks there)', () => {
  it('replaces only at the expected revision and never over a larger fencing token', async () => {
    const idOnly = new MongoJobRepository(mongo.db, { store: 'ferretdb' });
    const r = record();
    await idOnly.insert(r);
    expect(await idOnly.replace({ ...r, rev: 1, fence: 5, requestHash: 'by 5' }, 0)).toBe(true); // moved to jobs
    expect(await idOnly.replace({ ...r, rev: 1, requestHash: 'lost' }, 0)).toBe(false);
    expect(await idOnly.replace({ ...r, rev: 2, fence: 4, requestHash: 'stale holder' }, 1)).toBe(false);
    expect(await idOnly.replace({ ...r, rev: 2, fence: 6, requestHash: 'by 6' }, 1)).toBe(true);
    expect(await idOnly.replace({ ...r, rev: 1, requestHash: 'gone' }, 0)).toBe(false);
    expect((await idOnly.get(r.job.jobId))?.requestHash).toBe('by 6');
    expect(await idOnly.replace({ ...record(), rev: 1 }, 0)).toBe(false); // never inserted
  });

  it('keeps never-dispatched jobs in job_queue and moves a job to jobs at its first change, once', async () => {
    const idOnly = new MongoJobRepository(mongo.db, { store: 'ferretdb' });
    const queueDocs = mongo.db.collection('job_queue');
    const jobDocs = mongo.db.collection<{ _id: string }>('jobs');
    const r = record({ priority: 3 });
    await idOnly.insert(r);
    expect(await queueDocs.countDocuments({ _id: r.job.jobId } as never)).toBe(1);
    expect(await jobDocs.countDocuments({ _id: r.job.jobId })).toBe(0);
    expect((await idOnly.findInStates([S.JOB_STATE_QUEUED])).map((x) => x.job.jobId)).toContain(r.job.jobId);
    expect((await idOnly.getByIdempotencyKey(r.job.idempotencyKey))?.job.jobId).toBe(r.job.jobId);
    await expect(idOnly.insert(record({ idempotencyKey: r.job.idempotencyKey }))).rejects.toThrow(IdempotencyKeyTakenError);

    const claimed = beginDispatch(r, { workerId: 'wq', address: 'h:1' }, new Date())!.record;
    claimed.rev = r.rev + 1;
    expect(await idOnly.replace(claimed, r.rev)).toBe(true);
    // A second writer from the same revision loses (the move is one insert into jobs).
    expect(await idOnly.replace({ ...claimed, requestHash: 'second' }, r.rev)).toBe(false);
    expect(await jobDocs.countDocuments({ _id: r.job.jobId })).toBe(1);
    const back = await idOnly.get(r.job.jobId);
    expect(back?.occupies).toBe('wq');
    // The queue copy (deleted later, in a batch) is never served: not as waiting, not twice in a list.
    expect((await idOnly.findInStates([S.JOB_STATE_QUEUED])).filter((x) => x.job.jobId === r.job.jobId).map((x) => x.occupies)).toEqual(['wq']);
    expect((await idOnly.list({ limit: 500 })).filter((x) => x.job.jobId === r.job.jobId)).toHaveLength(1);
    expect((await idOnly.findOccupying(['wq'])).map((x) => x.job.jobId)).toEqual([r.job.jobId]);
    // Another process (no memory of the move) does not serve the stale copy either.
    const other = new MongoJobRepository(mongo.db, { store: 'ferretdb' });
    expect((await other.list({ limit: 500 })).filter((x) => x.job.jobId === r.job.jobId).map((x) => x.occupies)).toEqual(['wq']);
    expect((await other.get(r.job.jobId))?.occupies).toBe('wq');
  });

  it('clears outbox entries only at the revision it was given', async () => {
    const idOnly = new MongoJobRepository(mongo.db, { store: 'ferretdb' });
    const r = record();
    await idOnly.insert(r);
    await idOnly.removeFromOutbox({ ...r, rev: 3 }, [1]);
    expect((await idOnly.get(r.job.jobId))?.outbox.map((e) => e.seq)).toEqual([1, 2]);
    await idOnly.removeFromOutbox(r, [1]);
    expect((await idOnly.get(r.job.jobId))?.outbox.map((e) => e.seq)).toEqual([2]);
  });
});

describe('MongoJobEventRepository on FerretDB', () => {
  const workerEvent = (seq: number, attempt: number, workerSeq: number) => ({
    seq,
    attempt,
    workerSeq,
    kind: 'metrics' as const,
    event: training.JobEvent.fromPartial({
      jobId: 'job_ev',
      sequence: seq,
      time: new Date(),
      payload: { $case: 'workerEvent', workerEvent: { jobId: 'job_ev', sequence: workerSeq, attempt, payload: { $case: 'metrics', metrics: { step: workerSeq, epoch: 0, values: { loss: 1.5 } } } } },
    }),
  });

  it('stores each (job, seq) once and each (job, attempt, worker seq) once', async () => {
    expect(await events.insert('job_ev', workerEvent(1, 1, 1))).toBe(true);
    expect(await events.insert('job_ev', workerEvent(1, 1, 1))).toBe(false); // a re-flush
    expect(await events.insert('job_ev', workerEvent(2, 1, 1))).toBe(false); // same worker event under another seq
    const second = workerEvent(2, 2, 1);
    expect(await events.insert('job_ev', second)).toBe(true); // next attempt starts over at 1
    const own = { seq: 3, attempt: 2, workerSeq: 0, kind: 'state' as const, event: training.JobEvent.fromPartial({ jobId: 'job_ev', sequence: 3 }) };
    const own2 = { ...own, seq: 4, event: training.JobEvent.fromPartial({ jobId: 'job_ev', sequence: 4 }) };
    expect(await events.insert('job_ev', own)).toBe(true);
    expect(await events.insert('job_ev', own2)).toBe(true); // the orchestrator's events have no worker key
    await events.insertAll('job_ev', [own, own2, { ...own2, seq: 5, event: training.JobEvent.fromPartial({ jobId: 'job_ev', sequence: 5 }) }]);
    const listed = await events.listFrom('job_ev', 2, 10);
    expect(listed.map((e) => e.seq)).toEqual([2, 3, 4, 5]); // insertAll stored 5 despite the repeats
    expect(listed[0]?.event).toEqual(second.event);
    expect((await events.listKind('job_ev', 'metrics')).map((e) => e.seq)).toEqual([1, 2]);
  });
});

describe('MongoWorkerRepository on FerretDB', () => {
  it.each(['mongodb', 'ferretdb'] as const)('registers, heartbeats, and marks lost only if no heartbeat came since (writes for store %s)', async (store) => {
    const workers = new MongoWorkerRepository(mongo.db, { store });
    await mongo.db.collection('workers').deleteMany({});
    const info = trainer.WorkerInfo.fromPartial({ workerId: 'w1', address: '127.0.0.1:1', backends: [common.Backend.BACKEND_HF], gpuMemoryBytes: 80e9 });
    const t0 = new Date(Date.UTC(2030, 0, 1));
    await workers.upsert({ workerId: 'w1', info, registeredAt: t0, lastHeartbeat: t0, lost: false });
    const t1 = new Date(t0.getTime() + 1000);
    expect(await workers.heartbeat('w1', { ...info, busy: true }, t1)).toBe(true);
    expect(await workers.heartbeat('nobody', info, t1)).toBe(false);
    expect(await workers.markLost('w1', t0)).toBe(false); // it heartbeated at t1
    expect(await workers.markLost('w1', t1)).toBe(true);
    expect(await workers.heartbeat('w1', info, t1)).toBe(false); // lost: must register again
    expect((await workers.list(false)).map((w) => w.workerId)).toEqual([]);
    const [lost] = await workers.list(true);
    expect(lost).toMatchObject({ workerId: 'w1', lost: true, lastHeartbeat: t1 });
    expect(lost?.info.busy).toBe(true);
    expect(lost?.info.gpuMemoryBytes).toBe(80e9);
  });
});
