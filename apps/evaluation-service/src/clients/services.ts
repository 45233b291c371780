/**
 * The other services as the core's ports, over the kit's gRPC client (deadline on every call,
 * retries only on UNAVAILABLE / RESOURCE_EXHAUSTED / ABORTED, errors as DomainError classes).
 */
import { dataset, registry, trainer, training, type common } from '@medtune/contracts';
import { createClient, signJobDataToken, type ClientOptions, type KitClient, type Logger, type TlsFiles } from '@medtune/kit';
import type { KeyObject } from 'node:crypto';
import type { DatasetPort, IdleWorker, RegistryPort, WorkerPort } from '../core/ports';

/** Options shared by the clients. */
export interface ClientSettings {
  /** The token (or a function read per call) of this service's own calls. */
  authToken?: ClientOptions['authToken'];
  tls?: TlsFiles | undefined;
  /** The shared token, handed to workers for the rows of an eval-loss dataset (no signing key). */
  sharedToken?: string | undefined;
  /** The signing key: workers get a data credential for one version and one evaluation instead. */
  jwtKey?: KeyObject | undefined;
  log: Logger;
}

/** The registry port over gRPC. */
export function registryPort(address: string, s: ClientSettings): RegistryPort & { close(): void } {
  const c = createClient(registry.RegistryServiceClient, address, { defaultDeadlineMs: 10_000, authToken: s.authToken, tls: s.tls, log: s.log });
  // A compare-and-set miss (ABORTED) must reach the automation at once, not be retried as is.
  const cas = createClient(registry.RegistryServiceClient, address, { defaultDeadlineMs: 10_000, authToken: s.authToken, tls: s.tls, log: s.log, retry: false });
  return {
    async resolve(ref) {
      return (await c.unary('resolveModel', { ref })).version!;
    },
    async getModel(name) {
      return (await c.unary('getRegisteredModel', { name })).model!;
    },
    async getVersion(name, version) {
      return (await c.unary('getModelVersion', { name, version })).version!;
    },
    async setAlias(req) {
      return (await cas.unary('setAlias', req)).change!;
    },
    async attachEvaluation(req) {
      await c.unary('attachEvaluation', req);
    },
    close: () => {
      c.close();
      cas.close();
    },
  };
}

/** The dataset port over gRPC; `workerAddress` is where workers reach the dataset service. */
export function datasetPort(address: string, workerAddress: string, s: ClientSettings): DatasetPort & { close(): void } {
  const c = createClient(dataset.DatasetServiceClient, address, { defaultDeadlineMs: 10_000, authToken: s.authToken, tls: s.tls, log: s.log });
  return {
    async getTemplate(name): Promise<common.PromptTemplate> {
      return (await c.unary('getTemplate', { name })).template!;
    },
    async getVersion(digest) {
      return (await c.unary('getVersion', { digest })).version!;
    },
    async sourceFor(digest, evaluationId) {
      const authToken = s.jwtKey ? await signJobDataToken(s.jwtKey, { jobId: evaluationId, versionDigest: digest }) : (s.sharedToken ?? '');
      return { address: workerAddress, versionDigest: digest, authToken };
    },
    close: () => c.close(),
  };
}

/** Lifetime of a worker hold without renewal (the runner renews every 10 s). */
const HOLD_TTL_MS = 30_000;

/** Options of {@link workerPort}. */
export interface WorkerPortOptions extends ClientSettings {
  /** Fixed worker addresses (host:port); when empty, workers are found through the training service. */
  staticAddresses: readonly string[];
  /** The training service (WorkerRegistryService.ListWorkers), when no static addresses. */
  trainingAddress: string;
  /** Deadline of one Generate call (a chunk of prompts) and of EvaluateLoss. */
  generateDeadlineMs: number;
}

/** The trainer workers over gRPC: idle ones from ListWorkers (or GetWorkerInfo of fixed addresses). */
export function workerPort(o: WorkerPortOptions): WorkerPort & { close(): void } {
  const clients = new Map<string, KitClient<typeof trainer.TrainerServiceService>>();
  const client = (address: string) => {
    let c = clients.get(address);
    if (!c) {
      // Generation is not retried by the client: the runner resumes from the stored items instead.
      c = createClient(trainer.TrainerServiceClient, address, { defaultDeadlineMs: o.generateDeadlineMs, authToken: o.authToken, tls: o.tls, log: o.log, retry: false });
      clients.set(address, c);
    }
    return c;
  };
  const trainingClient = o.staticAddresses.length
    ? undefined
    : createClient(training.WorkerRegistryServiceClient, o.trainingAddress, { defaultDeadlineMs: 5_000, authToken: o.authToken, tls: o.tls, log: o.log, retry: { maxAttempts: 2 } });
  return {
    async idleWorkers(): Promise<IdleWorker[]> {
      if (trainingClient) {
        try {
          const res = await trainingClient.unary('listWorkers', { includeLost: false });
          return res.workers.filter((w) => !w.lost && w.info && !w.info.busy && w.info.address).map((w) => ({ workerId: w.info!.workerId, address: w.info!.address }));
        } catch (err) {
          o.log.debug({ err }, 'cannot list workers from the training service');
          return [];
        }
      }
      const found: IdleWorker[] = [];
      for (const address of o.staticAddresses) {
        try {
          const info = (await client(address).unary('getWorkerInfo', {}, { deadlineMs: 3_000 })).info;
          if (info && !info.busy) found.push({ workerId: info.workerId || address, address });
        } catch (err) {
          o.log.debug({ err, address }, 'worker not reachable');
        }
      }
      return found;
    },
    ...(trainingClient
      ? {
          /** The training service places the worker (one placement authority for GPU work). */
          async hold(holdId: string): Promise<IdleWorker | undefined> {
            const res = await trainingClient.unary('holdWorker', { holdId, holder: 'evaluation-service', gpus: 1, minGpuMemoryBytes: 0, ttlMs: HOLD_TTL_MS });
            const h = res.hold;
            return h && h.state === training.HoldState.HOLD_STATE_GRANTED && h.address ? { workerId: h.workerId, address: h.address } : undefined;
          },
          async release(holdId: string): Promise<void> {
            await trainingClient.unary('releaseWorker', { holdId });
          },
        }
      : {}),
    generate(address, req, signal) {
      return client(address).serverStream('generate', req, { signal });
    },
    evaluateLoss(address, req, signal) {
      return client(address).unary('evaluateLoss', req, { signal });
    },
    close() {
      for (const c of clients.values()) c.close();
      trainingClient?.close();
    },
  };
}
