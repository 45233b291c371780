/**
 * The gateway's gRPC clients: one set that reads with the gateway's own credential, and one set
 * for actions that carries no credential of its own, so that an action goes out only with the
 * token the user entered (passed per call as `authorization` metadata).
 */
import { dataset, evaluation, registry, tracking, training } from '@medtune/contracts';
import { AUTHORIZATION_KEY, bearer, createClient, type KitClient, type Logger } from '@medtune/kit';

/** Addresses and call settings. */
export interface ClientsConfig {
  readonly dataset: string;
  readonly training: string;
  readonly tracking: string;
  readonly evaluation: string;
  readonly registry: string;
  readonly authToken: string | undefined;
  readonly deadlineMs: number;
}

/** Clients of the five services. */
export interface Services {
  readonly dataset: KitClient<typeof dataset.DatasetServiceClient.service>;
  readonly training: KitClient<typeof training.TrainingServiceClient.service>;
  readonly tracking: KitClient<typeof tracking.TrackingServiceClient.service>;
  readonly evaluation: KitClient<typeof evaluation.EvaluationServiceClient.service>;
  readonly registry: KitClient<typeof registry.RegistryServiceClient.service>;
}

/** What the gateway calls through. */
export interface GatewayClients {
  /** Reads, with the gateway's credential. */
  readonly read: Services;
  /** Actions: the user's token goes in per call ({@link userAuth}). */
  readonly act: Pick<Services, 'training' | 'registry'>;
  close(): void;
}

/** Per-call metadata carrying the user's token (none when the stack has no token). */
export function userAuth(token: string | undefined): Record<string, string> {
  return token ? { [AUTHORIZATION_KEY]: bearer(token) } : {};
}

/** Makes every client (channels connect lazily). */
export function createGatewayClients(cfg: ClientsConfig, log: Logger): GatewayClients {
  const opts = (authToken: string | undefined) => ({ defaultDeadlineMs: cfg.deadlineMs, authToken, log, retry: { maxAttempts: 3, baseMs: 100, maxMs: 1_000 } });
  const reading = opts(cfg.authToken);
  const read: Services = {
    dataset: createClient(dataset.DatasetServiceClient, cfg.dataset, reading),
    training: createClient(training.TrainingServiceClient, cfg.training, reading),
    tracking: createClient(tracking.TrackingServiceClient, cfg.tracking, reading),
    evaluation: createClient(evaluation.EvaluationServiceClient, cfg.evaluation, reading),
    registry: createClient(registry.RegistryServiceClient, cfg.registry, reading),
  };
  // Actions are never retried by the client: a cancel or an alias move is the user's decision,
  // and a compare-and-set must not be repeated behind their back.
  const acting = { ...opts(undefined), retry: false as const };
  const act = {
    training: createClient(training.TrainingServiceClient, cfg.training, acting),
    registry: createClient(registry.RegistryServiceClient, cfg.registry, acting),
  };
  return {
    read,
    act,
    close() {
      for (const c of [...Object.values(read), ...Object.values(act)]) c.close();
    },
  };
}
