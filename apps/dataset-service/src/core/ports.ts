/**
 * What the dataset core needs from the outside, as interfaces: repositories (Mongo in
 * src/repo), the event publisher (NATS in src/events), the tokenizer (files + worker pool in
 * src/tokenizer) and the clock. Tests pass in-memory fakes or the real ones.
 */
import type { common, dataset } from '@medtune/contracts';
import type { Issue } from './issues';

/** Lifecycle of a stored version record (IMPORTING and READY are the proto's; DELETING is internal). */
export type RecordState = 'importing' | 'ready' | 'deleting';

/** Where each split's rows start, every `every` rows, so that a stream can resume at any offset. */
export interface SplitIndex {
  readonly every: number;
  /** `train[i]` = overall index of the (i × every)-th train row. */
  readonly train: number[];
  /** Same for eval rows. */
  readonly eval: number[];
  /** Rows with (splitKey, index) <= this are eval rows; null when there are none. */
  readonly evalUpTo: { readonly key: number; readonly index: number } | null;
}

/** A version as stored. `version.digest` is the public digest once READY. */
export interface VersionRecord {
  /** Internal id (rows are keyed by it, so an import can write before its digest is known). */
  readonly id: string;
  readonly state: RecordState;
  /** The version (state, digest and stats are complete once READY). */
  readonly version: dataset.DatasetVersion;
  /** Source sha256 + settings: finds a version made from the same bytes with the same settings. */
  readonly importKey: string;
  readonly splitIndex: SplitIndex;
  /** The id of the validation report of the import that made it. */
  readonly reportId: string;
  /** Last sign of life of the import that writes it (IMPORTING) or deletes it (DELETING). */
  readonly heartbeatAt: Date;
}

/** Versions. */
export interface VersionRepo {
  /** Stores a new IMPORTING record (invisible to readers). */
  createImporting(record: VersionRecord): Promise<void>;
  /** Keeps an IMPORTING / DELETING record alive. */
  heartbeat(id: string, at: Date): Promise<void>;
  /**
   * Turns an IMPORTING record READY under `version.digest`, in one write. Returns 'duplicate'
   * when a record with that digest exists (another import made the same version first).
   */
  markReady(id: string, version: dataset.DatasetVersion, splitIndex: SplitIndex, importKey: string): Promise<'ok' | 'duplicate'>;
  /** READY records whose ready event is not confirmed published yet (outbox). */
  findUnannounced(limit: number): Promise<VersionRecord[]>;
  /**
   * Lists a READY record under a further dataset name. False when the record already has that
   * name (as its first name or an added one) or is no longer READY.
   */
  addName(id: string, name: string): Promise<boolean>;
  /** Notes that the ready event of a record was published. */
  markAnnounced(id: string): Promise<void>;
  /** READY records whose digest starts with `prefix` (at most `limit`). */
  findReady(prefix: string, limit: number): Promise<VersionRecord[]>;
  /** The READY record made from the same source bytes with the same settings. */
  findReadyByImportKey(importKey: string): Promise<VersionRecord | undefined>;
  /** READY records, newest first, after a (createTime, id) position. */
  listReady(filter: { datasetName?: string; after?: { time: Date; id: string } }, limit: number): Promise<VersionRecord[]>;
  /** Distinct dataset names of READY records, sorted, after `after`. */
  datasetNames(after: string | undefined, limit: number): Promise<string[]>;
  /** Every READY record of a dataset, newest first. */
  byDataset(name: string): Promise<VersionRecord[]>;
  /** READY → DELETING (frees the digest). Returns false when it was not READY any more. */
  markDeleting(id: string, at: Date): Promise<boolean>;
  /** Removes a record. */
  remove(id: string): Promise<void>;
  /** IMPORTING / DELETING records whose heartbeat is older than `before` (their process is gone). */
  findAbandoned(before: Date): Promise<VersionRecord[]>;
}

/** A stored row (text and prompt are rendered on the way out, from the version's template). */
export interface StoredRow {
  /** Overall index in the version, 0-based. */
  readonly index: number;
  readonly question: string;
  readonly cot: string;
  readonly response: string;
  readonly metadataJson: string;
  readonly tokenCount: number;
  readonly sourceRow: number;
  /** Split key (see split.ts). */
  readonly splitKey: number;
}

