/* eslint-disable @typescript-eslint/no-non-null-assertion -- indexes into arrays the test built */
import { describe, expect, test } from 'vitest';
import { CHAR_CLASS, LETTER, NEWLINE, NUMBER, OTHER, preTokenize, SPACE } from '../src/pretokenize';

// The Qwen2 pattern in JS syntax, with \s spelled out as Oniguruma's set; V8's \p{L} / \p{N}
// agree with Oniguruma's on the characters used below.
const S = '\\t-\\r \\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000';
const QWEN2 = new RegExp(
  `'(?:[sSſ]|[tT]|[rR][eE]|[vV][eE]|[mM]|[lL][lL]|[dD])|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^${S}\\p{L}\\p{N}]+[\\r\\n]*|[${S}]*[\\r\\n]+|[${S}]+(?![^${S}])|[${S}]+`,
  'gu',
);
const byRegex = (text: string) => text.match(QWEN2) ?? [];

describe('Qwen2 pre-tokenizer', () => {
  test.each([
    ['Hello world', ['Hello', ' world']],
    ["I'm here, they'LL go", ['I', "'m", ' here', ',', ' they', "'LL", ' go']],
    ['12345', ['1', '2', '3', '4', '5']],
    ['a  b', ['a', ' ', ' b']],
    ['a\n\n  b', ['a', '\n\n', ' ', ' b']],
    ['x \r\n\r\n', ['x', ' \r\n\r\n']],
    ['end   ', ['end', '   ']],
    ['!!!?\n\nok', ['!!!?\n\n', 'ok']],
    [' (x)', [' (', 'x', ')']],
    ['病人，男，45岁。', ['病人', '，男', '，', '4', '5', '岁', '。']],
    ['e\u0301', ['e', '\u0301']],
    ["'ſa 'sa", ["'ſ", 'a', " '", 'sa']],
    ['\u{1F600}\u{1F600} x', ['\u{1F600}\u{1F600}', ' x']],
  ])('%j', (text, pieces) => {
    expect(preTokenize(text)).toEqual(pieces);
  });

  test('pieces always join back to the text', () => {
    const text = 'Mixed 文本 with\ttabs\r\n and 123 numbers!! 😀 \u0300 \ud800 end';
    expect(preTokenize(text).join('')).toBe(text);
  });

  test('matches the regex on 3000 random strings over tricky characters', () => {
    const alphabet = [...'aZé中\'sStTrReEvVlLmMdDſ1٣ \t\n\r!,。，-_😀\u0301\u00a0\u3000\u0085'];
    let seed = 12345;
    const rand = (n: number) => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) >>> 8) % n;
    for (let i = 0; i < 3000; i++) {
      let text = '';
      for (let n = rand(30); n > 0; n--) text += alphabet[rand(alphabet.length)];
      expect(preTokenize(text), JSON.stringify(text)).toEqual(byRegex(text));
    }
  });

  test('character classes', () => {
    const cls = (c: string) => CHAR_CLASS[c.codePointAt(0)!];
    expect([cls('a'), cls('中'), cls('ſ'), cls('5'), cls('٣'), cls(' '), cls('\u3000'), cls('\n'), cls('\r'), cls('!'), cls('\u0301')]).toEqual([
      LETTER, LETTER, LETTER, NUMBER, NUMBER, SPACE, SPACE, NEWLINE, NEWLINE, OTHER, OTHER,
    ]);
  });
});
