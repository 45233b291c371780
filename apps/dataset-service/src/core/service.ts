/**
 * The dataset service's core: every RPC of medtune.dataset.v1 as a method over plain messages,
 * plus the handling of training job events and the janitor. No transport here: the gRPC adapter
 * (src/grpc) and the NATS adapters (src/events) call these methods.
 */
import { createHash } from 'node:crypto';
import path from 'node:path';
import { InvalidArgumentError, NotFoundError, FailedPreconditionError, OutOfRangeError, decodePageToken, encodePageToken, pageSize, type Logger } from '@medtune/kit';
import { dataset, training, type common, type events } from '@medtune/contracts';
import { DEFAULT_TEMPLATE_NAME, renderInference, renderTraining } from '@medtune/prompting';
import { ImportRejectedError } from './errors';
import { cleanup, importKeyOf, runImport, type ImporterDeps, type Progress } from './importer';
import { mapRow, resolveMapping } from './mapping';
import { planImport, type ImportSettings } from './options';
import { decodeRow } from './parse/decode';
import { readRows } from './parse/source';
import { FileFormatError } from './parse/types';
import type { DatasetEvents, FileSource, StoredRow, TemplateRepo, Tokenizer, TokenizerProvider, UsageRepo, VersionRecord } from './ports';
import { toProtoIssue } from './report';
import { isEvalRow, seek } from './split';
import { findTemplate, listTemplates, registerTemplate } from './templates';

/** Everything the core is built from. */
export interface DatasetCoreDeps extends ImporterDeps {
  readonly templates: TemplateRepo;
  readonly usage: UsageRepo;
  readonly events: DatasetEvents;
  readonly tokenizers: TokenizerProvider;
  readonly files: FileSource;
  readonly log: Logger;
  /** An IMPORTING / DELETING record without a heartbeat for this long belongs to a dead process. */
  readonly staleAfterMs: number;
}

const HEX_PREFIX = /^[0-9a-f]{12,64}$/;
const TERMINAL = new Set([training.JobState.JOB_STATE_SUCCEEDED, training.JobState.JOB_STATE_FAILED, training.JobState.JOB_STATE_CANCELLED]);

/** The dataset service, transport-free. */
export class DatasetCore {
  constructor(private readonly deps: DatasetCoreDeps) {}

  // ---- imports ----

  /** ImportDataset: a file on this host. Throws ImportRejectedError when the data is rejected. */
  async importFile(req: dataset.ImportDatasetRequest, onProgress?: (p: Progress) => void, signal?: AbortSignal): Promise<dataset.ImportResult> {
    const plan = planImport(req.options, DEFAULT_TEMPLATE_NAME);
    if (!req.path) throw new InvalidArgumentError('path', 'required: a file on the dataset service host');
    const file = await this.deps.files.open(req.path, 'path');
    const settings = await this.settings(plan);
    try {
      // Same bytes + same settings → the version made before, without reading the rows again.
      const sha = createHash('sha256');
      for await (const chunk of file.read()) sha.update(chunk);
      const existing = await this.deps.versions.findReadyByImportKey(importKeyOf(settings, sha.digest('hex')));
      if (existing) return this.existing(existing, settings.datasetName, existing.version.report);
      const source = { name: plan.sourceName || path.basename(req.path), size: file.size, chunks: file.read() };
      return await this.finishImport(settings, source, onProgress, signal);
    } finally {
      settings.tokenizer.release();
    }
  }

  /** UploadDataset: the options, then the bytes. */
  async importUpload(options: dataset.ImportOptions | undefined, chunks: AsyncIterable<Uint8Array>, signal?: AbortSignal): Promise<dataset.ImportResult> {
    const plan = planImport(options, DEFAULT_TEMPLATE_NAME);
    const settings = await this.settings(plan);
    try {
      return await this.finishImport(settings, { name: plan.sourceName || 'upload', size: 0, chunks }, undefined, signal);
    } finally {
      settings.tokenizer.release();
    }
  }

  private async settings(plan: ReturnType<typeof planImport>): Promise<ImportSettings & { tokenizer: Tokenizer }> {
    const template = await findTemplate(this.deps.templates, plan.templateName, 'options.template_name');
    const tokenizer = await this.deps.tokenizers.open(plan.tokenizerDir, 'options.tokenizer_dir');
    return { ...plan, template, tokenizer };
  }

