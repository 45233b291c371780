/* eslint-disable @typescript-eslint/no-non-null-assertion -- indexes into arrays the test built */
/**
 * The worker-thread pool: same answers as the single-thread tokenizer (itself checked against HF
 * in exactness.int.spec.ts), under vitest and under tsx, with both engines; errors and close.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createTokenizerPool, loadTokenizer, TokenizerPoolError, type TokenizerPool } from '../src/index';
import { DEFAULT_NATIVE_ADDON } from '../src/native';
import { bpeDir, repoRoot, sftTexts, TRICKY } from '../test-support/texts';

const run = promisify(execFile);
const texts = [...sftTexts().filter((_, i) => i % 3 === 0).map((t) => t.text), ...TRICKY];
const nativeAvailable = existsSync(DEFAULT_NATIVE_ADDON) || process.env['MEDTUNE_TOKENIZER_NATIVE'] === 'required';

describe.each([
  { engine: 'ts' as const, run: true },
  { engine: 'native' as const, run: nativeAvailable },
])('pool of 2 threads, $engine engine (under vitest)', ({ engine, run }) => {
  let pool: TokenizerPool;
  beforeAll(async () => {
    if (run) pool = await createTokenizerPool({ dir: bpeDir, threads: 2, engine });
  });
  afterAll(async () => {
    await pool?.close();
  });

  test.skipIf(!run)('countBatch / encodeBatch equal count / encode of each text, in order', async () => {
    expect(pool.threads).toBe(2);
    expect(pool.engineKind).toBe(engine);
    const [counts, encoded] = await Promise.all([pool.countBatch(texts), pool.encodeBatch(texts, { addSpecialTokens: false })]);
    expect(Array.from(counts)).toEqual(texts.map((t) => pool.tokenizer.count(t)));
    expect(encoded.map((ids) => Array.from(ids))).toEqual(texts.map((t) => Array.from(pool.tokenizer.encode(t, { addSpecialTokens: false }))));
    expect(counts.reduce((a, b) => a + b, 0)).toBeGreaterThan(100_000);
  });

  test.skipIf(!run)('an empty batch, and many small concurrent batches', async () => {
    expect(await pool.countBatch([])).toEqual(new Uint32Array(0));
    const batches = Array.from({ length: 20 }, (_, i) => texts.slice(i * 7, i * 7 + 7));
    const results = await Promise.all(batches.map((b) => pool.countBatch(b)));
    results.forEach((r, i) => expect(Array.from(r)).toEqual(batches[i]!.map((t) => pool.tokenizer.count(t))));
  });
});

test('a text that is not a string is refused with its index; close() fails later calls', async () => {
  const pool = await createTokenizerPool({ dir: bpeDir, threads: 1, engine: 'ts' });
  await expect(pool.countBatch(['ok', 42 as unknown as string])).rejects.toThrow('texts[1] is a number, not a string');
  expect(Array.from(await pool.countBatch(['ok']))).toEqual([1]);
  const pending = expect(pool.countBatch(texts)).rejects.toBeInstanceOf(TokenizerPoolError);
  await pool.close();
  await pending;
  await expect(pool.countBatch(['ok'])).rejects.toThrow('tokenizer pool closed');
});

test('a pool can share an already loaded tokenizer', async () => {
  const tokenizer = await loadTokenizer(bpeDir, { engine: 'ts', shared: true });
  const pool = await createTokenizerPool({ tokenizer, threads: 2 });
  try {
    expect(pool.tokenizer).toBe(tokenizer);
    expect(pool.engineKind).toBe('ts');
    expect(Array.from(await pool.countBatch(texts.slice(0, 50)))).toEqual(texts.slice(0, 50).map((t) => tokenizer.count(t)));
  } finally {
    await pool.close();
  }
});

test.each(['ts', ...(nativeAvailable ? ['native'] : [])])('the worker loads under tsx too (%s engine)', async (engine) => {
  const tsx = path.join(repoRoot, 'node_modules/.bin/tsx');
  const script = path.join(repoRoot, 'libs/tokenizer/test-support/pool-smoke.ts');
  const { stdout } = await run(tsx, [script, engine], { cwd: repoRoot, timeout: 60_000 });
  const out = JSON.parse(stdout) as { engine: string; counts: number[]; single: number[] };
  expect(out.engine).toBe(engine);
  expect(out.counts.length).toBe(2 * TRICKY.length);
  expect(out.counts).toEqual(out.single);
});
