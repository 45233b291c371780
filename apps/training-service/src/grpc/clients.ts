/**
 * The core's view of the other services, over the kit's gRPC client (deadline on every call,
 * retries of UNAVAILABLE / RESOURCE_EXHAUSTED / ABORTED only, errors as DomainError classes).
 */
import { dataset, trainer } from '@medtune/contracts';
import { createClient, type ClientOptions, type KitClient, type Logger, type TlsFiles } from '@medtune/kit';
import type { DatasetClient, WorkerClient, WorkerClientFactory } from '../core/ports';

/** Credentials of the calls: a token (or a function read per call) and TLS files. */
export interface ClientAuth {
  authToken?: ClientOptions['authToken'];
  tls?: TlsFiles | undefined;
}

/** Deadlines of the calls to the dataset service and the workers. */
export interface ClientTiming {
  /** Unary calls. */
  callDeadlineMs: number;
  /** One WatchJob stream; when it passes, the attacher re-attaches from where it was. */
  watchDeadlineMs: number;
}

/** GetVersion on the dataset service at `address`. */
export function datasetClient(address: string, opts: ClientAuth & { log: Logger; timing: ClientTiming }): DatasetClient & { close(): void } {
  const c = createClient(dataset.DatasetServiceClient, address, { defaultDeadlineMs: opts.timing.callDeadlineMs, authToken: opts.authToken, tls: opts.tls, log: opts.log });
  return {
    getVersion: (digest) => c.unary('getVersion', { digest }),
    close: () => c.close(),
  };
}

/** One cached client per worker address; close() closes them all. */
export function workerClientFactory(opts: ClientAuth & { log: Logger; timing: ClientTiming }): WorkerClientFactory & { close(): void; reset(address: string): void } {
  const clients = new Map<string, WorkerClient & { raw: KitClient<typeof trainer.TrainerServiceService> }>();
  const factory = (address: string): WorkerClient => {
    let client = clients.get(address);
    if (!client) {
      // StartJob and CancelJob are idempotent on the worker, so the kit may retry them.
      const raw = createClient(trainer.TrainerServiceClient, address, { defaultDeadlineMs: opts.timing.callDeadlineMs, authToken: opts.authToken, tls: opts.tls, log: opts.log });
      client = {
        raw,
        startJob: (req, options) => raw.unary('startJob', req, options?.deadlineMs !== undefined ? { deadlineMs: options.deadlineMs } : {}),
        getJob: async (jobId) => need((await raw.unary('getJob', { jobId })).job, 'GetJob'),
        cancelJob: async (jobId, reason) => need((await raw.unary('cancelJob', { jobId, reason })).job, 'CancelJob'),
        async *watchJob(jobId, fromSequence, signal) {
          for await (const res of raw.serverStream('watchJob', { jobId, fromSequence }, { deadlineMs: opts.timing.watchDeadlineMs, signal })) {
            if (res.event) yield res.event;
          }
        },
      };
      clients.set(address, client);
    }
    return client;
  };
  return Object.assign(factory, {
    /** Drops the cached channel of an address: the next call dials afresh (a worker that restarted). */
    reset(address: string) {
      const c = clients.get(address);
      clients.delete(address);
      c?.raw.close();
    },
    close() {
      for (const c of clients.values()) c.raw.close();
      clients.clear();
    },
  });
}

function need<T>(value: T | undefined, what: string): T {
  if (value === undefined) throw new Error(`${what} answered without a job`);
  return value;
}
