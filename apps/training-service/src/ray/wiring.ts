/**
 * Builds the Ray executor from the configuration (EXECUTOR=ray): checks at start-up that the Ray
 * cluster answers, so a wrong address is a configuration error naming the setting rather than
 * jobs that wait forever.
 */
import { type Clock, ConfigError, type Logger } from '@medtune/kit';
import type { TrainingConfig } from '../config';
import type { LedgerWriter } from '../core/ledger';
import type { JobRepository, WorkerClientFactory, WorkerRepository } from '../core/ports';
import { RayExecutor } from '../core/executors/ray';
import { noteWaiting } from '../core/executors/waiting';
import { rayJobsClient } from './jobs-client';

/** What the Ray executor needs from the app. */
export interface RayParts {
  workers: WorkerRepository;
  jobs: Pick<JobRepository, 'get'>;
  workerClients: WorkerClientFactory;
  resetChannel: (address: string) => void;
  /** The orchestrator's ledger (made after the executor, hence a function). */
  ledger: () => LedgerWriter | undefined;
  clock: Clock;
  log: Logger;
}

const P = 'MEDTUNE_TRAINING_';

/** The Ray executor for `cfg`, or a ConfigError naming MEDTUNE_TRAINING_RAY_ADDRESS. */
export async function rayExecutorFor(cfg: TrainingConfig, parts: RayParts): Promise<RayExecutor> {
  if (!cfg.rayAddress) throw new ConfigError([{ variable: `${P}RAY_ADDRESS`, problem: `is required with ${P}EXECUTOR=ray (the Ray dashboard, e.g. http://ray-head:8265)` }]);
  const ray = rayJobsClient({ address: cfg.rayAddress });
  let version: string;
  try {
    version = await ray.version();
  } catch (err) {
    throw new ConfigError([{ variable: `${P}RAY_ADDRESS`, problem: `the Ray cluster at ${cfg.rayAddress} does not answer: ${(err as Error).message}` }]);
  }
  const log = parts.log.child({ component: 'ray-executor' });
  log.info({ rayAddress: cfg.rayAddress, rayVersion: version }, 'placing jobs on the Ray cluster');
  return new RayExecutor({
    ray,
    workers: parts.workers,
    jobs: parts.jobs,
    workerClients: parts.workerClients,
    resetChannel: parts.resetChannel,
    clock: parts.clock,
    log,
    settings: {
      python: cfg.rayPython,
      registryAddress: cfg.rayRegistryAddr ?? cfg.grpcAddr,
      prefix: cfg.rayPrefix,
      maxPending: cfg.rayMaxPending,
      unsatisfiableAfterMs: cfg.rayUnsatisfiableAfterMs,
      cpusPerJob: cfg.rayCpusPerJob,
      ...(cfg.rayMemoryPerJob ? { memoryBytesPerJob: cfg.rayMemoryPerJob } : {}),
      ...(cfg.rayGpuMemoryResource ? { gpuMemoryResource: cfg.rayGpuMemoryResource } : {}),
      reconcileIntervalMs: cfg.rayReconcileIntervalMs,
      env: { MEDTUNE_TRAINER_LOG_LEVEL: cfg.logLevel },
    },
    noteWaiting: async (jobId, reason) => {
      const ledger = parts.ledger();
      if (ledger) await ledger.update(jobId, (current) => noteWaiting(current, reason, parts.clock()));
    },
  });
}
