import { describe, expect, it } from 'vitest';
import { FailedPreconditionError, InvalidArgumentError, NotFoundError, OutOfRangeError, createIdGenerator } from '@medtune/kit';
import { dataset, training } from '@medtune/contracts';
import { ImportRejectedError } from './errors';
import { FakeTokenizers, MemoryFiles, MemoryReportRepo, MemoryRowRepo, MemoryTemplateRepo, MemoryUsageRepo, MemoryVersionRepo, RecordingEvents } from './memory';
import { DatasetCore } from './service';

const silent = { child: () => silent, info: () => undefined, warn: () => undefined, error: () => undefined, debug: () => undefined } as never;

function setup(opts: { chunkSize?: number; batchRows?: number } = {}) {
  let now = Date.parse('2025-01-01T00:00:00Z');
  const clock = () => new Date((now += 1000));
  const deps = {
    versions: new MemoryVersionRepo(),
    rows: new MemoryRowRepo(),
    reports: new MemoryReportRepo(),
    templates: new MemoryTemplateRepo(),
    usage: new MemoryUsageRepo(),
    events: new RecordingEvents(),
    tokenizers: new FakeTokenizers(),
    files: new MemoryFiles(opts.chunkSize ?? 7),
    clock,
    newId: createIdGenerator(clock),
    log: silent,
    batchRows: opts.batchRows ?? 3,
    batchesInFlight: 2,
    insertRows: 4,
    maxRowBytes: 4096,
    heartbeatMs: 60_000,
    staleAfterMs: 60_000,
  };
  return { deps, core: new DatasetCore(deps), advance: (ms: number) => (now += ms) };
}

const row = (i: number) => ({ Question: `question ${i}?`, Complex_CoT: `thinking about ${i}`, Response: `answer ${i}`, extra: { i } });
const rowsJson = (n: number, f: (i: number) => unknown = row) => JSON.stringify(Array.from({ length: n }, (_, i) => f(i)));
const options = (o: Partial<dataset.ImportOptions> = {}): dataset.ImportOptions => dataset.ImportOptions.fromPartial({ datasetName: 'demo', tokenizerDir: '/models/x', ...o });

async function importText(core: DatasetCore, deps: ReturnType<typeof setup>['deps'], text: string, o: Partial<dataset.ImportOptions> = {}, file = '/data/f.json') {
  deps.files.files.set(file, Buffer.from(text));
  return core.importFile({ path: file, options: options(o) });
}

async function rejection(p: Promise<unknown>): Promise<ImportRejectedError> {
  try {
    await p;
  } catch (err) {
    expect(err).toBeInstanceOf(ImportRejectedError);
    return err as ImportRejectedError;
  }
  throw new Error('expected a rejection');
}

async function all<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}

