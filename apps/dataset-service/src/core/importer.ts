/**
 * One import, start to end. Rows stream through: split → decode (UTF-8, JSON) → map → validate →
 * de-duplicate → render → count tokens (batches, in the tokenizer's worker pool) → store. Memory
 * holds a few batches, the duplicate hashes and per-row split keys / token counts (a few bytes
 * per row), never the file.
 *
 * Storage without transactions: rows are written under a fresh record id while the record is
 * IMPORTING (readers only ever look up READY records, so they never see them); the record is
 * turned READY under its digest in one final write. A rejected or failed import removes its rows
 * and record; one whose process dies stops heartbeating and the janitor (janitor.ts) removes it.
 */
import { CancelledError, type Clock } from '@medtune/kit';
import { dataset } from '@medtune/contracts';
import { renderTraining } from '@medtune/prompting';
import { contentHash, contentKey, settingsKey, VersionDigest } from './digest';
import type { Issue } from './issues';
import { mapRow, type MappedRow } from './mapping';
import { contentSettings, importSettings, mappingMessage, type ImportSettings } from './options';
import { decodeRow } from './parse/decode';
import { readRows } from './parse/source';
import { FileFormatError } from './parse/types';
import type { ReportRepo, ReportSummary, RowRepo, StoredRow, VersionRecord, VersionRepo } from './ports';
import { float64s, uint32s } from './growable';
import { ReportBuilder } from './report';
import { planSplit, splitKey } from './split';
import { tokenStats } from './stats';

/** Tuning and collaborators of imports. */
export interface ImporterDeps {
  readonly versions: VersionRepo;
  readonly rows: RowRepo;
  readonly reports: ReportRepo;
  readonly clock: Clock;
  readonly newId: (prefix: string) => string;
  /** Rows per tokenizer batch. */
  readonly batchRows: number;
  /** Batches tokenizing or storing at once (bounds memory; keeps every tokenizer thread busy). */
  readonly batchesInFlight: number;
  /** Rows per insert. */
  readonly insertRows: number;
  /** Larger rows are reported TOO_LARGE without being held in memory. */
  readonly maxRowBytes: number;
  /** How often an import proves it is alive. */
  readonly heartbeatMs: number;
}

/** Progress, as ImportProgress. */
export interface Progress {
  phase: 'reading' | 'storing';
  rowsRead: number;
  bytesRead: number;
  totalBytes: number;
}

/** The bytes to import. */
export interface ImportSource {
  readonly name: string;
  /** Size in bytes, 0 when unknown (uploads). */
  readonly size: number;
  readonly chunks: AsyncIterable<Uint8Array>;
}

/** What an import came to. */
export type ImportOutcome =
  | { readonly kind: 'stored'; readonly record: VersionRecord; readonly created: boolean; readonly report: dataset.ValidationSummary }
  | { readonly kind: 'rejected'; readonly report: dataset.ValidationSummary; readonly reason: string; readonly sourceSha256: string };

interface Pending {
  readonly row: number;
  readonly value: MappedRow;
  readonly hash: Buffer;
  /** Duplicate-detection key (also seeds the split key). */
  readonly key: string;
}

/** The re-import key: the source's bytes plus every setting that decides the outcome. */
export function importKeyOf(settings: ImportSettings, sourceSha256: string): string {
  return settingsKey({ source: sourceSha256, settings: importSettings(settings) });
}

