/** The gRPC adapter: medtune.dataset.v1.DatasetService on the core. Translation only. */
import { InvalidArgumentError, PermissionDeniedError, clientStream, serverStream, unary, type ServiceHandlers } from '@medtune/kit';
import { dataset } from '@medtune/contracts';
import { ImportRejectedError } from '../core/errors';
import type { Progress } from '../core/importer';
import type { DatasetCore } from '../core/service';

type Response = dataset.ImportDatasetResponse;

/** Limits the adapter enforces. */
export interface DatasetHandlerOptions {
  /** Most bytes one UploadDataset may carry (its chunks together); unset = no limit. */
  maxUploadBytes?: number;
}

/** Handlers for every RPC of the dataset service. */
export function datasetHandlers(core: DatasetCore, options: DatasetHandlerOptions = {}): ServiceHandlers<typeof dataset.DatasetServiceService> {
  const maxUpload = options.maxUploadBytes ?? Infinity;
  return {
    importDataset: serverStream(async function* (req, ctx) {
      const queue: Response[] = [];
      let wake: (() => void) | undefined;
      let done = false;
      let failure: unknown;
      let result: dataset.ImportResult | undefined;
      const onProgress = (p: Progress): void => {
        queue.push({ event: { $case: 'progress', progress: p } });
        wake?.();
      };
      const running = core.importFile(req, onProgress, ctx.signal).then(
        (r) => void (result = r),
        (err: unknown) => void (failure = err),
      );
      void running.finally(() => {
        done = true;
        wake?.();
      });
      try {
        for (;;) {
          while (queue.length > 0) yield queue.shift()!;
          if (done) break;
          await new Promise<void>((resolve) => (wake = resolve));
          wake = undefined;
        }
        if (failure !== undefined) {
          // A rejected import still ends with its result (the report), then the status.
          if (failure instanceof ImportRejectedError) yield { event: { $case: 'result', result: failure.result } };
          throw failure;
        }
        yield { event: { $case: 'result', result: result! } };
      } finally {
        await running; // a cancelled call: let the import clean up before the handler ends
      }
    }),

    uploadDataset: clientStream(async (requests, ctx) => {
      const it = requests[Symbol.asyncIterator]();
      const first = await it.next();
      if (first.done || first.value.part?.$case !== 'options') throw new InvalidArgumentError('options', 'the first message must carry the import options');
      async function* chunks(): AsyncGenerator<Uint8Array> {
        let total = 0;
        for (;;) {
          const next = await it.next();
          if (next.done) return;
          const part = next.value.part;
          if (part?.$case !== 'chunk') throw new InvalidArgumentError('chunk', 'only the first message may carry options; the others carry bytes');
          total += part.chunk.length;
          // Refused as soon as it is known: the import fails and stores nothing.
          if (total > maxUpload) throw new InvalidArgumentError('chunk', `the upload is larger than ${maxUpload} bytes (MEDTUNE_DATASET_MAX_UPLOAD_BYTES); import a file the service can read instead`);
          yield part.chunk;
        }
      }
      return { result: await core.importUpload(first.value.part.options, chunks(), ctx.signal) };
    }),

    getDataset: unary((req) => core.getDataset(req)),
    listDatasets: unary((req) => core.listDatasets(req)),
    getVersion: unary((req) => core.getVersion(req)),
    listVersions: unary((req) => core.listVersions(req)),
    deleteVersion: unary((req) => core.deleteVersion(req)),
    getValidationReport: unary((req) => core.getValidationReport(req)),
    previewFormatted: unary((req) => core.previewFormatted(req)),
    streamRows: serverStream(async function* (req, ctx) {
      // A per-job data credential reads the one version it was issued for (grpc/scopes.ts).
      const job = ctx.principal?.job;
      if (job && job.versionDigest !== req.digest) throw new PermissionDeniedError(`the data credential of job ${job.jobId} may not read version ${req.digest}`);
      for await (const row of core.streamRows(req, ctx.signal)) yield { row };
    }),
    registerTemplate: unary((req) => core.registerTemplate(req)),
    getTemplate: unary((req) => core.getTemplate(req)),
    listTemplates: unary(() => core.listTemplates()),
  };
}
