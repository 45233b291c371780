/**
 * `medtune eval sets import` and the CreateEvalSet API over the real MedQA test files in
 * ../shared/data/eval (never copied into the repository), against a real evaluation service
 * process (NATS, FerretDB, gRPC): item counts, kinds and content digests as the files give them,
 * the same digest from the CLI, the API, the MEDQA preset and no mapping. The items' options and
 * answers of known rows: apps/evaluation-service/src/files/medqa-files.unit.spec.ts.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { evaluation } from '@medtune/contracts';
import { createClient } from '@medtune/kit';
import { printLogsOnFailure, testMongo, testNats, type TestMongo, type TestNats } from '@medtune/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from './cli';
import { EXIT } from './exit';
import { repoRoot, startService, type StartedService } from './testing/services';

const ZH = path.resolve(repoRoot, '../shared/data/eval/medqa_mcmle_zh_4opt_test.jsonl');
const EN = path.resolve(repoRoot, '../shared/data/eval/medqa_usmle_4opt_test.jsonl');
const present = existsSync(ZH) && existsSync(EN);

printLogsOnFailure();
let nats: TestNats;
let mongo: TestMongo;
let svc: StartedService;

async function cli(args: string[]) {
  let out = '';
  let err = '';
  const code = await runCli(args, {
    stdout: { write: (s: string) => (out += s) },
    stderr: { write: (s: string) => (err += s) },
    env: { MEDTUNE_EVALUATION_ADDR: svc.addr },
    cwd: process.cwd(),
  });
  return { code, out, err };
}

describe.skipIf(!present)('medtune eval sets import over the real MedQA files (needs ../shared/data/eval)', () => {
  beforeAll(async () => {
    nats = await testNats();
    mongo = await testMongo();
    // No registry, dataset service or worker: importing a set needs none of them.
    svc = await startService('evaluation', nats, mongo, {
      MEDTUNE_EVALUATION_REGISTRY_ADDR: '127.0.0.1:1',
      MEDTUNE_EVALUATION_DATASET_ADDR: '127.0.0.1:1',
      MEDTUNE_EVALUATION_TRAINING_ADDR: '127.0.0.1:1',
      MEDTUNE_EVALUATION_WORKER_ADDRS: '127.0.0.1:1',
      MEDTUNE_EVALUATION_AUTOMATION: 'false',
    });
  }, 120_000);
  afterAll(async () => {
    await svc?.proc.stop();
    await nats?.cleanup();
    await mongo?.cleanup();
  });

  it('imports both test splits whole, with and without the preset, to the same content', async () => {
    const zh = await cli(['eval', 'sets', 'import', ZH, '--name', 'medqa-zh', '--kind', 'multiple_choice', '--json']);
    expect(zh.code, zh.err).toBe(EXIT.OK);
    const zhSet = (JSON.parse(zh.out) as { created: boolean; evalSet: { itemCount: number; kind: string; contentSha256: string; sourceName: string } });
    expect(zhSet).toMatchObject({ created: true, evalSet: { itemCount: 3426, kind: 'EVAL_SET_KIND_MULTIPLE_CHOICE', sourceName: 'medqa_mcmle_zh_4opt_test.jsonl' } });
    expect(zhSet.evalSet.contentSha256).toMatch(/^[0-9a-f]{64}$/);

    const en = await cli(['eval', 'sets', 'import', EN, '--name', 'medqa-en', '--preset', 'medqa']);
    expect(en.code, en.err).toBe(EXIT.OK);
    expect(en.out).toMatch(/^created: medqa-en — multiple_choice, 1273 items/);

    // The API: the same file under another name with the MEDQA preset holds the same content.
    const c = createClient(evaluation.EvaluationServiceClient, svc.addr, { defaultDeadlineMs: 60_000 });
    try {
      const viaApi = await c.unary('createEvalSet', evaluation.CreateEvalSetRequest.fromPartial({ name: 'medqa-zh-preset', path: ZH, mapping: { preset: evaluation.EvalSetPreset.EVAL_SET_PRESET_MEDQA } }));
      expect(viaApi).toMatchObject({ created: true, evalSet: { itemCount: 3426, contentSha256: zhSet.evalSet.contentSha256 } });
      const limited = await c.unary('createEvalSet', evaluation.CreateEvalSetRequest.fromPartial({ name: 'medqa-en-10', path: EN, kind: evaluation.EvalSetKind.EVAL_SET_KIND_MULTIPLE_CHOICE, limit: 10 }));
      expect(limited.evalSet?.itemCount).toBe(10);
      const names = (await c.unary('listEvalSets', {})).evalSets.map((s) => [s.name, s.itemCount]);
      expect(names).toEqual(expect.arrayContaining([['medqa-zh', 3426], ['medqa-en', 1273], ['medqa-zh-preset', 3426], ['medqa-en-10', 10]]));
    } finally {
      c.close();
    }

    // Importing the same name again is idempotent by content.
    const again = await cli(['eval', 'sets', 'import', ZH, '--name', 'medqa-zh', '--kind', 'multiple_choice']);
    expect(again.code, again.err).toBe(EXIT.OK);
    expect(again.out).toMatch(/^exists \(same content\): medqa-zh — multiple_choice, 3426 items/);
  }, 180_000);
});

describe.skipIf(present)('medtune eval sets import over the real MedQA files', () => {
  it.skip('skipped: ../shared/data/eval is absent on this machine (the files are not copied into the repository)', () => {
    expect(present).toBe(false);
  });
});
