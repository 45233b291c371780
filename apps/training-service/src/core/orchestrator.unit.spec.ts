import { AlreadyExistsError, FailedPreconditionError, InvalidArgumentError, NotFoundError, UnavailableError } from '@medtune/kit';
import { common, dataset, events, trainer, training } from '@medtune/contracts';
import { waitFor } from '@medtune/testing';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Orchestrator } from './orchestrator';
import type { EventPublisher, JobChangeFeed } from './ports';
import {
  FakeDatasets,
  FakeWorker,
  ManualClock,
  MemoryJobEventRepository,
  MemoryJobRepository,
  MemoryWorkerRepository,
  RecordingPublisher,
} from './testing/fakes';

const S = training.JobState;
const W = trainer.WorkerJobState;
const DIGEST = 'ab'.repeat(32);
const LEASE = 10_000;

/**
 * How the scheduler finds its work: 'store' queries the repository every pass; 'index' keeps the
 * in-memory queue index (queue-index.ts) fed by the published job events, as app.ts wires it.
 */
type QueueMode = 'store' | 'index';
let mode: QueueMode = 'store';

/** Job events as app.ts's NATS feed gives them: every published job.<state> message, decoded. */
function feedOf(publisher: RecordingPublisher): { feed: JobChangeFeed; publisher: EventPublisher } {
  const listeners = new Set<(jobId: string, seq: number) => void>();
  return {
    feed: {
      subscribe(l) {
        listeners.add(l);
        return () => listeners.delete(l);
      },
    },
    publisher: {
      async publish(message, id) {
        await publisher.publish(message, id);
        if (!message.subject.startsWith('medtune.training.job.') || message.subject.endsWith('.progressed')) return;
        const e = events.JobStateChanged.decode(message.data);
        for (const l of listeners) l(e.job!.jobId, Number(e.sequence));
      },
    },
  };
}

/** One orchestrator world: shared stores (they outlive a "restart") and a fleet of fake workers by address. */
function world() {
  const jobs = new MemoryJobRepository();
  const jobEvents = new MemoryJobEventRepository();
  const workers = new MemoryWorkerRepository();
  const publisher = new RecordingPublisher();
  const datasets = new FakeDatasets();
  datasets.versions.set(DIGEST, dataset.VersionState.VERSION_STATE_READY);
  const fleet = new Map<string, FakeWorker>();
  const clock = new ManualClock();
  let n = 0;
  const started: Orchestrator[] = [];
  const fed = feedOf(publisher);
  /** `start: false`: a replica that serves requests but does not lead; `feed: false`: its events reach no index. */
  const boot = async (opts: { start?: boolean; feed?: boolean } = {}): Promise<Orchestrator> => {
    const o = new Orchestrator({
      jobs,
      events: jobEvents,
      workers,
      publisher: mode === 'index' && opts.feed !== false ? fed.publisher : publisher,
      ...(mode === 'index' ? { jobChanges: fed.feed } : {}),
      datasets,
      workerClients: (address) => {
        const w = fleet.get(address);
        if (!w) throw new Error(`no fake worker at ${address}`);
        return w;
      },
      dispatch: { datasetAddress: 'dataset:50051', artifactRoot: 'file:///tmp/artifacts' },
      clock: clock.now,
      newJobId: () => `job_${String(++n).padStart(4, '0')}`,
      log: pino({ level: 'silent' }),
      timing: { heartbeatIntervalMs: 1_000, leaseMs: LEASE, scheduleIntervalMs: 60_000, outboxIntervalMs: 60_000, watchPollMs: 50, workerBackoffMs: 1 },
    });
    if (opts.start === false) return o;
    await o.start();
    started.push(o);
    return o;
  };
  const addWorker = async (o: Orchestrator, id: string, tweak: Partial<trainer.WorkerInfo> = {}): Promise<FakeWorker> => {
    const w = new FakeWorker(id);
    const info = { ...w.info(), ...tweak };
    fleet.set(info.address, w);
    await o.registry.register(info);
    return w;
  };
  const create = (o: Orchestrator, partial: Parameters<typeof training.CreateJobRequest.fromPartial>[0] = {}) =>
    o.jobs.createJob(training.CreateJobRequest.fromPartial({ idempotencyKey: `key-${++n}`, datasetDigest: DIGEST, baseModel: '/models/tiny', ...partial }));
  const state = async (jobId: string) => (await jobs.get(jobId))!.job.state;
  const waitState = (jobId: string, s: training.JobState) =>
    waitFor(async () => (await state(jobId)) === s, 5_000, { message: () => `job ${jobId} in ${training.JobState[s]}` });
  const stopAll = () => Promise.all(started.map((o) => o.stop()));
  return { jobs, jobEvents, workers, publisher, datasets, fleet, clock, boot, addWorker, create, state, waitState, stopAll };
}