/** Runs one import. Throws only for failures of the service itself (or cancellation); bad data is a 'rejected' outcome. */
export async function runImport(
  deps: ImporterDeps,
  s: ImportSettings,
  source: ImportSource,
  onProgress: (p: Progress) => void = () => undefined,
  signal?: AbortSignal,
): Promise<ImportOutcome> {
  const { versions, rows, reports, clock } = deps;
  const versionId = deps.newId('ver');
  const reportId = deps.newId('rpt');
  const started = clock();
  const report = new ReportBuilder(reports, reportId);
  await reports.create(reportId, { datasetName: s.datasetName, sourceName: source.name, versionId, createTime: started });
  await versions.createImporting({
    id: versionId,
    state: 'importing',
    version: dataset.DatasetVersion.fromPartial({ digest: `importing:${versionId}`, datasetName: s.datasetName, state: dataset.VersionState.VERSION_STATE_IMPORTING }),
    importKey: '',
    splitIndex: { every: 1, train: [], eval: [], evalUpTo: null },
    reportId,
    heartbeatAt: started,
  });
  const beat = setInterval(() => void versions.heartbeat(versionId, clock()).catch(() => undefined), deps.heartbeatMs);
  beat.unref();

  const settings = contentSettings(s);
  const digest = new VersionDigest(settings);
  const seen = new Map<string, number>();
  const keys = float64s();
  const counts = uint32s();
  let storing: StoredRow[] = [];
  const stopStoring = () => s.invalidPolicy === 'reject' && report.rowsInvalid > 0;

  // Batches are tokenized concurrently but finished strictly in order (row indexes, digest).
  let chain: Promise<void> = Promise.resolve();
  const queue: Promise<void>[] = [];
  const submit = async (batch: Pending[]) => {
    const texts = batch.map((p) => renderTraining(s.template, p.value.question, p.value.cot, p.value.response, s.tokenizer.eosToken));
    const counted = s.tokenizer.count(texts);
    counted.catch(() => undefined); // awaited in order below; avoid an unhandled rejection meanwhile
    chain = chain.then(async () => finish(batch, await counted));
    const step = chain;
    step.catch(() => undefined);
    queue.push(step);
    if (queue.length >= deps.batchesInFlight) await queue.shift();
  };

  const finish = async (batch: Pending[], tokenCounts: number[]) => {
    for (let i = 0; i < batch.length; i++) {
      const p = batch[i]!;
      const n = tokenCounts[i]!;
      if (n > s.maxSeqLength) {
        const fatal = s.rejectOverLength;
        const issue: Issue = {
          row: p.row,
          column: '',
          code: 'OVER_TOKEN_LIMIT',
          message: `training text has ${n} tokens, over max_seq_length ${s.maxSeqLength}${fatal ? '' : ' (kept; the trainer truncates it)'}`,
          fatal,
        };
        report.add([issue], fatal);
        if (fatal) continue;
      }
      const index = keys.length;
      keys.push(splitKey(s.splitSeed, p.key));
      counts.push(n);
      digest.addRow(p.hash, p.value.metadataJson);
      report.rowsValid++;
      if (!stopStoring()) {
        storing.push({
          index,
          question: p.value.question,
          cot: p.value.cot,
          response: p.value.response,
          metadataJson: p.value.metadataJson,
          tokenCount: n,
          sourceRow: p.row,
          splitKey: keys.at(index),
        });
      }
    }
    if (stopStoring()) storing = [];
    if (storing.length >= deps.insertRows) await flushRows();
    await report.flush();
  };
  const flushRows = async () => {
    if (storing.length === 0) return;
    const out = storing;
    storing = [];
    await rows.insert(versionId, out);
  };

  const { tap, rows: raw } = readRows(source.chunks, { maxRowBytes: deps.maxRowBytes }, s.layout);
  let fileError: FileFormatError | undefined;
  let lastProgress = 0;
  const progress = (phase: Progress['phase'], force = false) => {
    const now = Date.now();
    if (!force && now - lastProgress < 250) return;
    lastProgress = now;
    onProgress({ phase, rowsRead: report.rowsTotal, bytesRead: tap.bytes, totalBytes: source.size });
  };

  try {
    try {
      let batch: Pending[] = [];
      for await (const r of raw) {
        if (signal?.aborted) throw new CancelledError('the import was cancelled');
        report.rowsTotal++;
        const decoded = decodeRow(r, deps.maxRowBytes);
        if (!decoded.ok) {
          report.add([{ row: decoded.row, column: decoded.column ?? '', code: decoded.code, message: decoded.message, fatal: true }], true);
          continue;
        }
        const mapped = mapRow(decoded.value, r.row, s.mapping);
        if (!mapped.ok) {
          report.add(mapped.issues, true);
          continue;
        }
        const v = mapped.value;
        const hash = contentHash(v.question, v.cot, v.response);
        const key = contentKey(hash);
        const first = seen.get(key);
        if (first !== undefined) {
          const keep = s.duplicatePolicy === 'keep';
          report.add(
            [{ row: r.row, column: '', code: 'DUPLICATE', message: `same question, chain of thought and answer as row ${first}${keep ? ' (kept)' : ' (dropped)'}`, fatal: !keep, duplicateOfRow: first }],
            false,
          );
          if (!keep) continue;
        } else {
          seen.set(key, r.row);
        }
        batch.push({ row: r.row, value: v, hash, key });
        if (batch.length >= deps.batchRows) {
          await submit(batch);
          batch = [];
        }
        progress('reading');
      }
      if (batch.length > 0) await submit(batch);
    } catch (err) {
      if (!(err instanceof FileFormatError)) throw err;
      fileError = err;
    }
    await chain;
    progress('storing', true);

    const sourceSha256 = fileError ? '' : tap.sha256();
    const reason = rejectionReason(s, report, fileError, keys.length, tap.layout);
    if (reason) {
      if (fileError) report.add([{ row: fileError.row, column: '', code: 'MALFORMED_JSON', message: fileError.message, fatal: true }], false);
      await report.flush(true);
      const summary = report.summary(true, reason);
      await cleanup(deps, versionId);
      await reports.finish(reportId, summary);
      return { kind: 'rejected', report: { reportId, ...summary }, reason, sourceSha256 };
    }

    await flushRows();
    await report.flush(true);
    const plan = planSplit(keys.view(), s.evalRatio);
    const summary = report.summary(false, '');
    await reports.finish(reportId, summary);
    const version = dataset.DatasetVersion.fromPartial({
      digest: digest.hex(),
      datasetName: s.datasetName,
      state: dataset.VersionState.VERSION_STATE_READY,
      rowCount: keys.length,
      trainRows: plan.trainRows,
      evalRows: plan.evalRows,
      tokenStats: tokenStats(counts.view(), s.maxSeqLength),
      lineage: {
        sourceName: source.name,
        sourceSizeBytes: tap.bytes,
        sourceSha256,
        mapping: mappingMessage(s.mapping),
        template: s.template,
        tokenizerDir: s.tokenizer.dir,
        tokenizerFingerprint: s.tokenizer.fingerprint,
        eosToken: s.tokenizer.eosToken,
      },
      report: { reportId, ...summary },
      evalRatio: s.evalRatio,
      splitSeed: s.splitSeed,
      maxSeqLength: s.maxSeqLength,
      labels: s.labels,
      createTime: clock(),
    });
    const importKey = importKeyOf(s, sourceSha256);
    for (let attempt = 0; attempt < 3; attempt++) {
      // The same rows may already be stored (another layout, another source): answer with that
      // version rather than count on every store reporting the unique-index clash the same way.
      const [stored] = await versions.findReady(version.digest, 1);
      if (stored) {
        await cleanup(deps, versionId);
        return { kind: 'stored', record: stored, created: false, report: version.report! };
      }
      if ((await versions.markReady(versionId, version, plan.index, importKey)) === 'ok') {
        const record: VersionRecord = { id: versionId, state: 'ready', version, importKey, splitIndex: plan.index, reportId, heartbeatAt: clock() };
        return { kind: 'stored', record, created: true, report: version.report! };
      }
      // Another import stored the same digest first: that version is the result.
      const [existing] = await versions.findReady(version.digest, 1);
      if (existing) {
        await cleanup(deps, versionId);
        return { kind: 'stored', record: existing, created: false, report: version.report! };
      }
    }
    throw new Error(`digest ${version.digest} is taken by a record that is not READY`);
  } catch (err) {
    await cleanup(deps, versionId).catch(() => undefined); // the janitor retries what fails here
    await reports.abandon(reportId, `import failed: ${(err as Error).message}`).catch(() => undefined);
    throw err;
  } finally {
    clearInterval(beat);
  }
}

