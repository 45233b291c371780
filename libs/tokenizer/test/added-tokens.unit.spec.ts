import { expect, test } from 'vitest';
import { AddedTokenSplitter } from '../src/added-tokens';
import type { AddedToken } from '../src/definition';

const token = (id: number, content: string, over: Partial<AddedToken> = {}): AddedToken => ({
  id,
  content,
  special: true,
  normalized: false,
  lstrip: false,
  rstrip: false,
  singleWord: false,
  ...over,
});
const nfc = (s: string) => s.normalize('NFC');

test('leftmost match first, then the longest at that position', () => {
  const s = new AddedTokenSplitter([token(1, '<a>'), token(2, '<a><b>'), token(3, 'b>')], nfc);
  expect(s.split('x<a><b>y<a>b>')).toEqual(['x', 2, 'y', 1, 3]);
  expect(s.split('')).toEqual([]);
  expect(s.split('plain')).toEqual(['plain']);
});

test('lstrip / rstrip take the whitespace beside the token, not past an earlier match', () => {
  const s = new AddedTokenSplitter([token(1, '<m>', { lstrip: true, rstrip: true }), token(2, '<n>')], nfc);
  expect(s.split('a  <m>  b')).toEqual(['a', 1, 'b']);
  expect(s.split('<n>  <m>')).toEqual([2, 1]);
});

test('single_word tokens are not matched inside words', () => {
  const s = new AddedTokenSplitter([token(1, 'cat', { singleWord: true })], nfc);
  expect(s.split('a cat here')).toEqual(['a ', 1, ' here']);
  expect(s.split('concatenate')).toEqual(['concatenate']);
});

test('raw tokens are found before normalization, normalized ones after, in the normalized text', () => {
  const s = new AddedTokenSplitter([token(1, 'é', { normalized: true }), token(2, 'e\u0301!')], nfc);
  expect(s.split('e\u0301!')).toEqual([2]); // the raw token wins: it is looked for first
  expect(s.split('e\u0301 e\u0301')).toEqual([1, ' ', 1]);
  expect(s.split('A\u030a')).toEqual(['Å']); // plain parts come back normalized
});
