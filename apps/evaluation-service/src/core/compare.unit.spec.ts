import { evaluation } from '@medtune/contracts';
import { describe, expect, it } from 'vitest';
import { deltas, mcnemarExact, pairItems } from './compare';

describe('mcnemarExact', () => {
  it('matches the binomial tail computed by hand', () => {
    // b=1, c=7: 2 * (C(8,0) + C(8,1)) / 2^8 = 2 * 9 / 256
    expect(mcnemarExact(1, 7)).toBeCloseTo(18 / 256, 12);
    expect(mcnemarExact(7, 1)).toBeCloseTo(18 / 256, 12);
    // b=0, c=5: 2 / 32
    expect(mcnemarExact(0, 5)).toBeCloseTo(1 / 16, 12);
    expect(mcnemarExact(3, 3)).toBe(1);
    expect(mcnemarExact(0, 0)).toBe(1);
    // 2 * sum(comb(40, i) for i in range(11)) / 2**40 in exact integer arithmetic (Python)
    expect(mcnemarExact(10, 30)).toBeCloseTo(0.0022214337732293643, 12);
    expect(mcnemarExact(2_000, 2_600)).toBeGreaterThan(0);
    expect(mcnemarExact(2_000, 2_600)).toBeLessThan(1e-10);
  });
});

describe('pairItems and deltas', () => {
  const r = (index: number, correct: boolean, formatOk = true) => evaluation.ItemResult.fromPartial({ index, correct, formatOk, question: `q${index}`, output: `o${index}` });
  it('counts gained and lost on the same indices and keeps examples in order', () => {
    const base = [r(2, true), r(0, false), r(1, true), r(3, false)];
    const cand = [r(0, true), r(1, false), r(2, true), r(3, true, false)];
    const p = pairItems(base, cand, true);
    expect(p).toMatchObject({ items: 4, gained: 2, lost: 1 });
    expect(p.mcnemarPValue).toBeCloseTo(mcnemarExact(2, 1), 12);
    expect(p.examples.map((e) => [e.index, e.baselineCorrect, e.candidateCorrect, e.candidateFormatOk])).toEqual([
      [0, false, true, true],
      [1, true, false, true],
      [2, true, true, true],
      [3, false, true, false],
    ]);
    expect(pairItems(base, cand, false).mcnemarPValue).toBeUndefined();
  });

  it('gives candidate − baseline for the metrics both have', () => {
    const s = (o: Partial<evaluation.Scores>) => evaluation.Scores.fromPartial(o);
    const d = deltas(s({ accuracy: 0.25, formatCompliance: 0.5, evalLoss: 2 }), s({ accuracy: 0.5, formatCompliance: 1, evalLoss: 1.5, completionTokensP50: 10 }));
    expect(d).toMatchObject({ accuracy: 0.25, format_compliance: 0.5, eval_loss: -0.5, completion_tokens_p50: 10 });
    expect(deltas(s({}), s({ accuracy: 1 }))['accuracy']).toBeUndefined();
  });
});