let current: ReturnType<typeof world> | undefined;
const newWorld = () => (current = world());
afterEach(async () => {
  await current?.stopAll();
  current = undefined;
});

/** Asserts the job's log holds sequences 1..last with no gap and no repeat. */
function expectGapFree(w: ReturnType<typeof world>, jobId: string): void {
  const seqs = w.jobEvents.all(jobId).map((e) => e.seq);
  expect(seqs).toEqual(Array.from({ length: seqs.length }, (_, i) => i + 1));
}

describe.each<QueueMode>(['store', 'index'])('orchestrator (in-memory ports, scripted worker; queue from the %s)', (queueMode) => {
  beforeEach(() => {
    mode = queueMode;
  });

  it('runs a job: queued → starting → running → uploading → succeeded, each transition published once, in order', async () => {
    const w = newWorld();
    const o = await w.boot();
    const worker = await w.addWorker(o, 'w1');
    const { job, created } = await w.create(o, { hyperparameters: { maxSteps: 3, loggingSteps: 1 } });
    expect(created).toBe(true);
    const jobId = job!.jobId;
    await w.waitState(jobId, S.JOB_STATE_STARTING);
    expect(worker.startCalls[0]).toMatchObject({
      jobId,
      attempt: 1,
      spec: { baseModel: '/models/tiny', data: { $case: 'dataset', dataset: { address: 'dataset:50051', versionDigest: DIGEST } }, artifactRoot: 'file:///tmp/artifacts', resumeFromCheckpoint: '' },
    });
    expect(worker.startCalls[0]!.spec!.hyperparameters).toMatchObject({ maxSteps: 3, loggingSteps: 1, learningRate: 2e-4 });
    worker.succeed(jobId, 3);
    await w.waitState(jobId, S.JOB_STATE_SUCCEEDED);

    const mine = w.publisher.messages.filter((m) => m.id.startsWith(`${jobId}:`));
    expect(mine.map((m) => m.subject)).toEqual([
      'medtune.training.job.validating',
      'medtune.training.job.queued',
      'medtune.training.job.starting',
      'medtune.training.job.running',
      'medtune.training.metrics.logged',
      'medtune.training.metrics.logged',
      'medtune.training.metrics.logged',
      'medtune.training.job.uploading',
      'medtune.training.job.succeeded',
    ]);
    const succeeded = events.JobStateChanged.decode(mine.at(-1)!.data);
    expect(succeeded.job?.artifacts.map((a) => a.kind)).toEqual([common.ArtifactKind.ARTIFACT_KIND_ADAPTER]);
    expect(succeeded.previousState).toBe(S.JOB_STATE_UPLOADING);
    expectGapFree(w, jobId);
    const final = await o.jobs.getJob(jobId);
    expect(final.history.map((h) => h.state)).toEqual([
      S.JOB_STATE_VALIDATING,
      S.JOB_STATE_QUEUED,
      S.JOB_STATE_STARTING,
      S.JOB_STATE_RUNNING,
      S.JOB_STATE_UPLOADING,
      S.JOB_STATE_SUCCEEDED,
    ]);
    expect(final.latestMetrics).toEqual({ loss: 7 });
    expect((await w.jobs.get(jobId))!.outbox).toEqual([]);

    // WatchJob re-serves the whole log from any point and ends with the job.
    const seen: number[] = [];
    for await (const ev of o.jobs.watchJob(jobId, 4, new AbortController().signal)) seen.push(ev.sequence);
    expect(seen).toEqual(Array.from({ length: final.lastSequence - 3 }, (_, i) => i + 4));
  });

  it('makes CreateJob idempotent by key and refuses a reused key with another request', async () => {
    const w = newWorld();
    const o = await w.boot();
    const req = { idempotencyKey: 'pipeline-run-7', lora: { r: 16 } };
    const first = await w.create(o, req);
    const again = await w.create(o, { ...req, lora: { r: 16, alpha: 16 } }); // alpha 16 is the seed's: same request
    expect(again.created).toBe(false);
    expect(again.job?.jobId).toBe(first.job?.jobId);
    await expect(w.create(o, { ...req, lora: { r: 8 } })).rejects.toThrow(AlreadyExistsError);
    expect(w.jobs.rows.size).toBe(1);
    expect(w.publisher.subjects().filter((s) => s === 'medtune.training.job.queued')).toHaveLength(1);
  });

  it('checks the dataset version and stores nothing for a rejected request', async () => {
    const w = newWorld();
    const o = await w.boot();
    w.datasets.versions.set('cd'.repeat(32), dataset.VersionState.VERSION_STATE_IMPORTING);
    await expect(w.create(o, { datasetDigest: 'ef'.repeat(32) })).rejects.toThrow(NotFoundError);
    await expect(w.create(o, { datasetDigest: 'cd'.repeat(32) })).rejects.toThrow(FailedPreconditionError);
    w.datasets.down = true;
    await expect(w.create(o, {})).rejects.toThrow(UnavailableError);
    const bad = w.create(o, { lora: { r: 0 }, hyperparameters: { learningRate: -1 } });
    await expect(bad).rejects.toThrow(InvalidArgumentError);
    await expect(bad).rejects.toThrow('hyperparameters.learning_rate: must be > 0 (got -1); lora.r: must be >= 1 (got 0)');
    expect(w.jobs.rows.size).toBe(0);
    expect(w.publisher.messages.filter((m) => m.subject.startsWith('medtune.training.job.'))).toEqual([]);
  });

  it('re-attaches after a restart from the stored worker sequence: every metric once', async () => {
    const w = newWorld();
    const a = await w.boot();
    const worker = await w.addWorker(a, 'w1');
    const jobId = (await w.create(a)).job!.jobId;
    await w.waitState(jobId, S.JOB_STATE_STARTING);
    worker.emitState(jobId, W.WORKER_JOB_STATE_RUNNING, 'go');
    for (let s = 1; s <= 5; s++) worker.emitMetrics(jobId, s, 1 / s);
    await waitFor(async () => (await w.jobs.get(jobId))!.workerSeq === 7);
    await a.stop();
    for (let s = 6; s <= 10; s++) worker.emitMetrics(jobId, s, 1 / s); // logged while we were down

    const b = await w.boot();
    expect(b.attacher.following()).toEqual([jobId]);
    worker.succeed(jobId, 0);
    await w.waitState(jobId, S.JOB_STATE_SUCCEEDED);
    const metrics = w.publisher.messages.filter((m) => m.subject === 'medtune.training.metrics.logged');
    expect(metrics.map((m) => events.MetricsLogged.decode(m.data).step)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    expect(w.jobEvents.all(jobId).filter((e) => e.kind === 'metrics')).toHaveLength(10);
    expectGapFree(w, jobId);
  });

  it('publishes what a crash left in the outbox at the next start, once', async () => {
    const w = newWorld();
    const a = await w.boot();
    w.publisher.failing = true; // NATS down: the transition is stored, its event stays owed
    const jobId = (await w.create(a)).job!.jobId;
    expect((await w.jobs.get(jobId))!.outbox.map((e) => e.seq)).toEqual([1, 2]);
    await a.stop();
    w.publisher.failing = false;
    await w.boot();
    expect((await w.jobs.get(jobId))!.outbox).toEqual([]);
    expect(w.publisher.messages.map((m) => m.id)).toEqual([`${jobId}:1`, `${jobId}:2`]);
    expectGapFree(w, jobId);
  });

  it('moves the job of a silent worker to RECOVERING and resumes it on another worker from the checkpoint', async () => {
    const w = newWorld();
    const o = await w.boot();
    const w1 = await w.addWorker(o, 'w1');
    const jobId = (await w.create(o)).job!.jobId;
    await w.waitState(jobId, S.JOB_STATE_STARTING);
    w1.emitState(jobId, W.WORKER_JOB_STATE_RUNNING, 'go');
    w1.emitMetrics(jobId, 1, 2);
    w1.emitCheckpoint(jobId, 2);
    await waitFor(async () => (await w.jobs.get(jobId))!.workerSeq === 4);
    w1.down = true;

    const w2 = await w.addWorker(o, 'w2'); // registers now, so it is not lost below
    w.clock.advance(2 * LEASE + 1); // past the start-up grace (two leases)
    await o.registry.heartbeat(w2.info());
    expect(await o.registry.sweep()).toEqual(['w1']);
    await w.waitState(jobId, S.JOB_STATE_STARTING);
    const job = await o.jobs.getJob(jobId);
    expect(job).toMatchObject({ workerId: 'w2', attempt: 2 });
    expect(w2.startCalls[0]).toMatchObject({ attempt: 2, spec: { resumeFromCheckpoint: `file:///tmp/ckpt/${jobId}/a1/step-2` } });
    w2.emitCheckpoint(jobId, 3);
    w2.succeed(jobId, 1);
    await w.waitState(jobId, S.JOB_STATE_SUCCEEDED);

    const states = (await o.jobs.getJob(jobId)).history.map((h) => h.state);
    expect(states).toEqual([
      S.JOB_STATE_VALIDATING,
      S.JOB_STATE_QUEUED,
      S.JOB_STATE_STARTING,
      S.JOB_STATE_RUNNING,
      S.JOB_STATE_RECOVERING,
      S.JOB_STATE_STARTING,
      S.JOB_STATE_RUNNING,
      S.JOB_STATE_UPLOADING,
      S.JOB_STATE_SUCCEEDED,
    ]);
    expect((await o.jobs.listCheckpoints(jobId)).map((c) => c.step)).toEqual([2, 3]);
    expect(w.publisher.subjects()).toContain('medtune.training.worker.lost');
    expectGapFree(w, jobId);
  });

  it('skips the earlier attempt at the head of a resumed job\'s worker log (shared artifact root)', async () => {
    const w = newWorld();
    const o = await w.boot();
    const logs = new Map<string, trainer.JobEvent[]>();
    const w1 = new FakeWorker('w1', logs);
    w.fleet.set('w1:1', w1);
    await o.registry.register(w1.info());
    const jobId = (await w.create(o)).job!.jobId;
    await w.waitState(jobId, S.JOB_STATE_STARTING);
    w1.emitState(jobId, W.WORKER_JOB_STATE_RUNNING, 'go');
    w1.emitMetrics(jobId, 1, 2);
    w1.emitCheckpoint(jobId, 1);
    await waitFor(async () => (await w.jobs.get(jobId))!.workerSeq === 4);
    w1.emitMetrics(jobId, 2, 1.5); // written to the log by the dying worker, never received
    w1.down = true;
    w.clock.advance(2 * LEASE + 1); // past the start-up grace (two leases)
    await o.registry.sweep();

    const w2 = new FakeWorker('w2', logs);
    w.fleet.set('w2:1', w2);
    await o.registry.register(w2.info());
    await w.waitState(jobId, S.JOB_STATE_STARTING);
    expect(logs.get(jobId)!.map((e) => e.attempt)).toEqual([1, 1, 1, 1, 1, 2]);
    w2.succeed(jobId, 2);
    await w.waitState(jobId, S.JOB_STATE_SUCCEEDED);
    const stored = w.jobEvents.all(jobId).filter((e) => e.workerSeq > 0);
    expect(stored.map((e) => [e.attempt, e.workerSeq])).toEqual([
      [1, 1],
      [1, 2],
      [1, 3],
      [1, 4],
      [2, 6],
      [2, 7],
      [2, 8],
      [2, 9],
      [2, 10],
      [2, 11],
      [2, 12],
    ]);
    expectGapFree(w, jobId);
  });

  it('fails a job as PLATFORM when its worker is lost with no retries left', async () => {
    const w = newWorld();
    const o = await w.boot();
    const w1 = await w.addWorker(o, 'w1');
    const jobId = (await w.create(o, { maxRetries: 0 })).job!.jobId;
    await w.waitState(jobId, S.JOB_STATE_STARTING);
    w1.down = true;
    w.clock.advance(LEASE + 1);
    expect(await o.registry.sweep()).toEqual([]); // within two leases of start: workers may still be reconnecting
    w.clock.advance(LEASE);
    expect(await o.registry.sweep()).toEqual(['w1']);
    const job = await o.jobs.getJob(jobId);
    expect(job.state).toBe(S.JOB_STATE_FAILED);
    expect(job.failure?.class).toBe(common.FailureClass.FAILURE_CLASS_PLATFORM);
  });

  it('dispatches by priority, then in creation order', async () => {
    const w = newWorld();
    const o = await w.boot();
    const low1 = (await w.create(o, { priority: 0 })).job!.jobId;
    const high = (await w.create(o, { priority: 5 })).job!.jobId;
    const low2 = (await w.create(o, { priority: 0 })).job!.jobId;
    const worker = await w.addWorker(o, 'w1');
    const order: string[] = [];
    for (const expected of [high, low1, low2]) {
      await waitFor(() => worker.startCalls.length === order.length + 1);
      const jobId = worker.startCalls.at(-1)!.jobId;
      order.push(jobId);
      expect(jobId).toBe(expected);
      worker.succeed(jobId, 0);
      await w.waitState(jobId, S.JOB_STATE_SUCCEEDED);
    }
  });

  it('keeps a job queued while the only worker is busy or too small, then runs it', async () => {
    const w = newWorld();
    const o = await w.boot();
    const small = await w.addWorker(o, 'small', { address: 'small:1', gpuMemoryBytes: 8e9 });
    const jobId = (await w.create(o, { minGpuMemoryBytes: 16e9 })).job!.jobId;
    await o.scheduler.poke();
    expect(small.startCalls).toEqual([]);
    const big = await w.addWorker(o, 'big', { address: 'big:1', gpuMemoryBytes: 80e9 });
    big.busy = true;
    await o.scheduler.poke();
    expect(big.startCalls).toHaveLength(1);
    expect(await w.state(jobId)).toBe(S.JOB_STATE_QUEUED);
    expect((await w.jobs.get(jobId))!.occupies).toBeUndefined();
    big.busy = false;
    w.clock.advance(10); // past the worker's backoff
    await o.scheduler.poke();
    await w.waitState(jobId, S.JOB_STATE_STARTING);
    expect((await o.jobs.getJob(jobId)).workerId).toBe('big');
  });

  it('fails a job the worker refuses as invalid, with the worker message', async () => {
    const w = newWorld();
    const o = await w.boot();
    const worker = new FakeWorker('w1');
    worker.startError = new InvalidArgumentError('spec.base_model', 'no model at /models/tiny');
    w.fleet.set('w1:1', worker);
    const jobId = (await w.create(o)).job!.jobId;
    await o.registry.register(worker.info());
    await w.waitState(jobId, S.JOB_STATE_FAILED);
    const job = await o.jobs.getJob(jobId);
    expect(job.failure).toMatchObject({ class: common.FailureClass.FAILURE_CLASS_USER_ERROR, message: 'the worker refused the job: spec.base_model: no model at /models/tiny' });
  });

  it('cancels in every state: queued at once, running through the worker, recovering at once', async () => {
    const w = newWorld();
    const o = await w.boot();
    const queued = (await w.create(o)).job!.jobId;
    expect((await o.jobs.cancelJob(queued, 'changed my mind')).state).toBe(S.JOB_STATE_CANCELLED);
    expect((await o.jobs.cancelJob(queued, 'again')).state).toBe(S.JOB_STATE_CANCELLED); // idempotent

    const worker = await w.addWorker(o, 'w1');
    const running = (await w.create(o)).job!.jobId;
    await w.waitState(running, S.JOB_STATE_STARTING);
    worker.emitState(running, W.WORKER_JOB_STATE_RUNNING, 'go');
    await w.waitState(running, S.JOB_STATE_RUNNING);
    const after = await o.jobs.cancelJob(running, 'stop');
    expect([S.JOB_STATE_CANCEL_REQUESTED, S.JOB_STATE_CANCELLED]).toContain(after.state);
    expect(worker.cancelCalls).toEqual([running]);
    await w.waitState(running, S.JOB_STATE_CANCELLED);
    expect((await o.jobs.getJob(running)).history.map((h) => h.state).slice(-2)).toEqual([S.JOB_STATE_CANCEL_REQUESTED, S.JOB_STATE_CANCELLED]);
    expect((await o.jobs.listCheckpoints(running)).map((c) => c.step)).toEqual([99]);

    const recovering = (await w.create(o)).job!.jobId;
    await w.waitState(recovering, S.JOB_STATE_STARTING);
    worker.down = true;
    w.clock.advance(2 * LEASE + 1); // past the start-up grace (two leases)
    await o.registry.sweep();
    expect(await w.state(recovering)).toBe(S.JOB_STATE_RECOVERING);
    expect((await o.jobs.cancelJob(recovering, '')).state).toBe(S.JOB_STATE_CANCELLED);
  });

  it('tells a worker through its heartbeat to stop a job it could not be reached for', async () => {
    const w = newWorld();
    const o = await w.boot();
    const worker = await w.addWorker(o, 'w1');
    const jobId = (await w.create(o)).job!.jobId;
    await w.waitState(jobId, S.JOB_STATE_STARTING);
    worker.down = true;
    await o.jobs.cancelJob(jobId, 'stop');
    expect(await w.state(jobId)).toBe(S.JOB_STATE_CANCEL_REQUESTED);
    const hb = await o.registry.heartbeat({ ...worker.info(), busy: true, currentJobId: jobId });
    expect(hb.cancelJobIds).toEqual([jobId]);
    await expect(o.registry.heartbeat({ ...worker.info(), workerId: 'ghost' })).rejects.toThrow(NotFoundError);
  });

  it('lists jobs newest first with filters and page tokens', async () => {
    const w = newWorld();
    const o = await w.boot();
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) ids.push((await w.create(o, { experiment: i % 2 ? 'odd' : 'even', tags: { i: String(i) } })).job!.jobId);
    const p1 = await o.jobs.listJobs(training.ListJobsRequest.fromPartial({ pageSize: 2 }));
    expect(p1.jobs.map((j) => j.jobId)).toEqual([ids[4], ids[3]]);
    const p2 = await o.jobs.listJobs(training.ListJobsRequest.fromPartial({ pageSize: 2, pageToken: p1.nextPageToken }));
    expect(p2.jobs.map((j) => j.jobId)).toEqual([ids[2], ids[1]]);
    const p3 = await o.jobs.listJobs(training.ListJobsRequest.fromPartial({ pageSize: 2, pageToken: p2.nextPageToken }));
    expect(p3.jobs.map((j) => j.jobId)).toEqual([ids[0]]);
    expect(p3.nextPageToken).toBe('');
    const odd = await o.jobs.listJobs(training.ListJobsRequest.fromPartial({ experiment: 'odd' }));
    expect(odd.jobs.map((j) => j.jobId)).toEqual([ids[3], ids[1]]);
    const tagged = await o.jobs.listJobs(training.ListJobsRequest.fromPartial({ tags: { i: '2' }, states: [S.JOB_STATE_QUEUED] }));
    expect(tagged.jobs.map((j) => j.jobId)).toEqual([ids[2]]);
    await expect(o.jobs.listJobs(training.ListJobsRequest.fromPartial({ pageToken: 'garbage!' }))).rejects.toThrow(InvalidArgumentError);
  });

  it('decides again when another writer changed the job first', async () => {
    const w = newWorld();
    const o = await w.boot();
    const jobId = (await w.create(o)).job!.jobId;
    let interfered = false;
    w.jobs.beforeReplace = (record) => {
      if (interfered) return;
      interfered = true;
      const row = w.jobs.rows.get(record.job.jobId)!;
      row.rev += 1; // someone else wrote
    };
    const job = await o.jobs.cancelJob(jobId, '');
    expect(interfered).toBe(true);
    expect(job.state).toBe(S.JOB_STATE_CANCELLED);
    expect(w.publisher.subjects().filter((s) => s === 'medtune.training.job.cancelled')).toHaveLength(1);
  });
});

