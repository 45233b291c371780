/**
 * The evaluation service over real NATS, FerretDB and gRPC, with the real registry service (a
 * process) and a stand-in worker (a gRPC TrainerService answering from a script). The real
 * Python worker is exercised by pipeline.int.spec.ts.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { common, evaluation, events, registry } from '@medtune/contracts';
import { createClient, InvalidArgumentError, NotFoundError, type KitClient } from '@medtune/kit';
import { collectEvents, freePort, printLogsOnFailure, startProcess, testMongo, testNats, waitFor, type RunningProcess, type TestMongo, type TestNats } from '@medtune/testing';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEvaluation, type EvaluationApp } from './app';
import { loadEvaluationConfig } from './config';
import { evaluationEnv, registryEnv, startStandInWorker, type StandInWorker } from './test-support';

const repoRoot = resolve(__dirname, '../../..');
const MEDQA_ZH = resolve(repoRoot, '../shared/data/eval/medqa_mcmle_zh_4opt_test.jsonl');
const St = evaluation.EvaluationStatus;
const log = pino({ level: process.env['MEDTUNE_TEST_LOG'] ?? 'silent' });

let nats: TestNats;
let mongo: TestMongo;
let registryProc: RunningProcess;
let worker: StandInWorker;
let app: EvaluationApp;
let evalEnv: Record<string, string>;
let evalClient: KitClient<typeof evaluation.EvaluationServiceService>;
let regClient: KitClient<typeof registry.RegistryServiceService>;

printLogsOnFailure();

/** A fine-tuned model answers D after a closed <think>; the base model never closes it. */
const answer = (_prompt: string, model: { adapterUri: string }) => (model.adapterUri ? '先想一想。</think>\n答案：D' : '让我想想，可能是A');

const tmp = mkdtempSync(join(tmpdir(), 'medtune-eval-int-'));

function writeAdapter(): common.Artifact {
  const dir = join(mkdtempSync(join(tmp, 'a-')), 'adapter');
  const files: Record<string, string> = { 'adapter_config.json': '{"r":32}', 'adapter_model.safetensors': 'w'.repeat(1000) };
  mkdirSync(dir);
  for (const [p, b] of Object.entries(files)) writeFileSync(join(dir, p), b);
  const sha = (s: string) => createHash('sha256').update(s).digest('hex');
  const listed = Object.keys(files).sort().map((p) => ({ path: p, sha256: sha(files[p]!), sizeBytes: files[p]!.length }));
  return common.Artifact.fromPartial({
    kind: common.ArtifactKind.ARTIFACT_KIND_ADAPTER,
    uri: pathToFileURL(dir).href,
    sha256: sha(listed.map((f) => `${f.sha256}  ${f.path}\n`).join('')),
    sizeBytes: listed.reduce((n, f) => n + f.sizeBytes, 0),
    files: listed,
  });
}

async function stopApp(a: EvaluationApp): Promise<void> {
  await Promise.all([...a.consumers.map((c) => c.stop()), a.stopBackground(), a.server.shutdown({ graceMs: 1_000 })]);
  await a.nc.drain();
  await a.mongo.close();
}

beforeAll(async () => {
  nats = await testNats();
  mongo = await testMongo();
  worker = await startStandInWorker(answer);
  const regPort = await freePort();
  registryProc = await startProcess({
    name: 'registry-service',
    cmd: join(repoRoot, 'node_modules/.bin/tsx'),
    args: ['apps/registry-service/src/main.ts'],
    cwd: repoRoot,
    env: registryEnv({ natsUrl: nats.url, namespace: nats.id, mongoUri: mongo.uri, db: mongo.dbNameFor('registry'), grpcAddr: `127.0.0.1:${regPort}` }),
    readyWhen: { grpcHealth: `127.0.0.1:${regPort}` },
    readyTimeoutMs: 60_000,
  });
  evalEnv = evaluationEnv({ natsUrl: nats.url, namespace: nats.id, mongoUri: mongo.uri, db: mongo.dbNameFor('evaluation'), registryAddr: `127.0.0.1:${regPort}`, workerAddrs: worker.address });
  app = await startEvaluation(loadEvaluationConfig(evalEnv), log);
  evalClient = createClient(evaluation.EvaluationServiceClient, `127.0.0.1:${app.port}`, { defaultDeadlineMs: 10_000 });
  regClient = createClient(registry.RegistryServiceClient, `127.0.0.1:${regPort}`, { defaultDeadlineMs: 10_000 });
});

// In afterAll (not returned by beforeAll) so everything stops even when beforeAll failed half-way.
afterAll(async () => {
  evalClient?.close();
  regClient?.close();
  if (app) await stopApp(app);
  await registryProc?.stop();
  await worker?.server.shutdown({ graceMs: 500 });
  await mongo?.cleanup();
  await nats?.cleanup();
  rmSync(tmp, { recursive: true, force: true });
});

