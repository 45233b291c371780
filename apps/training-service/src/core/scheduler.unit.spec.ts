// The placement authority, with in-memory stores and fake workers: best-fit placement by GPUs,
// queue reads limited to the free slots, parallel dispatch past a black-holed worker, a worker
// registered again gets a fresh channel, and the scheduler lease: only its holder dispatches,
// a lapsed holder's writes are fenced off.
import { dataset, trainer, training } from '@medtune/contracts';
import { waitFor } from '@medtune/testing';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { ResourceExhaustedError } from '@medtune/kit';
import type { ExecutionSlot, Executor } from './executor';
import type { HoldRecord, HoldRepository } from './holds';
import { FencedOffError } from './ledger';
import { Orchestrator, type OrchestratorDeps } from './orchestrator';
import { place } from './placement';
import { FakeDatasets, FakeWorker, MemoryJobEventRepository, MemoryJobRepository, MemoryWorkerRepository, RecordingPublisher } from './testing/fakes';

const S = training.JobState;
const DIGEST = 'cd'.repeat(32);

function slot(id: string, gpus: number): ExecutionSlot {
  return { slotId: id, address: `${id}:1`, gpus, info: trainer.WorkerInfo.fromPartial({ workerId: id, address: `${id}:1`, gpuCount: gpus }) };
}

describe('place', () => {
  it('keeps queue order, gives each demand the smallest slot with its GPUs, and skips what fits nothing', () => {
    const free = [slot('big', 8), slot('one', 1), slot('two', 2)];
    const demands = [
      { item: 'a-needs-2', gpus: 2, fits: () => true },
      { item: 'b-needs-16', gpus: 16, fits: () => true },
      { item: 'c-needs-1', gpus: 1, fits: () => true },
      { item: 'd-needs-1-not-one', gpus: 1, fits: (s: ExecutionSlot) => s.slotId !== 'one' },
      { item: 'e-needs-1', gpus: 1, fits: () => true },
    ];
    expect(place(demands, free).map((a) => `${a.item}@${a.slot.slotId}`)).toEqual(['a-needs-2@two', 'c-needs-1@one', 'd-needs-1-not-one@big']);
  });
});

/** A fake lease driven by the test. */
class FakeLease {
  held = false;
  token = 0;
  private acquired = new Set<(t: number) => void>();
  private lost = new Set<(t: number) => void>();
  get isHeld(): boolean {
    return this.held;
  }
  onAcquired(fn: (t: number) => void): () => void {
    this.acquired.add(fn);
    return () => this.acquired.delete(fn);
  }
  onLost(fn: (t: number) => void): () => void {
    this.lost.add(fn);
    return () => this.lost.delete(fn);
  }
  start(): this {
    return this;
  }
  ready(): Promise<void> {
    return Promise.resolve();
  }
  async stop(): Promise<void> {
    this.lose();
  }
  grant(token: number): void {
    this.held = true;
    this.token = token;
    for (const f of this.acquired) f(token);
  }
  lose(): void {
    if (!this.held) return;
    this.held = false;
    for (const f of this.lost) f(this.token);
  }
}

