import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import {
  MEDICAL_O1_EN,
  MEDICAL_O1_ZH,
  TemplateError,
  parseFormat,
  placeholdersOf,
  renderFormat,
  renderInference,
  renderTraining,
  validateTemplate,
} from './index';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const shared = path.resolve(repoRoot, '../shared');
const EOS = '<｜end▁of▁sentence｜>';

// The seed script's two Python strings, as its source has them (copied from the seed, not from
// builtins.ts: this is what the builtin is checked against).
const SEED_PY = `prompt_style = """以下是描述任务的指令，以及提供更多上下文的输入。
  请写出恰当完成该请求的回答。
  在回答之前，请仔细思考问题，并创建一个逐步的思维链，以确保回答合乎逻辑且准确。
  ### Instruction:
  你是一位在临床推理、诊断和治疗计划方面具有专业知识的医学专家。
  请回答以下医学问题。
  ### Question:
  {}
  ### Response:
  <think>{}"""
train_prompt_style = prompt_style + """
  </think>
  {}"""
`;

/** Python's str.format with positional {} only, as the seed uses it (the seed's text has no other braces). */
function pyFormat(format: string, ...args: string[]): string {
  const parts = format.split('{}');
  expect(parts.length - 1).toBe(args.length);
  return parts.reduce((out, part, i) => out + (i > 0 ? args[i - 1] : '') + part, '');
}

function seedStrings(): { prompt: string; train: string } {
  const prompt = /prompt_style = """([\s\S]*?)"""/.exec(SEED_PY)![1]!;
  const tail = /prompt_style \+ """([\s\S]*?)"""/.exec(SEED_PY)![1]!;
  return { prompt, train: prompt + tail };
}

type Row = { Question: string; Complex_CoT: string; Response: string };
const zhRows = JSON.parse(readFileSync(path.join(shared, 'data/sft/medical_o1_sft_Chinese_subset916.json'), 'utf8')) as Row[];

describe('medical-o1-zh is the seed template', () => {
  const seed = seedStrings();
  // Row 108 has braces in its text: rendering must leave them alone, as Python's format does.
  for (const index of [0, 107]) {
    it(`renders row ${index + 1} of the 916-row set byte for byte like the seed (JS reading of the seed)`, () => {
      const row = zhRows[index]!;
      expect(renderInference(MEDICAL_O1_ZH, row.Question)).toBe(pyFormat(seed.prompt, row.Question, ''));
      expect(renderTraining(MEDICAL_O1_ZH, row.Question, row.Complex_CoT, row.Response, EOS)).toBe(
        pyFormat(seed.train, row.Question, row.Complex_CoT, row.Response) + EOS,
      );
    });
  }

  const python = spawnSync('python3', ['--version']).status === 0;
  it.skipIf(!python)(python ? 'matches the seed code run by python3 itself' : 'matches the seed code run by python3 (SKIPPED: no python3 on PATH)', () => {
    const rows = [zhRows[0]!, zhRows[107]!];
    const script = `${SEED_PY}
import json, sys
out = []
for row in json.load(sys.stdin):
    out.append({"prompt": prompt_style.format(row["Question"], ""),
                 "text": train_prompt_style.format(row["Question"], row["Complex_CoT"], row["Response"]) + ${JSON.stringify(EOS)}})
sys.stdout.buffer.write(json.dumps(out, ensure_ascii=False).encode("utf-8"))
`;
    const run = spawnSync('python3', ['-c', script], { input: JSON.stringify(rows), encoding: 'utf8' });
    expect(run.stderr).toBe('');
    const expected = JSON.parse(run.stdout) as { prompt: string; text: string }[];
    rows.forEach((row, i) => {
      expect(Buffer.from(renderInference(MEDICAL_O1_ZH, row.Question))).toEqual(Buffer.from(expected[i]!.prompt));
      expect(Buffer.from(renderTraining(MEDICAL_O1_ZH, row.Question, row.Complex_CoT, row.Response, EOS))).toEqual(
        Buffer.from(expected[i]!.text),
      );
    });
  });

  it('keeps the seed layout: two-space continuation lines, no trailing spaces, prompt ends with <think>', () => {
    const lines = MEDICAL_O1_ZH.trainFormat.split('\n');
    expect(lines.slice(1).every((l) => /^ {2}\S/.test(l))).toBe(true);
    expect(lines.every((l) => !/\s$/.test(l))).toBe(true);
    expect(renderInference(MEDICAL_O1_ZH, 'q').endsWith('### Response:\n  <think>')).toBe(true);
  });
});

