/**
 * The training orchestrator assembled from its parts: the ledger (stores and publishes), the job
 * API, the worker registry, the scheduler and the attacher, with the timers that drive them. It is
 * still transport-free: main.ts hands it repositories, a publisher, clients and a clock.
 */
import type { Clock, Lease } from '@medtune/kit';
import type { Logger } from 'pino';
import { Attacher } from './attacher';
import { type Executor, WorkerExecutor } from './executor';
import { type HoldRepository, WorkerHolds } from './holds';
import { JobService } from './jobs';
import { JobLedger } from './ledger';
import type { DatasetClient, DispatchSettings, EventPublisher, JobChangeFeed, JobEventRepository, JobRepository, ModelInspector, WorkerClientFactory, WorkerRepository } from './ports';
import { QueueIndex } from './queue-index';
import { Scheduler } from './scheduler';
import { ON_WORKER_STATES, WAITING_STATES } from './state-machine';
import { WorkerRegistry } from './workers';

/** Timing of the orchestrator (milliseconds). */
export interface OrchestratorTiming {
  /** Interval asked of workers. */
  heartbeatIntervalMs: number;
  /** Silence after which a worker is lost. */
  leaseMs: number;
  /** Scheduling pass at least this often (passes also run on events). */
  scheduleIntervalMs: number;
  /** Retry of outbox entries that could not be published. */
  outboxIntervalMs: number;
  /** WatchJob re-reads the log at least this often. */
  watchPollMs: number;
  /** Pause before a worker that deferred a job is offered one again. */
  workerBackoffMs: number;
  /** Deadline of one StartJob (short: an unreachable worker must not hold the queue). Default 5 s. */
  dispatchDeadlineMs?: number;
  /** With a queue index: its reconcile scan and the relay's full outbox scan, this often. Default 5 min (each is a scan of every job on FerretDB: seconds at 10,000 jobs). */
  reconcileIntervalMs?: number;
}

/** States the queue index holds (waiting, or on a worker). */
const ACTIVE_STATES = [...WAITING_STATES, ...ON_WORKER_STATES];

/** Everything the orchestrator needs from outside. */
export interface OrchestratorDeps {
  jobs: JobRepository;
  events: JobEventRepository;
  workers: WorkerRepository;
  publisher: EventPublisher;
  datasets: DatasetClient;
  workerClients: WorkerClientFactory;
  dispatch: DispatchSettings;
  clock: Clock;
  newJobId: () => string;
  log: Logger;
  timing: OrchestratorTiming;
  /** Closes the cached channel of a worker address (a worker registered again). */
  resetWorkerChannel?: (address: string) => void;
  /** Base models checked at CreateJob (directory exists, target modules); absent: not checked. */
  models?: ModelInspector;
  /** Worker holds (HoldWorker: evaluation runs placed by this scheduler); absent: the RPCs answer FAILED_PRECONDITION. */
  holds?: HoldRepository;
  /** Where attempts run; default the registered workers ({@link WorkerExecutor}). */
  executor?: Executor;
  /**
   * The `training.scheduler` lease (replicas): scheduling, attaching, the lost-worker sweep and
   * the outbox relay run only while this process holds it, and their writes carry its fencing
   * token. Without one this process does all of it (a single instance, unit tests).
   */
  lease?: Lease;
  /**
   * Job changes from every replica (NATS job events). With it the lease holder schedules from an
   * in-memory queue index (queue-index.ts) and reads and writes jobs by `_id` only; without it
   * every pass queries the repository (unit tests, single instances that need not scale).
   */
  jobChanges?: JobChangeFeed;
}

/** The assembled core with its background work. */
export class Orchestrator {
  readonly ledger: JobLedger;
  readonly jobs: JobService;
  readonly registry: WorkerRegistry;
  readonly scheduler: Scheduler;
  readonly attacher: Attacher;
  readonly executor: Executor;
  readonly holds: WorkerHolds | undefined;
  /** The lease holder's index of active jobs (with `jobChanges`). */
  readonly index: QueueIndex | undefined;
  /** Jobs named by an event the index has not seen yet: read by `_id`, then applied. */
  private readonly stale = new Set<string>();
  private refreshing: Promise<void> | undefined;
  private unsubscribe: (() => void) | undefined;
  private readonly timers: NodeJS.Timeout[] = [];
  private readonly inflight = new Set<Promise<unknown>>();
  private stopped = false;
  /** True while this process does the once-only work (holds the lease, or has none). */
  private leading = false;
  /** Token of the lease this process holds or last held: carried by every guarded write. */
  private token: number | undefined;