/** Removes an unfinished record's rows, then the record (in that order, so a retry finds the record). */
export async function cleanup(deps: Pick<ImporterDeps, 'rows' | 'versions'>, versionId: string): Promise<void> {
  await deps.rows.removeAll(versionId);
  await deps.versions.remove(versionId);
}

function rejectionReason(s: ImportSettings, report: ReportBuilder, fileError: FileFormatError | undefined, kept: number, layout: string | undefined): string {
  if (fileError) return layout ? `the file is not valid ${layout === 'jsonl' ? 'JSONL' : 'JSON'}: ${fileError.message}` : fileError.message;
  if (report.rowsInvalid > 0 && s.invalidPolicy === 'reject') {
    const first = report.firstInvalid();
    const where = first ? `; first: row ${first.row}${first.column ? `, column ${first.column}` : ''}: ${first.message}` : '';
    return `${report.rowsInvalid} invalid row${report.rowsInvalid === 1 ? '' : 's'} (policy REJECT; SKIP_INVALID keeps the valid ones)${where}`;
  }
  if (report.rowsTotal === 0) return 'the file has no rows';
  if (kept === 0) return `no valid rows among ${report.rowsTotal}`;
  // De-duplication that leaves a single row changed the data beyond recognition: say so rather
  // than store a 1-row version.
  if (kept === 1 && report.rowsDuplicate > 0 && s.duplicatePolicy !== 'keep') {
    const n = report.rowsDuplicate + 1;
    return `all ${n} ${n === report.rowsTotal ? '' : 'valid '}rows are the same row: ${report.rowsDuplicate} duplicate${report.rowsDuplicate === 1 ? '' : 's'} removed, leaving 1 (DUPLICATE_POLICY_KEEP_AND_REPORT keeps them)`;
  }
  return '';
}

/** The summary type, re-exported for adapters. */
export type { ReportSummary };
