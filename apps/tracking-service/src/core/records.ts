/**
 * The tracking service's records as the core keeps them, and their proto views. Maps are plain
 * objects here; the repository decides how they are stored (FerretDB refuses '.' in field names,
 * and param keys such as "lora.r" have one).
 */
import { tracking } from '@medtune/contracts';

const { RunStatus } = tracking;

/** Summary of one metric of a run, maintained as points are stored. */
export interface MetricSummaryRecord {
  readonly key: string;
  /** Value at the highest step. */
  readonly last: number;
  readonly min: number;
  readonly max: number;
  /** Highest step. */
  readonly lastStep: number;
  /** Points stored. */
  readonly count: number;
}

/** An event about a run written with the run and published after it (an outbox entry). */
export interface RunOutboxEntry {
  /** ce-id / Nats-Msg-Id: `<run>:created` or `<run>:status:<n>`; a republish is dropped by the stream. */
  readonly id: string;
  readonly kind: 'created' | 'status_changed';
  /** The status the run entered. */
  readonly status: tracking.RunStatus;
  readonly previousStatus: tracking.RunStatus;
  readonly time: Date;
}

/** A run as stored. */
export interface RunRecord {
  readonly runId: string;
  readonly experiment: string;
  readonly name: string;
  readonly kind: tracking.RunKind;
  status: tracking.RunStatus;
  params: Record<string, string>;
  tags: Record<string, string>;
  readonly parentRunId: string;
  readonly sourceId: string;
  readonly createTime: Date;
  startTime: Date | undefined;
  endTime: Date | undefined;
  lastHeartbeatTime: Date | undefined;
  /**
   * Whether a silence longer than the crash timeout turns this run CRASHED. Training runs are armed
   * by their job's state (running, recovering); other runs by their first heartbeat while RUNNING.
   */
  heartbeatArmed: boolean;
  /**
   * Order of the source events applied (training: the job's event sequence; evaluation: the rank
   * of its status), so a late or redelivered event never moves the run back. 0: none yet.
   */
  sourceSeq: number;
  /** Status changes so far (numbers the status_changed event ids). */
  statusChanges: number;
  /** Metric summaries as last persisted (the metric writer may hold fresher ones). */
  metrics: MetricSummaryRecord[];
  /** Chunks of the run's metric log that `metrics` covers (a watcher polling sees new chunks by it). */
  metricsSeq: number;
  /** Events written but not yet confirmed published. */
  outbox: RunOutboxEntry[];
  /** sha256 of the CreateRun request that made it (idempotency check); '' for event-made runs. */
  readonly createRequestHash: string;
  updateTime: Date;
}

/** An experiment as stored (the run count is computed when read). */
export interface ExperimentRecord {
  readonly name: string;
  readonly description: string;
  readonly createTime: Date;
}

/** Statuses a run cannot leave (except to repeat them). */
export const TERMINAL_STATUSES: ReadonlySet<tracking.RunStatus> = new Set([RunStatus.RUN_STATUS_FINISHED, RunStatus.RUN_STATUS_FAILED, RunStatus.RUN_STATUS_KILLED]);

/** True for FINISHED, FAILED and KILLED. */
export function isTerminal(status: tracking.RunStatus): boolean {
  return TERMINAL_STATUSES.has(status);
}

/** 'RUN_STATUS_RUNNING' → 'RUNNING', for messages. */
export function statusName(status: tracking.RunStatus): string {
  return (RunStatus[status] ?? String(status)).replace(/^RUN_STATUS_/, '');
}

/** The proto view of a run; `metrics` overrides the persisted summaries (the writer's fresher ones). */
export function toRun(r: RunRecord, metrics: readonly MetricSummaryRecord[] = r.metrics): tracking.Run {
  return {
    runId: r.runId,
    experiment: r.experiment,
    name: r.name,
    kind: r.kind,
    status: r.status,
    params: { ...r.params },
    tags: { ...r.tags },
    metrics: [...metrics].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0)).map((m) => ({ ...m })),
    parentRunId: r.parentRunId,
    startTime: r.startTime,
    endTime: r.endTime,
    lastHeartbeatTime: r.lastHeartbeatTime,
    sourceId: r.sourceId,
  };
}

/** The proto view of an experiment. */
export function toExperiment(e: ExperimentRecord, runCount: number): tracking.Experiment {
  return { name: e.name, description: e.description, createTime: e.createTime, runCount };
}
