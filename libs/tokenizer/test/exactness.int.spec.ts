/* eslint-disable @typescript-eslint/no-non-null-assertion -- indexes into arrays the test built */
/**
 * Token ids identical to HuggingFace (transformers' Qwen2 fast tokenizer rebuilt from the shared
 * bpe/ files, and tokenizers loading the tokenizer.json it saves) for every SFT row, a sample of
 * the eval sets and tricky strings; with both engines.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, test } from 'vitest';
import { loadTokenizer, type Tokenizer } from '../src/index';
import { DEFAULT_NATIVE_ADDON } from '../src/native';
import { LETTER_RANGES, NUMBER_RANGES, SPACE_RANGES } from '../src/unicode-classes.generated';
import { hfReference, hfUnicodeClasses, type HfReference } from '../test-support/hf';
import { bpeDir, evalTexts, nfcSweepTexts, sftTexts, TRICKY, type LabelledText } from '../test-support/texts';

const texts: LabelledText[] = [
  ...sftTexts(),
  ...evalTexts(10),
  ...TRICKY.map((text, i) => ({ label: `tricky[${i}]`, text })),
  ...nfcSweepTexts(),
];
let reference: HfReference | Error;

beforeAll(async () => {
  // A missing Python must fail every test with its message, not skip them.
  reference = await hfReference(
    bpeDir,
    texts.map((t) => t.text),
  ).catch((err: Error) => err);
}, 300_000);

/** The HF reference, or the reason it is missing (thrown). */
function hfRef(): HfReference {
  if (reference instanceof Error) throw reference;
  return reference;
}

/** Texts whose ids differ, as readable lines (empty when all match). */
function mismatches(tok: Tokenizer, items: LabelledText[], expected: number[][]): string[] {
  const bad: string[] = [];
  items.forEach(({ label, text }, i) => {
    const got = Array.from(tok.encode(text, { addSpecialTokens: false }));
    const want = expected[i]!;
    if (got.length === want.length && got.every((id, k) => id === want[k])) return;
    const at = got.findIndex((id, k) => id !== want[k]);
    bad.push(`${label}: first difference at token ${at}: got ${got.slice(at, at + 5).join(',')} want ${want.slice(at, at + 5).join(',')}`);
  });
  return bad.slice(0, 10);
}

const nativeBuilt = existsSync(DEFAULT_NATIVE_ADDON);
const nativeRequired = process.env['MEDTUNE_TOKENIZER_NATIVE'] === 'required';
const engines = [
  { engine: 'ts' as const, run: true },
  // The native addon is optional (TS is the exact fallback); CI that builds it sets
  // MEDTUNE_TOKENIZER_NATIVE=required so that a missing addon fails here.
  { engine: 'native' as const, run: nativeBuilt || nativeRequired },
];

describe.each(engines)('$engine engine', ({ engine, run }) => {
  let tok: Tokenizer;
  beforeAll(async () => {
    if (run) tok = await loadTokenizer(bpeDir, { engine });
  });

  test.skipIf(!run)(`ids of ${texts.length} texts (vocab.json + merges.txt + added_tokens.json) equal transformers'`, () => {
    const hf = hfRef();
    expect(tok.engineKind).toBe(engine);
    expect(hf.ids).toHaveLength(texts.length);
    expect(mismatches(tok, texts, hf.ids)).toEqual([]);
  });

  test.skipIf(!run)('count() is the length of encode() and decode() gives back what transformers decodes', () => {
    const hf = hfRef();
    const bad = texts.filter(({ text }, i) => tok.count(text, { addSpecialTokens: false }) !== hf.ids[i]!.length || tok.decode(hf.ids[i]!) !== hf.decoded[i]);
    expect(bad.map((t) => t.label)).toEqual([]);
  });

  test.skipIf(!run)('tokenizer.json as transformers saves it ([a, b] merges) gives the ids of tokenizers.Tokenizer', async () => {
    const hf = hfRef();
    const fromJson = await loadTokenizer(hf.savedDir, { engine });
    expect(fromJson.vocabSize).toBe(151_665);
    expect(mismatches(fromJson, texts, hf.ids_tokenizer_json)).toEqual([]);
  });
});

test('tokenizer.json with "a b" string merges (the older form) loads to the same ids', async () => {
  const hf = hfRef();
  const json = JSON.parse(await readFile(path.join(hf.savedDir, 'tokenizer.json'), 'utf8')) as { model: { merges: unknown[] } };
  expect(Array.isArray(json.model.merges[0])).toBe(true);
  json.model.merges = json.model.merges.map((m) => (m as string[]).join(' '));
  const dir = await mkdtemp(path.join(tmpdir(), 'medtune-tok-legacy-'));
  await writeFile(path.join(dir, 'tokenizer.json'), JSON.stringify(json));
  const tok = await loadTokenizer(dir, { engine: 'ts' });
  const sample = texts.filter((_, i) => i % 7 === 0);
  expect(
    mismatches(
      tok,
      sample,
      texts.map((_, i) => hf.ids_tokenizer_json[i]!).filter((_, i) => i % 7 === 0),
    ),
  ).toEqual([]);
});

test("the generated character classes are those of the Python environment's tokenizers", async () => {
  console.log(`HF reference: ${JSON.stringify(hfRef().versions)}`);
  const classes = await hfUnicodeClasses();
  expect({ L: LETTER_RANGES, N: NUMBER_RANGES, S: SPACE_RANGES }).toEqual({ L: classes.L.flat(), N: classes.N.flat(), S: classes.S.flat() });
}, 120_000);
