/**
 * Texts for the exactness tests: every row of ../shared/data/sft/*.json (each field, their
 * concatenation and a rendered prompt with special tokens), a sample of the eval JSONL files, and
 * strings chosen to break tokenizers.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = fileURLToPath(new URL('../../..', import.meta.url));
export const sharedDir = path.resolve(repoRoot, '../shared');
export const bpeDir = path.join(sharedDir, 'models/deepseek-r1-distill-qwen/bpe');
export const configDir14B = path.join(sharedDir, 'models/deepseek-r1-distill-qwen/14B');

/** A stand-in for the seed's medical-o1-zh template (the real one is @medtune/prompting's). */
export function renderPrompt(row: { Question: string; Complex_CoT: string; Response: string }): string {
  return (
    '<｜begin▁of▁sentence｜>以下是描述任务的指令，以及提供进一步上下文的输入。\n' +
    '请写出一个适当完成请求的回答。\n\n### Instruction:\n你是一位在临床推理、诊断和治疗计划方面具有专业知识的医学专家。\n请回答以下医学问题。\n\n' +
    `### Question:\n${row.Question}\n\n### Response:\n<think>${row.Complex_CoT}\n</think>\n${row.Response}<｜end▁of▁sentence｜>`
  );
}

export interface LabelledText {
  label: string;
  text: string;
}

export function sftTexts(): LabelledText[] {
  const dir = path.join(sharedDir, 'data/sft');
  const out: LabelledText[] = [];
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.json')).sort()) {
    const rows = JSON.parse(readFileSync(path.join(dir, file), 'utf8')) as Array<Record<string, string>>;
    rows.forEach((r, i) => {
      const row = { Question: r['Question'] ?? '', Complex_CoT: r['Complex_CoT'] ?? '', Response: r['Response'] ?? '' };
      const at = `${file}[${i}]`;
      out.push({ label: `${at}.Question`, text: row.Question });
      out.push({ label: `${at}.Complex_CoT`, text: row.Complex_CoT });
      out.push({ label: `${at}.Response`, text: row.Response });
      out.push({ label: `${at} concatenated`, text: `${row.Question}\n${row.Complex_CoT}\n${row.Response}` });
      out.push({ label: `${at} prompt`, text: renderPrompt(row) });
    });
  }
  return out;
}

/** Every `every`-th line of each eval JSONL file: its question and options. */
export function evalTexts(every: number): LabelledText[] {
  const dir = path.join(sharedDir, 'data/eval');
  const out: LabelledText[] = [];
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.jsonl')).sort()) {
    const lines = readFileSync(path.join(dir, file), 'utf8').split('\n').filter((l) => l.trim() !== '');
    for (let i = 0; i < lines.length; i += every) {
      const r = JSON.parse(lines[i] ?? '') as { question: string; options: Record<string, string> };
      const options = Object.entries(r.options).map(([k, v]) => `${k}. ${v}`).join('\n');
      out.push({ label: `${file}:${i + 1}`, text: `${r.question}\n${options}` });
    }
  }
  return out;
}

export const TRICKY: readonly string[] = [
  '',
  ' ',
  'a',
  '\n',
  // Emoji: ZWJ sequences, flags, skin tones, keycaps, variation selectors.
  '👩‍👩‍👧‍👦 family 🇨🇳🇺🇸 flags 👍🏽 thumbs 1️⃣ keycap ❤️ heart 🫠🫨',
  // Combining characters that NFC composes, and ones that it cannot.
  'e\u0301 A\u030a n\u0303 \u1100\u1161\u11a8 Ω \u212b q\u0307\u0323 a\u0338 \u0958',
  'cafe\u0301 naïve coöperate Ångström',
  // Line ends and whitespace runs.
  'line one\r\nline two\r\n\r\n\r\nline five\n\n\n   \n\t\n',
  'trailing spaces   ',
  '   leading spaces',
  'tabs\tand\t\ttabs \t mixed',
  ' \u00a0\u3000\u2009\u200b nbsp, ideographic space, thin space, zero width',
  'x\u0085y\u2028z\u2029w',
  'a  b   c    d\n  e',
  // Numbers.
  '1234567890 3.14159 1,000,000 -42 1e-9 0x1F ١٢٣ ①②③ Ⅻ ½',
  '血压 120/80 mmHg，心率 72 次/分，体温 36.5°C，2024年3月5日',
  // English contractions in all cases, and lookalikes.
  "I'm you're he's we've they'll she'd don't I'M YOU'RE WE'VE THEY'LL 'S 'T 'ſ 'ſa 'Re 'vE 'lL ''s",
  "rock'n'roll o'clock ma'am y'all '", 
  // Mixed scripts.
  'Hello世界مرحبا Привет 안녕하세요 こんにちは สวัสดี नमस्ते Γειά σου שלום',
  'ＦＵＬＬＷＩＤＴＨ ｆｕｌｌ １２３ 「引号」《书名》',
  // Punctuation runs and code.
  '!!!??? ... --- *** ===>>> ```js\nconst x = a?.b ?? c;\n```',
  'def f(x):\n    return x ** 2  # square\n\n\nprint(f(3))\n',
  'http://example.com/path?query=1&x=%20#frag user@example.org',
  // Added / special tokens in and around text.
  '<think>\n推理过程\n</think>\n答案<｜end▁of▁sentence｜>',
  'x<｜end▁of▁sentence｜>y<｜User｜><｜Assistant｜><|EOT|>',
  '<think><think></think></think>',
  '<think <think> think> </think', 
  '<|im_start|>user\nnot a special token here<|im_end|>',
  '<tool_call>{"name": "f"}</tool_call><|fim_prefix|>a<|fim_middle|>b<|fim_suffix|>',
  '<think>\u0338 special token followed by a combining mark',
  // Long runs (big pieces for BPE).
  'a'.repeat(3000),
  ' '.repeat(2000) + 'x',
  '\n'.repeat(500),
  '9'.repeat(1000),
  '中'.repeat(2000),
  'аааа'.repeat(500),
  '病人'.repeat(1000) + '。',
  // Control characters and rarities.
  '\u0000\u0001\u001f\u007f\u0080\u009f',
  '\ufeffBOM at start',
  '\u{10ffff}\u{e0001}\u{1f600}\u{20000}\u{2a6d6}',
];

/**
 * Every character that has a canonical decomposition in V8's ICU, written decomposed (and, for
 * some, with a second combining mark out of canonical order), 64 to a text: checks NFC.
 */
export function nfcSweepTexts(): LabelledText[] {
  const chars: string[] = [];
  for (let cp = 0; cp < 0x110000; cp++) {
    if (cp >= 0xd800 && cp <= 0xdfff) continue;
    const c = String.fromCodePoint(cp);
    const d = c.normalize('NFD');
    if (d !== c) chars.push(cp % 3 === 0 ? d + '\u0316' : d); // U+0316 (below) sorts before marks above
  }
  const out: LabelledText[] = [];
  for (let i = 0; i < chars.length; i += 64) out.push({ label: `nfc sweep ${i}`, text: chars.slice(i, i + 64).join(' ') });
  return out;
}
