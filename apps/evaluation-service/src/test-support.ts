/**
 * Integration-test support: a stand-in trainer worker (a real gRPC TrainerService that answers
 * Generate from a script, for tests that exercise this service's own storage, events and RPCs;
 * the end-to-end spec uses the real Python worker), and the services' test environments.
 */
import { trainer } from '@medtune/contracts';
import { createGrpcServer, serverStream, unary, UnimplementedError, type KitGrpcServer } from '@medtune/kit';
import { pino } from 'pino';

/** A started stand-in worker. */
export interface StandInWorker {
  readonly address: string;
  readonly server: KitGrpcServer;
  /** Prompts received, per Generate call. */
  readonly calls: string[][];
  /** Delay before each completion (ms); change it at any time. */
  delayMs: number;
}

/** Starts a TrainerService on port 0 whose Generate answers each prompt with `answer(prompt, model)`. */
export async function startStandInWorker(answer: (prompt: string, model: trainer.InferenceModel) => string): Promise<StandInWorker> {
  const server = createGrpcServer({ log: pino({ level: 'silent' }) });
  const calls: string[][] = [];
  const state = { delayMs: 0 };
  const unimplemented = unary(async () => {
    throw new UnimplementedError('the stand-in worker only generates');
  });
  server.add(trainer.TrainerServiceService, {
    startJob: unimplemented,
    getJob: unimplemented,
    cancelJob: unimplemented,
    listCheckpoints: unimplemented,
    watchJob: serverStream(async function* () {
      yield* [];
      throw new UnimplementedError('the stand-in worker only generates');
    }),
    generate: serverStream(async function* (req, ctx) {
      calls.push(req.prompts);
      for (const [index, prompt] of req.prompts.entries()) {
        if (state.delayMs) await new Promise((r) => setTimeout(r, state.delayMs));
        if (ctx.signal.aborted) return;
        const text = answer(prompt, req.model!);
        yield { index, text, promptTokens: 100, completionTokens: text.length, finishReason: text.includes('</think>') ? 'eos' : 'length' };
      }
    }),
    evaluateLoss: unary(async (req) => ({ meanLoss: req.model?.adapterUri ? 1.5 : 3, rows: 4, tokens: 400, rowLosses: [] })),
    getWorkerInfo: unary(async () => ({ info: trainer.WorkerInfo.fromPartial({ workerId: 'stand-in', address: '', busy: false, gpuName: 'cpu' }) })),
  });
  const port = await server.start('127.0.0.1:0');
  return Object.assign(state, { address: `127.0.0.1:${port}`, server, calls });
}

/** Environment of a registry service under test. */
export function registryEnv(o: { natsUrl: string; namespace: string; mongoUri: string; db: string; grpcAddr?: string }): Record<string, string> {
  return {
    MEDTUNE_REGISTRY_GRPC_ADDR: o.grpcAddr ?? '127.0.0.1:0',
    MEDTUNE_NATS_URL: o.natsUrl,
    MEDTUNE_NATS_NAMESPACE: o.namespace,
    MEDTUNE_MONGODB_URI: o.mongoUri,
    MEDTUNE_REGISTRY_DB: o.db,
    MEDTUNE_REGISTRY_OUTBOX_INTERVAL: '500ms',
    // These specs publish training.job.succeeded themselves, with no training service to confirm it.
    MEDTUNE_REGISTRY_CONFIRM_JOBS: 'off',
  };
}

/** Environment of an evaluation service under test. */
export function evaluationEnv(o: {
  natsUrl: string;
  namespace: string;
  mongoUri: string;
  db: string;
  registryAddr: string;
  workerAddrs: string;
  grpcAddr?: string;
  maxNewTokens?: number;
}): Record<string, string> {
  return {
    MEDTUNE_EVALUATION_GRPC_ADDR: o.grpcAddr ?? '127.0.0.1:0',
    MEDTUNE_NATS_URL: o.natsUrl,
    MEDTUNE_NATS_NAMESPACE: o.namespace,
    MEDTUNE_MONGODB_URI: o.mongoUri,
    MEDTUNE_EVALUATION_DB: o.db,
    MEDTUNE_EVALUATION_REGISTRY_ADDR: o.registryAddr,
    MEDTUNE_EVALUATION_WORKER_ADDRS: o.workerAddrs,
    // No dataset service in these tests: templates are the built-in ones, no eval loss.
    MEDTUNE_EVALUATION_DATASET_ADDR: '127.0.0.1:1',
    MEDTUNE_EVALUATION_AUTO_MAX_NEW_TOKENS: String(o.maxNewTokens ?? 32),
    MEDTUNE_EVALUATION_POLL: '100ms',
    MEDTUNE_EVALUATION_OUTBOX_INTERVAL: '500ms',
    MEDTUNE_EVALUATION_CHUNK_SIZE: '4',
  };
}
