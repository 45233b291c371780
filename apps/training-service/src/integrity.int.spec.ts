/**
 * Requests the platform can refute before a GPU sees them (issue 13), against the real training
 * service (gRPC on port 0, NATS, FerretDB) and a real dataset service with the shared tokenizer:
 * unknown target modules and missing model directories, names that look like paths, a
 * max_seq_length the version's token statistics refute; and AdminService is served.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { status } from '@grpc/grpc-js';
import { admin, dataset, training } from '@medtune/contracts';
import { createClient, createLogger, type KitClient } from '@medtune/kit';
import { freePort, printLogsOnFailure, startProcess, testMongo, testNats, type RunningProcess, type TestMongo, type TestNats } from '@medtune/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTraining, type TrainingApp } from './app';
import { loadTrainingConfig } from './config';

printLogsOnFailure();
const repoRoot = path.resolve(import.meta.dirname, '../../..');
const TOKENIZER_DIR = path.resolve(repoRoot, '../shared/models/deepseek-r1-distill-qwen/bpe');
// A config-only model directory (qwen2): module names come from the architecture.
const CONFIG_ONLY_MODEL = path.resolve(repoRoot, '../shared/models/deepseek-r1-distill-qwen/1.5B');
const log = createLogger({ service: 'training-integrity-test', level: 'warn' });

let nats: TestNats;
let mongo: TestMongo;
let ds: RunningProcess;
let dsAddr: string;
let app: TrainingApp;
let jobs: KitClient<typeof training.TrainingServiceService>;
let tmp: string;
let digest: string;
let stats: dataset.TokenStats;
let weightsModel: string;

/** A model directory whose safetensors header names its modules (no tensor data is read). */
async function safetensorsModel(dir: string, keys: string[]): Promise<string> {
  const header = Buffer.from(JSON.stringify(Object.fromEntries(keys.map((k, i) => [k, { dtype: 'F32', shape: [1], data_offsets: [i * 4, i * 4 + 4] }]))));
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(header.length));
  await writeFile(path.join(dir, 'model.safetensors'), Buffer.concat([len, header, Buffer.alloc(keys.length * 4)]));
  await writeFile(path.join(dir, 'config.json'), JSON.stringify({ model_type: 'tinything' }));
  return dir;
}

beforeAll(async () => {
  nats = await testNats();
  mongo = await testMongo();
  tmp = await mkdtemp(path.join(os.tmpdir(), 'training-integrity-'));
  const common = { MEDTUNE_NATS_URL: nats.url, MEDTUNE_NATS_NAMESPACE: nats.id, MEDTUNE_MONGODB_URI: mongo.uri, MEDTUNE_LOG_LEVEL: 'warn' };
  // The dataset service as its own process (apps import only libs).
  dsAddr = `127.0.0.1:${await freePort()}`;
  ds = await startProcess({
    name: 'dataset-service',
    cmd: process.execPath,
    args: ['--import', path.join(repoRoot, 'node_modules/tsx/dist/loader.mjs'), path.join(repoRoot, 'apps/dataset-service/src/main.ts')],
    cwd: repoRoot,
    env: { ...common, TSX_TSCONFIG_PATH: path.join(repoRoot, 'tsconfig.json'), MEDTUNE_DATASET_GRPC_ADDR: dsAddr, MEDTUNE_DATASET_DB: mongo.dbNameFor('dataset'), MEDTUNE_DATASET_TOKENIZER_THREADS: '1' },
    readyWhen: { grpcHealth: dsAddr, service: 'medtune.dataset.v1.DatasetService' },
    readyTimeoutMs: 60_000,
    stopTimeoutMs: 15_000,
  });
  app = await startTraining(
    loadTrainingConfig({
      ...common,
      MEDTUNE_TRAINING_GRPC_ADDR: '127.0.0.1:0',
      MEDTUNE_TRAINING_DB: mongo.dbNameFor('training'),
      MEDTUNE_TRAINING_DATASET_ADDR: dsAddr,
      MEDTUNE_TRAINING_ARTIFACT_ROOT: `file://${tmp}/artifacts`,
    }),
    log,
  );
  jobs = createClient(training.TrainingServiceClient, `127.0.0.1:${app.port}`, { defaultDeadlineMs: 20_000, retry: false });
  // A real version: rows of 100+ tokens each.
  const file = path.join(tmp, 'rows.jsonl');
  const long = 'the patient presents with chest pain and hypotension; '.repeat(12);
  await writeFile(file, [1, 2, 3, 4, 5].map((i) => JSON.stringify({ Question: `${long} case ${i}`, Complex_CoT: `reasoning ${i} ${long}`, Response: `answer ${i}` })).join('\n'));
  const dsClient = createClient(dataset.DatasetServiceClient, dsAddr, { defaultDeadlineMs: 60_000 });
  for await (const msg of dsClient.serverStream('importDataset', { path: file, options: dataset.ImportOptions.fromPartial({ datasetName: 'integrity', tokenizerDir: TOKENIZER_DIR }) })) {
    if (msg.event?.$case === 'result') {
      digest = msg.event.result.version!.digest;
      stats = msg.event.result.version!.tokenStats!;
    }
  }
  dsClient.close();
  weightsModel = await safetensorsModel(await mkdtemp(path.join(tmp, 'model-')), ['model.embed_tokens.weight', 'model.layers.0.attn.qkv.weight', 'model.layers.0.attn.out.weight', 'lm_head.weight']);
}, 180_000);

