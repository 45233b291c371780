import { evaluation } from '@medtune/contracts';
import { InvalidArgumentError } from '@medtune/kit';
import { describe, expect, it } from 'vitest';
import { itemsFromRows, type RawRow } from './evalsets';
import { getPath, parsePath, resolveShape } from './shapes';
import { aggregate, extractDecision, scoreItem } from './scoring';
import { bootstrapMean, wilson } from './stats';
import { metricTokens, rougeLF1, tokenF1 } from './textmetrics';

const K = evaluation.EvalSetKind;
const P = evaluation.EvalSetPreset;
const AF = evaluation.AnswerFormat;
const rows = (...values: unknown[]): RawRow[] => values.map((value, i) => ({ row: i + 1, value }));
const whole = (value: unknown): RawRow[] => [{ row: 1, value, whole: true }];
const mapping = (m: Partial<evaluation.EvalSetMapping>) => evaluation.EvalSetMapping.fromPartial(m);
async function rejection(p: Promise<unknown>): Promise<InvalidArgumentError> {
  const err = await p.then(() => undefined, (e: unknown) => e);
  expect(err).toBeInstanceOf(InvalidArgumentError);
  return err as InvalidArgumentError;
}

describe('dotted paths', () => {
  it('reads keys, indices and bracketed keys', () => {
    expect(parsePath("a.b['c.d'][2].e")).toEqual(['a', 'b', 'c.d', '2', 'e']);
    expect(parsePath('a..b')).toBeUndefined();
    expect(getPath({ a: { list: [{ q: 'x' }] } }, 'a.list.0.q')).toBe('x');
    expect(getPath({ a: 1 }, 'a.b')).toBeUndefined();
  });
});

