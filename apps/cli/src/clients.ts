/**
 * The gRPC clients of every service, made on first use through the kit's client helper
 * (deadlines, retries of UNAVAILABLE / RESOURCE_EXHAUSTED / ABORTED, bearer token). Every error
 * comes out as a CliError naming the service and its address, with what to do next.
 */
import { dataset, evaluation, registry, tracking, training } from '@medtune/contracts';
import { createClient, type CallOptions, type KitClient, type ServiceDefinition } from '@medtune/kit';
import type { CliConfig, ServiceName } from './config';
import { explainCallError, type CallSite } from './exit';

/** The service definitions by name. */
const GENERATED = {
  dataset: dataset.DatasetServiceClient,
  training: training.TrainingServiceClient,
  tracking: tracking.TrackingServiceClient,
  evaluation: evaluation.EvaluationServiceClient,
  registry: registry.RegistryServiceClient,
} as const;

type Gen = typeof GENERATED;
type DefOf<N extends ServiceName> = Gen[N]['service'];

/** A client whose errors are CliErrors. */
export type ServiceClient<N extends ServiceName> = Pick<KitClient<DefOf<N>>, 'unary' | 'serverStream' | 'clientStream'>;

/** Lazily made clients of the five services. */
export interface Clients {
  readonly dataset: ServiceClient<'dataset'>;
  readonly training: ServiceClient<'training'>;
  readonly tracking: ServiceClient<'tracking'>;
  readonly evaluation: ServiceClient<'evaluation'>;
  readonly registry: ServiceClient<'registry'>;
  /** The address of a service (for messages). */
  address(name: ServiceName): string;
  /** Closes every channel opened. */
  close(): void;
}

/** Default deadline of unary calls. */
export const DEFAULT_DEADLINE_MS = 15_000;

/** Makes the clients from the config. */
export function createClients(cfg: CliConfig): Clients {
  const made = new Map<ServiceName, KitClient<ServiceDefinition>>();
  const get = <N extends ServiceName>(name: N): ServiceClient<N> => {
    let c = made.get(name);
    if (!c) {
      c = createClient(GENERATED[name] as { readonly service: ServiceDefinition }, cfg[name], {
        defaultDeadlineMs: DEFAULT_DEADLINE_MS,
        authToken: cfg.authToken,
        ...(cfg.tlsCa ? { tls: { caFile: cfg.tlsCa, certFile: cfg.tlsClientCert, keyFile: cfg.tlsClientKey } } : {}),
        retry: { maxAttempts: 3, baseMs: 200, maxMs: 1_000 },
      });
      made.set(name, c);
    }
    return explained(c, { service: name, address: cfg[name] }) as unknown as ServiceClient<N>;
  };
  return {
    get dataset() {
      return get('dataset');
    },
    get training() {
      return get('training');
    },
    get tracking() {
      return get('tracking');
    },
    get evaluation() {
      return get('evaluation');
    },
    get registry() {
      return get('registry');
    },
    address: (name) => cfg[name],
    close() {
      for (const c of made.values()) c.close();
      made.clear();
    },
  };
}

/** Wraps a kit client so that every failure becomes a CliError about `site`. */
function explained(c: KitClient<ServiceDefinition>, site: CallSite) {
  return {
    unary: (method: string, req: unknown, opts?: CallOptions) => (c.unary as AnyCall)(method, req, opts).catch((e: unknown) => Promise.reject(explainCallError(e, site))),
    clientStream: (method: string, reqs: unknown, opts?: CallOptions) =>
      (c.clientStream as AnyCall)(method, reqs, opts).catch((e: unknown) => Promise.reject(explainCallError(e, site))),
    async *serverStream(method: string, req: unknown, opts?: CallOptions) {
      try {
        yield* (c.serverStream as (m: string, r: unknown, o?: CallOptions) => AsyncIterable<unknown>)(method, req, opts);
      } catch (e) {
        throw explainCallError(e, site);
      }
    },
  };
}

type AnyCall = (method: string, req: unknown, opts?: CallOptions) => Promise<unknown>;
