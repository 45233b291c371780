/* eslint-disable @typescript-eslint/no-non-null-assertion -- indexes into arrays the test built */
import { existsSync } from 'node:fs';
import { describe, expect, test } from 'vitest';
import { BYTE_TO_CHAR } from '../src/byte-level';
import { TsBpeEngine } from '../src/bpe';
import { compile } from '../src/compile';
import type { TokenizerDefinition } from '../src/definition';
import { DEFAULT_NATIVE_ADDON, loadNativeEngine } from '../src/native';

/** A definition over the 256 byte tokens plus the given merges (strings of byte-level chars). */
function definition(merges: Array<[string, string]>): TokenizerDefinition {
  const vocab = new Map(BYTE_TO_CHAR.map((c, i) => [c, i]));
  const triples: number[] = [];
  for (const [a, b] of merges) {
    if (!vocab.has(a + b)) vocab.set(a + b, vocab.size);
    triples.push(vocab.get(a)!, vocab.get(b)!, vocab.get(a + b)!);
  }
  return { vocab, merges: Int32Array.from(triples), modelFile: 'test', addedTokens: [], nfc: false, prefixIds: [], suffixIds: [] };
}

/** Textbook BPE: merge the lowest-rank pair, leftmost first, until none applies. */
function reference(def: TokenizerDefinition, text: string): number[] {
  const rank = new Map<string, [number, number]>(); // a repeated pair keeps its last rank (HF)
  for (let r = 0; r < def.merges.length / 3; r++) rank.set(`${def.merges[3 * r]},${def.merges[3 * r + 1]}`, [r, def.merges[3 * r + 2]!]);
  const sym = [...new TextEncoder().encode(text)].map((b) => def.vocab.get(BYTE_TO_CHAR[b]!)!);
  for (;;) {
    let best = -1;
    let bestRank = Infinity;
    for (let i = 0; i + 1 < sym.length; i++) {
      const m = rank.get(`${sym[i]},${sym[i + 1]}`);
      if (m && m[0] < bestRank) [best, bestRank] = [i, m[0]];
    }
    if (best < 0) return sym;
    sym.splice(best, 2, rank.get(`${sym[best]},${sym[best + 1]}`)![1]);
  }
}

function tsBpe(def: TokenizerDefinition, text: string): number[] {
  const bytes = new TextEncoder().encode(text);
  return new TsBpeEngine(compile(def), 0).bpe(bytes, 0, bytes.length);
}

describe('byte-level BPE', () => {
  test('lower rank merges first; equal pairs leftmost first', () => {
    const def = definition([
      ['b', 'c'],
      ['a', 'b'],
      ['a', 'a'],
    ]);
    const id = (s: string) => def.vocab.get(s)!;
    expect(tsBpe(def, 'abc')).toEqual([id('a'), id('bc')]);
    expect(tsBpe(def, 'aaa')).toEqual([id('aa'), id('a')]);
    expect(tsBpe(def, 'ab')).toEqual([id('ab')]);
    expect(tsBpe(def, 'x')).toEqual([id('x')]);
  });

  test('multi-byte characters start as their UTF-8 bytes', () => {
    const c = BYTE_TO_CHAR;
    const def = definition([[c[0xe5]!, c[0x8c]!], [c[0xe5]! + c[0x8c]!, c[0xbb]!]]); // 医 = e5 8c bb
    expect(tsBpe(def, '医')).toEqual([def.vocab.get(c[0xe5]! + c[0x8c]! + c[0xbb]!)]);
  });

  test('a repeated merge pair keeps its last rank', () => {
    const def = definition([
      ['a', 'b'],
      ['b', 'c'],
      ['a', 'b'],
    ]);
    // (a,b) has rank 2 now, so (b,c) at rank 1 wins in "abc".
    expect(tsBpe(def, 'abc')).toEqual([def.vocab.get('a'), def.vocab.get('bc')]);
  });

  const native = existsSync(DEFAULT_NATIVE_ADDON);
  test('random merge tables: the TS engine (and the native one when built) equal textbook BPE', () => {
    let seed = 7;
    const rand = (n: number) => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) >>> 8) % n;
    for (let table = 0; table < 30; table++) {
      const tokens = ['a', 'b', 'c', 'd'];
      const merges: Array<[string, string]> = [];
      for (let m = 0; m < 40; m++) {
        const pair: [string, string] = [tokens[rand(tokens.length)]!, tokens[rand(tokens.length)]!];
        merges.push(pair);
        if (!tokens.includes(pair.join(''))) tokens.push(pair.join(''));
      }
      const def = definition(merges);
      const nativeEngine = native ? loadNativeEngine(compile(def), undefined, true) : null;
      for (let t = 0; t < 40; t++) {
        let text = '';
        for (let n = 1 + rand(40); n > 0; n--) text += 'abcd'[rand(4)];
        const want = reference(def, text);
        expect(tsBpe(def, text), `${text} with ${JSON.stringify(merges)}`).toEqual(want);
        if (nativeEngine) expect(nativeEngine.countSegment(text)).toBe(want.length);
      }
    }
  });
});