describe('import', () => {
  it('stores every valid row with stats, split, lineage, and announces it', async () => {
    const { core, deps } = setup();
    const res = await importText(core, deps, rowsJson(50), { evalRatio: 0.1 });
    const v = res.version!;
    expect(res.created).toBe(true);
    expect(v.state).toBe(dataset.VersionState.VERSION_STATE_READY);
    expect([v.rowCount, v.trainRows, v.evalRows]).toEqual([50, 45, 5]);
    expect(v.digest).toMatch(/^[0-9a-f]{64}$/);
    expect(v.tokenStats!.rows).toBe(50);
    expect(v.lineage).toMatchObject({ sourceName: 'f.json', eosToken: '<eos>', tokenizerFingerprint: 'fake:/models/x', template: { name: 'medical-o1-zh' } });
    expect(v.lineage!.mapping).toMatchObject({ question: 'Question', cot: 'Complex_CoT', response: 'Response' });
    expect(deps.events.ready.map((e) => [e.version.digest, e.created])).toEqual([[v.digest, true]]);
    expect(deps.tokenizers.released).toBe(deps.tokenizers.opened);
    const rows = await all(core.streamRows(dataset.StreamRowsRequest.fromPartial({ digest: v.digest, split: dataset.Split.SPLIT_ALL })));
    expect(rows.map((r) => r.sourceRow)).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
    expect(rows[3]!.text).toContain('question 3?');
    expect(rows[3]!.text.endsWith('answer 3<eos>')).toBe(true);
    expect(JSON.parse(rows[3]!.metadataJson)).toEqual({ extra: { i: 3 } });
  });

  it('gives the same digest for the same content, whatever the layout or chunking; other settings give another', async () => {
    const a = setup({ chunkSize: 5 });
    const b = setup({ chunkSize: 1000 });
    const jsonl = Array.from({ length: 20 }, (_, i) => JSON.stringify(row(i))).join('\n');
    const va = (await importText(a.core, a.deps, rowsJson(20))).version!;
    const vb = (await importText(b.core, b.deps, jsonl, {}, '/data/f.jsonl')).version!;
    expect(vb.digest).toBe(va.digest);
    const vc = (await importText(b.core, b.deps, jsonl, { splitSeed: 1 }, '/data/f.jsonl')).version!;
    expect(vc.digest).not.toBe(va.digest);
    const vd = (await importText(b.core, b.deps, jsonl, { templateName: 'medical-o1-en' }, '/data/f.jsonl')).version!;
    expect(new Set([va.digest, vc.digest, vd.digest]).size).toBe(3);
  });

  it('is idempotent: the same file again returns the version (created=false) without a second event', async () => {
    const { core, deps } = setup();
    const first = await importText(core, deps, rowsJson(10));
    const again = await importText(core, deps, rowsJson(10));
    expect(again.created).toBe(false);
    expect(again.version!.digest).toBe(first.version!.digest);
    // the same rows through another path (an upload): the digest collides, the new rows are dropped
    const upload = await core.importUpload(options(), (async function* () {
      yield Buffer.from(rowsJson(10));
    })());
    expect(upload.created).toBe(false);
    expect(upload.version!.digest).toBe(first.version!.digest);
    expect(deps.versions.records.size).toBe(1);
    expect(deps.rows.rows.size).toBe(1);
    expect(deps.events.ready).toHaveLength(1);
  });

  it('REJECT: lists every bad row with its column and stores nothing', async () => {
    const { core, deps } = setup();
    const text = rowsJson(8, (i) => (i === 2 ? { ...row(i), Complex_CoT: 7 } : i === 5 ? { Question: 'q', Response: ' ' } : row(i)));
    const err = await rejection(importText(core, deps, text));
    const report = err.result.report!;
    expect(report.rejected).toBe(true);
    expect(report.rowsInvalid).toBe(2);
    expect(report.firstIssues.map((i) => [i.row, i.column, dataset.RowIssueCode[i.code]])).toEqual([
      [3, 'Complex_CoT', 'ROW_ISSUE_CODE_WRONG_TYPE'],
      [6, 'Complex_CoT', 'ROW_ISSUE_CODE_MISSING'],
      [6, 'Response', 'ROW_ISSUE_CODE_EMPTY'],
    ]);
    expect(report.firstIssues[0]!.message).toBe('column Complex_CoT: expected a string, got number');
    expect(err.message).toMatch(/2 invalid rows .*first: row 3, column Complex_CoT/);
    expect(deps.versions.records.size).toBe(0);
    expect(deps.rows.rows.size).toBe(0);
    expect(deps.events.failed).toHaveLength(1);
    const page = await core.getValidationReport(dataset.GetValidationReportRequest.fromPartial({ reportId: report.reportId }));
    expect(page.issues).toHaveLength(3);
    expect(page.summary!.rejected).toBe(true);
  });

  it('SKIP_INVALID: keeps the valid rows and the report', async () => {
    const { core, deps } = setup();
    const text = rowsJson(8, (i) => (i === 2 ? { ...row(i), Complex_CoT: 7 } : row(i)));
    const res = await importText(core, deps, text, { invalidRowPolicy: dataset.InvalidRowPolicy.INVALID_ROW_POLICY_SKIP_INVALID });
    expect(res.version!.rowCount).toBe(7);
    expect(res.report!.rowsInvalid).toBe(1);
    expect(res.version!.report!.reportId).toBe(res.report!.reportId);
  });

  it('reports duplicates by content; drops or keeps them as asked', async () => {
    const dup = (i: number) => row(i % 3);
    const { core, deps } = setup();
    const dropped = await importText(core, deps, rowsJson(7, dup));
    expect(dropped.version!.rowCount).toBe(3);
    expect(dropped.report!.rowsDuplicate).toBe(4);
    expect(dropped.report!.firstIssues.map((i) => [i.row, i.duplicateOfRow, i.fatal])).toEqual([
      [4, 1, true],
      [5, 2, true],
      [6, 3, true],
      [7, 1, true],
    ]);
    const kept = await importText(core, deps, rowsJson(7, dup), { duplicatePolicy: dataset.DuplicatePolicy.DUPLICATE_POLICY_KEEP_AND_REPORT });
    expect(kept.version!.rowCount).toBe(7);
    expect(kept.report!.firstIssues.every((i) => !i.fatal)).toBe(true);
  });

  it('a file of only duplicates is refused with the count of duplicates (it would collapse to one row)', async () => {
    const { core, deps } = setup();
    const err = await rejection(importText(core, deps, rowsJson(5, () => row(1))));
    expect(err.message).toMatch(/all 5 rows are the same row: 4 duplicates removed/);
    expect(err.result.report!.rowsDuplicate).toBe(4);
  });

  it('warns about rows over max_seq_length, or rejects them when asked', async () => {
    const long = (i: number) => (i === 1 ? { ...row(i), Complex_CoT: 'x'.repeat(2000) } : row(i));
    const { core, deps } = setup();
    const kept = await importText(core, deps, rowsJson(4, long), { maxSeqLength: 300 });
    expect(kept.version!.rowCount).toBe(4);
    expect(kept.version!.tokenStats!.rowsOverMaxSeqLength).toBe(1);
    expect(kept.report!.firstIssues[0]).toMatchObject({ row: 2, fatal: false, code: dataset.RowIssueCode.ROW_ISSUE_CODE_OVER_TOKEN_LIMIT });
    const err = await rejection(importText(core, deps, rowsJson(4, long), { maxSeqLength: 300, rejectOverLength: true }));
    expect(err.result.report!.firstIssues[0]!.message).toMatch(/over max_seq_length 300/);
  });

  it('rejects broken files with the position, and empty ones', async () => {
    const { core, deps } = setup();
    const truncated = rowsJson(5).slice(0, -30);
    const e1 = await rejection(importText(core, deps, truncated));
    expect(e1.message).toMatch(/inside row 5, which starts at byte \d+: truncated/);
    expect(e1.result.report!.firstIssues.at(-1)).toMatchObject({ row: 5, code: dataset.RowIssueCode.ROW_ISSUE_CODE_MALFORMED_JSON });
    const e2 = await rejection(importText(core, deps, '   '));
    expect(e2.message).toMatch(/empty/);
    const e3 = await rejection(importText(core, deps, '[]'));
    expect(e3.message).toMatch(/no rows/);
    expect(deps.versions.records.size).toBe(0);
  });

  it('checks the options, naming the field', async () => {
    const { core, deps } = setup();
    await expect(importText(core, deps, rowsJson(1), { datasetName: 'Bad Name' })).rejects.toThrow(InvalidArgumentError);
    await expect(importText(core, deps, rowsJson(1), { evalRatio: 0.9 })).rejects.toThrow(/options.eval_ratio: must be in \[0, 0.5\]/);
    await expect(importText(core, deps, rowsJson(1), { tokenizerDir: '' })).rejects.toThrow(/options.tokenizer_dir: required/);
    await expect(importText(core, deps, rowsJson(1), { templateName: 'nope' })).rejects.toThrow(NotFoundError);
    await expect(core.importFile({ path: '/missing.json', options: options() })).rejects.toThrow(/path: no file/);
  });

  it('removes what it wrote when it fails half-way, and the janitor removes what a dead process left', async () => {
    const { core, deps, advance } = setup();
    deps.rows.failOnInsert = 3;
    await expect(importText(core, deps, rowsJson(30))).rejects.toThrow(/disk full/);
    expect(deps.versions.records.size).toBe(0);
    expect(deps.rows.rows.size).toBe(0);
    // a process that died: an IMPORTING record with rows and an old heartbeat
    await deps.versions.createImporting({
      id: 'ver_dead',
      state: 'importing',
      version: dataset.DatasetVersion.fromPartial({ digest: 'importing:ver_dead', datasetName: 'demo' }),
      importKey: '',
      splitIndex: { every: 1, train: [], eval: [], evalUpTo: null },
      reportId: 'rpt_dead',
      heartbeatAt: deps.clock(),
    });
    await deps.reports.create('rpt_dead', { versionId: 'ver_dead' } as never);
    await deps.rows.insert('ver_dead', [{ index: 0, question: 'q', cot: 'c', response: 'r', metadataJson: '', tokenCount: 1, sourceRow: 1, splitKey: 1 }]);
    expect((await core.sweep()).removedImports).toBe(0); // still fresh
    advance(120_000);
    expect((await core.sweep()).removedImports).toBe(1);
    expect(deps.rows.rows.has('ver_dead')).toBe(false);
    expect((await deps.reports.get('rpt_dead'))!.summary.rejectionReason).toMatch(/interrupted/);
  });

  it('re-publishes a ready event that failed to go out', async () => {
    const { core, deps } = setup();
    deps.events.fail = true;
    const res = await importText(core, deps, rowsJson(3));
    expect(res.created).toBe(true);
    deps.events.fail = false;
    expect((await core.sweep()).announced).toBe(1);
    expect(deps.events.ready.map((e) => e.version.digest)).toEqual([res.version!.digest]);
    expect((await core.sweep()).announced).toBe(0);
  });
});

