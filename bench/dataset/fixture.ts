/**
 * The benchmark's input: a file in the seed's schema ({Question, Complex_CoT, Response}) with
 * 25,000 rows, built from the 916 rows of ../shared/data (the full 25k-row set is not reachable
 * here). Copy 0 is the rows as they are; copy k >= 1 of a row appends "（病例变体 k）" ("case
 * variant k") to the question and rotates the chain of thought's paragraphs (or, with one
 * paragraph, its sentences) by k, so every row is distinct (no duplicate is dropped) while the text
 * keeps its style and length. Written as a pretty-printed JSON array, like the source file.
 */
import { createWriteStream } from 'node:fs';
import { mkdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { once } from 'node:events';

type Row = { Question: string; Complex_CoT: string; Response: string };

function rotate<T>(items: T[], k: number): T[] {
  const n = items.length;
  const s = ((k % n) + n) % n;
  return [...items.slice(s), ...items.slice(0, s)];
}

function perturb(row: Row, k: number): Row {
  if (k === 0) return row;
  const paragraphs = row.Complex_CoT.split('\n\n');
  let cot: string;
  if (paragraphs.length > 1) cot = rotate(paragraphs, k).join('\n\n');
  else {
    const sentences = row.Complex_CoT.split(/(?<=。)/);
    cot = sentences.length > 1 ? rotate(sentences, k).join('') : `${row.Complex_CoT}（${k}）`;
  }
  return { Question: `${row.Question}（病例变体 ${k}）`, Complex_CoT: cot, Response: row.Response };
}

/** Writes the file (if it is not there yet) and returns its path and size. */
export async function buildFixture(sharedDir: string, outDir: string, rows = 25_000): Promise<{ file: string; bytes: number; rows: number }> {
  const file = path.join(outDir, `medical_o1_sft_zh_${rows}.json`);
  const exists = await stat(file).catch(() => undefined);
  if (exists) return { file, bytes: exists.size, rows };
  await mkdir(outDir, { recursive: true });
  const source = JSON.parse(await readFile(path.join(sharedDir, 'data/sft/medical_o1_sft_Chinese_subset916.json'), 'utf8')) as Row[];
  const tmp = `${file}.tmp`;
  const out = createWriteStream(tmp);
  const write = async (s: string) => {
    if (!out.write(s)) await once(out, 'drain');
  };
  await write('[\n');
  for (let i = 0; i < rows; i++) {
    const row = perturb(source[i % source.length]!, Math.floor(i / source.length));
    const body = JSON.stringify(row, null, 2).replace(/\n/g, '\n  ');
    await write(`  ${body}${i + 1 < rows ? ',' : ''}\n`);
  }
  await write(']\n');
  out.end();
  await once(out, 'finish');
  const { rename } = await import('node:fs/promises');
  await rename(tmp, file);
  return { file, bytes: (await stat(file)).size, rows };
}