describe('queue index (the lease holder schedules from memory)', () => {
  beforeEach(() => {
    mode = 'index';
  });

  it('dispatches a job another replica queued (its event), and one whose event was missed after the reconcile scan', async () => {
    const w = newWorld();
    const o = await w.boot();
    expect(o.index?.loaded).toBe(true);
    // Another replica (serves CreateJob, does not lead) on the same stores, its events on the feed.
    const other = await w.boot({ start: false });
    const fromOther = (await w.create(other)).job!.jobId;
    expect(o.index!.get(fromOther)?.state).toBe(S.JOB_STATE_QUEUED);
    await w.addWorker(o, 'w1');
    await w.waitState(fromOther, S.JOB_STATE_STARTING);
    expect(o.index!.get(fromOther)?.occupies).toBe('w1');

    // A replica whose events reach no index (lost while disconnected, or a bulk seed): the job waits...
    const deaf = await w.boot({ start: false, feed: false });
    const missed = (await w.create(deaf)).job!.jobId;
    expect(o.index!.get(missed)).toBeUndefined();
    await w.addWorker(o, 'w2');
    await o.scheduler.idle();
    expect(await w.state(missed)).toBe(S.JOB_STATE_QUEUED);
    // ...until the reconcile scan finds it.
    await (o as unknown as { reconcile(): Promise<void> }).reconcile();
    await w.waitState(missed, S.JOB_STATE_STARTING);
    // A cancel served by the other replica reaches the index through its event.
    await other.jobs.cancelJob(fromOther, 'not needed');
    await waitFor(() => o.index!.get(fromOther)?.state === S.JOB_STATE_CANCEL_REQUESTED, 5_000);
  });
});

