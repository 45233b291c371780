// The placement authority, with in-memory stores and fake workers: best-fit placement by GPUs,
// queue reads limited to the free slots, parallel dispatch past a black-holed worker, a worker
// registered again gets a fresh channel, and the scheduler lease: only its holder dispatches,
// a lapsed holder's writes are fenced off.
import { dataset, trainer, training } from '@medtune/contracts';
import { waitFor } from '@medtune/testing';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import type { ExecutionSlot } from './executor';
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