/** Rows of versions. */
export interface RowRepo {
  /** Writes the next rows of a record, in index order. */
  insert(versionId: string, rows: readonly StoredRow[]): Promise<void>;
  /** Every row of a record from overall index `fromIndex` on, in index order (stop iterating to stop reading). */
  read(versionId: string, fromIndex: number, signal?: AbortSignal): AsyncIterable<StoredRow>;
  /** Removes every row of a record (idempotent). */
  removeAll(versionId: string): Promise<void>;
}

/** A report's counts (the proto's ValidationSummary minus the id). */
export type ReportSummary = Omit<dataset.ValidationSummary, 'reportId'>;

/** Validation reports. */
export interface ReportRepo {
  /** Creates a running report. */
  create(reportId: string, meta: { datasetName: string; sourceName: string; versionId: string; createTime: Date }): Promise<void>;
  /** Appends issues (any order). */
  addIssues(reportId: string, issues: readonly Issue[], firstSeq: number): Promise<void>;
  /** Stores the final summary. */
  finish(reportId: string, summary: ReportSummary): Promise<void>;
  /** The summary, or undefined when there is no such report. */
  get(reportId: string): Promise<{ summary: ReportSummary; finished: boolean } | undefined>;
  /** Issues by (row, seq) after a position. */
  issues(reportId: string, fatalOnly: boolean, after: { row: number; seq: number } | undefined, limit: number): Promise<(Issue & { seq: number })[]>;
  /** Reports left running by a process that died, of the given version records. */
  abandon(versionId: string, reason: string): Promise<void>;
}

/** User templates (built-ins are in @medtune/prompting). */
export interface TemplateRepo {
  get(name: string): Promise<common.PromptTemplate | undefined>;
  list(): Promise<common.PromptTemplate[]>;
  /** Inserts; 'exists' when the name is taken. */
  insert(t: common.PromptTemplate): Promise<'created' | 'exists'>;
}

/** Which versions unfinished training jobs use, learnt from training events. */
export interface UsageRepo {
  /** Records a job's state if `sequence` is newer than what is stored. */
  apply(u: { jobId: string; digest: string; state: string; terminal: boolean; sequence: number; time: Date }): Promise<void>;
  /** Ids of unfinished jobs using the digest (at most `limit`). */
  activeJobs(digest: string, limit: number): Promise<string[]>;
}

/**
 * Facts the core announces. `recordId` identifies the version record, so that publishing the same
 * fact again (a retry) can be de-duplicated while a version deleted and imported again is news.
 */
export interface DatasetEvents {
  versionReady(version: dataset.DatasetVersion, created: boolean, recordId: string): Promise<void>;
  versionFailed(f: { datasetName: string; sourceName: string; sourceSha256: string; report: dataset.ValidationSummary; reason: string }): Promise<void>;
  versionDeleted(digest: string, datasetName: string, recordId: string): Promise<void>;
}

/** A base model's tokenizer, opened. */
export interface Tokenizer {
  /** The directory as given. */
  readonly dir: string;
  /** sha256 over the files that define the token ids. */
  readonly fingerprint: string;
  /** The EOS token that ends every training text. */
  readonly eosToken: string;
  /** Where the EOS came from, e.g. "tokenizer_config.json" (for logs and errors). */
  readonly eosSource: string;
  /** Token counts of the texts, in order, as the trainer will see them (a BOS included when the model adds one). */
  count(texts: readonly string[]): Promise<number[]>;
  /** Hands the tokenizer back to its provider (which may keep it for the next import). */
  release(): void;
}

/** Opens tokenizers by directory. */
export interface TokenizerProvider {
  /** NotFoundError when the directory or its files are missing; InvalidArgumentError when no EOS can be found. */
  open(dir: string, field: string): Promise<Tokenizer>;
}

/** Opens a file of the service's host for reading. */
export interface FileSource {
  /** Size and a way to read it (twice: once to hash, once to import); NotFoundError if missing. */
  open(path: string, field: string): Promise<{ size: number; read(): AsyncIterable<Uint8Array> }>;
}