function world() {
  const jobs = new MemoryJobRepository();
  const events = new MemoryJobEventRepository();
  const workers = new MemoryWorkerRepository();
  const datasets = new FakeDatasets();
  datasets.versions.set(DIGEST, dataset.VersionState.VERSION_STATE_READY);
  const fleet = new Map<string, FakeWorker>();
  const resets: string[] = [];
  const reads: Array<number | undefined> = [];
  const origFind = jobs.findInStates.bind(jobs);
  jobs.findInStates = (states, page) => {
    reads.push(page?.limit);
    return origFind(states, page);
  };
  const started: Orchestrator[] = [];
  let n = 0;
  const boot = async (extra: Partial<OrchestratorDeps> = {}): Promise<Orchestrator> => {
    const o = new Orchestrator({
      jobs,
      events,
      workers,
      publisher: new RecordingPublisher(),
      datasets,
      workerClients: (address) => {
        const w = fleet.get(address);
        if (!w) throw new Error(`no fake worker at ${address}`);
        return w;
      },
      resetWorkerChannel: (address) => resets.push(address),
      dispatch: { datasetAddress: 'dataset:50051', artifactRoot: 'file:///tmp/artifacts' },
      clock: () => new Date(),
      newJobId: () => `job_${String(++n).padStart(5, '0')}`,
      log: pino({ level: 'silent' }),
      timing: { heartbeatIntervalMs: 1_000, leaseMs: 60_000, scheduleIntervalMs: 60_000, outboxIntervalMs: 60_000, watchPollMs: 50, workerBackoffMs: 1, dispatchDeadlineMs: 300 },
      ...extra,
    });
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
  const create = (o: Orchestrator) =>
    o.jobs.createJob(training.CreateJobRequest.fromPartial({ idempotencyKey: `key-${++n}`, datasetDigest: DIGEST, baseModel: '/models/tiny' }));
  const state = async (jobId: string) => (await jobs.get(jobId))?.job.state;
  return { jobs, workers, fleet, resets, reads, boot, addWorker, create, state, stopAll: () => Promise.all(started.map((o) => o.stop())) };
}

let current: ReturnType<typeof world> | undefined;
afterEach(async () => {
  await current?.stopAll();
  current = undefined;
});

describe('Scheduler', () => {
  it('a job that waits at a slot group (Ray submission slots) is not offered to the rest of the group meanwhile, and the slot stays free for other jobs', async () => {
    const w = (current = world());
    const offers: string[] = [];
    let waiting = '';
    const door = (k: number): ExecutionSlot => ({ ...slot(`door-${k}`, 1), use: 'jobs', group: 'door' });
    const executor: Executor = {
      kind: 'doors',
      slots: async () => [door(0), door(1), door(2)],
      start: async (s, req) => {
        offers.push(`${req.jobId}@${s.slotId}`);
        // The first job waits in the cluster's queue; the others start.
        if (!waiting || req.jobId === waiting) {
          waiting = req.jobId;
          throw new ResourceExhaustedError('waiting for 1 GPU on the cluster');
        }
        return trainer.StartJobResponse.fromPartial({ created: true, job: { jobId: req.jobId, attempt: req.attempt } });
      },
      client: () => {
        throw new Error('not used');
      },
      reset: () => undefined,
    };
    const o = await w.boot({ executor, timing: { heartbeatIntervalMs: 1_000, leaseMs: 60_000, scheduleIntervalMs: 60_000, outboxIntervalMs: 60_000, watchPollMs: 50, workerBackoffMs: 60_000, dispatchDeadlineMs: 300 } });
    const a = (await w.create(o)).job!.jobId;
    await waitFor(() => offers.length >= 1, 5_000);
    for (let i = 0; i < 5; i++) await o.scheduler.poke();
    // One offer of the waiting job to the group within the backoff, not one per slot per pass.
    expect(offers.filter((x) => x.startsWith(a))).toEqual([`${a}@door-0`]);
    expect(await w.state(a)).toBe(S.JOB_STATE_QUEUED);
    // The door it waits at is not paused for the next job.
    const b = (await w.create(o)).job!.jobId;
    await o.scheduler.poke();
    await waitFor(async () => (await w.state(b)) === S.JOB_STATE_STARTING, 5_000);
    expect(offers.filter((x) => x.startsWith(b))).toEqual([`${b}@door-0`]);
  });

  it('reads only as many waiting jobs as there are free workers', async () => {
    const w = (current = world());
    const o = await w.boot();
    const ids: string[] = [];
    for (let i = 0; i < 30; i++) ids.push((await w.create(o)).job!.jobId);
    await w.addWorker(o, 'w1');
    await w.addWorker(o, 'w2');
    w.reads.length = 0;
    await o.scheduler.poke();
    expect(w.reads.length).toBeGreaterThan(0);
    expect(Math.max(...w.reads.map((r) => r ?? Infinity))).toBeLessThanOrEqual(2);
  });

  it('a black-holed worker does not hold the queue: the others get jobs in the same pass, it is marked unreachable and skipped', async () => {
    const w = (current = world());
    const o = await w.boot();
    const hole = await w.addWorker(o, 'hole');
    hole.blackHoled = true;
    const ok = [await w.addWorker(o, 'ok1'), await w.addWorker(o, 'ok2')];
    const jobs: string[] = [];
    for (let i = 0; i < 3; i++) jobs.push((await w.create(o)).job!.jobId);
    const t0 = Date.now();
    await o.scheduler.poke();
    const elapsed = Date.now() - t0;
    // The two good workers started jobs in the pass that also waited on the black hole (parallel, 300 ms deadline).
    expect(ok.every((x) => x.startCalls.length === 1)).toBe(true);
    expect(elapsed).toBeLessThan(3_000);
    expect(o.scheduler.unreachable()).toEqual(['hole']);
    const states = await Promise.all(jobs.map((j) => w.state(j)));
    expect(states.filter((s) => s === S.JOB_STATE_QUEUED)).toHaveLength(1);
    // The next pass skips it at once.
    const t1 = Date.now();
    await o.scheduler.poke();
    expect(Date.now() - t1).toBeLessThan(250);
    // It registers again (restarted): fresh channel, no longer skipped, and it gets the job.
    hole.blackHoled = false;
    await o.registry.register(hole.info());
    expect(w.resets).toContain(hole.info().address);
    expect(o.scheduler.unreachable()).toEqual([]);
    await o.scheduler.poke();
    await waitFor(async () => (await Promise.all(jobs.map((j) => w.state(j)))).every((s) => s !== S.JOB_STATE_QUEUED), 5_000, { message: 'every job dispatched' });
  });

  it('a job whose StartJob timed out is offered to that worker alone (it may have accepted it), never started on a second one', async () => {
    const w = (current = world());
    const o = await w.boot();
    const slow = await w.addWorker(o, 'slow');
    slow.blackHoled = true;
    const jobId = (await w.create(o)).job!.jobId;
    await o.scheduler.poke();
    expect(o.scheduler.unreachable()).toEqual(['slow']);
    const other = await w.addWorker(o, 'other');
    await o.scheduler.poke();
    expect(other.startCalls).toHaveLength(0);
    expect(await w.state(jobId)).toBe(S.JOB_STATE_QUEUED);
    // The slow worker answers again once its pause is over: the job goes to it, and only to it.
    slow.blackHoled = false;
    await new Promise((r) => setTimeout(r, 1_100));
    await o.scheduler.poke();
    await waitFor(async () => (await w.state(jobId)) !== S.JOB_STATE_QUEUED, 5_000, { message: 'job dispatched' });
    expect(slow.startCalls.map((c) => c.jobId)).toEqual([jobId]);
    expect(other.startCalls).toHaveLength(0);
  });

  it('with a lease, only the holder dispatches; its successor takes over and a lapsed holder is fenced off', async () => {
    const w = (current = world());
    const la = new FakeLease();
    const lb = new FakeLease();
    const a = await w.boot({ lease: la as never });
    const b = await w.boot({ lease: lb as never });
    await w.addWorker(a, 'w1');
    const job = (await w.create(b)).job!.jobId; // any replica serves requests
    await a.scheduler.poke();
    await b.scheduler.poke();
    expect(await w.state(job)).toBe(S.JOB_STATE_QUEUED); // nobody leads yet
    la.grant(5);
    await waitFor(async () => (await w.state(job)) !== S.JOB_STATE_QUEUED, 5_000, { message: 'a dispatches' });
    expect((await w.jobs.get(job))?.fence).toBe(5);
    expect(a.attacher.following()).toEqual([job]);
    // a's lease lapses; b takes it with a larger token and re-attaches.
    la.lose();
    await waitFor(() => a.attacher.following().length === 0, 5_000, { message: 'a stops following' });
    lb.grant(9);
    await waitFor(() => b.attacher.following().includes(job), 5_000, { message: 'b follows' });
    [...w.fleet.values()][0]?.emitProgress(job, 1, 10);
    await waitFor(async () => ((await w.jobs.get(job))?.fence ?? 0) === 9, 5_000, { message: 'b wrote with its token' });
    // A write of a's (token 5) now fails instead of overwriting b's work.
    await expect(a.ledger.update(job, () => undefined, { fence: 5 })).rejects.toBeInstanceOf(FencedOffError);
  });
});

/** Holds in memory (the Mongo repository is covered by the replicas / app specs). */
class MemoryHolds implements HoldRepository {
  readonly rows = new Map<string, HoldRecord>();
  async get(id: string) {
    const r = this.rows.get(id);
    return r ? { ...r } : undefined;
  }
  async put(r: HoldRecord) {
    this.rows.set(r.holdId, { ...r });
  }
  async renew(id: string, at: Date, ttlMs: number) {
    const r = this.rows.get(id);
    if (r) Object.assign(r, { renewedAt: at, ttlMs });
  }
  async release(id: string) {
    const r = this.rows.get(id);
    if (r) r.state = training.HoldState.HOLD_STATE_RELEASED;
  }
  async grant(id: string, workerId: string, address: string) {
    const r = this.rows.get(id);
    if (!r || r.state !== training.HoldState.HOLD_STATE_WAITING) return false;
    Object.assign(r, { state: training.HoldState.HOLD_STATE_GRANTED, workerId, address });
    return true;
  }
  async inStates(states: readonly training.HoldState[]) {
    return [...this.rows.values()].filter((r) => states.includes(r.state)).sort((a, b) => a.requestedAt.getTime() - b.requestedAt.getTime());
  }
}

describe('worker holds (evaluation runs) and jobs: one placement authority', () => {
  it('a worker is given to a hold or to a job, never both; a released hold frees it for the queue; a lapsed hold is reclaimed', async () => {
    const w = (current = world());
    const holds = new MemoryHolds();
    const o = await w.boot({ holds });
    const worker = await w.addWorker(o, 'gpu1');
    const hold = await o.holds!.hold(training.HoldWorkerRequest.fromPartial({ holdId: 'evaluation:e1', holder: 'evaluation-service', ttlMs: 1_000 }));
    expect(hold.state).toBe(training.HoldState.HOLD_STATE_WAITING);
    const job = (await w.create(o)).job!.jobId;
    await o.scheduler.poke();
    // The hold asked first and got the only worker; the job waits.
    const granted = await o.holds!.hold(training.HoldWorkerRequest.fromPartial({ holdId: 'evaluation:e1', holder: 'evaluation-service', ttlMs: 1_000 }));
    expect(granted).toMatchObject({ state: training.HoldState.HOLD_STATE_GRANTED, workerId: 'gpu1' });
    expect(worker.startCalls).toHaveLength(0);
    expect(await w.state(job)).toBe(S.JOB_STATE_QUEUED);
    // A second hold waits too: the worker is taken.
    await o.holds!.hold(training.HoldWorkerRequest.fromPartial({ holdId: 'evaluation:e2', holder: 'evaluation-service', ttlMs: 1_000 }));
    await o.scheduler.poke();
    expect((await holds.get('evaluation:e2'))?.state).toBe(training.HoldState.HOLD_STATE_WAITING);
    // Released: the next waiting demand (the older hold e2 first, holds before jobs) gets it.
    await o.holds!.release('evaluation:e1');
    await o.holds!.release('evaluation:e2');
    await o.scheduler.poke();
    await waitFor(async () => (await w.state(job)) !== S.JOB_STATE_QUEUED, 5_000, { message: 'the job gets the worker' });
    expect(worker.startCalls).toHaveLength(1);
    // While the job holds the worker, a new hold waits; once it ended and the hold is renewed no more, it lapses.
    await o.holds!.hold(training.HoldWorkerRequest.fromPartial({ holdId: 'evaluation:e3', holder: 'evaluation-service', ttlMs: 1_000 }));
    await o.scheduler.poke();
    expect((await holds.get('evaluation:e3'))?.state).toBe(training.HoldState.HOLD_STATE_WAITING);
    await expect(o.holds!.hold(training.HoldWorkerRequest.fromPartial({ holdId: '', holder: '' }))).rejects.toThrow(/hold_id: is required; holder: is required/);
  });

  it('a granted hold that is not renewed lapses and its worker goes back to the queue', async () => {
    const w = (current = world());
    const holds = new MemoryHolds();
    const o = await w.boot({ holds });
    const worker = await w.addWorker(o, 'gpu1');
    await o.holds!.hold(training.HoldWorkerRequest.fromPartial({ holdId: 'evaluation:x', holder: 'evaluation-service', ttlMs: 1_000 }));
    await o.scheduler.poke();
    expect((await holds.get('evaluation:x'))?.state).toBe(training.HoldState.HOLD_STATE_GRANTED);
    const job = (await w.create(o)).job!.jobId;
    await o.scheduler.poke();
    expect(worker.startCalls).toHaveLength(0);
    await new Promise((r) => setTimeout(r, 1_200)); // the holder died: no renewal
    await o.scheduler.poke();
    await waitFor(async () => (await w.state(job)) !== S.JOB_STATE_QUEUED, 5_000, { message: 'the job gets the worker' });
    expect((await holds.get('evaluation:x'))?.state).toBe(training.HoldState.HOLD_STATE_RELEASED);
  });
});