  constructor(private readonly deps: OrchestratorDeps) {
    const { log, clock, timing } = deps;
    this.ledger = new JobLedger({ jobs: deps.jobs, events: deps.events, publisher: deps.publisher, log: log.child({ component: 'ledger' }) });
    this.executor = deps.executor ?? new WorkerExecutor(deps.workers, deps.workerClients, deps.resetWorkerChannel);
    const guarded = deps.lease ? this.ledger.fenced(() => this.token) : this.ledger;
    this.index = deps.jobChanges ? new QueueIndex() : undefined;
    // Every record this process writes reaches the index before its events go out.
    if (this.index) this.ledger.onWritten((r) => this.leading && this.index?.apply(r));
    const poke = (): void => {
      if (!this.stopped && this.leading) void this.track(this.scheduler.poke());
    };
    this.holds = deps.holds ? new WorkerHolds({ holds: deps.holds, clock, log: log.child({ component: 'holds' }), onChanged: poke }) : undefined;
    this.attacher = new Attacher({
      jobs: deps.jobs,
      ledger: guarded,
      workerClients: (address) => this.executor.client(address),
      clock,
      log: log.child({ component: 'attacher' }),
      onDetached: poke,
    });
    this.scheduler = new Scheduler({
      jobs: deps.jobs,
      ledger: guarded,
      executor: this.executor,
      settings: deps.dispatch,
      clock,
      log: log.child({ component: 'scheduler' }),
      onStarted: (jobId) => this.attacher.follow(jobId),
      active: () => this.isLeading,
      ...(this.holds ? { holds: this.holds } : {}),
      ...(this.index ? { index: this.index } : {}),
      workerBackoffMs: timing.workerBackoffMs,
      ...(timing.dispatchDeadlineMs !== undefined ? { dispatchDeadlineMs: timing.dispatchDeadlineMs } : {}),
    });
    this.registry = new WorkerRegistry({
      workers: deps.workers,
      jobs: deps.jobs,
      ledger: guarded,
      publisher: deps.publisher,
      clock,
      log: log.child({ component: 'workers' }),
      heartbeatIntervalMs: timing.heartbeatIntervalMs,
      leaseMs: timing.leaseMs,
      onWorkerAvailable: poke,
      onWorkerRegistered: (workerId, address) => this.scheduler.workerRegistered(workerId, address),
      onJobDetached: (jobId) => this.attacher.unfollow(jobId),
      boundAttempt: (workerId) => this.executor.boundAttempt?.(workerId),
    });
    this.jobs = new JobService({
      jobs: deps.jobs,
      events: deps.events,
      ledger: this.ledger,
      datasets: deps.datasets,
      workerClients: deps.workerClients,
      // Registered workers bound what a job may ask for; on Ray the cluster decides (executors/ray.ts).
      ...(this.executor.kind === 'worker' ? { workers: deps.workers } : {}),
      ...(deps.models ? { models: deps.models } : {}),
      clock,
      newJobId: deps.newJobId,
      log: log.child({ component: 'jobs' }),
      onQueued: poke,
      watchPollMs: timing.watchPollMs,
    });
  }

  /**
   * Starts the timers, then the once-only work: at once without a lease, else whenever this
   * process acquires it (finishing what the previous holder left: outbox entries published, every
   * job on a worker re-attached from its stored position, recorded dispatches re-sent).
   */
  async start(): Promise<void> {
    const { timing, lease } = this.deps;
    this.every(timing.scheduleIntervalMs, () => this.scheduler.poke());
    // A safety net: a follow loop that died on an unexpected error is started again.
    this.every(timing.scheduleIntervalMs * 5, () => this.followAll());
    this.every(Math.max(100, Math.floor(timing.leaseMs / 4)), () => this.registry.sweep());
    if (this.index) {
      // The outbox relay's full scan (whole collection on FerretDB) and the index's repair, off the
      // hot path; failed flushes of this process are retried by `_id` at the usual interval.
      const slow = timing.reconcileIntervalMs ?? 300_000;
      this.every(timing.outboxIntervalMs, () => this.ledger.flushKnown());
      this.every(slow, () => this.ledger.flushPending());
      this.every(slow, () => this.reconcile());
      this.unsubscribe = this.deps.jobChanges?.subscribe((jobId, seq) => this.changed(jobId, seq));
    } else {
      this.every(timing.outboxIntervalMs, () => this.ledger.flushPending());
    }
    if (!lease) return this.lead();
    let leading: Promise<void> | undefined;
    lease.onAcquired((token) => {
      this.token = token;
      leading = this.track(this.lead());
    });
    lease.onLost(() => void this.track(this.unlead()));
    lease.start();
    // A single instance (or the first replica) re-attaches before it serves, as without leases.
    await lease.ready();
    await leading;
  }

