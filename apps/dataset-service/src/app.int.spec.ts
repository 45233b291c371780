/**
 * The dataset service against real servers: FerretDB, NATS JetStream, gRPC on port 0, the real
 * tokenizer of ../shared/models, and fixtures generated here from ../shared/data (never copied
 * into the repository). Expected token counts come from the tokenizer lib's single-thread
 * TypeScript engine, not from the service's worker pool.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dataset, events, JOB_STATE_SUBJECTS, training } from '@medtune/contracts';
import { FailedPreconditionError, NotFoundError, createClient, createLogger, createPublisher, natsNamespace, type DomainError, type KitClient } from '@medtune/kit';
import { MEDICAL_O1_EN, MEDICAL_O1_ZH, renderTraining } from '@medtune/prompting';
import { collectEvents, testMongo, testNats, waitFor, type EventCollector, type TestMongo, type TestNats } from '@medtune/testing';
import { loadTokenizer } from '@medtune/tokenizer';
import { startDataset, type DatasetApp } from './app';
import { loadDatasetConfig } from './config';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const shared = path.resolve(repoRoot, '../shared');
const TOKENIZER_DIR = path.join(shared, 'models/deepseek-r1-distill-qwen/bpe');
const ZH = path.join(shared, 'data/sft/medical_o1_sft_Chinese_subset916.json');
const EN = path.join(shared, 'data/sft/huatuogpt_o1_demo_data_en198.json');
const EOS = '<｜end▁of▁sentence｜>';

type SeedRow = { Question: string; Complex_CoT: string; Response: string };
type Client = KitClient<typeof dataset.DatasetServiceService>;
const S = dataset.Split;
const P = dataset.InvalidRowPolicy;

let nats: TestNats;
let mongo: TestMongo;
let app: DatasetApp;
let client: Client;
let collector: EventCollector;
let tmp: string;
let zhRows: SeedRow[];

beforeAll(async () => {
  nats = await testNats();
  mongo = await testMongo();
  tmp = await mkdtemp(path.join(os.tmpdir(), 'medtune-dataset-'));
  zhRows = JSON.parse(await readFile(ZH, 'utf8')) as SeedRow[];
  const cfg = loadDatasetConfig({
    MEDTUNE_DATASET_GRPC_ADDR: '127.0.0.1:0',
    MEDTUNE_DATASET_DB: mongo.dbName,
    MEDTUNE_NATS_URL: nats.url,
    MEDTUNE_MONGODB_URI: mongo.uri,
    MEDTUNE_NATS_NAMESPACE: nats.id,
    MEDTUNE_DATASET_TOKENIZER_THREADS: '2',
    MEDTUNE_LOG_LEVEL: 'warn',
  });
  collector = await collectEvents(nats.nc, nats.subject('medtune.dataset.>'));
  app = await startDataset(cfg, createLogger({ service: 'dataset-service-test', level: 'warn' }));
  client = createClient(dataset.DatasetServiceClient, `127.0.0.1:${app.port}`, {
    defaultDeadlineMs: 120_000,
    channelOptions: { 'grpc.max_receive_message_length': 64 << 20 },
  });
});

afterAll(async () => {
  client?.close();
  if (app) {
    await Promise.all([...app.consumers.map((c) => c.stop()), app.server.shutdown({ graceMs: 2_000 })]);
    await app.stopBackground();
    await app.nc.drain();
    await app.mongo.close();
  }
  await collector?.stop();
  await nats?.cleanup();
  await mongo?.cleanup();
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

const opts = (o: Partial<dataset.ImportOptions> = {}): dataset.ImportOptions =>
  dataset.ImportOptions.fromPartial({ datasetName: 'medical-o1', tokenizerDir: TOKENIZER_DIR, ...o });

async function fixture(name: string, data: string | Buffer): Promise<string> {
  const file = path.join(tmp, name);
  await writeFile(file, data);
  return file;
}

/** ImportDataset: the progress messages and the result, or the error with the result sent before it. */
async function importFile(file: string, o: Partial<dataset.ImportOptions> = {}) {
  const progress: dataset.ImportProgress[] = [];
  let result: dataset.ImportResult | undefined;
  let error: DomainError | undefined;
  try {
    for await (const msg of client.serverStream('importDataset', { path: file, options: opts(o) })) {
      if (msg.event?.$case === 'progress') progress.push(msg.event.progress);
      if (msg.event?.$case === 'result') result = msg.event.result;
    }
  } catch (err) {
    error = err as DomainError;
  }
  return { progress, result, error };
}

