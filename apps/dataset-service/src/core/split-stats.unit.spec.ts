import { describe, expect, it } from 'vitest';
import { dataset } from '@medtune/contracts';
import { canonicalJson } from './digest';
import { issueCodeNumber } from './report';
import { evalCount, isEvalRow, planSplit, seek, splitKey } from './split';
import { percentile, tokenStats } from './stats';

describe('split', () => {
  it('takes exactly round(N × ratio) eval rows, at least one, never all', () => {
    expect([evalCount(916, 0.02), evalCount(10, 0.02), evalCount(1, 0.5), evalCount(2, 0.5), evalCount(100, 0)]).toEqual([18, 1, 0, 1, 0]);
  });

  it('is decided by seed and content, not position, with ties broken by index', () => {
    const hashes = Array.from({ length: 200 }, (_, i) => `h${i}`);
    const keys = hashes.map((h) => splitKey(8137, h));
    const plan = planSplit(keys, 0.1, 16);
    expect(plan.evalRows).toBe(20);
    const evalSet = hashes.filter((_, i) => plan.isEval[i]);
    // reversed order: the same rows are eval
    const rev = [...hashes].reverse();
    const planRev = planSplit(rev.map((h) => splitKey(8137, h)), 0.1, 16);
    expect(new Set(rev.filter((_, i) => planRev.isEval[i]))).toEqual(new Set(evalSet));
    // another seed: another eval set
    const other = planSplit(hashes.map((h) => splitKey(1, h)), 0.1, 16);
    expect(hashes.filter((_, i) => other.isEval[i])).not.toEqual(evalSet);
    // isEvalRow agrees with the plan, and the sparse index points at the right rows
    expect(keys.map((k, i) => isEvalRow(plan.index, k, i))).toEqual(Array.from(plan.isEval, Boolean));
    const trainIdx = keys.map((_, i) => i).filter((i) => !plan.isEval[i]);
    for (const offset of [0, 15, 16, 17, 100, 179]) {
      const { fromIndex, skip } = seek(plan.index, 'train', offset);
      const after = trainIdx.filter((i) => i >= fromIndex);
      expect(after[skip]).toBe(trainIdx[offset]);
    }
  });

  it('breaks ties between equal keys (identical rows) by index, so the count is exact', () => {
    const keys = [5, 5, 5, 1, 9];
    const plan = planSplit(keys, 0.4);
    expect(Array.from(plan.isEval)).toEqual([1, 0, 0, 1, 0]);
    expect(keys.map((k, i) => isEvalRow(plan.index, k, i))).toEqual([true, false, false, true, false]);
  });
});

describe('stats', () => {
  it('uses nearest-rank percentiles', () => {
    const sorted = Array.from({ length: 100 }, (_, i) => i + 1);
    expect([percentile(sorted, 50), percentile(sorted, 90), percentile(sorted, 99), percentile([7], 99)]).toEqual([50, 90, 99, 7]);
    expect(tokenStats([5, 1, 9, 3], 4)).toEqual({ rows: 4, totalTokens: 18, mean: 4.5, p50: 3, p90: 9, p99: 9, max: 9, min: 1, rowsOverMaxSeqLength: 2, maxSeqLength: 4 });
  });
});

describe('helpers', () => {
  it('canonical JSON sorts keys at every level', () => {
    expect(canonicalJson({ b: [{ d: 1, c: 2 }], a: 'x' })).toBe('{"a":"x","b":[{"c":2,"d":1}]}');
  });
  it('issue codes match the proto enum', () => {
    expect(issueCodeNumber('DUPLICATE')).toBe(dataset.RowIssueCode.ROW_ISSUE_CODE_DUPLICATE);
    expect(issueCodeNumber('TOO_LARGE')).toBe(dataset.RowIssueCode.ROW_ISSUE_CODE_TOO_LARGE);
  });
});