  private async finishImport(
    settings: ImportSettings,
    source: { name: string; size: number; chunks: AsyncIterable<Uint8Array> },
    onProgress?: (p: Progress) => void,
    signal?: AbortSignal,
  ): Promise<dataset.ImportResult> {
    const log = this.deps.log.child({ dataset: settings.datasetName, source: source.name });
    const started = performance.now();
    const outcome = await runImport(this.deps, settings, source, onProgress, signal);
    if (outcome.kind === 'rejected') {
      log.warn({ reportId: outcome.report.reportId, reason: outcome.reason }, 'import rejected');
      await this.deps.events
        .versionFailed({ datasetName: settings.datasetName, sourceName: source.name, sourceSha256: outcome.sourceSha256, report: outcome.report, reason: outcome.reason })
        .catch((err: unknown) => log.error({ err }, 'publishing dataset.version.failed failed'));
      throw new ImportRejectedError(outcome.reason, { version: undefined, created: false, report: outcome.report, existingDatasetName: '', nameAdded: false });
    }
    const { record, created } = outcome;
    log.info({ digest: record.version.digest, created, rows: record.version.rowCount, ms: Math.round(performance.now() - started) }, 'import finished');
    if (!created) return this.existing(record, settings.datasetName, outcome.report);
    await this.announce(record);
    return { version: record.version, created, report: outcome.report, existingDatasetName: '', nameAdded: false };
  }

  /**
   * The answer to an import of content that is stored already: that version, under the name it
   * was first stored with, and listed from now on under the requested name too (a version is
   * immutable; a name is the user's handle on it).
   */
  private async existing(record: VersionRecord, name: string, report: dataset.ValidationSummary | undefined): Promise<dataset.ImportResult> {
    const nameAdded = await this.deps.versions.addName(record.id, name);
    const version = nameAdded ? { ...record.version, otherNames: [...record.version.otherNames, name] } : record.version;
    if (nameAdded) this.deps.log.info({ digest: version.digest, dataset: version.datasetName, name }, 'existing version listed under a further name');
    return { version, created: false, report, existingDatasetName: version.datasetName, nameAdded };
  }

  // The READY write is the fact; the event follows it, and the janitor re-publishes unconfirmed ones.
  private async announce(record: VersionRecord): Promise<void> {
    try {
      await this.deps.events.versionReady(record.version, true, record.id);
      await this.deps.versions.markAnnounced(record.id);
    } catch (err) {
      this.deps.log.error({ err, digest: record.version.digest }, 'publishing dataset.version.ready failed; the janitor retries');
    }
  }

  // ---- versions and datasets ----

  /** GetVersion. */
  async getVersion(req: dataset.GetVersionRequest): Promise<dataset.GetVersionResponse> {
    const record = await this.resolve(req.digest, 'digest');
    const jobs = await this.deps.usage.activeJobs(record.version.digest, 1);
    return { version: record.version, inUse: jobs.length > 0 };
  }

  /** A READY record by digest or unique prefix. */
  private async resolve(digest: string, field: string): Promise<VersionRecord> {
    if (!HEX_PREFIX.test(digest)) throw new InvalidArgumentError(field, `must be a digest or a prefix of at least 12 lowercase hex digits (got ${JSON.stringify(digest)})`);
    const found = await this.deps.versions.findReady(digest, 2);
    if (found.length === 0) throw new NotFoundError(`no dataset version ${digest}`);
    if (found.length > 1) throw new InvalidArgumentError(field, `prefix ${digest} matches several versions; give more digits`);
    return found[0]!;
  }

  /** ListVersions, newest first. */
  async listVersions(req: dataset.ListVersionsRequest): Promise<dataset.ListVersionsResponse> {
    const size = pageSize(req.pageSize, { defaultSize: 50, maxSize: 500 });
    const token = decodePageToken<{ t: number; id: string }>(req.pageToken);
    if (token && (typeof token.t !== 'number' || typeof token.id !== 'string')) throw new InvalidArgumentError('page_token', 'is not a page token from a previous response');
    const records = await this.deps.versions.listReady(
      { datasetName: req.datasetName || undefined, after: token ? { time: new Date(token.t), id: token.id } : undefined },
      size + 1,
    );
    const page = records.slice(0, size);
    const last = page[page.length - 1];
    return {
      versions: page.map((r) => r.version),
      nextPageToken: records.length > size && last ? encodePageToken({ t: last.version.createTime!.getTime(), id: last.id }) : '',
    };
  }

