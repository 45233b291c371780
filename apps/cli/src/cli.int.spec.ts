/**
 * The command core against real service processes (registry, training): results, --json, and the
 * documented exit codes for not found (3), invalid input naming the field (4) and conflicts (8).
 */
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { common, registry } from '@medtune/contracts';
import { createClient } from '@medtune/kit';
import { printLogsOnFailure, testMongo, testNats, waitFor, type TestMongo, type TestNats } from '@medtune/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from './cli';
import { EXIT } from './exit';
import { repoRoot, startService, type StartedService } from './testing/services';

printLogsOnFailure();
let nats: TestNats;
let mongo: TestMongo;
let reg: StartedService;
let trn: StartedService;
let dst: StartedService;
let adapterDir: string;
const TOKENIZER_DIR = path.resolve(repoRoot, '../shared/models/deepseek-r1-distill-qwen/bpe');

async function cli(args: string[]) {
  let out = '';
  let err = '';
  const code = await runCli(args, {
    stdout: { write: (s: string) => (out += s) },
    stderr: { write: (s: string) => (err += s) },
    env: { MEDTUNE_REGISTRY_ADDR: reg.addr, MEDTUNE_TRAINING_ADDR: trn.addr, MEDTUNE_DATASET_ADDR: dst.addr },
    cwd: process.cwd(),
  });
  return { code, out, err };
}

beforeAll(async () => {
  nats = await testNats();
  mongo = await testMongo();
  [reg, trn, dst] = await Promise.all([
    startService('registry', nats, mongo),
    startService('training', nats, mongo, { MEDTUNE_TRAINING_DATASET_ADDR: '127.0.0.1:1' }),
    startService('dataset', nats, mongo, { MEDTUNE_DATASET_TOKENIZER_THREADS: '1' }),
  ]);
  // One READY version with an adapter artifact the registry verifies.
  adapterDir = path.join(mkdtempSync(path.join(tmpdir(), 'cli-int-')), 'adapter');
  mkdirSync(adapterDir);
  const body = Buffer.from('{"r": 8}\n');
  writeFileSync(path.join(adapterDir, 'adapter_config.json'), body);
  const fileSha = createHash('sha256').update(body).digest('hex');
  const c = createClient(registry.RegistryServiceClient, reg.addr, { defaultDeadlineMs: 10_000 });
  try {
    for (const key of ['job-a', 'job-b']) {
      await c.unary('createModelVersion', registry.CreateModelVersionRequest.fromPartial({
        name: 'cli-model',
        idempotencyKey: key,
        artifacts: [{ kind: common.ArtifactKind.ARTIFACT_KIND_ADAPTER, uri: `file://${adapterDir}`, sha256: createHash('sha256').update(`${fileSha}  adapter_config.json\n`).digest('hex'), sizeBytes: body.length, files: [{ path: 'adapter_config.json', sha256: fileSha, sizeBytes: body.length }] }],
        lineage: { baseModel: '/models/base', trainingJobId: key },
      }));
    }
    await waitFor(async () => (await c.unary('getModelVersion', { name: 'cli-model', version: 2 })).version?.status === registry.ModelVersionStatus.MODEL_VERSION_STATUS_READY, 20_000);
  } finally {
    c.close();
  }
}, 120_000);
afterAll(async () => {
  await Promise.all([reg?.proc.stop(), trn?.proc.stop(), dst?.proc.stop()]);
  await nats?.cleanup();
  await mongo?.cleanup();
});

