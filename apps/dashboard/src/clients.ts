/**
 * The gateway's gRPC clients: one set that reads with the gateway's own credential, and one set
 * for actions that carries no credential of its own, so that an action goes out only with the
 * token the user entered (passed per call as `authorization` metadata). Both go over TLS when a
 * CA is configured (the kit's channel credentials; a client certificate for mutual TLS).
 */
import { readFileSync, statSync } from 'node:fs';
import { dataset, evaluation, registry, tracking, training } from '@medtune/contracts';
import { AUTHORIZATION_KEY, bearer, createClient, type KitClient, type Logger, type TlsFiles } from '@medtune/kit';

/** Addresses and call settings. */
export interface ClientsConfig {
  readonly dataset: string;
  readonly training: string;
  readonly tracking: string;
  readonly evaluation: string;
  readonly registry: string;
  readonly authToken: string | undefined;
  /** A file holding the gateway's token (preferred over authToken; re-read when it changes). */
  readonly tokenFile?: string | undefined;
  readonly tlsCa?: string | undefined;
  readonly tlsClientCert?: string | undefined;
  readonly tlsClientKey?: string | undefined;
  readonly deadlineMs: number;
}

/**
 * The gateway's read credential: the token file's content (checked for changes at most once a
 * minute, so a re-minted token is picked up without a restart), else the shared token.
 */
export function readCredential(cfg: Pick<ClientsConfig, 'authToken' | 'tokenFile'>, now = Date.now): (() => string | undefined) | string | undefined {
  const file = cfg.tokenFile;
  if (!file) return cfg.authToken;
  let token = '';
  let mtime = -1;
  let checked = -Infinity;
  const load = () => {
    const m = statSync(file).mtimeMs;
    if (m === mtime) return;
    const t = readFileSync(file, 'utf8').trim();
    // The error names the file, never its content.
    if (!t) throw new Error(`the dashboard's token file ${file} is empty`);
    token = t;
    mtime = m;
  };
  load();
  return () => {
    if (now() - checked > 60_000) {
      checked = now();
      try {
        load();
      } catch {
        // Keeps the last good token; the services say so if it is no longer valid.
      }
    }
    return token;
  };
}

/** TLS settings of the clients (undefined = plaintext, the loopback default). */
export function clientTls(cfg: Pick<ClientsConfig, 'tlsCa' | 'tlsClientCert' | 'tlsClientKey'>): TlsFiles | undefined {
  return cfg.tlsCa ? { caFile: cfg.tlsCa, certFile: cfg.tlsClientCert, keyFile: cfg.tlsClientKey } : undefined;
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
  const tls = clientTls(cfg);
  const opts = (authToken: ReturnType<typeof readCredential>) => ({ defaultDeadlineMs: cfg.deadlineMs, authToken, tls, log, retry: { maxAttempts: 3, baseMs: 100, maxMs: 1_000 } });
  const reading = opts(readCredential(cfg));
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
