/** The dataset service's configuration (env prefix MEDTUNE_DATASET_). */
import { duration, int, loadConfig, serviceConfigSpec, str, type ConfigOf } from '@medtune/kit';

/** Every variable the dataset service reads. */
export const datasetConfigSpec = {
  ...serviceConfigSpec({ grpcAddr: '127.0.0.1:50051', db: 'medtune_dataset' }),
  maxDeliver: int({ env: 'MAX_DELIVER', default: 5, min: 1, description: 'deliveries of a training event before it is dead-lettered' }),
  tokenizerThreads: int({ env: 'TOKENIZER_THREADS', default: 0, min: 0, max: 64, description: 'worker threads per tokenizer pool (0 = cores − 1, at least 1: the main thread parses and stores meanwhile)' }),
  tokenizerPools: int({ env: 'TOKENIZER_POOLS', default: 2, min: 1, max: 16, description: 'tokenizer pools (model directories) kept open' }),
  defaultEosToken: str({ env: 'DEFAULT_EOS_TOKEN', optional: true, description: 'EOS for tokenizer directories that define none' }),
  importRoots: str({ env: 'IMPORT_ROOTS', optional: true, description: 'colon-separated directories ImportDataset may read from (symlinks resolved); unset: MEDTUNE_DATA_ROOTS, i.e. by default the stack\'s var dir and the system temp dir' }),
  maxUploadBytes: int({ env: 'MAX_UPLOAD_BYTES', default: 2 * 1024 ** 3, min: 1, max: Number.MAX_SAFE_INTEGER, description: 'most bytes one UploadDataset may carry (larger: INVALID_ARGUMENT chunk, nothing stored)' }),
  maxRowBytes: int({ env: 'MAX_ROW_BYTES', default: 12 << 20, min: 1024, max: 15 << 20, description: 'larger rows are reported TOO_LARGE (a stored row must fit a 16 MiB document)' }),
  batchRows: int({ env: 'BATCH_ROWS', default: 256, min: 1, max: 10_000, description: 'rows per tokenizer batch' }),
  batchesInFlight: int({ env: 'BATCHES_IN_FLIGHT', default: 4, min: 1, max: 64, description: 'batches tokenizing / storing at once' }),
  insertRows: int({ env: 'INSERT_ROWS', default: 500, min: 1, max: 10_000, description: 'rows per insert' }),
  heartbeatMs: duration({ env: 'HEARTBEAT', default: 5_000, min: 100, description: 'how often a running import proves it is alive' }),
  staleAfterMs: duration({ env: 'STALE_AFTER', default: 60_000, min: 1_000, description: 'an import silent this long belongs to a dead process and is removed' }),
  janitorIntervalMs: duration({ env: 'JANITOR_INTERVAL', default: 30_000, min: 100, description: 'how often abandoned imports are removed and unpublished events retried' }),
};

/** The loaded configuration. */
export type DatasetConfig = ConfigOf<typeof datasetConfigSpec>;

/** Reads the configuration from an environment (process.env in main.ts). */
export function loadDatasetConfig(env: Readonly<Record<string, string | undefined>>): DatasetConfig {
  return loadConfig(datasetConfigSpec, { prefix: 'MEDTUNE_DATASET_' }, env);
}
