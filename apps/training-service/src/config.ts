/** The training service's configuration (env prefix MEDTUNE_TRAINING_). */
import { addr, duration, loadConfig, serviceConfigSpec, str, type ConfigOf } from '@medtune/kit';

/** Every variable the training service reads. */
export const trainingConfigSpec = {
  ...serviceConfigSpec({ grpcAddr: '127.0.0.1:50052', db: 'medtune_training' }),
  datasetAddr: addr({ env: 'DATASET_ADDR', default: '127.0.0.1:50051', description: 'dataset service (GetVersion)' }),
  workerDatasetAddr: addr({ env: 'WORKER_DATASET_ADDR', optional: true, description: 'dataset service as the workers reach it (default: DATASET_ADDR)' }),
  artifactRoot: str({ env: 'ARTIFACT_ROOT', optional: true, pattern: /^(file|s3):\/\//, description: 'where workers put artifacts (default file://<cwd>/var/artifacts)' }),
  heartbeatIntervalMs: duration({ env: 'HEARTBEAT_INTERVAL', default: 5_000, min: 50, description: 'heartbeat interval asked of workers' }),
  leaseMs: duration({ env: 'WORKER_LEASE', default: 15_000, min: 100, description: 'silence after which a worker is lost and its job recovers' }),
  scheduleIntervalMs: duration({ env: 'SCHEDULE_INTERVAL', default: 2_000, min: 50, description: 'scheduling pass at least this often' }),
  outboxIntervalMs: duration({ env: 'OUTBOX_INTERVAL', default: 5_000, min: 100, description: 'retry of events not yet published' }),
  watchPollMs: duration({ env: 'WATCH_POLL', default: 1_000, min: 10, description: 'WatchJob re-reads the log at least this often' }),
  workerBackoffMs: duration({ env: 'WORKER_BACKOFF', default: 2_000, min: 0, description: 'pause before a busy worker is offered a job again' }),
  dispatchDeadlineMs: duration({ env: 'DISPATCH_DEADLINE', default: 5_000, min: 100, description: 'deadline of one StartJob (a worker that does not answer is marked unreachable and skipped)' }),
  modelCheck: str({
    env: 'MODEL_CHECK',
    default: 'local',
    pattern: /^(local|off)$/,
    description: "local: CreateJob reads the base model's directory on this host (exists, config.json, target modules); off where the workers' models are not visible here",
  }),
  callDeadlineMs: duration({ env: 'CALL_DEADLINE', default: 30_000, min: 100, description: 'deadline of unary calls to workers and the dataset service' }),
  watchDeadlineMs: duration({ env: 'WORKER_WATCH_DEADLINE', default: 600_000, min: 1_000, description: 'one WatchJob stream from a worker (re-attached after)' }),
};

/** The loaded configuration. */
export type TrainingConfig = ConfigOf<typeof trainingConfigSpec>;

/** Reads the configuration from an environment (process.env in main.ts). */
export function loadTrainingConfig(env: Readonly<Record<string, string | undefined>>): TrainingConfig {
  return loadConfig(trainingConfigSpec, { prefix: 'MEDTUNE_TRAINING_' }, env);
}
