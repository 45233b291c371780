import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { evaluation, type events } from '@medtune/contracts';
import { AlreadyExistsError, FailedPreconditionError, InvalidArgumentError, NotFoundError, UnavailableError } from '@medtune/kit';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { SEED_QUESTION } from './evalsets';
import { testEvaluation } from './testing';

const St = evaluation.EvaluationStatus;
const MC = evaluation.EvalSetKind.EVAL_SET_KIND_MULTIPLE_CHOICE;
const dir = mkdtempSync(join(tmpdir(), 'medtune-eval-'));
const stops: (() => Promise<void>)[] = [];
afterAll(() => rmSync(dir, { recursive: true, force: true }));
afterEach(async () => {
  for (const s of stops.splice(0)) await s();
});

function file(name: string, lines: unknown[]): string {
  const p = join(dir, name);
  writeFileSync(p, lines.map((l) => (typeof l === 'string' ? l : JSON.stringify(l))).join('\n') + '\n');
  return p;
}

const mcRow = (q: string, answer = 'D') => ({ question: q, options: { A: '2小时', B: '4小时内', C: '12小时内', D: '24小时内' }, answer_idx: answer, meta_info: 'x' });
/** Fine-tuned models (with an adapter) answer D after a closed <think>; base models ramble. */
const answer = (_prompt: string, model: { adapterUri: string }) => (model.adapterUri ? '想一想。</think>\n答案：D<｜end▁of▁sentence｜>' : '我不确定，也许是A');

function started(t: ReturnType<typeof testEvaluation>) {
  t.runner.start();
  t.automation.start();
  stops.push(() => t.automation.stop(), () => t.runner.stop());
  return t;
}

