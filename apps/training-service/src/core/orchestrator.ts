/**
 * The training orchestrator assembled from its parts: the ledger (stores and publishes), the job
 * API, the worker registry, the scheduler and the attacher, with the timers that drive them. It is
 * still transport-free: main.ts hands it repositories, a publisher, clients and a clock.
 */
import type { Clock } from '@medtune/kit';
import type { Logger } from 'pino';
import { Attacher } from './attacher';
import { JobService } from './jobs';
import { JobLedger } from './ledger';
import type { DatasetClient, DispatchSettings, EventPublisher, JobEventRepository, JobRepository, WorkerClientFactory, WorkerRepository } from './ports';
import { Scheduler } from './scheduler';
import { ON_WORKER_STATES } from './state-machine';
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
}

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
}

/** The assembled core with its background work. */
export class Orchestrator {
  readonly ledger: JobLedger;
  readonly jobs: JobService;
  readonly registry: WorkerRegistry;
  readonly scheduler: Scheduler;
  readonly attacher: Attacher;
  private readonly timers: NodeJS.Timeout[] = [];
  private readonly inflight = new Set<Promise<unknown>>();
  private stopped = false;

  constructor(private readonly deps: OrchestratorDeps) {
    const { log, clock, timing } = deps;
    this.ledger = new JobLedger({ jobs: deps.jobs, events: deps.events, publisher: deps.publisher, log: log.child({ component: 'ledger' }) });
    const poke = (): void => {
      if (!this.stopped) void this.track(this.scheduler.poke());
    };
    this.attacher = new Attacher({
      jobs: deps.jobs,
      ledger: this.ledger,
      workerClients: deps.workerClients,
      clock,
      log: log.child({ component: 'attacher' }),
      onDetached: poke,
    });
    this.scheduler = new Scheduler({
      jobs: deps.jobs,
      workers: deps.workers,
      ledger: this.ledger,
      workerClients: deps.workerClients,
      settings: deps.dispatch,
      clock,
      log: log.child({ component: 'scheduler' }),
      onStarted: (jobId) => this.attacher.follow(jobId),
      workerBackoffMs: timing.workerBackoffMs,
    });
    this.registry = new WorkerRegistry({
      workers: deps.workers,
      jobs: deps.jobs,
      ledger: this.ledger,
      publisher: deps.publisher,
      clock,
      log: log.child({ component: 'workers' }),
      heartbeatIntervalMs: timing.heartbeatIntervalMs,
      leaseMs: timing.leaseMs,
      onWorkerAvailable: poke,
      onJobDetached: (jobId) => this.attacher.unfollow(jobId),
    });
    this.jobs = new JobService({
      jobs: deps.jobs,
      events: deps.events,
      ledger: this.ledger,
      datasets: deps.datasets,
      workerClients: deps.workerClients,
      workers: deps.workers,
      clock,
      newJobId: deps.newJobId,
      log: log.child({ component: 'jobs' }),
      onQueued: poke,
      watchPollMs: timing.watchPollMs,
    });
  }

  /**
   * Finishes what a previous process left: publishes outbox entries, re-attaches to every job on a
   * worker from its stored position, re-sends recorded dispatches; then starts the timers.
   */
  async start(): Promise<void> {
    const { log, timing } = this.deps;
    const flushed = await this.ledger.flushPending();
    const reattached = await this.followAll();
    log.info({ outboxFlushed: flushed, reattached }, 'orchestrator started');
    await this.scheduler.poke();
    this.every(timing.scheduleIntervalMs, () => this.scheduler.poke());
    // A safety net: a follow loop that died on an unexpected error is started again.
    this.every(timing.scheduleIntervalMs * 5, () => this.followAll());
    this.every(Math.max(100, Math.floor(timing.leaseMs / 4)), () => this.registry.sweep());
    this.every(timing.outboxIntervalMs, () => this.ledger.flushPending());
  }

  /** Follows every job that runs on a worker (a no-op for those followed already); returns how many there are. */
  private async followAll(): Promise<number> {
    const onWorker = await this.deps.jobs.findInStates(ON_WORKER_STATES);
    for (const r of onWorker) this.attacher.follow(r.job.jobId);
    return onWorker.length;
  }

  /** Stops the timers and the follow loops, and waits for work in progress. */
  async stop(): Promise<void> {
    this.stopped = true;
    for (const t of this.timers) clearInterval(t);
    this.timers.length = 0;
    await this.attacher.stop();
    await this.scheduler.idle();
    await Promise.allSettled([...this.inflight]);
  }

  private every(ms: number, fn: () => Promise<unknown>): void {
    let busy = false;
    const timer = setInterval(() => {
      if (busy) return;
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