describe('mapping presets', () => {
  it('alpaca: instruction + input, no chain of thought needed', async () => {
    const { core, deps } = setup();
    const text = JSON.stringify([
      { instruction: 'Translate', input: 'bonjour', output: 'hello', id: 1 },
      { instruction: 'Say hi', input: '', output: 'hi' },
    ]);
    const res = await importText(core, deps, text, { mapping: { preset: dataset.MappingPreset.MAPPING_PRESET_ALPACA } as dataset.ColumnMapping, evalRatio: 0 });
    const rows = await all(core.streamRows(dataset.StreamRowsRequest.fromPartial({ digest: res.version!.digest })));
    expect(rows.map((r) => [r.question, r.cot, r.response, r.metadataJson])).toEqual([
      ['Translate\nbonjour', '', 'hello', '{"id":1}'],
      ['Say hi', '', 'hi', '{}'],
    ]);
  });

  it('chat: OpenAI messages and ShareGPT conversations, <think> split, rows without reasoning reported', async () => {
    const { core, deps } = setup();
    const text = [
      { messages: [{ role: 'system', content: 's' }, { role: 'user', content: 'Q1' }, { role: 'assistant', content: '<think>R1</think>\nA1' }], src: 'x' },
      { conversations: [{ from: 'human', value: 'Q2' }, { from: 'gpt', value: '<think>\nR2\n</think>A2' }] },
      { messages: [{ role: 'user', content: 'Q3' }, { role: 'assistant', content: 'A3 without reasoning' }] },
      { messages: [{ role: 'user', content: 'Q4' }] },
    ]
      .map((r) => JSON.stringify(r))
      .join('\n');
    const chat = { preset: dataset.MappingPreset.MAPPING_PRESET_CHAT } as dataset.ColumnMapping;
    const res = await importText(core, deps, text, { mapping: chat, evalRatio: 0, invalidRowPolicy: dataset.InvalidRowPolicy.INVALID_ROW_POLICY_SKIP_INVALID }, '/d/chat.jsonl');
    const rows = await all(core.streamRows(dataset.StreamRowsRequest.fromPartial({ digest: res.version!.digest })));
    expect(rows.map((r) => [r.question, r.cot, r.response])).toEqual([
      ['Q1', 'R1', 'A1'],
      ['Q2', 'R2', 'A2'],
    ]);
    expect(JSON.parse(rows[0]!.metadataJson)).toEqual({ src: 'x' });
    expect(res.report!.firstIssues.map((i) => [i.row, i.column])).toEqual([
      [3, 'messages[1].content'],
      [4, 'messages'],
    ]);
  });
});