afterAll(async () => {
  jobs?.close();
  if (app) {
    await Promise.all([app.stopBackground(), app.server.shutdown({ graceMs: 500 })]);
    await app.nc.drain();
    await app.mongo.close();
  }
  await ds?.stop();
  await nats?.cleanup();
  await mongo?.cleanup();
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

const req = (p: Parameters<typeof training.CreateJobRequest.fromPartial>[0]) =>
  training.CreateJobRequest.fromPartial({ idempotencyKey: `k-${Math.random()}`, datasetDigest: digest, baseModel: CONFIG_ONLY_MODEL, ...p });

async function refusal(p: Parameters<typeof req>[0]): Promise<{ code: number; message: string; field?: string }> {
  try {
    const res = await jobs.unary('createJob', req(p));
    throw new Error(`accepted: job ${res.job?.jobId}`);
  } catch (err) {
    const e = err as { code: number; message: string; field?: string };
    if (e.message.startsWith('accepted')) throw err;
    return e;
  }
}

describe('CreateJob refuses what would only fail on a worker', () => {
  it('unknown target modules: INVALID_ARGUMENT naming lora.target_modules[i] (architecture and weights)', async () => {
    const a = await refusal({ lora: { targetModules: ['q_proj', 'nonexistent'] } });
    expect(a.code).toBe(status.INVALID_ARGUMENT);
    expect(a.message).toMatch(/lora\.target_modules\[1\]: the qwen2 model at .* has no module "nonexistent"/);
    const b = await refusal({ baseModel: weightsModel, lora: { targetModules: ['qkv', 'q_proj'] } });
    expect(b.code).toBe(status.INVALID_ARGUMENT);
    expect(b.message).toMatch(/lora\.target_modules\[1\]: .*has no module "q_proj" \(its modules: .*qkv/);
    const ok = await jobs.unary('createJob', req({ baseModel: weightsModel, lora: { targetModules: ['qkv', 'attn.out'] } }));
    expect(ok.created).toBe(true);
  });

  it('a missing model directory is FAILED_PRECONDITION naming base_model', async () => {
    const e = await refusal({ baseModel: path.join(tmp, 'no-such-model') });
    expect(e.code).toBe(status.FAILED_PRECONDITION);
    expect(e.message).toMatch(/base_model: no model directory at /);
    const notModel = await refusal({ baseModel: tmp });
    expect(notModel.message).toMatch(/base_model: .* has no readable config\.json/);
  });

  it('names that look like paths are INVALID_ARGUMENT naming the field', async () => {
    for (const [p, field] of [
      [{ experiment: '../../etc/passwd' }, 'experiment'],
      [{ displayName: '../../etc/passwd' }, 'display_name'],
      [{ tags: { '../../etc/passwd': 'x' } }, 'tags'],
      [{ tags: { team: 'a\nb' } }, 'tags["team"]'],
      [{ registerAs: 'a/../../b' }, 'register_as'],
      [{ experiment: 'a..b' }, 'experiment'],
    ] as const) {
      const e = await refusal(p);
      expect(e.code, JSON.stringify(p)).toBe(status.INVALID_ARGUMENT);
      expect(e.message, JSON.stringify(p)).toMatch(new RegExp(`${field.replace(/[[\]"]/g, '\\$&')}: (keys )?must`));
    }
    const ok = await jobs.unary('createJob', req({ experiment: 'med-o1_v2.1', displayName: 'seed recipe, 3 epochs', tags: { team: 'med' } }));
    expect(ok.created).toBe(true);
  });

  it("a max_seq_length the version's token statistics refute is refused with the numbers", async () => {
    expect(stats.min).toBeGreaterThan(100);
    const e = await refusal({ hyperparameters: { maxSeqLength: 64 } });
    expect(e.code).toBe(status.INVALID_ARGUMENT);
    expect(e.message).toMatch(new RegExp(`hyperparameters\\.max_seq_length: 64 is shorter than every row of dataset version ${digest.slice(0, 12)} \\(5 rows: shortest ${stats.min}`));
    const ok = await jobs.unary('createJob', req({ hyperparameters: { maxSeqLength: stats.max } }));
    expect(ok.created).toBe(true);
  });

  it('answers AdminService like every other service', async () => {
    const c = createClient(admin.AdminServiceClient, `127.0.0.1:${app.port}`, { defaultDeadlineMs: 10_000 });
    try {
      const res = await c.unary('listDeadLetters', admin.ListDeadLettersRequest.fromPartial({ pageSize: 10 }));
      expect(res.deadLetters).toEqual([]);
    } finally {
      c.close();
    }
  });
});