  /** GetDataset. */
  async getDataset(req: dataset.GetDatasetRequest): Promise<dataset.GetDatasetResponse> {
    const d = await this.datasetOf(req.name);
    if (!d) throw new NotFoundError(`no dataset named ${JSON.stringify(req.name)}`);
    return { dataset: d };
  }

  private async datasetOf(name: string): Promise<dataset.Dataset | undefined> {
    const records = await this.deps.versions.byDataset(name);
    if (records.length === 0) return undefined;
    return {
      name,
      latestDigest: records[0]!.version.digest,
      versionCount: records.length,
      createTime: records[records.length - 1]!.version.createTime,
      updateTime: records[0]!.version.createTime,
    };
  }

  /** ListDatasets, by name. */
  async listDatasets(req: dataset.ListDatasetsRequest): Promise<dataset.ListDatasetsResponse> {
    const size = pageSize(req.pageSize, { defaultSize: 50, maxSize: 500 });
    const token = decodePageToken<{ after: string }>(req.pageToken);
    if (token && typeof token.after !== 'string') throw new InvalidArgumentError('page_token', 'is not a page token from a previous response');
    const names = await this.deps.versions.datasetNames(token?.after, size + 1);
    const page = names.slice(0, size);
    const datasets: dataset.Dataset[] = [];
    for (const name of page) {
      const d = await this.datasetOf(name);
      if (d) datasets.push(d);
    }
    return { datasets, nextPageToken: names.length > size ? encodePageToken({ after: page[page.length - 1]! }) : '' };
  }

  /** DeleteVersion: refused while an unfinished training job uses the version. */
  async deleteVersion(req: dataset.DeleteVersionRequest): Promise<dataset.DeleteVersionResponse> {
    const record = await this.resolve(req.digest, 'digest');
    const digest = record.version.digest;
    const jobs = await this.deps.usage.activeJobs(digest, 5);
    if (jobs.length > 0) {
      throw new FailedPreconditionError(`dataset version ${digest} is used by training job${jobs.length > 1 ? 's' : ''} ${jobs.join(', ')} that ha${jobs.length > 1 ? 've' : 's'} not ended; cancel or wait for ${jobs.length > 1 ? 'them' : 'it'}`);
    }
    if (!(await this.deps.versions.markDeleting(record.id, this.deps.clock()))) throw new NotFoundError(`no dataset version ${digest}`);
    await this.finishDeletion(record);
    return { digest };
  }

  // DELETING hides the record; rows go, the event is published, then the record goes (the janitor
  // finishes this order if the process dies half-way).
  private async finishDeletion(record: VersionRecord): Promise<void> {
    await this.deps.rows.removeAll(record.id);
    await this.deps.events.versionDeleted(record.version.digest, record.version.datasetName, record.id);
    await this.deps.versions.remove(record.id);
    this.deps.log.info({ digest: record.version.digest, dataset: record.version.datasetName }, 'version deleted');
  }

  // ---- reports ----

  /** GetValidationReport: issues by row number. */
  async getValidationReport(req: dataset.GetValidationReportRequest): Promise<dataset.GetValidationReportResponse> {
    if (!req.reportId) throw new InvalidArgumentError('report_id', 'required');
    const size = pageSize(req.pageSize, { defaultSize: 100, maxSize: 1000 });
    const token = decodePageToken<{ row: number; seq: number }>(req.pageToken);
    if (token && (typeof token.row !== 'number' || typeof token.seq !== 'number')) throw new InvalidArgumentError('page_token', 'is not a page token from a previous response');
    const report = await this.deps.reports.get(req.reportId);
    if (!report) throw new NotFoundError(`no validation report ${JSON.stringify(req.reportId)}`);
    const issues = await this.deps.reports.issues(req.reportId, req.fatalOnly, token, size + 1);
    const page = issues.slice(0, size);
    const last = page[page.length - 1];
    return {
      summary: { reportId: req.reportId, ...report.summary },
      issues: page.map(toProtoIssue),
      nextPageToken: issues.length > size && last ? encodePageToken({ row: last.row, seq: last.seq }) : '',
    };
  }

