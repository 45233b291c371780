/**
 * A core over the in-memory ports with a clock the test moves, for unit specs. Liveness timers
 * are not started: specs call `core.liveness.persist()` / `sweep()` when they mean to.
 */
import { createLogger } from '@medtune/kit';
import { EventIngest } from './ingest';
import { MemoryDirtyMarks, MemoryExperimentRepo, MemoryMetricLog, MemoryRunPublisher, MemoryRunRepo } from './memory';
import { TrackingCore } from './service';

/** The parts of a test core. */
export interface CoreHarness {
  readonly core: TrackingCore;
  readonly ingest: EventIngest;
  readonly runs: MemoryRunRepo;
  readonly experiments: MemoryExperimentRepo;
  readonly metrics: MemoryMetricLog;
  readonly dirty: MemoryDirtyMarks;
  readonly publisher: MemoryRunPublisher;
  /** Moves the clock. */
  advance(ms: number): void;
  now(): Date;
}

/** Builds a core with the given crash timeout (default 60 s) over fresh in-memory ports. */
export function coreHarness(options: { crashTimeoutMs?: number; metrics?: MemoryMetricLog; runs?: MemoryRunRepo; dirty?: MemoryDirtyMarks } = {}): CoreHarness {
  let now = Date.parse('2030-01-01T00:00:00Z');
  const clock = () => new Date(now);
  const runs = options.runs ?? new MemoryRunRepo();
  const experiments = new MemoryExperimentRepo();
  const metrics = options.metrics ?? new MemoryMetricLog();
  const dirty = options.dirty ?? new MemoryDirtyMarks();
  const publisher = new MemoryRunPublisher();
  let n = 0;
  const core = new TrackingCore({
    runs,
    experiments,
    metrics,
    dirty,
    publisher,
    clock,
    log: createLogger({ service: 'tracking-test', level: 'silent' }),
    newRunId: () => `run_${++n}`,
    batch: { maxPoints: 1_000, maxDelayMs: 1 },
    liveness: { crashTimeoutMs: options.crashTimeoutMs ?? 60_000, persistIntervalMs: 1_000, sweepIntervalMs: 1_000 },
    watchPollMs: 30,
    watchEndGraceMs: 50,
  });
  return {
    core,
    ingest: new EventIngest(core),
    runs,
    experiments,
    metrics,
    dirty,
    publisher,
    advance: (ms) => void (now += ms),
    now: clock,
  };
}
