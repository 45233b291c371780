/**
 * The dashboard gateway's configuration (env prefix MEDTUNE_DASHBOARD_; the service addresses and
 * the bearer token fall back to the MEDTUNE_<SERVICE>_ADDR / MEDTUNE_AUTH_TOKEN the CLI reads).
 */
import { addr, bool, duration, enumOf, int, loadConfig, LOG_LEVELS, secret, str, type ConfigOf } from '@medtune/kit';

/** Every variable the gateway reads. */
export const dashboardConfigSpec = {
  httpAddr: addr({ env: 'HTTP_ADDR', default: '127.0.0.1:50070', description: 'HTTP listen address (loopback by default; port 0 = any free port)' }),
  dataset: addr({ env: 'DATASET_ADDR', shared: true, default: '127.0.0.1:50051', description: 'dataset service' }),
  training: addr({ env: 'TRAINING_ADDR', shared: true, default: '127.0.0.1:50052', description: 'training service' }),
  tracking: addr({ env: 'TRACKING_ADDR', shared: true, default: '127.0.0.1:50053', description: 'tracking service' }),
  evaluation: addr({ env: 'EVALUATION_ADDR', shared: true, default: '127.0.0.1:50054', description: 'evaluation service' }),
  registry: addr({ env: 'REGISTRY_ADDR', shared: true, default: '127.0.0.1:50055', description: 'registry service' }),
  authToken: secret({
    env: 'AUTH_TOKEN',
    shared: true,
    optional: true,
    description: "the stack's bearer token: the gateway reads with it; actions (cancel, move alias) need the user's own copy, entered in the page",
  }),
  tokenFile: str({
    env: 'TOKEN_FILE',
    optional: true,
    description: "file holding the gateway's own signed token (a `user`-role JWT on a secure stack; re-read every minute); takes precedence over AUTH_TOKEN",
  }),
  tlsCa: str({ env: 'TLS_CA', shared: true, optional: true, description: 'PEM CA of the services: the gateway calls them over TLS, verified with it' }),
  tlsClientCert: str({ env: 'TLS_CLIENT_CERT', shared: true, optional: true, description: 'PEM client certificate (services that require mutual TLS)' }),
  tlsClientKey: str({ env: 'TLS_CLIENT_KEY', shared: true, optional: true, description: 'its private key' }),
  secureCookie: bool({ env: 'SECURE_COOKIE', default: false, description: 'mark the session cookie Secure (set when served over HTTPS)' }),
  deadlineMs: duration({ env: 'DEADLINE', default: 15_000, description: 'deadline of each gRPC call' }),
  maxHistoryPoints: int({ env: 'MAX_HISTORY_POINTS', default: 2_000, min: 2, max: 10_000, description: 'most points of one metric curve sent to the browser' }),
  logLevel: enumOf(LOG_LEVELS, { env: 'LOG_LEVEL', shared: true, default: 'info' }),
};

/** The loaded configuration. */
export type DashboardConfig = ConfigOf<typeof dashboardConfigSpec>;

/** Reads the configuration from an environment (process.env in main.ts). */
export function loadDashboardConfig(env: Readonly<Record<string, string | undefined>>): DashboardConfig {
  return loadConfig(dashboardConfigSpec, { prefix: 'MEDTUNE_DASHBOARD_' }, env);
}