describe('evaluation sets', () => {
  it('imports a multiple-choice JSONL in MedQA shape, idempotently by content', async () => {
    const t = testEvaluation(answer);
    const path = file('mc.jsonl', [mcRow('q1'), mcRow('q2', 'A'), '', mcRow('q3', 'b')]);
    const res = await t.core.createSet({ name: 'mc', kind: MC, path, description: 'd', limit: 0 });
    expect(res).toMatchObject({ created: true, evalSet: { itemCount: 3, kind: MC, sourceName: 'mc.jsonl' } });
    expect(await t.core.createSet({ name: 'mc', kind: MC, path, description: 'd', limit: 0 })).toMatchObject({ created: false });
    const other = file('mc2.jsonl', [mcRow('q9')]);
    await expect(t.core.createSet({ name: 'mc', kind: MC, path: other, description: '', limit: 0 })).rejects.toBeInstanceOf(AlreadyExistsError);
    const limited = await t.core.createSet({ name: 'mc-2', kind: MC, path, description: '', limit: 2 });
    expect(limited.evalSet!.itemCount).toBe(2);
  });

  it('rejects a malformed file listing rows with their numbers, storing nothing', async () => {
    const t = testEvaluation(answer);
    const path = file('bad.jsonl', [mcRow('ok'), { question: '', options: { A: 'x', B: 'y' }, answer_idx: 'A' }, '{not json', mcRow('ok2', 'E'), { question: 'q', options: { A: 'x' }, answer_idx: 'A' }]);
    const err = await t.core.createSet({ name: 'bad', kind: MC, path, description: '', limit: 0 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InvalidArgumentError);
    const msg = (err as InvalidArgumentError).message;
    expect((err as InvalidArgumentError).field).toBe('path');
    expect(msg).toContain('4 malformed row(s), nothing stored');
    expect(msg).toContain('row 2: question: must be a non-empty string');
    expect(msg).toContain('row 3: not valid JSON');
    expect(msg).toContain('row 4: answer_idx: "E" is not one of the options A, B, C, D');
    expect(msg).toContain('row 5: options: needs at least 2 options');
    expect(t.store.sets.size).toBe(0);
    expect(t.store.items.size).toBe(0);
    await expect(t.core.createSet({ name: 'x', kind: MC, path: join(dir, 'missing.jsonl'), description: '', limit: 0 })).rejects.toBeInstanceOf(NotFoundError);
    const ff = file('ff.json', []);
    writeFileSync(ff, JSON.stringify([{ Question: 'q', Response: 'r' }, { Response: 'no question' }]));
    await expect(t.core.createSet({ name: 'ff', kind: evaluation.EvalSetKind.EVAL_SET_KIND_FREE_FORM, path: ff, description: '', limit: 0 })).rejects.toThrow(
      /row 2: Question: must be a non-empty string/,
    );
  });

  it('ships the seed question as the built-in set, listed first', async () => {
    const t = testEvaluation(answer);
    await t.core.ensureBuiltins();
    await t.core.ensureBuiltins();
    await t.core.createSet({ name: 'a-set', kind: MC, path: file('a.jsonl', [mcRow('q')]), description: '', limit: 0 });
    const sets = await t.core.listSets();
    expect(sets.map((s) => [s.name, s.builtin, s.itemCount])).toEqual([
      ['seed-question', true, 1],
      ['a-set', false, 1],
    ]);
  });
});

describe('runs', () => {
  it('evaluates a base model on the seed question through the worker and scores it', async () => {
    const t = started(testEvaluation(answer));
    await t.core.ensureBuiltins();
    const res = await t.core.start(evaluation.StartEvaluationRequest.fromPartial({ model: { ref: { $case: 'baseModel', baseModel: '/models/tiny' } } }));
    expect(res.created).toBe(true);
    await t.runner.idle();
    const run = await t.core.get(res.evaluation!.evaluationId);
    // The seed question follows the model's generation_config.json (sampling 0.6 / 0.95), seed fixed.
    expect(run).toMatchObject({
      status: St.EVALUATION_STATUS_COMPLETED,
      itemsDone: 1,
      itemsTotal: 1,
      templateName: 'medical-o1-zh',
      generation: { maxNewTokens: 1200, temperature: 0.6, topP: 0.95, seed: 8137 },
      decodingSource: evaluation.DecodingSource.DECODING_SOURCE_MODEL_GENERATION_CONFIG,
      greedy: false,
    });
    expect(run.scores).toMatchObject({ items: 1, formatCompliance: 0, truncatedShare: 1 });
    expect(run.scores!.accuracy).toBeUndefined();
    const prompt = t.worker.generateCalls[0]!.prompts[0]!;
    expect(prompt).toContain(SEED_QUESTION);
    expect(prompt.endsWith('<think>')).toBe(true);
    const items = await t.core.listItems({ evaluationId: run.evaluationId, pageSize: 0, pageToken: '' });
    expect(items.items[0]).toMatchObject({ index: 0, question: SEED_QUESTION, output: '我不确定，也许是A', formatOk: false, finishReason: 'length' });
    expect(t.sink.subjects()).toEqual(['medtune.evaluation.run.started', 'medtune.evaluation.run.completed']);
    // Same base model, set, template and settings: the cached result, no new generation.
    const again = await t.core.start(evaluation.StartEvaluationRequest.fromPartial({ model: { ref: { $case: 'baseModel', baseModel: '/models/tiny' } } }));
    expect(again).toMatchObject({ created: false, evaluation: { evaluationId: run.evaluationId } });
    expect(t.worker.generateCalls).toHaveLength(1);
  });

  it('resumes after a lost worker without generating stored items again, and fails on a rejected model', async () => {
    const t = started(testEvaluation(answer));
    await t.core.createSet({ name: 'mc', kind: MC, path: file('r.jsonl', [mcRow('q1'), mcRow('q2'), mcRow('q3'), mcRow('q4'), mcRow('q5')]), description: '', limit: 0 });
    t.worker.failNext = [new UnavailableError('worker gone')];
    t.worker.failAfter = 1;
    t.registry.addVersion('med', 1, { datasetDigest: 'sha256:d' });
    const res = await t.core.start(
      evaluation.StartEvaluationRequest.fromPartial({ model: { ref: { $case: 'registry', registry: { name: 'med', selector: { $case: 'version', version: 1 } } } }, evalSet: 'mc' }),
    );
    await t.runner.idle();
    const run = await t.core.get(res.evaluation!.evaluationId);
    expect(run.status).toBe(St.EVALUATION_STATUS_COMPLETED);
    expect(run).toMatchObject({ registryName: 'med', registryVersion: 1, adapterUri: 'file:///artifacts/med/1/adapter', trackingRunId: 'job_1', evalLossDatasetDigest: 'sha256:d' });
    // The template the version was trained with comes from its dataset version.
    expect(run.templateName).toBe('medical-o1-en');
    expect(run.scores).toMatchObject({ items: 5, accuracy: 1, formatCompliance: 1, unparsedAnswers: 0, evalLoss: 1.25 });
    // Item 1 got through before the failure; the retry asked only for items 2..5, in chunks of 2.
    expect(t.worker.generateCalls.map((c) => c.prompts.length)).toEqual([2, 2, 2]);
    expect(t.worker.generateCalls[1]!.prompts[0]).toContain('q2');
    expect(t.worker.lossCalls[0]!.data).toMatchObject({ $case: 'dataset', dataset: { versionDigest: 'sha256:d', address: 'dataset:50051' } });

    t.worker.failNext = [new InvalidArgumentError('model.base_model', 'no such directory /nope')];
    t.worker.failAfter = 0;
    const bad = await t.core.start(evaluation.StartEvaluationRequest.fromPartial({ model: { ref: { $case: 'baseModel', baseModel: '/nope' } }, evalSet: 'mc' }));
    await t.runner.idle();
    const failed = await t.core.get(bad.evaluation!.evaluationId);
    expect(failed.status).toBe(St.EVALUATION_STATUS_FAILED);
    expect(failed.failure).toMatchObject({ class: 1, message: 'model.base_model: no such directory /nope' });
    expect(t.sink.subjects().at(-1)).toBe('medtune.evaluation.run.failed');
  });

  it('validates requests and keys', async () => {
    const t = testEvaluation(answer);
    await t.core.ensureBuiltins();
    const base = { model: { ref: { $case: 'baseModel' as const, baseModel: '/m' } } };
    const field = async (req: Partial<evaluation.StartEvaluationRequest>) =>
      ((await t.core.start(evaluation.StartEvaluationRequest.fromPartial(req)).catch((e: unknown) => e)) as InvalidArgumentError).field;
    expect(await field({})).toBe('model');
    expect(await field({ ...base, generation: { maxNewTokens: 0 } })).toBe('generation.max_new_tokens');
    expect(await field({ ...base, generation: { topP: 0 } })).toBe('generation.top_p');
    await expect(t.core.start(evaluation.StartEvaluationRequest.fromPartial({ ...base, evalSet: 'nope' }))).rejects.toBeInstanceOf(NotFoundError);
    await expect(
      t.core.start(evaluation.StartEvaluationRequest.fromPartial({ model: { ref: { $case: 'registry', registry: { name: 'ghost', selector: { $case: 'alias', alias: 'champion' } } } } })),
    ).rejects.toBeInstanceOf(NotFoundError);
    const a = await t.core.start(evaluation.StartEvaluationRequest.fromPartial({ ...base, idempotencyKey: 'k1' }));
    const b = await t.core.start(evaluation.StartEvaluationRequest.fromPartial({ ...base, idempotencyKey: 'k1' }));
    expect(b.evaluation!.evaluationId).toBe(a.evaluation!.evaluationId);
    await expect(t.core.start(evaluation.StartEvaluationRequest.fromPartial({ ...base, idempotencyKey: 'k1', generation: { maxNewTokens: 5 } }))).rejects.toBeInstanceOf(
      AlreadyExistsError,
    );
  });

  it('compares two completed runs once per pair, and refuses runs not completed', async () => {
    const t = started(testEvaluation(answer));
    await t.core.createSet({ name: 'mc', kind: MC, path: file('c.jsonl', [mcRow('q1'), mcRow('q2'), mcRow('q3')]), description: '', limit: 0 });
    t.registry.addVersion('med', 1);
    const base = await t.core.start(evaluation.StartEvaluationRequest.fromPartial({ model: { ref: { $case: 'baseModel', baseModel: '/models/tiny' } }, evalSet: 'mc' }));
    const cand = await t.core.start(
      evaluation.StartEvaluationRequest.fromPartial({ model: { ref: { $case: 'registry', registry: { name: 'med', selector: { $case: 'version', version: 1 } } } }, evalSet: 'mc' }),
    );
    await expect(t.core.compare(base.evaluation!.evaluationId, cand.evaluation!.evaluationId)).rejects.toBeInstanceOf(FailedPreconditionError);
    await t.runner.idle();
    const c = await t.core.compare(base.evaluation!.evaluationId, cand.evaluation!.evaluationId);
    expect(c).toMatchObject({ items: 3, gained: 3, lost: 0, registryName: 'med', registryVersion: 1, deltas: { accuracy: 1, format_compliance: 1 } });
    expect(c.mcnemarPValue).toBeCloseTo(0.25, 12);
    expect(c.examples[0]).toMatchObject({ index: 0, baselineCorrect: false, candidateCorrect: true, candidateFormatOk: true });
    expect((await t.core.compare(base.evaluation!.evaluationId, cand.evaluation!.evaluationId)).comparisonId).toBe(c.comparisonId);
    expect(t.sink.subjects().filter((s) => s.includes('comparison'))).toHaveLength(1);
    expect((await t.core.listComparisons({ registryName: 'med', pageSize: 0, pageToken: '' })).comparisons.map((x) => x.comparisonId)).toEqual([c.comparisonId]);
  });
});

describe('promotion automation', () => {
  const mcSet = (t: ReturnType<typeof testEvaluation>, n: number) =>
    t.core.createSet({ name: 'mc', kind: MC, path: file(`auto-${n}.jsonl`, Array.from({ length: n }, (_, i) => mcRow(`q${i}`))), description: '', limit: 0, pinGreedy: true });

  it('never promotes on the default policy with a free-form set: accuracy is undefined there', async () => {
    const t = started(testEvaluation(answer));
    await t.core.ensureBuiltins();
    const v1 = t.registry.addVersion('med', 1);
    await t.automation.onVersionReady(v1);
    await t.automation.onVersionReady(v1); // a redelivered event changes nothing
    await t.automation.idle();
    expect(t.registry.models.get('med')!.aliases).toEqual({});
    expect(t.registry.attached).toHaveLength(1);
    const decided = t.sink.published.filter((p) => p.subject === 'medtune.evaluation.promotion.decided');
    expect(decided).toHaveLength(1);
    const d = decided[0]!.message as events.PromotionDecided;
    expect(d).toMatchObject({ name: 'med', version: 1, promoted: false, metric: 'accuracy' });
    expect(d.reason).toContain('accuracy is not defined on the free-form set seed-question');
  });

  it('promotes the first version only when it beats the base model significantly (McNemar), with the numbers', async () => {
    // 6 items all gained: exact McNemar p = 2 / 2^6 = 0.031 < 0.05.
    const t = started(testEvaluation(answer));
    await mcSet(t, 6);
    const v1 = t.registry.addVersion('med', 1, { policy: { evalSet: 'mc' } });
    await t.automation.onVersionReady(v1);
    await t.automation.idle();
    expect(t.registry.models.get('med')!.aliases).toEqual({ champion: 1 });
    expect(t.registry.aliasMoves[0]).toMatchObject({ expectedVersion: 0, actor: 'evaluation-service' });
    const d = t.sink.published.filter((p) => p.subject.endsWith('promotion.decided'))[0]!.message as events.PromotionDecided;
    expect(d).toMatchObject({ promoted: true, metric: 'accuracy', candidateValue: 1, baseValue: 0, incumbentVersion: 0, significance: 0.05 });
    expect(d.basePValue).toBeCloseTo(0.03125, 12);
    expect(d.reason).toBe("better than the base model: accuracy 1 vs the base model's 0 (min_delta 0), McNemar p = 0.031 (gained 6, lost 0); no version holds champion");
    // The automatic runs decode greedily: the set pins it.
    const cand = [...t.store.runs.values()].find((r) => r.registryName === 'med')!;
    expect((await t.core.get(cand.id)).decodingSource).toBe(evaluation.DecodingSource.DECODING_SOURCE_EVAL_SET_GREEDY);
    expect(t.sink.subjects().slice(-2)).toEqual(['medtune.evaluation.comparison.created', 'medtune.evaluation.promotion.decided']);
  });

  it('says "not better than the base model" with both values, and "not significantly" when McNemar fails', async () => {
    const same = started(testEvaluation(() => '想。</think>答案：A'));
    await mcSet(same, 6);
    await same.automation.onVersionReady(same.registry.addVersion('med', 1, { policy: { evalSet: 'mc' } }));
    await same.automation.idle();
    const d = same.sink.published.filter((p) => p.subject.endsWith('promotion.decided'))[0]!.message as events.PromotionDecided;
    expect(d).toMatchObject({ promoted: false, candidateValue: 0, baseValue: 0 });
    expect(d.reason).toBe("not better than the base model: accuracy 0 vs the base model's 0 (min_delta 0)");

    const few = started(testEvaluation(answer));
    await mcSet(few, 3); // all 3 gained: p = 0.25
    await few.automation.onVersionReady(few.registry.addVersion('med', 1, { policy: { evalSet: 'mc' } }));
    await few.automation.idle();
    const f = few.sink.published.filter((p) => p.subject.endsWith('promotion.decided'))[0]!.message as events.PromotionDecided;
    expect(f.promoted).toBe(false);
    expect(f.reason).toMatch(/^not significantly better than the base model: accuracy 1 vs the base model's 0 \(min_delta 0\), McNemar p = 0\.250 \(gained 3, lost 0\) is not below 0\.05$/);
    expect(few.registry.models.get('med')!.aliases).toEqual({});

    // A configurable level: 0.3 lets the same evidence through.
    const lax = started(testEvaluation(answer));
    await mcSet(lax, 3);
    await lax.automation.onVersionReady(lax.registry.addVersion('med', 1, { policy: { evalSet: 'mc', significance: 0.3 } }));
    await lax.automation.idle();
    expect(lax.registry.models.get('med')!.aliases).toEqual({ champion: 1 });
  });

  it('keeps the holder when the new version is not better, and re-decides after losing a race', async () => {
    // Version 2 answers like version 1 on the first half only: better than the base, worse than the holder.
    const t = started(testEvaluation((prompt, model) => (model.adapterUri.includes('/2/') && /q[3-5]\n/.test(prompt) ? '想。</think>答案：A' : answer(prompt, model))));
    await mcSet(t, 6);
    await t.automation.onVersionReady(t.registry.addVersion('med', 1, { policy: { evalSet: 'mc', significance: 1 } }));
    await t.automation.idle();
    await t.automation.onVersionReady(t.registry.addVersion('med', 2));
    await t.automation.idle();
    expect(t.registry.models.get('med')!.aliases).toEqual({ champion: 1 });
    const d2 = t.sink.published.filter((p) => p.subject.endsWith('promotion.decided')).at(-1)!.message as events.PromotionDecided;
    expect(d2).toMatchObject({ version: 2, promoted: false, incumbentVersion: 1, incumbentValue: 1, candidateValue: 0.5, baseValue: 0 });
    expect(d2.reason).toMatch(/^not better than the holder: accuracy 0\.5000 vs holder version 1's 1/);
    // The base model was evaluated once for both versions (cached by spec).
    expect([...t.store.runs.values()].filter((r) => r.registryName === '')).toHaveLength(1);

    // Version 3 is better than the base; someone moves the alias to 2 just before our SetAlias.
    const t2 = started(testEvaluation(answer));
    await mcSet(t2, 6);
    t2.registry.addVersion('med', 2, { policy: { evalSet: 'mc' } });
    await t2.automation.onVersionReady(t2.registry.addVersion('med', 3));
    let raced = false;
    t2.registry.beforeSetAlias = () => {
      if (!raced) {
        raced = true;
        t2.registry.models.get('med')!.aliases['champion'] = 2;
      }
    };
    await t2.automation.idle();
    const d3 = t2.sink.published.filter((p) => p.subject.endsWith('promotion.decided')).at(-1)!.message as events.PromotionDecided;
    // After the ABORTED move it judged again against the new holder (equal scores: not better).
    expect(d3).toMatchObject({ version: 3, promoted: false, incumbentVersion: 2 });
    expect(d3.reason).toMatch(/^not better than the holder/);
    expect(t2.registry.models.get('med')!.aliases['champion']).toBe(2);
  });

  it('a disabled policy evaluates but never promotes', async () => {
    const t = started(testEvaluation(answer));
    await mcSet(t, 6);
    await t.automation.onVersionReady(t.registry.addVersion('med', 1, { policy: { evalSet: 'mc', disabled: true } }));
    await t.automation.idle();
    const d = t.sink.published.filter((p) => p.subject.endsWith('promotion.decided'))[0]!.message as events.PromotionDecided;
    expect(d).toMatchObject({ promoted: false, reason: 'automatic promotion is disabled for this model' });
    expect(t.registry.models.get('med')!.aliases).toEqual({});
  });
});
