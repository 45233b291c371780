/**
 * In-memory implementations of the core's ports, for unit tests (and to show what the ports
 * promise). They keep the Mongo repositories' semantics that matter: a unique digest, READY-only
 * reads, newest-first listing, sequence-guarded job usage.
 */
import { NotFoundError } from '@medtune/kit';
import type { common, dataset } from '@medtune/contracts';
import type { Issue } from './issues';
import type { DatasetEvents, FileSource, ReportRepo, ReportSummary, RowRepo, SplitIndex, StoredRow, TemplateRepo, Tokenizer, TokenizerProvider, UsageRepo, VersionRecord, VersionRepo } from './ports';

const hasName = (r: VersionRecord, name: string): boolean => r.version.datasetName === name || r.version.otherNames.includes(name);

/** Versions in a Map. */
export class MemoryVersionRepo implements VersionRepo {
  readonly records = new Map<string, VersionRecord & { announced: boolean }>();

  async createImporting(r: VersionRecord): Promise<void> {
    this.records.set(r.id, { ...r, announced: false });
  }
  async heartbeat(id: string, at: Date): Promise<void> {
    const r = this.records.get(id);
    if (r) this.records.set(id, { ...r, heartbeatAt: at });
  }
  async markReady(id: string, version: dataset.DatasetVersion, splitIndex: SplitIndex, importKey: string): Promise<'ok' | 'duplicate'> {
    if ([...this.records.values()].some((r) => r.state !== 'deleting' && r.version.digest === version.digest && r.id !== id)) return 'duplicate';
    const r = this.records.get(id);
    if (!r || r.state !== 'importing') throw new Error(`record ${id} is not IMPORTING`);
    this.records.set(id, { ...r, state: 'ready', version, splitIndex, importKey, announced: false });
    return 'ok';
  }
  async findUnannounced(limit: number): Promise<VersionRecord[]> {
    return this.ready().filter((r) => !r.announced).slice(0, limit);
  }
  async addName(id: string, name: string): Promise<boolean> {
    const r = this.records.get(id);
    if (!r || r.state !== 'ready' || hasName(r, name)) return false;
    this.records.set(id, { ...r, version: { ...r.version, otherNames: [...r.version.otherNames, name] } });
    return true;
  }
  async markAnnounced(id: string): Promise<void> {
    const r = this.records.get(id);
    if (r) this.records.set(id, { ...r, announced: true });
  }
  async findReady(prefix: string, limit: number): Promise<VersionRecord[]> {
    return this.ready().filter((r) => r.version.digest.startsWith(prefix)).slice(0, limit);
  }
  async findReadyByImportKey(importKey: string): Promise<VersionRecord | undefined> {
    return this.ready().find((r) => r.importKey === importKey);
  }
  async listReady(filter: { datasetName?: string; after?: { time: Date; id: string } }, limit: number): Promise<VersionRecord[]> {
    const after = filter.after;
    return this.newestFirst()
      .filter((r) => !filter.datasetName || hasName(r, filter.datasetName))
      .filter((r) => {
        if (!after) return true;
        const t = r.version.createTime!.getTime();
        return t < after.time.getTime() || (t === after.time.getTime() && r.id < after.id);
      })
      .slice(0, limit);
  }
  async datasetNames(after: string | undefined, limit: number): Promise<string[]> {
    return [...new Set(this.ready().flatMap((r) => [r.version.datasetName, ...r.version.otherNames]))]
      .filter((n) => after === undefined || n > after)
      .sort()
      .slice(0, limit);
  }
  async byDataset(name: string): Promise<VersionRecord[]> {
    return this.newestFirst().filter((r) => hasName(r, name));
  }
  async markDeleting(id: string, at: Date): Promise<boolean> {
    const r = this.records.get(id);
    if (!r || r.state !== 'ready') return false;
    this.records.set(id, { ...r, state: 'deleting', heartbeatAt: at });
    return true;
  }
  async remove(id: string): Promise<void> {
    this.records.delete(id);
  }
  async findAbandoned(before: Date): Promise<VersionRecord[]> {
    return [...this.records.values()].filter((r) => r.state !== 'ready' && r.heartbeatAt < before);
  }
  private ready() {
    return [...this.records.values()].filter((r) => r.state === 'ready');
  }
  private newestFirst() {
    return this.ready().sort((a, b) => b.version.createTime!.getTime() - a.version.createTime!.getTime() || (a.id < b.id ? 1 : -1));
  }
}

/** Rows in arrays; `failOnInsert` makes the n-th insert throw (a crash in the middle of an import). */
export class MemoryRowRepo implements RowRepo {
  readonly rows = new Map<string, StoredRow[]>();
  inserts = 0;
  failOnInsert = 0;

  async insert(versionId: string, rows: readonly StoredRow[]): Promise<void> {
    if (++this.inserts === this.failOnInsert) throw new Error('disk full (simulated)');
    const list = this.rows.get(versionId) ?? [];
    for (const r of rows) {
      if (r.index !== list.length) throw new Error(`rows of ${versionId} out of order: ${r.index} after ${list.length}`);
      list.push(r);
    }
    this.rows.set(versionId, list);
  }
  async *read(versionId: string, fromIndex: number): AsyncGenerator<StoredRow> {
    yield* (this.rows.get(versionId) ?? []).slice(fromIndex);
  }
  async removeAll(versionId: string): Promise<void> {
    this.rows.delete(versionId);
  }
}

/** Reports in Maps. */
export class MemoryReportRepo implements ReportRepo {
  readonly reports = new Map<string, { summary?: ReportSummary; finished: boolean; versionId: string }>();
  readonly issueLists = new Map<string, (Issue & { seq: number })[]>();

