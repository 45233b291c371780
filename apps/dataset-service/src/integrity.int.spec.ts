/**
 * Input integrity (issue 13) against the real service: FerretDB, NATS, gRPC on port 0, the shared
 * tokenizer. Re-imports of stored content never fail with INTERNAL, a second name for the same
 * content is found under that name, and values the importer would have to alter are reported.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dataset } from '@medtune/contracts';
import { createClient, createLogger, type DomainError, type KitClient } from '@medtune/kit';
import { testMongo, testNats, type TestMongo, type TestNats } from '@medtune/testing';
import { startDataset, type DatasetApp } from './app';
import { loadDatasetConfig } from './config';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const shared = path.resolve(repoRoot, '../shared');
const TOKENIZER_DIR = path.join(shared, 'models/deepseek-r1-distill-qwen/bpe');
const ZH = path.join(shared, 'data/sft/medical_o1_sft_Chinese_subset916.json');

type SeedRow = { Question: string; Complex_CoT: string; Response: string };
type Client = KitClient<typeof dataset.DatasetServiceService>;
const P = dataset.InvalidRowPolicy;

let nats: TestNats;
let mongo: TestMongo;
let app: DatasetApp;
let client: Client;
let tmp: string;
let zhRows: SeedRow[];

beforeAll(async () => {
  nats = await testNats();
  mongo = await testMongo();
  tmp = await mkdtemp(path.join(os.tmpdir(), 'medtune-integrity-'));
  zhRows = (JSON.parse(await readFile(ZH, 'utf8')) as SeedRow[]).slice(0, 40);
  const cfg = loadDatasetConfig({
    MEDTUNE_DATASET_GRPC_ADDR: '127.0.0.1:0',
    MEDTUNE_DATASET_DB: mongo.dbName,
    MEDTUNE_NATS_URL: nats.url,
    MEDTUNE_MONGODB_URI: mongo.uri,
    MEDTUNE_NATS_NAMESPACE: nats.id,
    MEDTUNE_DATASET_TOKENIZER_THREADS: '1',
    MEDTUNE_LOG_LEVEL: 'warn',
  });
  app = await startDataset(cfg, createLogger({ service: 'dataset-integrity-test', level: 'warn' }));
  client = createClient(dataset.DatasetServiceClient, `127.0.0.1:${app.port}`, { defaultDeadlineMs: 120_000 });
});

afterAll(async () => {
  client?.close();
  if (app) {
    await Promise.all([...app.consumers.map((c) => c.stop()), app.server.shutdown({ graceMs: 2_000 })]);
    await app.stopBackground();
    await app.nc.drain();
    await app.mongo.close();
  }
  await nats?.cleanup();
  await mongo?.cleanup();
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

const opts = (o: Partial<dataset.ImportOptions>): dataset.ImportOptions => dataset.ImportOptions.fromPartial({ tokenizerDir: TOKENIZER_DIR, ...o });

async function fixture(name: string, data: string | Buffer): Promise<string> {
  const file = path.join(tmp, name);
  await writeFile(file, data);
  return file;
}

async function importFile(file: string, o: Partial<dataset.ImportOptions>) {
  let result: dataset.ImportResult | undefined;
  let error: (DomainError & { code?: number; field?: string }) | undefined;
  try {
    for await (const msg of client.serverStream('importDataset', { path: file, options: opts(o) })) {
      if (msg.event?.$case === 'result') result = msg.event.result;
    }
  } catch (err) {
    error = err as DomainError;
  }
  return { result, error };
}

describe('content that is already stored', () => {
  it('a JSONL file with the rows of an imported JSON array answers with the existing version, not INTERNAL', async () => {
    const rows = zhRows.slice(0, 12);
    const first = await importFile(await fixture('a.json', JSON.stringify(rows)), { datasetName: 'same-a' });
    expect(first.error).toBeUndefined();
    expect(first.result!.created).toBe(true);
    const again = await importFile(await fixture('a.jsonl', rows.map((r) => JSON.stringify(r)).join('\n')), { datasetName: 'same-a' });
    expect(again.error).toBeUndefined();
    expect(again.result!.created).toBe(false);
    expect(again.result!.version!.digest).toBe(first.result!.version!.digest);
    expect(again.result!.existingDatasetName).toBe('same-a');
    expect(again.result!.nameAdded).toBe(false);
  });

  it('the same content under a second --name is listed under that name, and the answer says so', async () => {
    const rows = zhRows.slice(12, 24);
    const file = await fixture('b.json', JSON.stringify(rows));
    const first = await importFile(file, { datasetName: 'name-a' });
    expect(first.result!.created).toBe(true);
    // Same bytes (found by import key) and the same rows in another layout (found by digest).
    const sameBytes = await importFile(file, { datasetName: 'name-b' });
    const otherLayout = await importFile(await fixture('b.jsonl', rows.map((r) => JSON.stringify(r)).join('\n')), { datasetName: 'name-c' });
    for (const [again, name] of [
      [sameBytes, 'name-b'],
      [otherLayout, 'name-c'],
    ] as const) {
      expect(again.error).toBeUndefined();
      expect(again.result!.created).toBe(false);
      expect(again.result!.nameAdded).toBe(true);
      expect(again.result!.existingDatasetName).toBe('name-a');
      expect(again.result!.version!.digest).toBe(first.result!.version!.digest);
      const ds = await client.unary('getDataset', { name });
      expect(ds.dataset).toMatchObject({ name, latestDigest: first.result!.version!.digest, versionCount: 1 });
      const listed = await client.unary('listVersions', { datasetName: name, pageSize: 10, pageToken: '' });
      expect(listed.versions.map((v) => v.digest)).toEqual([first.result!.version!.digest]);
    }
    const names = (await client.unary('listDatasets', { pageSize: 100, pageToken: '' })).datasets.map((d) => d.name);
    expect(names).toEqual(expect.arrayContaining(['name-a', 'name-b', 'name-c']));
    const got = await client.unary('getVersion', { digest: first.result!.version!.digest });
    expect(got.version!.datasetName).toBe('name-a');
    expect([...got.version!.otherNames].sort()).toEqual(['name-b', 'name-c']);
    // Importing it a third time under a name it already has adds nothing.
    const known = await importFile(file, { datasetName: 'name-b' });
    expect(known.result!.nameAdded).toBe(false);
  });
});

describe('values the importer would have to alter', () => {
  it('a lone UTF-16 surrogate escape is a reported issue on its row, never stored as U+FFFD', async () => {
    const rows = zhRows.slice(24, 30).map((r) => JSON.stringify(r));
    rows[3] = rows[3]!.replace('"Question":"', '"Question":"\\ud800 ');
    const file = await fixture('surrogate.jsonl', rows.join('\n'));
    const rejected = await importFile(file, { datasetName: 'surrogate' });
    expect(rejected.error).toBeDefined();
    expect(rejected.error!.message).toMatch(/row 4, column Question: .*lone UTF-16 surrogate/);
    const kept = await importFile(file, { datasetName: 'surrogate', invalidRowPolicy: P.INVALID_ROW_POLICY_SKIP_INVALID });
    expect(kept.result!.version!.rowCount).toBe(5);
    expect(kept.result!.report!.firstIssues.map((i) => [i.row, i.column, dataset.RowIssueCode[i.code]])).toEqual([[4, 'Question', 'ROW_ISSUE_CODE_INVALID_UTF8']]);
    // A valid surrogate pair (an emoji, escaped) is fine.
    const pair = zhRows.slice(30, 33).map((r) => JSON.stringify(r));
    pair[1] = pair[1]!.replace('"Question":"', '"Question":"\\ud83d\\ude00 ');
    const ok = await importFile(await fixture('pair.jsonl', pair.join('\n')), { datasetName: 'pair' });
    expect(ok.error).toBeUndefined();
    expect(ok.result!.version!.rowCount).toBe(3);
  });

  it('a file that collapses to one distinct row under de-duplication is refused with the count of duplicates', async () => {
    const file = await fixture('all-dups.jsonl', Array.from({ length: 9 }, () => JSON.stringify(zhRows[35])).join('\n'));
    const { error, result } = await importFile(file, { datasetName: 'all-dups' });
    expect(error).toBeDefined();
    expect(error!.message).toMatch(/all 9 rows are the same row: 8 duplicates removed/);
    expect(result!.report!.rejected).toBe(true);
    expect(result!.report!.rowsDuplicate).toBe(8);
    // Kept on request, they import as they are.
    const kept = await importFile(file, { datasetName: 'all-dups', duplicatePolicy: dataset.DuplicatePolicy.DUPLICATE_POLICY_KEEP_AND_REPORT });
    expect(kept.result!.version!.rowCount).toBe(9);
  });
});