  /** True while this process does the once-only work. */
  get isLeading(): boolean {
    return this.leading && (this.deps.lease?.isHeld ?? true);
  }

  private async lead(): Promise<void> {
    if (this.stopped) return;
    this.leading = true;
    const flushed = await this.ledger.flushPending();
    if (this.index) {
      // One scan when the lease is taken; from here on the index follows writes and events.
      const mark = this.index.mark();
      this.index.load(await this.deps.jobs.findInStates(ACTIVE_STATES), mark);
      this.deps.log.info({ active: this.index.size, queued: this.index.waitingCount }, 'queue index loaded');
    }
    const reattached = await this.followAll();
    this.deps.log.info({ outboxFlushed: flushed, reattached, fence: this.token }, 'orchestrator leading (scheduling, attaching, sweeping)');
    await this.scheduler.poke();
  }

  /** A job event (any replica's): unless the index has seen it, read the job by `_id` and apply it. */
  private changed(jobId: string, seq: number): void {
    if (!this.isLeading || !this.index?.loaded || this.index.knows(jobId, seq)) return;
    this.stale.add(jobId);
    this.refreshing ??= this.track(this.refresh()).finally(() => (this.refreshing = undefined));
  }

  private async refresh(): Promise<void> {
    let applied = 0;
    while (this.stale.size > 0 && this.isLeading) {
      const [jobId] = this.stale;
      if (jobId === undefined) break;
      this.stale.delete(jobId);
      try {
        const r = await this.deps.jobs.get(jobId);
        if (r && this.index?.apply(r)) applied++;
      } catch (err) {
        this.deps.log.warn({ err, jobId }, 'could not read a changed job; the reconcile scan will');
      }
    }
    if (applied > 0) void this.track(this.scheduler.poke());
  }

  /** The index's periodic repair: one scan of the active jobs. */
  private async reconcile(): Promise<void> {
    if (!this.index?.loaded) return;
    const mark = this.index.mark();
    const changed = this.index.reconcile(await this.deps.jobs.findInStates(ACTIVE_STATES), mark);
    if (changed > 0) {
      this.deps.log.warn({ changed, active: this.index.size }, 'queue index repaired by the reconcile scan (missed job events)');
      void this.track(this.scheduler.poke());
    }
  }

  /** The lease went elsewhere: stop following and scheduling; the new holder re-attaches. */
  private async unlead(): Promise<void> {
    if (!this.leading) return;
    this.leading = false;
    this.deps.log.warn({ fence: this.token }, 'orchestrator no longer leading; stopping its follow loops');
    await this.attacher.unfollowAll();
    await this.scheduler.idle();
    // The next holder's writes are not seen here: a later lease starts from a fresh scan.
    this.index?.clear();
    this.stale.clear();
  }

  /** Follows every job that runs on a worker (a no-op for those followed already); returns how many there are. */
  private async followAll(): Promise<number> {
    const onWorker = this.index?.loaded ? this.index.onWorker() : (await this.deps.jobs.findInStates(ON_WORKER_STATES)).map((r) => r.job.jobId);
    for (const id of onWorker) this.attacher.follow(id);
    return onWorker.length;
  }

  /** Stops the timers and the follow loops, and waits for work in progress. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.unsubscribe?.();
    for (const t of this.timers) clearInterval(t);
    this.timers.length = 0;
    this.leading = false;
    await this.attacher.stop();
    await this.scheduler.idle();
    await Promise.allSettled([...this.inflight]);
    // Released last: a successor starts only after this process wrote its last event.
    await this.deps.lease?.stop();
  }

  private every(ms: number, fn: () => Promise<unknown>): void {
    let busy = false;
    const timer = setInterval(() => {
      if (busy || !this.isLeading) return;
      busy = true;
      void this.track(fn())
        .catch((err) => this.deps.log.error({ err }, 'background task failed'))
        .finally(() => (busy = false));
    }, ms);
    timer.unref();
    this.timers.push(timer);
  }

  private track<T>(p: Promise<T>): Promise<T> {
    this.inflight.add(p);
    void p.finally(() => this.inflight.delete(p)).catch(() => undefined);
    return p;
  }
}