describe('medtune against real services', () => {
  it('models list / show / resolve, in text and --json', async () => {
    const list = await cli(['models', 'list']);
    expect(list.code).toBe(EXIT.OK);
    expect(list.out).toMatch(/^MODEL\s+LATEST\s+ALIASES/m);
    expect(list.out).toMatch(/cli-model\s+v2/);
    const show = await cli(['models', 'show', 'cli-model@1']);
    expect(show.out).toMatch(/training job\s+job-a/);
    expect(show.out).toContain(`file://${adapterDir}`);
    const resolved = await cli(['models', 'resolve', 'cli-model@latest', '--json']);
    expect(JSON.parse(resolved.out)).toMatchObject({ name: 'cli-model', version: 2, artifacts: [{ kind: 'adapter', uri: `file://${adapterDir}` }] });
  });

  it('alias set moves an alias, and a stale --expect is a conflict (exit 8)', async () => {
    const set = await cli(['models', 'alias', 'set', 'cli-model', 'champion', '1']);
    expect([set.code, set.out.trim()]).toEqual([EXIT.OK, 'cli-model@champion: unset → v1']);
    const moved = await cli(['models', 'alias', 'set', 'cli-model', 'champion', '2', '--expect', '1']);
    expect(moved.out.trim()).toBe('cli-model@champion: v1 → v2');
    const stale = await cli(['models', 'alias', 'set', 'cli-model', 'champion', '1', '--expect', '1']);
    expect(stale.code).toBe(EXIT.CONFLICT);
    expect((await cli(['models', 'resolve', 'cli-model@champion', '--kind', 'adapter'])).out.trim()).toBe(`file://${adapterDir}`);
  });

  it('exit 3 for what does not exist, 4 with the field for an invalid request', async () => {
    const missing = await cli(['models', 'show', 'no-such-model']);
    expect(missing.code).toBe(EXIT.NOT_FOUND);
    const job = await cli(['train', 'show', 'job_nope']);
    expect(job.code).toBe(EXIT.NOT_FOUND);
    const bad = await cli(['--json', 'train', 'create', '--dataset', 'ab'.repeat(32), '--base-model', '/models/x', '--lora-r', '1', '--lr', '1e9']);
    expect(bad.code, bad.err).toBe(EXIT.INVALID_INPUT);
    expect(JSON.parse(bad.err).error).toMatchObject({ code: 'INVALID_INPUT', field: expect.stringMatching(/learning_rate|hyperparameters/) });
  });

  it('exit 4, not 8, for a rejected import, with its rows', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'cli-import-'));
    const file = path.join(dir, 'bad.jsonl');
    writeFileSync(file, [JSON.stringify({ Question: 'q1', Complex_CoT: 'c1', Response: 'r1' }), JSON.stringify({ Question: 'q2', Complex_CoT: 7, Response: 'r2' })].join('\n'));
    const rejected = await cli(['--json', 'datasets', 'import', file, '--name', 'cli-bad', '--tokenizer', TOKENIZER_DIR]);
    expect(rejected.code, rejected.err).toBe(EXIT.INVALID_INPUT);
    expect(JSON.parse(rejected.err.trim().split('\n').at(-1)!).error).toMatchObject({ code: 'INVALID_INPUT', message: expect.stringMatching(/row 2, column Complex_CoT/) });
    const good = path.join(dir, 'good.jsonl');
    writeFileSync(good, [1, 2, 3].map((i) => JSON.stringify({ Question: `q${i}`, Complex_CoT: `c${i}`, Response: `r${i}` })).join('\n'));
    expect((await cli(['datasets', 'import', good, '--name', 'cli-good', '--tokenizer', TOKENIZER_DIR])).code).toBe(EXIT.OK);
    const again = await cli(['datasets', 'import', good, '--name', 'cli-good-2', '--tokenizer', TOKENIZER_DIR]);
    expect([again.code, again.out]).toEqual([EXIT.OK, expect.stringMatching(/already stored: cli-good@.*\n\(the same content was stored as cli-good; it is now also listed as cli-good-2\)/)]);
  });

  it('exit 4 naming the option for a negative or non-numeric value (`--lr -1` is a value, not an option)', async () => {
    const base = ['--json', 'train', 'create', '--dataset', 'ab'.repeat(32), '--base-model', '/models/x'];
    for (const [opt, value] of [
      ['--lr', '-1'],
      ['--lora-r', '-1'],
      ['--lr', '-1e-4'],
      ['--lora-r', 'x'],
    ] as const) {
      const r = await cli([...base, opt, value]);
      expect(r.code, `${opt} ${value}: ${r.err}`).toBe(EXIT.INVALID_INPUT);
      expect(JSON.parse(r.err).error).toMatchObject({ code: 'INVALID_INPUT', field: opt, message: expect.stringContaining(JSON.stringify(value)) });
    }
  });
});
