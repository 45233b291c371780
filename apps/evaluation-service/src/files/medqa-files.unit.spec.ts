/**
 * The real MedQA test files (../shared/data/eval, never copied into the repository) through the
 * evaluation-set import as they come: JSONL rows of {question, options{A..D}, answer, answer_idx,
 * meta_info}, read by the file reader and mapped with no mapping, with the MEDQA preset, and with
 * the answer given as the option's text. Item counts, options and answers of known rows are
 * checked against the files. The API and `medtune eval sets import` over the same files:
 * apps/cli/src/eval-sets.int.spec.ts.
 */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { evaluation } from '@medtune/contracts';
import { describe, expect, it } from 'vitest';
import { contentSha256, itemsFromRows, type EvalItem } from '../core/evalsets';
import { resolveShape } from '../core/shapes';
import { fileRowReader } from './rows';

const EVAL_DIR = resolve(__dirname, '../../../../../shared/data/eval');
const ZH = resolve(EVAL_DIR, 'medqa_mcmle_zh_4opt_test.jsonl');
const EN = resolve(EVAL_DIR, 'medqa_usmle_4opt_test.jsonl');
const present = existsSync(ZH) && existsSync(EN);
const MC = evaluation.EvalSetKind.EVAL_SET_KIND_MULTIPLE_CHOICE;
const P = evaluation.EvalSetPreset;
const A = evaluation.AnswerFormat;

function mapping(m: Partial<evaluation.EvalSetMapping>): evaluation.EvalSetMapping {
  return evaluation.EvalSetMapping.fromPartial(m);
}
const read = (path: string, kind: evaluation.EvalSetKind, m?: Partial<evaluation.EvalSetMapping>) =>
  itemsFromRows(resolveShape(kind, m ? mapping(m) : undefined), fileRowReader()(path));

function expectFourOptions(items: readonly EvalItem[]): void {
  const odd = items.filter((it) => it.options.map(([k]) => k).join('') !== 'ABCD' || !'ABCD'.includes(it.answer) || it.answer.length !== 1 || !it.question);
  expect(odd.map((it) => it.index)).toEqual([]);
}

describe.skipIf(!present)('the real MedQA test files through the evaluation-set import (needs ../shared/data/eval)', () => {
  it('Mainland (Chinese) test split: 3,426 items, four options each, known rows as in the file', async () => {
    const items = await read(ZH, MC);
    expect(items).toHaveLength(3426);
    expectFourOptions(items);
    expect(items[0]).toEqual({
      index: 0,
      question: '经调查证实出现医院感染流行时，医院应报告当地卫生行政部门的时间是（　　）。',
      options: [['A', '2小时'], ['B', '4小时内'], ['C', '12小时内'], ['D', '24小时内']],
      answer: 'D',
      itemId: '',
      category: '卫生法规',
      context: '',
    });
    expect(items[1]).toMatchObject({ answer: 'B', category: '第四部分　运动系统疾病' });
    expect(items[1]!.options[1]).toEqual(['B', '肱动脉损伤']);
    expect(items[3425]).toMatchObject({ index: 3425, answer: 'C', category: '第七部分　传染病、性传播疾病' });
    expect(items[3425]!.options[2]).toEqual(['C', '急性血吸虫病']);
    expect(new Set(items.map((i) => i.category)).size).toBe(25);
    // The preset names the same columns: the same content, the same digest.
    const preset = await read(ZH, evaluation.EvalSetKind.EVAL_SET_KIND_UNSPECIFIED, { preset: P.EVAL_SET_PRESET_MEDQA });
    expect(contentSha256(MC, preset)).toBe(contentSha256(MC, items));
  });

  it('USMLE (English) test split: 1,273 items, known rows as in the file; the answer as option text gives the same letters', async () => {
    const items = await read(EN, MC);
    expect(items).toHaveLength(1273);
    expectFourOptions(items);
    expect(items[0]!.question).toMatch(/^A junior orthopaedic surgery resident is completing a carpal tunnel repair/);
    expect(items[0]).toMatchObject({ answer: 'B', category: 'step1' });
    expect(items[0]!.options[1]).toEqual(['B', 'Tell the attending that he cannot fail to disclose this mistake']);
    expect(items[1]).toMatchObject({ answer: 'D', category: 'step1' });
    expect(items[1]!.options[3]).toEqual(['D', 'Cross-linking of DNA']);
    expect(items[1272]).toMatchObject({ answer: 'C' });
    expect(items[1272]!.options[2]).toEqual(['C', 'Chronic obstructive pulmonary disease (COPD)']);
    expect(Object.fromEntries(['step1', 'step2&3'].map((c) => [c, items.filter((i) => i.category === c).length]))).toEqual({ 'step1': 679, 'step2&3': 594 });
    // The file's `answer` column holds the option's text: mapped with answer_format TEXT it names the same letters.
    const byText = await read(EN, MC, { answer: 'answer', answerFormat: A.ANSWER_FORMAT_TEXT });
    expect(byText.map((i) => i.answer)).toEqual(items.map((i) => i.answer));
  });

  it('a limit keeps the first N rows of the real file', async () => {
    const items = await itemsFromRows(resolveShape(MC, undefined), fileRowReader()(ZH), 5);
    expect(items.map((i) => i.answer)).toEqual(['D', 'B', 'C', 'B', 'C']);
    expect(items[0]!.options[3]).toEqual(['D', '24小时内']);
  });
});

describe.skipIf(present)('the real MedQA files', () => {
  it.skip('skipped: ../shared/data/eval is absent on this machine (the files are not copied into the repository)', () => {
    expect(present).toBe(false);
  });
});
