/** The training service's configuration (env prefix MEDTUNE_TRAINING_). */
import { addr, ConfigError, duration, enumOf, InvalidArgumentError, int, loadConfig, serviceConfigSpec, str, url, type ConfigOf } from '@medtune/kit';
import { isS3Uri, parseS3Uri } from '@medtune/kit/storage';

/** Every variable the training service reads. */
export const trainingConfigSpec = {
  ...serviceConfigSpec({ grpcAddr: '127.0.0.1:50052', db: 'medtune_training' }),
  datasetAddr: addr({ env: 'DATASET_ADDR', default: '127.0.0.1:50051', description: 'dataset service (GetVersion)' }),
  workerDatasetAddr: addr({ env: 'WORKER_DATASET_ADDR', optional: true, description: 'dataset service as the workers reach it (default: DATASET_ADDR)' }),
  artifactRoot: str({
    env: 'ARTIFACT_ROOT',
    optional: true,
    pattern: /^(file|s3):\/\//,
    description: 'where workers put artifacts and checkpoints: file:///abs/path (default file://<cwd>/var/artifacts; a shared filesystem for several nodes) or s3://bucket/prefix (every worker needs MEDTUNE_S3_* and MEDTUNE_S3_ROOTS)',
  }),
  heartbeatIntervalMs: duration({ env: 'HEARTBEAT_INTERVAL', default: 5_000, min: 50, description: 'heartbeat interval asked of workers' }),
  leaseMs: duration({ env: 'WORKER_LEASE', default: 15_000, min: 100, description: 'silence after which a worker is lost and its job recovers' }),
  scheduleIntervalMs: duration({ env: 'SCHEDULE_INTERVAL', default: 2_000, min: 50, description: 'scheduling pass at least this often' }),
  outboxIntervalMs: duration({ env: 'OUTBOX_INTERVAL', default: 5_000, min: 100, description: 'retry of events not yet published' }),
  progressRetentionMs: duration({ env: 'PROGRESS_RETENTION', default: 30 * 86_400_000, min: 0, description: "an ended job's progress and metric events are deleted this long after its end (0: kept); transitions, checkpoints and artifacts stay" }),
  logRetentionMs: duration({ env: 'LOG_RETENTION', default: 180 * 86_400_000, min: 0, description: "an ended job's whole event log is deleted this long after its end (0: kept); the job document stays" }),
  retentionIntervalMs: duration({ env: 'RETENTION_INTERVAL', default: 600_000, min: 50, description: 'how often the scheduler lease holder applies PROGRESS_RETENTION / LOG_RETENTION' }),
  watchPollMs: duration({ env: 'WATCH_POLL', default: 1_000, min: 10, description: 'WatchJob re-reads the log at least this often' }),
  workerBackoffMs: duration({ env: 'WORKER_BACKOFF', default: 2_000, min: 0, description: 'pause before a busy worker is offered a job again' }),
  dispatchDeadlineMs: duration({ env: 'DISPATCH_DEADLINE', default: 5_000, min: 100, description: 'deadline of one StartJob (a worker that does not answer is marked unreachable and skipped)' }),
  modelCheck: str({
    env: 'MODEL_CHECK',
    default: 'local',
    pattern: /^(local|off)$/,
    description: "local: CreateJob reads the base model's directory on this host (confined to MODEL_ROOTS, exists, config.json, target modules); off where the workers' models are not visible here",
  }),
  modelRoots: str({
    env: 'MODEL_ROOTS',
    optional: true,
    description: "colon-separated directories a local base_model must resolve under (symlinks resolved; with MODEL_CHECK=local); unset: MEDTUNE_DATA_ROOTS, i.e. by default the stack's var dir (var/models), the temp dir, examples/ and ../shared (../shared/models)",
  }),
  callDeadlineMs: duration({ env: 'CALL_DEADLINE', default: 30_000, min: 100, description: 'deadline of unary calls to workers and the dataset service' }),
  watchDeadlineMs: duration({ env: 'WORKER_WATCH_DEADLINE', default: 600_000, min: 1_000, description: 'one WatchJob stream from a worker (re-attached after)' }),
  // Ray executor (issue 18; core/executors/ray.ts). EXECUTOR=ray + RAY_ADDRESS are the two a user sets.
  executor: enumOf(['workers', 'ray'] as const, { env: 'EXECUTOR', default: 'workers', description: 'where attempts run: registered trainer workers, or a Ray cluster (RAY_ADDRESS)' }),
  rayAddress: url({ env: 'RAY_ADDRESS', optional: true, protocols: ['http:', 'https:'], description: "the Ray dashboard's address (Jobs REST API), e.g. http://ray-head:8265; required with EXECUTOR=ray" }),
  rayPython: str({ env: 'RAY_PYTHON', default: 'python', description: 'Python on the Ray nodes that has medtune_trainer importable' }),
  rayRegistryAddr: addr({ env: 'RAY_REGISTRY_ADDR', optional: true, description: 'this service as trainers on the Ray nodes reach it (default GRPC_ADDR)' }),
  rayPrefix: str({ env: 'RAY_PREFIX', default: 'medtune', pattern: /^[a-z0-9][a-z0-9-]{0,30}$/, description: 'submission ids start with it (one Ray cluster, several deployments)' }),
  rayMaxPending: int({ env: 'RAY_MAX_PENDING', default: 4, min: 1, max: 256, description: 'submissions waiting for Ray resources at once' }),
  rayUnsatisfiableAfterMs: duration({ env: 'RAY_UNSATISFIABLE_AFTER', default: 600_000, min: 1_000, description: 'a job that no alive Ray node could ever fit (by its total resources) fails after this long (FAILED_PRECONDITION); a job waiting for busy GPUs waits on' }),
  rayCpusPerJob: int({ env: 'RAY_CPUS_PER_JOB', default: 1, min: 0, max: 1024, description: "CPUs in each job's Ray resource request" }),
  rayMemoryPerJob: int({ env: 'RAY_MEMORY_PER_JOB', optional: true, min: 0, description: "memory (bytes) in each job's Ray resource request" }),
  rayGpuMemoryResource: str({ env: 'RAY_GPU_MEMORY_RESOURCE', optional: true, pattern: /^[A-Za-z_][A-Za-z0-9_]{0,63}$/, description: 'custom Ray resource standing for GPU memory in GiB (min_gpu_memory_bytes is asked as it)' }),
  rayReconcileIntervalMs: duration({ env: 'RAY_RECONCILE_INTERVAL', default: 5_000, min: 100, description: 'Ray jobs of ours compared with their medtune jobs (stops leftovers)' }),
};

/** The loaded configuration. */
export type TrainingConfig = ConfigOf<typeof trainingConfigSpec>;

/** Reads the configuration from an environment (process.env in main.ts). */
export function loadTrainingConfig(env: Readonly<Record<string, string | undefined>>): TrainingConfig {
  const cfg = loadConfig(trainingConfigSpec, { prefix: 'MEDTUNE_TRAINING_' }, env);
  checkArtifactRoot(cfg.artifactRoot);
  return cfg;
}

/** The artifact root is a file:// URI of an absolute path or a well-formed s3://bucket/prefix (a config error naming the variable otherwise). */
export function checkArtifactRoot(root: string | undefined, variable = 'MEDTUNE_TRAINING_ARTIFACT_ROOT'): void {
  if (root === undefined) return;
  try {
    if (isS3Uri(root)) parseS3Uri(root, variable);
    else if (!new URL(root).pathname.startsWith('/') || new URL(root).host) throw new InvalidArgumentError(variable, 'a file:// root must name a local absolute path');
  } catch (err) {
    const problem = err instanceof InvalidArgumentError ? err.reason : `not a URI: ${JSON.stringify(root)}`;
    throw new ConfigError([{ variable, problem }]);
  }
}