  // ---- reading rows ----

  /** StreamRows: the rows of a split in order, from an offset. */
  async *streamRows(req: dataset.StreamRowsRequest, signal?: AbortSignal): AsyncGenerator<dataset.Row> {
    const record = await this.resolve(req.digest, 'digest');
    const v = record.version;
    const S = dataset.Split;
    const split = req.split === S.SPLIT_EVAL ? 'eval' : req.split === S.SPLIT_ALL ? 'all' : req.split === S.SPLIT_TRAIN || req.split === S.SPLIT_UNSPECIFIED ? 'train' : undefined;
    if (!split) throw new InvalidArgumentError('split', `unknown split ${req.split}`);
    const size = split === 'all' ? v.rowCount : split === 'eval' ? v.evalRows : v.trainRows;
    if (req.offset > size) throw new OutOfRangeError(`offset ${req.offset} is beyond the ${split} split's ${size} rows`);
    const template = v.lineage!.template!;
    const eos = v.lineage!.eosToken;
    const limit = req.limit > 0 ? Math.min(req.limit, size - req.offset) : size - req.offset;
    if (limit === 0) return;
    const { fromIndex, skip } = split === 'all' ? { fromIndex: req.offset, skip: 0 } : seek(record.splitIndex, split, req.offset);
    let skipped = 0;
    let sent = 0;
    for await (const row of this.deps.rows.read(record.id, fromIndex, signal)) {
      if (split !== 'all' && isEvalRow(record.splitIndex, row.splitKey, row.index) !== (split === 'eval')) continue;
      if (skipped < skip) {
        skipped++;
        continue;
      }
      yield toRow(row, split === 'all' ? row.index : req.offset + sent, template, eos);
      if (++sent >= limit) return;
    }
    if (sent < limit) throw new Error(`version ${v.digest}: expected ${limit} rows from offset ${req.offset} of ${split}, read ${sent}`);
  }

  /** PreviewFormatted: rows of a version or of a file, through a template. */
  async previewFormatted(req: dataset.PreviewFormattedRequest): Promise<dataset.PreviewFormattedResponse> {
    const limit = req.limit === 0 ? 3 : req.limit;
    if (limit < 1 || limit > 50) throw new InvalidArgumentError('limit', `must be 1..50 (got ${limit})`);
    const source = req.source;
    if (!source) throw new InvalidArgumentError('source', 'give a digest or a path');
    if (source.$case === 'digest') {
      const record = await this.resolve(source.digest, 'digest');
      const lineage = record.version.lineage!;
      const template = req.templateName ? await findTemplate(this.deps.templates, req.templateName, 'template_name') : lineage.template!;
      const rows: StoredRow[] = [];
      for await (const row of this.deps.rows.read(record.id, req.offset)) {
        rows.push(row);
        if (rows.length >= limit) break;
      }
      const sameText = template.trainFormat === lineage.template!.trainFormat;
      const counts = sameText ? rows.map((r) => r.tokenCount) : await this.count(lineage.tokenizerDir, 'digest', rows.map((r) => renderTraining(template, r.question, r.cot, r.response, lineage.eosToken)));
      return { template, rows: rows.map((r, i) => formatted(r.index, r, template, lineage.eosToken, counts[i]!)) };
    }
    if (!req.tokenizerDir) throw new InvalidArgumentError('tokenizer_dir', 'required when previewing a file');
    const template = await findTemplate(this.deps.templates, req.templateName || DEFAULT_TEMPLATE_NAME, 'template_name');
    const mapping = resolveMapping(req.mapping, 'mapping');
    const file = await this.deps.files.open(source.path, 'path');
    const tokenizer = await this.deps.tokenizers.open(req.tokenizerDir, 'tokenizer_dir');
    try {
      const picked: { index: number; q: string; c: string; r: string }[] = [];
      const { rows } = readRows(file.read(), { maxRowBytes: this.deps.maxRowBytes });
      try {
        for await (const raw of rows) {
          if (raw.row - 1 < req.offset) continue;
          const d = decodeRow(raw, this.deps.maxRowBytes);
          const m = d.ok ? mapRow(d.value, raw.row, mapping) : undefined;
          if (m?.ok) picked.push({ index: raw.row - 1, q: m.value.question, c: m.value.cot, r: m.value.response });
          if (picked.length >= limit) break;
        }
      } catch (err) {
        if (err instanceof FileFormatError) throw new InvalidArgumentError('path', err.message, { cause: err });
        throw err;
      }
      const texts = picked.map((p) => renderTraining(template, p.q, p.c, p.r, tokenizer.eosToken));
      const counts = await tokenizer.count(texts);
      return {
        template,
        rows: picked.map((p, i) => ({ index: p.index, prompt: renderInference(template, p.q), text: texts[i]!, tokenCount: counts[i]! })),
      };
    } finally {
      tokenizer.release();
    }
  }

