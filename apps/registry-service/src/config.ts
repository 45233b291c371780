/** The registry service's configuration (env prefix MEDTUNE_REGISTRY_). */
import { addr, duration, int, loadConfig, serviceConfigSpec, str, type ConfigOf } from '@medtune/kit';
import { s3ConfigSpec } from '@medtune/kit/storage';

/** Every variable the registry reads. */
export const registryConfigSpec = {
  ...serviceConfigSpec({ grpcAddr: '127.0.0.1:50055', db: 'medtune_registry' }),
  ...s3ConfigSpec(),
  maxDeliver: int({ env: 'MAX_DELIVER', default: 5, min: 1, description: 'deliveries of a training event before it is dead-lettered' }),
  verifyConcurrency: int({ env: 'VERIFY_CONCURRENCY', default: 2, min: 1, description: 'versions verified at once' }),
  resolveCacheTtlMs: duration({ env: 'RESOLVE_CACHE_TTL', default: 30_000, description: "ResolveModel cache lifetime (0 = off); alias moves and verification results invalidate every replica's cache through their events, the lifetime bounds the rest (tags, attached evaluations)" }),
  trainingAddr: addr({ env: 'TRAINING_ADDR', default: '127.0.0.1:50052', description: 'training service: GetJob confirms each training.job.succeeded before registering' }),
  confirmJobs: str({
    env: 'CONFIRM_JOBS',
    default: 'training',
    pattern: /^(training|off)$/,
    description: 'training: register a job only as GetJob returns it (state SUCCEEDED); off: trust the event (tests that publish synthetic events)',
  }),
  outboxIntervalMs: duration({ env: 'OUTBOX_INTERVAL', default: 5_000, min: 100, description: 'how often unpublished events are retried' }),
};

/** The loaded configuration. */
export type RegistryConfig = ConfigOf<typeof registryConfigSpec>;

/** Reads the configuration from an environment (process.env in main.ts). */
export function loadRegistryConfig(env: Readonly<Record<string, string | undefined>>): RegistryConfig {
  return loadConfig(registryConfigSpec, { prefix: 'MEDTUNE_REGISTRY_' }, env);
}
