/**
 * The bench corpus: 25,000 formatted rows built from the 916 rows of
 * ../shared/data/sft/medical_o1_sft_Chinese_subset916.json. Copy 0 is the rows as they are; every
 * later copy perturbs each CJK character with probability PERTURB (a seeded PRNG) by replacing it
 * with a character drawn from the corpus' own character frequencies, so that repeated rows do not
 * simply hit the tokenizers' piece caches. Rows are rendered with a stand-in for the seed's
 * medical-o1-zh template, ending with the EOS token.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';

export const PERTURB = 0.05;
const EOS = '<｜end▁of▁sentence｜>';

interface Row {
  Question: string;
  Complex_CoT: string;
  Response: string;
}

/** A stand-in for medical-o1-zh (the real template is @medtune/prompting's); ends with the EOS. */
function format(r: Row): string {
  return (
    '以下是描述任务的指令，以及提供进一步上下文的输入。\n请写出一个适当完成请求的回答。\n' +
    '在回答之前，请仔细思考问题，并创建一个逻辑连贯的思考过程，以确保回答准确无误。\n\n' +
    '### Instruction:\n你是一位在临床推理、诊断和治疗计划方面具有专业知识的医学专家。\n请回答以下医学问题。\n\n' +
    `### Question:\n${r.Question}\n\n### Response:\n<think>${r.Complex_CoT}\n</think>\n${r.Response}${EOS}`
  );
}

const isCjk = (c: string) => c >= '\u4e00' && c <= '\u9fff';

export function buildCorpus(sharedDir: string, rows = 25_000): { texts: string[]; description: string } {
  const file = path.join(sharedDir, 'data/sft/medical_o1_sft_Chinese_subset916.json');
  const base = JSON.parse(readFileSync(file, 'utf8')) as Row[];
  // Character pool: every CJK character occurrence, so draws follow the corpus' frequencies.
  const pool: string[] = [];
  for (const r of base) for (const c of r.Question + r.Complex_CoT + r.Response) if (isCjk(c)) pool.push(c);
  let seed = 20250101;
  const rand = () => ((seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0) / 2 ** 32);
  const perturb = (s: string) => {
    const out: string[] = [];
    for (const c of s) out.push(isCjk(c) && rand() < PERTURB ? (pool[Math.floor(rand() * pool.length)] ?? c) : c);
    return out.join('');
  };
  const texts: string[] = [];
  for (let i = 0; i < rows; i++) {
    const r = base[i % base.length];
    if (!r) throw new Error(`${file} has no rows`);
    const copy = Math.floor(i / base.length);
    texts.push(format(copy === 0 ? r : { Question: perturb(r.Question), Complex_CoT: perturb(r.Complex_CoT), Response: perturb(r.Response) }));
  }
  const description =
    `${rows} rows = the ${base.length} rows of ${path.basename(file)} repeated ${Math.ceil(rows / base.length)} times; ` +
    `copy 0 as is, later copies with each CJK character replaced with probability ${PERTURB} by one drawn from the corpus' ` +
    'character frequencies (seeded); each row rendered with a stand-in of the medical-o1-zh template + EOS';
  return { texts, description };
}