  private async count(dir: string, field: string, texts: string[]): Promise<number[]> {
    const tokenizer = await this.deps.tokenizers.open(dir, field);
    try {
      return await tokenizer.count(texts);
    } finally {
      tokenizer.release();
    }
  }

  // ---- templates ----

  /** RegisterTemplate. */
  registerTemplate(req: dataset.RegisterTemplateRequest): Promise<dataset.RegisterTemplateResponse> {
    return registerTemplate(this.deps.templates, req.template);
  }

  /** GetTemplate. */
  async getTemplate(req: dataset.GetTemplateRequest): Promise<dataset.GetTemplateResponse> {
    if (!req.name) throw new InvalidArgumentError('name', 'required');
    return { template: await findTemplate(this.deps.templates, req.name, 'name') };
  }

  /** ListTemplates. */
  async listTemplates(): Promise<dataset.ListTemplatesResponse> {
    return { templates: await listTemplates(this.deps.templates) };
  }

  // ---- events in ----

  /** A training job changed state: remember which version it uses until it ends. */
  async recordJobState(evt: events.JobStateChanged): Promise<void> {
    const job = evt.job;
    if (!job?.jobId) throw new InvalidArgumentError('job.job_id', 'missing in JobStateChanged');
    await this.deps.usage.apply({
      jobId: job.jobId,
      digest: job.datasetDigest,
      state: training.JobState[evt.state] ?? String(evt.state),
      terminal: TERMINAL.has(evt.state),
      sequence: evt.sequence,
      time: evt.time ?? this.deps.clock(),
    });
  }

  // ---- janitor ----

  /**
   * Finishes what dead processes left: removes IMPORTING records (and rows) that stopped
   * heartbeating, completes deletions, and publishes ready events that were not confirmed.
   */
  async sweep(): Promise<{ removedImports: number; finishedDeletions: number; announced: number }> {
    const before = new Date(this.deps.clock().getTime() - this.deps.staleAfterMs);
    let removedImports = 0;
    let finishedDeletions = 0;
    for (const record of await this.deps.versions.findAbandoned(before)) {
      if (record.state === 'importing') {
        await cleanup(this.deps, record.id);
        await this.deps.reports.abandon(record.reportId, 'import interrupted: the service stopped before it finished; nothing was stored');
        removedImports++;
      } else if (record.state === 'deleting') {
        await this.finishDeletion(record);
        finishedDeletions++;
      }
    }
    let announced = 0;
    for (const record of await this.deps.versions.findUnannounced(50)) {
      await this.deps.events.versionReady(record.version, true, record.id);
      await this.deps.versions.markAnnounced(record.id);
      announced++;
    }
    if (removedImports + finishedDeletions + announced > 0) this.deps.log.info({ removedImports, finishedDeletions, announced }, 'janitor sweep');
    return { removedImports, finishedDeletions, announced };
  }
}

function toRow(r: StoredRow, index: number, template: common.PromptTemplate, eos: string): dataset.Row {
  return {
    index,
    text: renderTraining(template, r.question, r.cot, r.response, eos),
    prompt: renderInference(template, r.question),
    question: r.question,
    cot: r.cot,
    response: r.response,
    tokenCount: r.tokenCount,
    metadataJson: r.metadataJson || '{}',
    sourceRow: r.sourceRow,
  };
}

function formatted(index: number, r: StoredRow, template: common.PromptTemplate, eos: string, tokenCount: number): dataset.FormattedRow {
  return { index, prompt: renderInference(template, r.question), text: renderTraining(template, r.question, r.cot, r.response, eos), tokenCount };
}
