/** The evaluation service's configuration (env prefix MEDTUNE_EVALUATION_). */
import { addr, bool, duration, int, loadConfig, serviceConfigSpec, str, type ConfigOf } from '@medtune/kit';

/** Every variable the evaluation service reads. */
export const evaluationConfigSpec = {
  ...serviceConfigSpec({ grpcAddr: '127.0.0.1:50054', db: 'medtune_evaluation' }),
  registryAddr: addr({ env: 'REGISTRY_ADDR', default: '127.0.0.1:50055', description: 'registry service (ResolveModel, SetAlias, AttachEvaluation)' }),
  datasetAddr: addr({ env: 'DATASET_ADDR', default: '127.0.0.1:50051', description: 'dataset service (templates, versions)' }),
  datasetAddrForWorkers: str({ env: 'DATASET_ADDR_FOR_WORKERS', optional: true, description: 'the dataset service as workers reach it (default DATASET_ADDR)' }),
  trainingAddr: addr({ env: 'TRAINING_ADDR', default: '127.0.0.1:50052', description: 'training service (ListWorkers, to find idle workers)' }),
  workerAddrs: str({ env: 'WORKER_ADDRS', optional: true, description: 'comma-separated trainer worker addresses; when set, used instead of ListWorkers' }),
  automation: bool({ env: 'AUTOMATION', default: true, description: 'evaluate READY registry versions and move aliases by their promotion policy' }),
  autoMaxNewTokens: int({ env: 'AUTO_MAX_NEW_TOKENS', default: 1200, min: 1, description: 'max_new_tokens of automatic runs (the seed: 1200)' }),
  chunkSize: int({ env: 'CHUNK_SIZE', default: 8, min: 1, description: 'prompts per Generate call (unit of progress and resume)' }),
  maxConcurrentRuns: int({ env: 'MAX_CONCURRENT_RUNS', default: 1, min: 1, description: 'runs at once, each on its own worker' }),
  generateDeadlineMs: duration({ env: 'GENERATE_DEADLINE', default: 3_600_000, description: 'deadline of one Generate chunk or EvaluateLoss call' }),
  maxDeliver: int({ env: 'MAX_DELIVER', default: 5, min: 1, description: 'deliveries of an event before it is dead-lettered' }),
  outboxIntervalMs: duration({ env: 'OUTBOX_INTERVAL', default: 5_000, min: 100, description: 'how often unpublished events are retried' }),
  pollMs: duration({ env: 'POLL', default: 1_000, min: 10, description: 'how often the runner and the automation look for work' }),
};

/** The loaded configuration. */
export type EvaluationConfig = ConfigOf<typeof evaluationConfigSpec>;

/** Reads the configuration from an environment (process.env in main.ts). */
export function loadEvaluationConfig(env: Readonly<Record<string, string | undefined>>): EvaluationConfig {
  return loadConfig(evaluationConfigSpec, { prefix: 'MEDTUNE_EVALUATION_' }, env);
}