  async create(reportId: string, meta: { versionId: string }): Promise<void> {
    this.reports.set(reportId, { finished: false, versionId: meta.versionId });
  }
  async addIssues(reportId: string, issues: readonly Issue[], firstSeq: number): Promise<void> {
    const list = this.issueLists.get(reportId) ?? [];
    issues.forEach((i, n) => list.push({ ...i, seq: firstSeq + n }));
    this.issueLists.set(reportId, list);
  }
  async finish(reportId: string, summary: ReportSummary): Promise<void> {
    const r = this.reports.get(reportId)!;
    this.reports.set(reportId, { ...r, summary, finished: true });
  }
  async get(reportId: string): Promise<{ summary: ReportSummary; finished: boolean } | undefined> {
    const r = this.reports.get(reportId);
    return r ? { summary: r.summary ?? emptySummary('the import is still running'), finished: r.finished } : undefined;
  }
  async issues(reportId: string, fatalOnly: boolean, after: { row: number; seq: number } | undefined, limit: number): Promise<(Issue & { seq: number })[]> {
    return (this.issueLists.get(reportId) ?? [])
      .filter((i) => !fatalOnly || i.fatal)
      .sort((a, b) => a.row - b.row || a.seq - b.seq)
      .filter((i) => !after || i.row > after.row || (i.row === after.row && i.seq > after.seq))
      .slice(0, limit);
  }
  async abandon(reportId: string, reason: string): Promise<void> {
    const r = this.reports.get(reportId);
    if (r) this.reports.set(reportId, { ...r, finished: true, summary: { ...(r.summary ?? emptySummary('')), rejected: true, rejectionReason: reason } });
  }
}

function emptySummary(reason: string): ReportSummary {
  return { rowsTotal: 0, rowsValid: 0, rowsInvalid: 0, rowsDuplicate: 0, rowsOverLimit: 0, issuesByCode: {}, firstIssues: [], rejected: false, rejectionReason: reason };
}

/** Templates in a Map. */
export class MemoryTemplateRepo implements TemplateRepo {
  readonly templates = new Map<string, common.PromptTemplate>();
  async get(name: string) {
    return this.templates.get(name);
  }
  async list() {
    return [...this.templates.values()];
  }
  async insert(t: common.PromptTemplate): Promise<'created' | 'exists'> {
    if (this.templates.has(t.name)) return 'exists';
    this.templates.set(t.name, t);
    return 'created';
  }
}

/** Job usage in a Map, newest sequence wins (terminal after non-terminal at equal sequence). */
export class MemoryUsageRepo implements UsageRepo {
  readonly jobs = new Map<string, { digest: string; terminal: boolean; order: number }>();
  async apply(u: { jobId: string; digest: string; terminal: boolean; sequence: number }): Promise<void> {
    const order = u.sequence * 2 + (u.terminal ? 1 : 0);
    const cur = this.jobs.get(u.jobId);
    if (!cur || cur.order < order) this.jobs.set(u.jobId, { digest: u.digest, terminal: u.terminal, order });
  }
  async activeJobs(digest: string, limit: number): Promise<string[]> {
    return [...this.jobs.entries()].filter(([, j]) => j.digest === digest && !j.terminal).map(([id]) => id).slice(0, limit);
  }
}

/** Records published events; `fail` makes publishing throw. */
export class RecordingEvents implements DatasetEvents {
  readonly ready: { version: dataset.DatasetVersion; created: boolean; recordId: string }[] = [];
  readonly failed: Parameters<DatasetEvents['versionFailed']>[0][] = [];
  readonly deleted: { digest: string; datasetName: string }[] = [];
  fail = false;
  async versionReady(version: dataset.DatasetVersion, created: boolean, recordId: string) {
    if (this.fail) throw new Error('NATS down (simulated)');
    this.ready.push({ version, created, recordId });
  }
  async versionFailed(f: Parameters<DatasetEvents['versionFailed']>[0]) {
    if (this.fail) throw new Error('NATS down (simulated)');
    this.failed.push(f);
  }
  async versionDeleted(digest: string, datasetName: string) {
    if (this.fail) throw new Error('NATS down (simulated)');
    this.deleted.push({ digest, datasetName });
  }
}

/**
 * A stand-in tokenizer: one token per 4 UTF-16 units (rounded up) plus one for the EOS; enough for
 * the core's logic. The real one is exercised by the integration tests.
 */
export class FakeTokenizers implements TokenizerProvider {
  opened = 0;
  released = 0;
  constructor(private readonly eos = '<eos>') {}
  async open(dir: string): Promise<Tokenizer> {
    this.opened++;
    const eos = this.eos;
    return {
      dir,
      fingerprint: `fake:${dir}`,
      eosToken: eos,
      eosSource: 'test',
      count: async (texts) => texts.map((t) => Math.ceil(t.replace(eos, '').length / 4) + 1),
      release: () => void this.released++,
    };
  }
}

/** Files in a Map, read in chunks of `chunkSize` bytes. */
export class MemoryFiles implements FileSource {
  readonly files = new Map<string, Buffer>();
  constructor(private readonly chunkSize = 1 << 16) {}
  async open(path: string, field: string) {
    const data = this.files.get(path);
    if (!data) throw new NotFoundError(`${field}: no file ${path}`);
    const size = this.chunkSize;
    return {
      size: data.length,
      read: async function* () {
        for (let i = 0; i < data.length; i += size) yield data.subarray(i, i + size);
      },
    };
  }
}
