/**
 * What the tracking core needs from the outside, as interfaces: repositories (Mongo in src/repo,
 * in memory in memory.ts) and the event publisher (NATS in src/events). The metric log's port is
 * in metrics/types.ts, the dirty marks' in metrics/writer.ts.
 */
import type { tracking } from '@medtune/contracts';
import type { ExperimentRecord, RunOutboxEntry, RunRecord } from './records';

/** Runs. The core serialises the changes of one run (RunBook's lock); the repo only stores. */
export interface RunRepo {
  get(runId: string): Promise<RunRecord | undefined>;
  /** Stores a new run; false (and nothing written) when the id exists. */
  insert(run: RunRecord): Promise<boolean>;
  /** Replaces a stored run. */
  save(run: RunRecord): Promise<void>;
  /** Runs, optionally only of these experiments / statuses. */
  list(filter?: { experiments?: readonly string[]; statuses?: readonly tracking.RunStatus[] }): Promise<RunRecord[]>;
  /** Runs with events not yet published. */
  withOutbox(): Promise<RunRecord[]>;
  /** Number of runs per experiment name. */
  countByExperiment(): Promise<Map<string, number>>;
}

/** Experiments. */
export interface ExperimentRepo {
  get(name: string): Promise<ExperimentRecord | undefined>;
  /** Stores it unless one with that name exists; returns the stored one. */
  ensure(experiment: ExperimentRecord): Promise<{ experiment: ExperimentRecord; created: boolean }>;
  /** By name, after `afterName` (exclusive), at most `limit`. */
  list(afterName: string | undefined, limit: number): Promise<ExperimentRecord[]>;
}

/** Publishes medtune.tracking.run.created / .status_changed. */
export interface RunEventPublisher {
  /** Publishes one outbox entry with the run as it was then; throws when the stream did not take it. */
  publish(entry: RunOutboxEntry, run: tracking.Run): Promise<void>;
}