describe('serving', () => {
  it('streams train / eval / all from any offset, consistently', async () => {
    const { core, deps } = setup();
    const v = (await importText(core, deps, rowsJson(40), { evalRatio: 0.25 })).version!;
    const stream = (split: dataset.Split, offset = 0, limit = 0) => all(core.streamRows(dataset.StreamRowsRequest.fromPartial({ digest: v.digest, split, offset, limit })));
    const train = await stream(dataset.Split.SPLIT_TRAIN);
    const evalRows = await stream(dataset.Split.SPLIT_EVAL);
    const everything = await stream(dataset.Split.SPLIT_ALL);
    expect([train.length, evalRows.length]).toEqual([30, 10]);
    expect(train.map((r) => r.index)).toEqual(Array.from({ length: 30 }, (_, i) => i));
    expect(new Set([...train, ...evalRows].map((r) => r.sourceRow))).toEqual(new Set(everything.map((r) => r.sourceRow)));
    // source order within each split
    expect(train.map((r) => r.sourceRow)).toEqual([...train.map((r) => r.sourceRow)].sort((a, b) => a - b));
    const resumed = await stream(dataset.Split.SPLIT_TRAIN, 17, 5);
    expect(resumed.map((r) => [r.index, r.sourceRow])).toEqual(train.slice(17, 22).map((r) => [r.index, r.sourceRow]));
    expect(await stream(dataset.Split.SPLIT_EVAL, 10)).toEqual([]);
    await expect(stream(dataset.Split.SPLIT_EVAL, 11)).rejects.toThrow(OutOfRangeError);
  });

  it('resolves digest prefixes and lists versions newest first with page tokens', async () => {
    const { core, deps } = setup();
    const digests: string[] = [];
    for (let n = 1; n <= 5; n++) digests.push((await importText(core, deps, rowsJson(n), { datasetName: n % 2 ? 'odd' : 'even' }, `/d/${n}.json`)).version!.digest);
    expect((await core.getVersion({ digest: digests[2]!.slice(0, 12) })).version!.digest).toBe(digests[2]);
    await expect(core.getVersion({ digest: 'abc' })).rejects.toThrow(/at least 12/);
    await expect(core.getVersion({ digest: 'f'.repeat(64) })).rejects.toThrow(NotFoundError);
    const seen: string[] = [];
    let token = '';
    do {
      const page = await core.listVersions({ datasetName: '', pageSize: 2, pageToken: token });
      seen.push(...page.versions.map((v) => v.digest));
      token = page.nextPageToken;
    } while (token);
    expect(seen).toEqual([...digests].reverse());
    expect((await core.listVersions({ datasetName: 'odd', pageSize: 0, pageToken: '' })).versions).toHaveLength(3);
    await expect(core.listVersions({ datasetName: '', pageSize: 0, pageToken: 'garbage!' })).rejects.toThrow(/page_token/);
    const ds = await core.listDatasets({ pageSize: 1, pageToken: '' });
    expect(ds.datasets.map((d) => [d.name, d.versionCount])).toEqual([['even', 2]]);
    const next = await core.listDatasets({ pageSize: 1, pageToken: ds.nextPageToken });
    expect(next.datasets.map((d) => [d.name, d.versionCount, d.latestDigest])).toEqual([['odd', 3, digests[4]]]);
    expect(next.nextPageToken).toBe('');
  });

  it('refuses to delete a version an unfinished job uses, from the job events, in any order', async () => {
    const { core, deps } = setup();
    const v = (await importText(core, deps, rowsJson(3))).version!;
    const evt = (state: training.JobState, sequence: number) => ({ job: { jobId: 'job_1', datasetDigest: v.digest } as training.Job, previousState: 0, state, reason: '', time: new Date(), sequence });
    await core.recordJobState(evt(training.JobState.JOB_STATE_RUNNING, 3));
    expect((await core.getVersion({ digest: v.digest })).inUse).toBe(true);
    await expect(core.deleteVersion({ digest: v.digest })).rejects.toThrow(FailedPreconditionError);
    await expect(core.deleteVersion({ digest: v.digest })).rejects.toThrow(/job_1/);
    await core.recordJobState(evt(training.JobState.JOB_STATE_SUCCEEDED, 5));
    await core.recordJobState(evt(training.JobState.JOB_STATE_QUEUED, 2)); // late, older: ignored
    expect((await core.getVersion({ digest: v.digest })).inUse).toBe(false);
    expect(await core.deleteVersion({ digest: v.digest })).toEqual({ digest: v.digest });
    expect(deps.events.deleted).toEqual([{ digest: v.digest, datasetName: 'demo' }]);
    expect(deps.rows.rows.size).toBe(0);
    await expect(core.getVersion({ digest: v.digest })).rejects.toThrow(NotFoundError);
  });

  it('previews rows of a version or a file through a template', async () => {
    const { core, deps } = setup();
    const v = (await importText(core, deps, rowsJson(6))).version!;
    const p = await core.previewFormatted(dataset.PreviewFormattedRequest.fromPartial({ source: { $case: 'digest', digest: v.digest }, offset: 2, limit: 2 }));
    expect(p.rows.map((r) => r.index)).toEqual([2, 3]);
    expect(p.rows[0]!.prompt.endsWith('<think>')).toBe(true);
    const en = await core.previewFormatted(dataset.PreviewFormattedRequest.fromPartial({ source: { $case: 'path', path: '/data/f.json' }, tokenizerDir: '/m', templateName: 'medical-o1-en', offset: 4 }));
    expect(en.template!.name).toBe('medical-o1-en');
    expect(en.rows.map((r) => [r.index, r.text.includes('question 4?')])).toEqual([
      [4, true],
      [5, false],
    ]);
    expect(en.rows[0]!.tokenCount).toBeGreaterThan(0);
  });
});

describe('templates', () => {
  it('registers, refuses changes, lists built-ins first', async () => {
    const { core } = setup();
    const t = { name: 'short', description: '', inferenceFormat: 'Q: {question}\nA:', trainFormat: 'Q: {question}\nA: {cot}\n{response}', language: 'en', builtin: true };
    expect(await core.registerTemplate({ template: t })).toEqual({ template: { ...t, builtin: false }, created: true });
    expect((await core.registerTemplate({ template: t })).created).toBe(false);
    await expect(core.registerTemplate({ template: { ...t, description: 'other' } })).rejects.toThrow(/different template/);
    await expect(core.registerTemplate({ template: { ...t, name: 'medical-o1-zh' } })).rejects.toThrow(/built in/);
    await expect(core.registerTemplate({ template: { ...t, trainFormat: '{question}{bogus}' } })).rejects.toThrow(/template.train_format: unknown placeholder \{bogus\}/);
    expect((await core.listTemplates()).templates.map((x) => x.name)).toEqual(['medical-o1-zh', 'medical-o1-en', 'short']);
    expect((await core.getTemplate({ name: 'short' })).template!.trainFormat).toBe(t.trainFormat);
  });
});