describe('multiple choice in benchmark shapes', () => {
  const mc = (m: Partial<evaluation.EvalSetMapping>) => resolveShape(K.EVAL_SET_KIND_MULTIPLE_CHOICE, mapping(m));

  it('takes options as a list, a letter-keyed object or one column per option, with any number of them', async () => {
    const list = await itemsFromRows(mc({ answer: 'answer', answerFormat: AF.ANSWER_FORMAT_INDEX_0 }), rows({ question: 'q', options: ['x', 'y', 'z', 'w', 'v'], answer: 4 }));
    expect(list[0]).toMatchObject({ options: [['A', 'x'], ['B', 'y'], ['C', 'z'], ['D', 'w'], ['E', 'v']], answer: 'E' });
    const keyed = await itemsFromRows(mc({}), rows({ question: 'q', options: { a: 'x', b: 'y', c: 'z' }, answer_idx: 'c' }));
    expect(keyed[0]).toMatchObject({ options: [['A', 'x'], ['B', 'y'], ['C', 'z']], answer: 'C' });
    const medmcqa = await itemsFromRows(
      resolveShape(K.EVAL_SET_KIND_UNSPECIFIED, mapping({ preset: P.EVAL_SET_PRESET_MEDMCQA })),
      rows({ id: 'm1', question: 'q', opa: 'x', opb: 'y', opc: 'z', opd: 'w', cop: 2, subject_name: 'Anatomy' }),
    );
    expect(medmcqa[0]).toMatchObject({ itemId: 'm1', answer: 'B', category: 'Anatomy', options: [['A', 'x'], ['B', 'y'], ['C', 'z'], ['D', 'w']] });
  });

  it('reads the answer as a letter, a declared 0- or 1-based index, or the option text', async () => {
    const r = { question: 'q', options: ['x', 'y', 'z'] };
    const one = async (answer: unknown, answerFormat = AF.ANSWER_FORMAT_UNSPECIFIED) => (await itemsFromRows(mc({ answer: 'ans', answerFormat }), rows({ ...r, ans: answer })))[0]!.answer;
    expect(await one('B')).toBe('B');
    expect(await one('z')).toBe('C');
    expect(await one(0, AF.ANSWER_FORMAT_INDEX_0)).toBe('A');
    expect(await one('1', AF.ANSWER_FORMAT_INDEX_1)).toBe('A');
    expect(await one('y', AF.ANSWER_FORMAT_TEXT)).toBe('B');
    expect((await rejection(one(2))).message).toMatch(/row 1: ans: 2 is a number; declare mapping.answer_format INDEX_0 or INDEX_1/);
    expect((await rejection(one(3, AF.ANSWER_FORMAT_INDEX_0))).message).toMatch(/ans: index 3 is outside the 3 options/);
  });

  it('reads records keyed by id, nested cases and dotted paths; reports every bad item by position and field', async () => {
    const byId = await itemsFromRows(mc({ records: '*', question: 'data.q' }), whole({ k1: { data: { q: 'one' }, options: { A: 'x', B: 'y' }, answer_idx: 'A' }, k2: { data: { q: 'two' }, options: { A: 'x', B: 'y' }, answer_idx: 'B' } }));
    expect(byId.map((i) => [i.index, i.itemId, i.question])).toEqual([[0, 'k1', 'one'], [1, 'k2', 'two']]);
    const cases = await itemsFromRows(
      mc({ nested: 'qa', id: 'case_id', context: 'vignette' }),
      rows({ case_id: 'c7', vignette: 'A 60-year-old man.', qa: [{ question: 'first?', options: ['x', 'y'], answer_idx: 'A' }, { question: 'second?', options: ['x', 'y'], answer_idx: 'B' }] }),
    );
    expect(cases.map((i) => [i.index, i.itemId, i.context, i.question])).toEqual([[0, 'c7/1', 'A 60-year-old man.', 'first?'], [1, 'c7/2', 'A 60-year-old man.', 'second?']]);
    const bad = await rejection(
      itemsFromRows(mc({ records: '*' }), whole({ a: { question: 'q', options: { A: 'x', B: '' }, answer_idx: 'A' }, b: { question: '', options: ['x', 'y'], answer_idx: 'Z' } })),
    );
    expect(bad.field).toBe('path');
    expect(bad.message).toMatch(/2 malformed row\(s\), nothing stored: record "a" \(record 1\): options.B: must be a non-empty string \| record "b" \(record 2\): question: must be a non-empty string; answer_idx: "Z" is not one of the options A, B/);
  });

  it('refuses a top-level object without a mapping, saying so', async () => {
    const err = await rejection(itemsFromRows(K.EVAL_SET_KIND_MULTIPLE_CHOICE, whole({ '1001': { question: 'q' }, '1002': { question: 'r' } })));
    expect(err.field).toBe('mapping.records');
    expect(err.message).toMatch(/one JSON object of 2 records keyed by id \("1001", "1002"\).*set mapping.records to "\*"/);
  });

  it('keeps the old shapes and messages without a mapping', async () => {
    const err = await rejection(itemsFromRows(K.EVAL_SET_KIND_MULTIPLE_CHOICE, rows({ question: 'q', options: { A: 'x', B: 'y' } })));
    expect(err.message).toMatch(/row 1: answer_idx: missing/);
  });
});