describe('evaluation service', () => {
  it('imports MedQA, refuses a malformed file storing nothing, and lists the seed set first', async () => {
    const res = await evalClient.unary('createEvalSet', { name: 'medqa-zh-6', kind: evaluation.EvalSetKind.EVAL_SET_KIND_MULTIPLE_CHOICE, path: MEDQA_ZH, description: '', limit: 6 });
    expect(res).toMatchObject({ created: true, evalSet: { itemCount: 6, sourceName: 'medqa_mcmle_zh_4opt_test.jsonl' } });
    const bad = join(tmp, 'bad.jsonl');
    writeFileSync(bad, `${JSON.stringify({ question: 'q', options: { A: 'a', B: 'b' }, answer_idx: 'A' })}\n{"question": "q2", "options": {"A": "a"}, "answer_idx": "C"}\nnot json\n`);
    const err = await evalClient.unary('createEvalSet', { name: 'bad', kind: evaluation.EvalSetKind.EVAL_SET_KIND_MULTIPLE_CHOICE, path: bad, description: '', limit: 0 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InvalidArgumentError);
    expect((err as InvalidArgumentError).field).toBe('path');
    expect((err as Error).message).toMatch(/2 malformed row\(s\), nothing stored: row 2: .* \| row 3: not valid JSON/);
    const sets = (await evalClient.unary('listEvalSets', {})).evalSets.map((s) => s.name);
    expect(sets).toEqual(['seed-question', 'medqa-zh-6']);
    await expect(evalClient.unary('getEvalSet', { name: 'bad' })).rejects.toBeInstanceOf(NotFoundError);
  });

  it('turns a READY version into runs, a comparison, an alias move and a decision, in order', async () => {
    const sub = await collectEvents(nats.nc, [nats.subject('medtune.registry.>'), nats.subject('medtune.evaluation.>')]);
    // One free-form question: judged on format, and a single item cannot pass McNemar (p = 1), so the test is off.
    await regClient.unary('createRegisteredModel', registry.CreateRegisteredModelRequest.fromPartial({ name: 'med-e', promotionPolicy: { metric: 'format_compliance', significance: 1 } }));
    await regClient.unary('createModelVersion', {
      name: 'med-e',
      idempotencyKey: 'job-e1',
      artifacts: [writeAdapter()],
      lineage: registry.ModelLineage.fromPartial({ baseModel: '/models/tiny' }),
      tags: {},
    });
    const p = (s: string) => nats.subject(s);
    const seen = await sub.waitForSequence(
      [
        p('medtune.registry.version.created'),
        p('medtune.registry.version.ready'),
        p('medtune.evaluation.run.started'),
        p('medtune.evaluation.run.completed'),
        p('medtune.evaluation.run.completed'),
        p('medtune.evaluation.comparison.created'),
        p('medtune.registry.alias.moved'),
        p('medtune.evaluation.promotion.decided'),
      ],
      60_000,
    );
    const decided = events.PromotionDecided.decode(seen.at(-1)!.data);
    expect(decided).toMatchObject({ name: 'med-e', version: 1, alias: 'champion', promoted: true, metric: 'format_compliance', candidateValue: 1, baseValue: 0, incumbentVersion: 0 });
    expect(decided.reason).toBe("better than the base model: format_compliance 1 vs the base model's 0 (min_delta 0); no version holds champion");
    const cmp = (await evalClient.unary('getComparison', { comparisonId: decided.comparisonId })).comparison!;
    expect(cmp).toMatchObject({ evalSet: 'seed-question', items: 1, registryName: 'med-e', registryVersion: 1, deltas: { format_compliance: 1 } });
    expect(cmp.examples[0]).toMatchObject({ baselineOutput: '让我想想，可能是A', candidateOutput: '先想一想。</think>\n答案：D', candidateFormatOk: true, baselineFormatOk: false });
    const v = (await regClient.unary('getModelVersion', { name: 'med-e', version: 1 })).version!;
    expect(v.aliases).toEqual(['champion']);
    expect(v.lineage!.evaluations.map((e) => e.evaluationId)).toEqual([decided.evaluationId]);
    const listed = await evalClient.unary('listComparisons', { registryName: 'med-e', pageSize: 0, pageToken: '' });
    expect(listed.comparisons.map((c) => c.comparisonId)).toEqual([decided.comparisonId]);
    await sub.stop();
  });

  it('runs the champion and the base on MedQA, watches progress, compares and pages items', async () => {
    await waitFor(async () => (await regClient.unary('getRegisteredModel', { name: 'med-e' })).model!.aliases['champion'] === 1, 60_000);
    const start = (model: common.ModelRef) => evalClient.unary('startEvaluation', evaluation.StartEvaluationRequest.fromPartial({ model, evalSet: 'medqa-zh-6', generation: { maxNewTokens: 16 } }));
    const cand = (await start({ ref: { $case: 'registry', registry: { name: 'med-e', selector: { $case: 'alias', alias: 'champion' } } } })).evaluation!;
    expect(cand).toMatchObject({ registryName: 'med-e', registryVersion: 1, itemsTotal: 6 });
    const updates: evaluation.Evaluation[] = [];
    for await (const u of evalClient.serverStream('watchEvaluation', { evaluationId: cand.evaluationId }, { deadlineMs: 60_000 })) updates.push(u.evaluation!);
    expect(updates.at(-1)).toMatchObject({ status: St.EVALUATION_STATUS_COMPLETED, itemsDone: 6 });
    expect(updates.at(-1)!.scores).toMatchObject({ items: 6, formatCompliance: 1, unparsedAnswers: 0 });
    const base = (await start({ ref: { $case: 'baseModel', baseModel: '/models/tiny' } })).evaluation!;
    await waitFor(async () => (await evalClient.unary('getEvaluation', { evaluationId: base.evaluationId })).evaluation!.status === St.EVALUATION_STATUS_COMPLETED, 60_000);
    const cmp = (await evalClient.unary('compareEvaluations', { baselineEvaluationId: base.evaluationId, candidateEvaluationId: cand.evaluationId })).comparison!;
    const accuracy = updates.at(-1)!.scores!.accuracy!;
    expect(cmp.deltas['accuracy']).toBeCloseTo(accuracy, 12); // the base never answers: accuracy 0
    expect(cmp.gained + cmp.lost).toBe(Math.round(accuracy * 6));
    const p1 = await evalClient.unary('listItemResults', { evaluationId: cand.evaluationId, pageSize: 4, pageToken: '' });
    const p2 = await evalClient.unary('listItemResults', { evaluationId: cand.evaluationId, pageSize: 4, pageToken: p1.nextPageToken });
    expect([...p1.items, ...p2.items].map((i) => i.index)).toEqual([0, 1, 2, 3, 4, 5]);
    expect(p1.items[0]!.prompt).toMatch(/### Question:\n {2}.*\nA\. .*\nB\. /s);
    expect(p1.items.every((i) => i.predicted === 'D')).toBe(true);
    await expect(
      evalClient.unary('startEvaluation', evaluation.StartEvaluationRequest.fromPartial({ model: { ref: { $case: 'registry', registry: { name: 'nobody', selector: { $case: 'latest', latest: true } } } } })),
    ).rejects.toBeInstanceOf(NotFoundError);
    await expect(evalClient.unary('getEvaluation', { evaluationId: 'eval_nope' })).rejects.toBeInstanceOf(NotFoundError);
  });

  it('resumes a run interrupted by a restart, generating only the missing items, announcing its start once', async () => {
    const sub = await collectEvents(nats.nc, nats.subject('medtune.evaluation.run.*'));
    worker.delayMs = 150;
    const calls = worker.calls.length;
    const res = await evalClient.unary('startEvaluation', evaluation.StartEvaluationRequest.fromPartial({ model: { ref: { $case: 'baseModel', baseModel: '/models/other' } }, evalSet: 'medqa-zh-6' }));
    const id = res.evaluation!.evaluationId;
    // Stop the service once the first chunk (4 items) is stored, in the middle of the second.
    await waitFor(async () => (await evalClient.unary('getEvaluation', { evaluationId: id })).evaluation!.itemsDone >= 4, 30_000);
    await stopApp(app);
    evalClient.close();
    const stored = await mongo.client.db(evalEnv['MEDTUNE_EVALUATION_DB']!).collection('evaluations').findOne({ _id: id as never });
    expect(stored?.['status']).toBe(St.EVALUATION_STATUS_RUNNING);
    worker.delayMs = 0;
    app = await startEvaluation(loadEvaluationConfig(evalEnv), log);
    evalClient = createClient(evaluation.EvaluationServiceClient, `127.0.0.1:${app.port}`, { defaultDeadlineMs: 10_000 });
    const done = await waitFor(async () => {
      const e = (await evalClient.unary('getEvaluation', { evaluationId: id })).evaluation!;
      return e.status === St.EVALUATION_STATUS_COMPLETED ? e : undefined;
    }, 30_000);
    expect(done.scores!.items).toBe(6);
    const asked = worker.calls.slice(calls).flat().length;
    expect(asked).toBeLessThan(6 + 4); // the 4 stored items were not generated again
    const items = await evalClient.unary('listItemResults', { evaluationId: id, pageSize: 0, pageToken: '' });
    expect(items.items.map((i) => i.index)).toEqual([0, 1, 2, 3, 4, 5]);
    await sub.waitFor((e) => e.subject.endsWith('run.completed') && events.EvaluationRunChanged.decode(e.data).evaluation?.evaluationId === id);
    const mine = sub.events.filter((e) => events.EvaluationRunChanged.decode(e.data).evaluation?.evaluationId === id).map((e) => e.subject.split('.').pop());
    expect(mine).toEqual(['started', 'completed']);
    await sub.stop();
  });
});
