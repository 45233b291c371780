/** The tracking service's configuration (env prefix MEDTUNE_TRACKING_). */
import { duration, int, loadConfig, serviceConfigSpec, type ConfigOf } from '@medtune/kit';

/** Every variable the tracking service reads. */
export const trackingConfigSpec = {
  ...serviceConfigSpec({ grpcAddr: '127.0.0.1:50053', db: 'medtune_tracking' }),
  maxDeliver: int({ env: 'MAX_DELIVER', default: 5, min: 1, description: 'deliveries of an event before it is dead-lettered' }),
  crashTimeoutMs: duration({ env: 'CRASH_TIMEOUT', default: 120_000, min: 100, description: 'a RUNNING run without heartbeats (progress, metrics, Heartbeat) this long turns CRASHED' }),
  crashSweepMs: duration({ env: 'CRASH_SWEEP_INTERVAL', default: 5_000, min: 10, description: 'how often runs are checked for silence' }),
  summaryIntervalMs: duration({ env: 'SUMMARY_INTERVAL', default: 1_000, min: 10, description: 'heartbeats and metric summaries are written to runs this often (SearchRuns sees summaries this old at most)' }),
  batchMaxPoints: int({ env: 'METRIC_BATCH_POINTS', default: 10_000, min: 1, max: 200_000, description: 'metric points per write at most' }),
  batchMaxDelayMs: duration({ env: 'METRIC_BATCH_DELAY', default: 50, min: 0, max: 10_000, description: 'a metric point waits this long at most for its batch' }),
  metricConcurrency: int({ env: 'METRIC_MAX_ACK_PENDING', default: 20_000, min: 1, max: 1_000_000, description: 'metric messages delivered and not yet acked (they wait for their batch, so this bounds what is buffered)' }),
  watchPollMs: duration({ env: 'WATCH_POLL', default: 2_000, min: 10, description: 'WatchRun re-reads the run at least this often' }),
  watchEndGraceMs: duration({ env: 'WATCH_END_GRACE', default: 5_000, min: 0, description: 'WatchRun ends this long after its run ended' }),
};

/** The loaded configuration. */
export type TrackingConfig = ConfigOf<typeof trackingConfigSpec>;

/** Reads the configuration from an environment (process.env in main.ts). */
export function loadTrackingConfig(env: Readonly<Record<string, string | undefined>>): TrackingConfig {
  return loadConfig(trackingConfigSpec, { prefix: 'MEDTUNE_TRACKING_' }, env);
}