describe('yes / no / maybe and free text', () => {
  it('reads PubMedQA (keyed by PMID, contexts joined) and scores decisions', async () => {
    const s = resolveShape(K.EVAL_SET_KIND_UNSPECIFIED, mapping({ preset: P.EVAL_SET_PRESET_PUBMEDQA }));
    expect(s.kind).toBe(K.EVAL_SET_KIND_YES_NO_MAYBE);
    const items = await itemsFromRows(s, whole({ '2100': { QUESTION: 'Does X help?', CONTEXTS: ['c1', 'c2'], final_decision: 'yes' } }));
    expect(items[0]).toMatchObject({ itemId: '2100', context: 'c1\nc2', answer: 'yes' });
    expect(extractDecision('The answer is: No.')).toBe('no');
    expect(extractDecision('答案：是')).toBe('yes');
    expect(extractDecision('yes or no')).toBe('');
    const bad = await rejection(itemsFromRows(s, whole({ '1': { QUESTION: 'q', final_decision: 'perhaps' } })));
    expect(bad.message).toMatch(/record "1" \(record 1\): final_decision: must be yes, no or maybe/);
  });

  it('reads the training presets (alpaca, chat) as free form with a reference and scores ROUGE-L / token F1', async () => {
    const alpaca = await itemsFromRows(resolveShape(K.EVAL_SET_KIND_UNSPECIFIED, mapping({ preset: P.EVAL_SET_PRESET_ALPACA })), rows({ instruction: 'Treat?', input: 'STEMI', output: 'aspirin and PCI' }));
    expect(alpaca[0]).toMatchObject({ question: 'Treat?\nSTEMI', answer: 'aspirin and PCI' });
    const chat = await itemsFromRows(
      resolveShape(K.EVAL_SET_KIND_UNSPECIFIED, mapping({ preset: P.EVAL_SET_PRESET_CHAT })),
      rows({ messages: [{ role: 'user', content: 'Q?' }, { role: 'assistant', content: '<think>r</think>A.' }] }),
    );
    expect(chat[0]).toMatchObject({ question: 'Q?', answer: 'A.' });
    const item = { ...alpaca[0]! };
    const r = scoreItem(item, 'p', { text: 'hm</think>aspirin then PCI', promptTokens: 1, completionTokens: 3, finishReason: 'eos' }, K.EVAL_SET_KIND_FREE_FORM, { promptEndsWithThink: true, stopTokens: [] });
    expect(r.rougeL).toBeCloseTo(rougeLF1('aspirin then PCI', 'aspirin and PCI'), 9);
    expect(r.tokenF1).toBeCloseTo(2 / 3, 9);
    const s = aggregate([r, { ...r, rougeL: 0, tokenF1: 0 }], K.EVAL_SET_KIND_FREE_FORM);
    expect(s.rougeL).toBeCloseTo(r.rougeL! / 2, 9);
    expect(s.rougeLCi?.method).toBe('bootstrap');
  });
});

describe('statistics', () => {
  it('Wilson intervals match the closed form and stay inside [0, 1]', () => {
    expect(wilson(0, 10)).toEqual({ low: 0, high: expect.closeTo(0.2775, 3), method: 'wilson' });
    expect(wilson(10, 10).high).toBe(1);
    const mid = wilson(5, 10);
    expect(mid.low).toBeCloseTo(0.2366, 3);
    expect(mid.high).toBeCloseTo(0.7634, 3);
  });

  it('the bootstrap interval is seeded (same every time) and brackets the mean', () => {
    const v = [0, 0.2, 0.4, 0.6, 0.8, 1, 0.5, 0.3];
    const a = bootstrapMean(v);
    expect(bootstrapMean(v)).toEqual(a);
    expect(a.low).toBeLessThan(0.475);
    expect(a.high).toBeGreaterThan(0.475);
  });

  it('text metrics tokenise CJK by character and drop punctuation and articles', () => {
    expect(metricTokens('The answer: 阿托品。')).toEqual(['answer', '阿', '托', '品']);
    expect(tokenF1('首选阿托品', '阿托品')).toBeCloseTo(0.75, 9);
    expect(rougeLF1('', 'x')).toBe(0);
  });

  it('per-category figures with intervals', () => {
    const base = { index: 0, question: 'q', prompt: 'p', output: '', answerText: '', predicted: '', expected: 'A', formatOk: true, promptTokens: 1, completionTokens: 1, finishReason: 'eos' };
    const items = [
      { ...base, correct: true, category: 'cardio' },
      { ...base, correct: false, category: 'cardio' },
      { ...base, correct: true, category: 'renal' },
    ];
    const s = aggregate(items, K.EVAL_SET_KIND_MULTIPLE_CHOICE);
    expect(s.byCategory?.categories.map((c) => [c.category, c.items, c.accuracy])).toEqual([['cardio', 2, 0.5], ['renal', 1, 1]]);
    expect(s.byCategory?.categories[0]?.accuracyCi).toEqual(wilson(1, 2));
  });
});
