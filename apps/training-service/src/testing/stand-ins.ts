/**
 * gRPC stand-ins for the services the training service calls, for its integration tests that must
 * script the other side (a worker that emits exactly these events, then dies): a TrainerService
 * served over real gRPC around the core's scripted FakeWorker, and a DatasetService answering
 * GetVersion from a table. The end-to-end tests with the real Python worker and dataset service
 * are in ../training.e2e.int.spec.ts.
 */
import { dataset, trainer } from '@medtune/contracts';
import { createGrpcServer, NotFoundError, serverStream, unary, UnimplementedError, type KitGrpcServer, type Logger } from '@medtune/kit';
import type { FakeWorker } from '../core/testing/fakes';

const unimplemented = (what: string) => async (): Promise<never> => {
  throw new UnimplementedError(`${what} is not part of this stand-in`);
};
const unimplementedStream = (what: string) =>
  // eslint-disable-next-line require-yield -- it only throws
  async function* (): AsyncGenerator<never> {
    throw new UnimplementedError(`${what} is not part of this stand-in`);
  };

/** A started stand-in server. */
export interface StandIn {
  readonly address: string;
  readonly server: KitGrpcServer;
  stop(): Promise<void>;
}

async function serve(server: KitGrpcServer): Promise<StandIn> {
  const port = await server.start('127.0.0.1:0');
  return { address: `127.0.0.1:${port}`, server, stop: () => server.shutdown({ graceMs: 200 }) };
}

/** A TrainerService over gRPC whose jobs the test drives through `worker`. */
export function serveFakeWorker(worker: FakeWorker, log: Logger): Promise<StandIn> {
  const server = createGrpcServer({ log });
  server.add(trainer.TrainerServiceService, {
    startJob: unary((req) => worker.startJob(req)),
    watchJob: serverStream(async function* (req, ctx) {
      for await (const event of worker.watchJob(req.jobId, req.fromSequence, ctx.signal)) yield { event };
    }),
    getJob: unary(async (req) => ({ job: await worker.getJob(req.jobId) })),
    cancelJob: unary(async (req) => ({ job: await worker.cancelJob(req.jobId) })),
    listCheckpoints: unary(unimplemented('ListCheckpoints')),
    generate: serverStream(unimplementedStream('Generate')),
    evaluateLoss: unary(unimplemented('EvaluateLoss')),
    getWorkerInfo: unary(async () => ({ info: worker.info() })),
  });
  return serve(server);
}

/** A DatasetService that knows only GetVersion, from `versions` (digest → state). */
export function serveDatasetVersions(versions: ReadonlyMap<string, dataset.VersionState>, log: Logger): Promise<StandIn> {
  const server = createGrpcServer({ log });
  server.add(dataset.DatasetServiceService, {
    getVersion: unary(async (req) => {
      const state = versions.get(req.digest);
      if (state === undefined) throw new NotFoundError(`no dataset version ${req.digest}`);
      return { version: dataset.DatasetVersion.fromPartial({ digest: req.digest, state }), inUse: false };
    }),
    importDataset: serverStream(unimplementedStream('ImportDataset')),
    uploadDataset: { kind: 'clientStream', fn: unimplemented('UploadDataset') },
    getDataset: unary(unimplemented('GetDataset')),
    listDatasets: unary(unimplemented('ListDatasets')),
    listVersions: unary(unimplemented('ListVersions')),
    deleteVersion: unary(unimplemented('DeleteVersion')),
    getValidationReport: unary(unimplemented('GetValidationReport')),
    previewFormatted: unary(unimplemented('PreviewFormatted')),
    streamRows: serverStream(unimplementedStream('StreamRows')),
    registerTemplate: unary(unimplemented('RegisterTemplate')),
    getTemplate: unary(unimplemented('GetTemplate')),
    listTemplates: unary(unimplemented('ListTemplates')),
  });
  return serve(server);
}
