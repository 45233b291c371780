/**
 * Run with tsx (the way services run): starts a 2-thread pool, counts some texts and prints
 * {"engine", "counts", "single"} as JSON, so a test can check that the worker loads under tsx.
 *   npx tsx libs/tokenizer/test-support/pool-smoke.ts <engine: ts|native|auto>
 */
import { createTokenizerPool } from '../src/index';
import { bpeDir, TRICKY } from './texts';

const engine = (process.argv[2] ?? 'auto') as 'ts' | 'native' | 'auto';
const pool = await createTokenizerPool({ dir: bpeDir, threads: 2, engine });
try {
  const texts = [...TRICKY, ...TRICKY.map((t) => t + ' 医学')];
  const counts = await pool.countBatch(texts);
  const single = texts.map((t) => pool.tokenizer.count(t));
  console.log(JSON.stringify({ engine: pool.engineKind, counts: Array.from(counts), single }));
} finally {
  await pool.close();
}