describe('medical-o1-en', () => {
  it('has the structure of medical-o1-zh: same markers, same line count, same indentation', () => {
    const zh = MEDICAL_O1_ZH.trainFormat.split('\n');
    const en = MEDICAL_O1_EN.trainFormat.split('\n');
    expect(en.length).toBe(zh.length);
    for (const marker of ['  ### Instruction:', '  ### Question:', '  ### Response:', '  </think>']) {
      expect(en.indexOf(marker)).toBe(zh.indexOf(marker));
      expect(en.indexOf(marker)).toBeGreaterThan(0);
    }
    expect(placeholdersOf(MEDICAL_O1_EN.trainFormat)).toEqual(['question', 'cot', 'response']);
    expect(MEDICAL_O1_EN.trainFormat.startsWith(MEDICAL_O1_EN.inferenceFormat)).toBe(true);
    expect(MEDICAL_O1_ZH.trainFormat.startsWith(MEDICAL_O1_ZH.inferenceFormat)).toBe(true);
  });
});

describe('rendering', () => {
  it('substitutes in one pass: placeholders and braces inside values stay as written', () => {
    const q = 'what is {cot}? and {response} {{x}} } {';
    const text = renderTraining(MEDICAL_O1_ZH, q, 'C{question}', 'R', '');
    expect(text).toContain(`  ${q}\n`);
    expect(text).toContain('<think>C{question}\n  </think>\n  R');
    expect(text.split('C{question}').length).toBe(2);
  });

  it('turns {{ and }} into literal braces and keeps everything else', () => {
    expect(renderFormat('a {{question}} b {question} }}', { question: 'Q' })).toBe('a {question} b Q }');
  });

  it('renders a missing value as empty', () => {
    expect(renderFormat('[{cot}]', {})).toBe('[]');
  });
});

describe('parsing and validation', () => {
  it('names the unknown placeholder and its position', () => {
    expect(() => parseFormat('x {answer}', 'train_format')).toThrow(/train_format: unknown placeholder \{answer\} at position 2/);
  });

  it('rejects unmatched braces', () => {
    expect(() => parseFormat('a { b', 'f')).toThrow(/unmatched '\{' at position 2/);
    expect(() => parseFormat('a } b', 'f')).toThrow(/unmatched '\}' at position 2/);
    expect(() => parseFormat('a {ques{tion} b', 'f')).toThrow(TemplateError);
  });

  const good = { name: 'mine', description: 'd', inferenceFormat: 'Q: {question}\nA:', trainFormat: 'Q: {question}\nA: {cot} => {response}', language: 'en', builtin: true };

  it('accepts a good template and clears builtin', () => {
    expect(validateTemplate(good)).toEqual({ ...good, builtin: false });
  });

  it('requires every placeholder in train_format', () => {
    expect(() => validateTemplate({ ...good, trainFormat: 'Q: {question} {response}' })).toThrow(/train_format: must contain \{cot\}/);
  });

  it('requires {question} and forbids {cot} / {response} in inference_format', () => {
    expect(() => validateTemplate({ ...good, inferenceFormat: 'no slot' })).toThrow(/inference_format: must contain \{question\}/);
    expect(() => validateTemplate({ ...good, inferenceFormat: '{question} {response}' })).toThrow(/inference_format: must not contain \{response\}/);
  });

  it('checks the name', () => {
    expect(() => validateTemplate({ ...good, name: 'Bad Name' })).toThrow(/^name: /);
    expect(() => validateTemplate({ ...good, name: '' })).toThrow(/^name: /);
  });

  it('accepts both builtins', () => {
    expect(() => validateTemplate(MEDICAL_O1_ZH)).not.toThrow();
    expect(() => validateTemplate(MEDICAL_O1_EN)).not.toThrow();
  });
});