describe('N-GPU jobs (hyperparameters.gpus)', () => {
  it('are refused when no registered worker has N GPUs, and placed only on a worker that has them', async () => {
    const w = newWorld();
    const o = await w.boot();
    const small = await w.addWorker(o, 'w-one-gpu', { gpuCount: 1 });
    await expect(w.create(o, { hyperparameters: { gpus: 2 } })).rejects.toThrow(FailedPreconditionError);
    await expect(w.create(o, { hyperparameters: { gpus: 2 } })).rejects.toThrow(/hyperparameters\.gpus: 2 GPUs asked for, but the registered workers have at most 1/);
    const big = await w.addWorker(o, 'w-four-gpus', { gpuCount: 4 });
    const { job } = await w.create(o, { hyperparameters: { gpus: 4, maxSteps: 2 } });
    expect(job!.hyperparameters).toMatchObject({ gpus: 4, globalBatchSize: 2 * 4 * 4, plan: 'auto' });
    await w.waitState(job!.jobId, S.JOB_STATE_STARTING);
    expect(big.startCalls.map((c) => c.jobId)).toEqual([job!.jobId]);
    expect(small.startCalls).toEqual([]);
    expect(big.startCalls[0]!.spec!.hyperparameters).toMatchObject({ gpus: 4, globalBatchSize: 32 });
  });
});
