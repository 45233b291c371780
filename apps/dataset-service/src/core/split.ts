/**
 * The train / eval split, deterministic from the seed and the rows' content:
 *
 * 1. each kept row gets a split key: the first 48 bits of sha256("<seed>:<content hash>"), so a
 *    row's key depends only on the seed and its question, chain of thought and answer — not on
 *    its position, and identical rows share a key;
 * 2. eval = the k rows with the smallest (key, index), k = round(N × ratio), at least 1 when
 *    ratio > 0 and N >= 2, at most N − 1 (the train split is never empty); ratio 0 gives no eval rows;
 * 3. both splits keep the file's order.
 *
 * The keys are known while streaming, so rows are stored as they come; at the end the largest eval
 * (key, index) is recorded, which tells every row's split on the way out, with a sparse index of
 * where each split's rows start so that a reader can resume at any offset without counting from
 * the beginning.
 */
import { createHash } from 'node:crypto';
import type { SplitIndex } from './ports';

/** Rows between two entries of a {@link SplitIndex}. */
export const SPLIT_INDEX_EVERY = 1024;

/** The split key of a row (an integer below 2^48). */
export function splitKey(seed: number, contentHash: string): number {
  return createHash('sha256').update(`${seed}:${contentHash}`).digest().readUIntBE(0, 6);
}

/** How many eval rows N rows and a ratio give. */
export function evalCount(n: number, ratio: number): number {
  if (ratio <= 0 || n < 2) return 0;
  return Math.min(n - 1, Math.max(1, Math.round(n * ratio)));
}

/** The outcome of choosing the eval rows. */
export interface SplitPlan {
  readonly evalRows: number;
  readonly trainRows: number;
  readonly index: SplitIndex;
  /** 1 for eval rows, by overall index. */
  readonly isEval: Uint8Array;
}

/** Chooses the eval rows from the kept rows' split keys (by overall index). */
export function planSplit(keys: ArrayLike<number>, ratio: number, every = SPLIT_INDEX_EVERY): SplitPlan {
  const n = keys.length;
  const k = evalCount(n, ratio);
  const isEval = new Uint8Array(n);
  let upTo: SplitIndex['evalUpTo'] = null;
  if (k > 0) {
    const order = new Uint32Array(n);
    for (let i = 0; i < n; i++) order[i] = i;
    order.sort((a, b) => keys[a]! - keys[b]! || a - b);
    for (let j = 0; j < k; j++) isEval[order[j]!] = 1;
    const last = order[k - 1]!;
    upTo = { key: keys[last]!, index: last };
  }
  const train: number[] = [];
  const evalStarts: number[] = [];
  let t = 0;
  let e = 0;
  for (let i = 0; i < n; i++) {
    if (isEval[i]) {
      if (e % every === 0) evalStarts.push(i);
      e++;
    } else {
      if (t % every === 0) train.push(i);
      t++;
    }
  }
  return { evalRows: k, trainRows: n - k, index: { every, train, eval: evalStarts, evalUpTo: upTo }, isEval };
}

/** Where a read of `split` from `offset` starts: the overall index to seek to and the rows to skip after it. */
export function seek(index: SplitIndex, split: 'train' | 'eval', offset: number): { fromIndex: number; skip: number } {
  const starts = split === 'train' ? index.train : index.eval;
  const slot = Math.floor(offset / index.every);
  const from = starts[slot];
  if (from === undefined) return { fromIndex: Number.MAX_SAFE_INTEGER, skip: 0 };
  return { fromIndex: from, skip: offset - slot * index.every };
}

/** Whether a stored row is in the eval split of a version. */
export function isEvalRow(index: SplitIndex, splitKey: number, rowIndex: number): boolean {
  const up = index.evalUpTo;
  if (!up) return false;
  return splitKey < up.key || (splitKey === up.key && rowIndex <= up.index);
}