async function rows(digest: string, split = S.SPLIT_ALL, offset = 0, limit = 0): Promise<dataset.Row[]> {
  const out: dataset.Row[] = [];
  for await (const msg of client.serverStream('streamRows', { digest, split, offset, limit })) out.push(msg.row!);
  return out;
}

/** Nearest-rank percentile, written out again here so that the service's stats are checked, not reused. */
function nearestRank(sorted: number[], p: number): number {
  return sorted[Math.max(1, Math.ceil((p / 100) * sorted.length)) - 1]!;
}

async function expectedCounts(texts: string[]): Promise<number[]> {
  const tok = await loadTokenizer(TOKENIZER_DIR, { engine: 'ts', eosToken: EOS });
  return texts.map((t) => tok.count(t));
}

/** The rows_* / issues_* collections, to check that nothing half-written stays behind. */
async function rowCollections(): Promise<string[]> {
  return (await mongo.db.listCollections().toArray()).map((c) => c.name).filter((n) => n.startsWith('rows_'));
}

async function readyDigests(): Promise<string[]> {
  return (await mongo.db.collection('versions').find({}).toArray()).map((d) => `${d.state}:${d.digest}`);
}

describe('the 916-row Chinese set (seed schema, seed template)', () => {
  let version: dataset.DatasetVersion;
  let expected: number[];

  it('imports with the right counts, token statistics, split and lineage, streaming progress', async () => {
    expected = await expectedCounts(zhRows.map((r) => renderTraining(MEDICAL_O1_ZH, r.Question, r.Complex_CoT, r.Response, EOS)));
    const { progress, result, error } = await importFile(ZH);
    expect(error).toBeUndefined();
    expect(result!.created).toBe(true);
    version = result!.version!;
    expect([version.rowCount, version.trainRows, version.evalRows]).toEqual([916, 898, 18]);
    const sorted = [...expected].sort((a, b) => a - b);
    expect(version.tokenStats).toEqual({
      rows: 916,
      totalTokens: sorted.reduce((a, b) => a + b, 0),
      mean: sorted.reduce((a, b) => a + b, 0) / 916,
      p50: nearestRank(sorted, 50),
      p90: nearestRank(sorted, 90),
      p99: nearestRank(sorted, 99),
      max: sorted[915],
      min: sorted[0],
      rowsOverMaxSeqLength: sorted.filter((n) => n > 4096).length,
      maxSeqLength: 4096,
    });
    expect(version.lineage).toMatchObject({
      sourceName: 'medical_o1_sft_Chinese_subset916.json',
      sourceSha256: (await import('node:crypto')).createHash('sha256').update(await readFile(ZH)).digest('hex'),
      eosToken: EOS,
      tokenizerDir: TOKENIZER_DIR,
      template: { name: 'medical-o1-zh', trainFormat: MEDICAL_O1_ZH.trainFormat },
    });
    expect(version.lineage!.tokenizerFingerprint).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(result!.report).toMatchObject({ rowsTotal: 916, rowsValid: 916, rowsInvalid: 0, rowsDuplicate: 0, rejected: false });
    expect(progress.length).toBeGreaterThanOrEqual(1);
    expect(progress.at(-1)!.totalBytes).toBe((await readFile(ZH)).length);
    const ready = await collector.waitFor(nats.subject('medtune.dataset.version.ready'));
    const evt = events.DatasetVersionReady.decode(ready.data);
    expect([evt.version!.digest, evt.created, evt.version!.tokenStats!.p50]).toEqual([version.digest, true, version.tokenStats!.p50]);
    expect(ready.headers['ce-source']).toBe('medtune/dataset-service');
  });

  it('streams every row with its exact token count and the seed-rendered text', async () => {
    const all = await rows(version.digest);
    expect(all.map((r) => r.sourceRow)).toEqual(zhRows.map((_, i) => i + 1));
    expect(all.map((r) => r.tokenCount)).toEqual(expected);
    const r0 = zhRows[0]!;
    expect(all[0]!.text).toBe(renderTraining(MEDICAL_O1_ZH, r0.Question, r0.Complex_CoT, r0.Response, EOS));
    expect(all[0]!.prompt.endsWith('### Response:\n  <think>')).toBe(true);
  });

  it('resumes a split from an offset', async () => {
    const train = await rows(version.digest, S.SPLIT_TRAIN);
    const evalRows = await rows(version.digest, S.SPLIT_EVAL);
    expect([train.length, evalRows.length]).toEqual([898, 18]);
    expect(new Set([...train, ...evalRows].map((r) => r.sourceRow)).size).toBe(916);
    const resumed = await rows(version.digest, S.SPLIT_TRAIN, 500, 7);
    expect(resumed.map((r) => [r.index, r.sourceRow])).toEqual(train.slice(500, 507).map((r) => [r.index, r.sourceRow]));
    const evalTail = await rows(version.digest, S.SPLIT_EVAL, 15);
    expect(evalTail.map((r) => r.sourceRow)).toEqual(evalRows.slice(15).map((r) => r.sourceRow));
    await expect(rows(version.digest, S.SPLIT_EVAL, 19)).rejects.toThrow(/beyond the eval split's 18 rows/);
  });

  it('is idempotent: importing again returns the same version, created=false', async () => {
    const again = await importFile(ZH);
    expect(again.result!.created).toBe(false);
    expect(again.result!.version!.digest).toBe(version.digest);
    expect((await readyDigests()).filter((d) => d.startsWith('ready:'))).toHaveLength(1);
  });

  it('serves Get / List with prefixes and page tokens', async () => {
    const got = await client.unary('getVersion', { digest: version.digest.slice(0, 16) });
    expect([got.version!.digest, got.inUse]).toEqual([version.digest, false]);
    const ds = await client.unary('getDataset', { name: 'medical-o1' });
    expect(ds.dataset).toMatchObject({ name: 'medical-o1', latestDigest: version.digest, versionCount: 1 });
    const preview = await client.unary('previewFormatted', { source: { $case: 'digest', digest: version.digest }, templateName: '', tokenizerDir: '', offset: 1, limit: 2, mapping: undefined });
    expect(preview.rows.map((r) => [r.index, r.tokenCount])).toEqual([
      [1, expected[1]],
      [2, expected[2]],
    ]);
  });
});

describe('the 198-row English set (English template, extra columns kept)', () => {
  it('imports with counts and token statistics, the unmapped columns as metadata', async () => {
    const enRows = JSON.parse(await readFile(EN, 'utf8')) as (SeedRow & Record<string, unknown>)[];
    const expected = await expectedCounts(enRows.map((r) => renderTraining(MEDICAL_O1_EN, r.Question, r.Complex_CoT, r.Response, EOS)));
    const { result, error } = await importFile(EN, { datasetName: 'huatuo-en', templateName: 'medical-o1-en', evalRatio: 0.05 });
    expect(error).toBeUndefined();
    const v = result!.version!;
    expect([v.rowCount, v.trainRows, v.evalRows]).toEqual([198, 188, 10]);
    const sorted = [...expected].sort((a, b) => a - b);
    expect([v.tokenStats!.p50, v.tokenStats!.p90, v.tokenStats!.p99, v.tokenStats!.max, v.tokenStats!.totalTokens]).toEqual([
      nearestRank(sorted, 50),
      nearestRank(sorted, 90),
      nearestRank(sorted, 99),
      sorted[197],
      sorted.reduce((a, b) => a + b, 0),
    ]);
    const all = await rows(v.digest);
    expect(all.map((r) => r.tokenCount)).toEqual(expected);
    const meta = JSON.parse(all[0]!.metadataJson) as Record<string, unknown>;
    expect(Object.keys(meta).sort()).toEqual(['Ground-True Answer', 'Open-ended Verifiable Question', 'answer', 'answer_idx', 'options', 'question']);
    expect(meta.options).toEqual(enRows[0]!.options);
  });
});

describe('bad input: a clear error or report with row numbers, nothing stored half-way', () => {
  const zhText = () => JSON.stringify(zhRows.slice(0, 40), null, 1);

  it('a truncated file', async () => {
    const before = await rowCollections();
    const text = zhText();
    const file = await fixture('truncated.json', text.slice(0, Math.floor(text.length * 0.6)));
    const { result, error } = await importFile(file, { datasetName: 'bad' });
    expect(error).toBeInstanceOf(FailedPreconditionError);
    expect(error!.message).toMatch(/the file ends at byte \d+ inside row \d+, which starts at byte \d+: truncated/);
    expect(result!.report!.rejected).toBe(true);
    expect(await rowCollections()).toEqual(before);
    const failed = await collector.waitFor((e) => e.subject === nats.subject('medtune.dataset.version.failed') && events.DatasetVersionFailed.decode(e.data).sourceName === 'truncated.json');
    expect(events.DatasetVersionFailed.decode(failed.data).reason).toMatch(/truncated/);
  });

  it('malformed JSON: a row that does not parse, and a broken structure', async () => {
    const rowsText = zhRows.slice(0, 5).map((r) => JSON.stringify(r));
    rowsText[3] = '{"Question": "q", "Complex_CoT": , "Response": "r"}';
    const one = await importFile(await fixture('malformed-row.json', `[${rowsText.join(',\n')}]`), { datasetName: 'bad' });
    expect(one.error!.message).toMatch(/1 invalid row .*first: row 4: malformed JSON \(row starts at byte \d+\)/);
    expect(one.result!.report!.firstIssues[0]).toMatchObject({ row: 4, code: dataset.RowIssueCode.ROW_ISSUE_CODE_MALFORMED_JSON });
    const broken = await importFile(await fixture('malformed-structure.json', `[${rowsText.slice(0, 2).join(',')} ${rowsText[4]}]`), { datasetName: 'bad' });
    expect(broken.error!.message).toMatch(/after row 2: expected ',' or '\]' at byte \d+, found '\{'/);
    const skip = await importFile(await fixture('malformed-row-skip.json', `[${rowsText.join(',\n')}]`), { datasetName: 'bad', invalidRowPolicy: P.INVALID_ROW_POLICY_SKIP_INVALID });
    expect(skip.result!.version!.rowCount).toBe(4);
  });

  it('wrong column types, every bad row listed and paged through GetValidationReport', async () => {
    const before = await rowCollections();
    const bad = zhRows.slice(0, 30).map((r, i) => (i % 4 === 1 ? { ...r, Response: i } : i % 4 === 2 ? { ...r, Question: null } : r));
    const { result, error } = await importFile(await fixture('types.json', JSON.stringify(bad)), { datasetName: 'bad' });
    expect(error!.message).toMatch(/15 invalid rows .*first: row 2, column Response: column Response: expected a string, got number/);
    expect(await rowCollections()).toEqual(before);
    const issues: dataset.RowIssue[] = [];
    let pageToken = '';
    do {
      const page = await client.unary('getValidationReport', { reportId: result!.report!.reportId, fatalOnly: true, pageSize: 4, pageToken });
      issues.push(...page.issues);
      pageToken = page.nextPageToken;
    } while (pageToken);
    expect(issues.map((i) => [i.row, i.column])).toEqual(
      bad.flatMap((_, i) => (i % 4 === 1 ? [[i + 1, 'Response']] : i % 4 === 2 ? [[i + 1, 'Question']] : [])),
    );
    expect(issues.find((i) => i.column === 'Question')!.message).toBe('column Question: expected a string, got null');
  });

  it('a 10 MB single row imports (reported over the token limit) and streams back whole', async () => {
    const parts: string[] = [];
    for (let i = 0, bytes = 0; bytes < 10 << 20; i++) {
      parts.push(zhRows[i % zhRows.length]!.Complex_CoT + '\n');
      bytes += Buffer.byteLength(parts[i]!);
    }
    const cot = parts.join('');
    const file = await fixture('big-row.json', JSON.stringify([{ Question: zhRows[0]!.Question, Complex_CoT: cot, Response: zhRows[0]!.Response }]));
    const { result, error } = await importFile(file, { datasetName: 'big-row' });
    expect(error).toBeUndefined();
    expect(result!.version!.rowCount).toBe(1);
    expect(result!.report!.firstIssues[0]).toMatchObject({ row: 1, code: dataset.RowIssueCode.ROW_ISSUE_CODE_OVER_TOKEN_LIMIT, fatal: false });
    expect(result!.version!.tokenStats!.max).toBeGreaterThan(2_000_000);
    const [back] = await rows(result!.version!.digest, S.SPLIT_TRAIN);
    expect(back!.cot).toBe(cot);
  });

  it('invalid UTF-8 is found in its row, with the byte offset', async () => {
    const lines = zhRows.slice(0, 6).map((r) => Buffer.from(JSON.stringify(r)));
    const bad = Buffer.from(lines[2]!);
    bad[20] = 0xff;
    const file = await fixture('utf8.jsonl', Buffer.concat([lines[0]!, lines[1]!, bad, ...lines.slice(3)].flatMap((l) => [l, Buffer.from('\n')])));
    const rejected = await importFile(file, { datasetName: 'bad' });
    expect(rejected.error!.message).toMatch(/first: row 3: not valid UTF-8: byte 0xff at byte \d+ of the file \(offset 20 in the row\)/);
    const kept = await importFile(file, { datasetName: 'bad', invalidRowPolicy: P.INVALID_ROW_POLICY_SKIP_INVALID });
    expect(kept.result!.version!.rowCount).toBe(5);
    expect(kept.result!.report!.firstIssues.map((i) => [i.row, dataset.RowIssueCode[i.code]])).toEqual([[3, 'ROW_ISSUE_CODE_INVALID_UTF8']]);
  });

  it('an empty file', async () => {
    const { error, result } = await importFile(await fixture('empty.json', ''), { datasetName: 'bad' });
    expect(error!.message).toMatch(/the file is empty/);
    expect(result!.report!.rejected).toBe(true);
  });

  it('a file of only duplicates is refused (it would collapse to one row) and reports the others', async () => {
    const file = await fixture('dups.jsonl', Array.from({ length: 12 }, () => JSON.stringify(zhRows[7])).join('\n'));
    const { result, error } = await importFile(file, { datasetName: 'dups' });
    expect(error!.message).toMatch(/all 12 rows are the same row: 11 duplicates removed/);
    expect(result!.report!.rejected).toBe(true);
    expect(result!.report!.rowsDuplicate).toBe(11);
    expect(result!.report!.firstIssues.slice(0, 2).map((i) => [i.row, i.duplicateOfRow])).toEqual([
      [2, 1],
      [3, 1],
    ]);
  });

  it('bad options are INVALID_ARGUMENT naming the field; a missing file is NOT_FOUND', async () => {
    const a = await importFile(ZH, { evalRatio: 0.7 });
    expect(a.error!.message).toMatch(/options.eval_ratio/);
    expect((a.error as DomainError & { field?: string }).field).toBe('options.eval_ratio');
    const b = await importFile(path.join(tmp, 'nope.json'));
    expect(b.error).toBeInstanceOf(NotFoundError);
    const c = await importFile(ZH, { tokenizerDir: path.join(tmp, 'no-model') });
    expect(c.error!.message).toMatch(/tokenizer_dir: no directory/);
  });

  it('leaves no IMPORTING record and no stray rows collection', async () => {
    const states = await readyDigests();
    expect(states.every((s) => s.startsWith('ready:'))).toBe(true);
    expect((await rowCollections()).length).toBe(states.length);
  });
});

describe('upload (client streaming)', () => {
  it('imports uploaded bytes; the same content as a file import gives the same version', async () => {
    const bytes = Buffer.from(JSON.stringify(zhRows.slice(100, 160)));
    async function* parts(): AsyncGenerator<dataset.UploadDatasetRequest> {
      yield { part: { $case: 'options', options: opts({ datasetName: 'uploaded' }) } };
      for (let i = 0; i < bytes.length; i += 4096) yield { part: { $case: 'chunk', chunk: bytes.subarray(i, i + 4096) } };
    }
    const up = await client.clientStream('uploadDataset', parts());
    expect(up.result!.created).toBe(true);
    expect(up.result!.version!.rowCount).toBe(60);
    expect(up.result!.version!.lineage!.sourceName).toBe('upload');
    const viaFile = await importFile(await fixture('same.json', bytes), { datasetName: 'uploaded' });
    expect(viaFile.result!.created).toBe(false);
    expect(viaFile.result!.version!.digest).toBe(up.result!.version!.digest);
    await expect(client.clientStream('uploadDataset', [{ part: { $case: 'chunk', chunk: Buffer.from('[]') } }])).rejects.toThrow(/first message must carry the import options/);
  });
});

describe('deletion', () => {
  it('is refused while an unfinished training job uses the version (learnt from job events), then done', async () => {
    const { result } = await importFile(await fixture('to-delete.json', JSON.stringify(zhRows.slice(200, 230))), { datasetName: 'to-delete' });
    const digest = result!.version!.digest;
    const pub = createPublisher(nats.nc, { source: 'medtune/training-service', namespace: natsNamespace(nats.id) });
    const jobEvent = (state: training.JobState, sequence: number) =>
      pub.publish(JOB_STATE_SUBJECTS.get(state)!, events.JobStateChanged.fromPartial({ job: { jobId: 'job_it_1', datasetDigest: digest, state }, state, sequence }), { id: `job_it_1:${sequence}` });
    await jobEvent(training.JobState.JOB_STATE_QUEUED, 1);
    await jobEvent(training.JobState.JOB_STATE_RUNNING, 2);
    await waitFor(async () => (await client.unary('getVersion', { digest })).inUse, 15_000, { message: 'the version is in use' });
    await expect(client.unary('deleteVersion', { digest })).rejects.toThrow(/used by training job job_it_1/);
    await expect(client.unary('deleteVersion', { digest })).rejects.toBeInstanceOf(FailedPreconditionError);
    await jobEvent(training.JobState.JOB_STATE_FAILED, 3);
    await waitFor(async () => !(await client.unary('getVersion', { digest })).inUse, 15_000, { message: 'the version is free' });
    expect(await client.unary('deleteVersion', { digest })).toEqual({ digest });
    await expect(client.unary('getVersion', { digest })).rejects.toBeInstanceOf(NotFoundError);
    const deleted = await collector.waitFor(nats.subject('medtune.dataset.version.deleted'));
    expect(events.DatasetVersionDeleted.decode(deleted.data)).toEqual({ digest, datasetName: 'to-delete' });
    expect((await readyDigests()).some((d) => d.endsWith(digest))).toBe(false);
  });

  it('the janitor removes an import a dead process left behind', async () => {
    const old = new Date(Date.now() - 10 * 60_000);
    await mongo.db.collection('versions').insertOne({
      _id: 'ver_deadbeef' as never,
      digest: 'importing:ver_deadbeef',
      state: 'importing',
      datasetName: 'ghost',
      createTime: old,
      importKey: '',
      reportId: 'rpt_deadbeef',
      heartbeatAt: old,
      announced: false,
      version: new (await import('mongodb')).Binary(Buffer.from(dataset.DatasetVersion.encode(dataset.DatasetVersion.fromPartial({ datasetName: 'ghost' })).finish())),
      splitIndex: { every: 1, train: [], eval: [], evalUpTo: null },
    });
    await mongo.db.collection('rows_ver_deadbeef').insertOne({ _id: 0 as never, q: 'q', c: 'c', r: 'r', t: 1, s: 1, k: 1 });
    const swept = await app.core.sweep();
    expect(swept.removedImports).toBe(1);
    expect(await mongo.db.collection('versions').findOne({ _id: 'ver_deadbeef' as never })).toBeNull();
    expect(await rowCollections()).not.toContain('rows_ver_deadbeef');
  });
});

describe('templates over gRPC', () => {
  it('lists built-ins first, registers a user template, refuses a bad one with the field', async () => {
    const t = { name: 'terse-en', description: 'short', inferenceFormat: 'Q: {question}\nA: <think>', trainFormat: 'Q: {question}\nA: <think>{cot}</think>{response}', language: 'en', builtin: false };
    expect((await client.unary('registerTemplate', { template: t })).created).toBe(true);
    const list = await client.unary('listTemplates', {});
    expect(list.templates.map((x) => [x.name, x.builtin])).toEqual([
      ['medical-o1-zh', true],
      ['medical-o1-en', true],
      ['terse-en', false],
    ]);
    await expect(client.unary('registerTemplate', { template: { ...t, name: 'x', trainFormat: '{question}' } })).rejects.toThrow(/template.train_format: must contain \{cot\}/);
    await expect(client.unary('getTemplate', { name: 'nope' })).rejects.toBeInstanceOf(NotFoundError);
  });
});
