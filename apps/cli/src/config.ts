/**
 * Where the services are and how to call them, read once from the environment (the CLI's main
 * passes process.env in). Variables: MEDTUNE_<SERVICE>_ADDR (host:port of each service),
 * MEDTUNE_AUTH_TOKEN (bearer token; never taken from the command line, where `ps` would show it).
 */
import { addr, loadConfig, secret, str, type ConfigOf } from '@medtune/kit';

/** The services the CLI talks to. */
export type ServiceName = 'dataset' | 'training' | 'tracking' | 'evaluation' | 'registry';

/** Every service, in pipeline order. */
export const SERVICE_NAMES: readonly ServiceName[] = ['dataset', 'training', 'tracking', 'evaluation', 'registry'];

/** The fully qualified gRPC service each one serves (for health checks). */
export const GRPC_SERVICE: Readonly<Record<ServiceName, string>> = {
  dataset: 'medtune.dataset.v1.DatasetService',
  training: 'medtune.training.v1.TrainingService',
  tracking: 'medtune.tracking.v1.TrackingService',
  evaluation: 'medtune.evaluation.v1.EvaluationService',
  registry: 'medtune.registry.v1.RegistryService',
};

const spec = {
  dataset: addr({ env: 'DATASET_ADDR', default: '127.0.0.1:50051', description: 'dataset service' }),
  training: addr({ env: 'TRAINING_ADDR', default: '127.0.0.1:50052', description: 'training service' }),
  tracking: addr({ env: 'TRACKING_ADDR', default: '127.0.0.1:50053', description: 'tracking service' }),
  evaluation: addr({ env: 'EVALUATION_ADDR', default: '127.0.0.1:50054', description: 'evaluation service' }),
  registry: addr({ env: 'REGISTRY_ADDR', default: '127.0.0.1:50055', description: 'registry service' }),
  authToken: secret({ env: 'AUTH_TOKEN', optional: true, description: 'bearer token the services require when access control is on' }),
  tlsCa: str({ env: 'TLS_CA', optional: true, description: 'PEM CA of the services: calls go over TLS, verified with it' }),
  tlsClientCert: str({ env: 'TLS_CLIENT_CERT', optional: true, description: 'PEM client certificate (services that require mutual TLS)' }),
  tlsClientKey: str({ env: 'TLS_CLIENT_KEY', optional: true, description: 'its private key' }),
};

/** The CLI's configuration. */
export type CliConfig = ConfigOf<typeof spec>;

/** Reads MEDTUNE_* variables. Bad values throw the kit's ConfigError naming each variable. */
export function loadCliConfig(env: Readonly<Record<string, string | undefined>>): CliConfig {
  return loadConfig(spec, { prefix: 'MEDTUNE_' }, env);
}
