import { describe, expect, it } from 'vitest';
import { aggregate, extractChoice, percentile, scoreItem } from './scoring';
import type { EvalItem } from './evalsets';

const ABCD: [string, string][] = [
  ['A', '2小时'],
  ['B', '4小时内'],
  ['C', '12小时内'],
  ['D', '24小时内'],
];

describe('extractChoice', () => {
  it.each([
    ['答案：B', 'B'],
    ['答案: B', 'B'],
    ['答案是C。', 'C'],
    ['正确答案为 A 项', 'A'],
    ['最终答案：（D）', 'D'],
    ['**答案：C**', 'C'],
    ['故选D。', 'D'],
    ['应选 b', 'B'],
    ['选项B', 'B'],
    ['选项B正确，应使用硝酸甘油。', 'B'],
    ['The answer is (B)', 'B'],
    ['The answer is B.', 'B'],
    ['Answer: d', 'D'],
    ['The correct answer is option D.', 'D'],
    ['Final answer: [C]', 'C'],
    ['\\boxed{A}', 'A'],
    ['So the result is \\boxed{\\text{C}}', 'C'],
    ['**B**', 'B'],
    ['B', 'B'],
    ['b', 'B'],
    ['(c)', 'C'],
    ['Ｂ', 'B'],
    ['答案：Ｄ', 'D'],
    ['ｃ', 'C'],
    ['B. 硝酸甘油舌下含服', 'B'],
    ['C) Nitroglycerin', 'C'],
    ['(A) Fluids first', 'A'],
    ['A、2小时', 'A'],
    ['Option A is wrong. The answer is C.', 'C'],
    ['I am not sure, but **C** seems best.', 'C'],
    ['24小时内', 'D'],
    ['24小时内。', 'D'],
  ])('%s → %s', (text, letter) => {
    expect(extractChoice(text, ABCD)).toBe(letter);
  });

  it.each([
    ['', 'empty'],
    ['A 70-year-old man should get fluids first.', 'the article A'],
    ['The answer is a beta blocker', 'a lower-case article after the phrase'],
    ['答案：E', 'a letter that is not an option'],
    ['选项A错误，选项B正确', 'two different options named'],
    ['应给予多巴胺维持血压', 'no letter at all'],
    ['4小时', 'text of no option'],
  ])('%s → "" (%s)', (text) => {
    expect(extractChoice(text, ABCD)).toBe('');
  });
});

describe('scoreItem and aggregate', () => {
  const item: EvalItem = { index: 0, question: 'q', options: ABCD, answer: 'D' };
  const o = { promptEndsWithThink: true, stopTokens: ['<｜end▁of▁sentence｜>'] };
  const c = (text: string, completionTokens = 10, finishReason = 'eos') => ({ text, promptTokens: 5, completionTokens, finishReason });

  it('reads the letter only after </think> and checks the format', () => {
    const good = scoreItem(item, 'p', c('想想：可能是A，也可能是D。\n</think>\n答案：D<｜end▁of▁sentence｜>'), true, o);
    expect(good).toMatchObject({ answerText: '答案：D', predicted: 'D', correct: true, formatOk: true });
    const unclosed = scoreItem(item, 'p', c('答案：D 但是我还在想', 1200, 'length'), true, o);
    expect(unclosed).toMatchObject({ answerText: '', predicted: '', correct: false, formatOk: false, finishReason: 'length' });
    const wrong = scoreItem(item, 'p', c('x</think>答案：A'), true, o);
    expect(wrong).toMatchObject({ predicted: 'A', expected: 'D', correct: false, formatOk: true });
    const twoThinks = scoreItem(item, 'p', c('x</think>y<think>z</think>D'), true, o);
    expect(twoThinks.formatOk).toBe(false);
  });

  it('aggregates accuracy, format share, length percentiles and truncation', () => {
    const rs = [
      scoreItem(item, 'p', c('r</think>D', 10), true, o),
      scoreItem(item, 'p', c('r</think>A', 20), true, o),
      scoreItem(item, 'p', c('r</think>hmm', 30), true, o),
      scoreItem(item, 'p', c('never closed', 100, 'length'), true, o),
    ];
    const s = aggregate(rs, true, 2.5);
    expect(s).toEqual({
      items: 4,
      accuracy: 0.25,
      formatCompliance: 0.75,
      completionTokensP50: 25,
      completionTokensP90: percentile([10, 20, 30, 100], 90),
      completionTokensP99: percentile([10, 20, 30, 100], 99),
      truncatedShare: 0.25,
      evalLoss: 2.5,
      unparsedAnswers: 2,
      // Wilson 95 % intervals of 1/4 and 3/4
      accuracyCi: { low: expect.closeTo(0.0456, 3), high: expect.closeTo(0.6994, 3), method: 'wilson' },
      formatComplianceCi: { low: expect.closeTo(0.3006, 3), high: expect.closeTo(0.9544, 3), method: 'wilson' },
    });
    expect(s.completionTokensP90).toBeCloseTo(79, 6);
    const ff = aggregate(rs, false);
    expect(ff.accuracy).toBeUndefined();
    expect(ff.unparsedAnswers).toBe(0);
    expect(ff.evalLoss).toBeUndefined();
  });

  it('percentile interpolates like numpy', () => {
    expect(percentile([1, 2, 3, 4], 50)).toBe(2.5);
    expect(percentile([7], 99)).toBe(7);
    expect(percentile([], 50)).toBe(0);
  });
});
