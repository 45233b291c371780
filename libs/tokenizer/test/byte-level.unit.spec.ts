/* eslint-disable @typescript-eslint/no-non-null-assertion -- indexes into arrays the test built */
import { expect, test } from 'vitest';
import { BYTE_TO_CHAR, bytesToByteLevel, byteLevelToBytes, CHAR_TO_BYTE } from '../src/byte-level';

test('256 distinct characters, printable bytes as themselves', () => {
  expect(new Set(BYTE_TO_CHAR).size).toBe(256);
  expect(BYTE_TO_CHAR[0x41]).toBe('A');
  expect(BYTE_TO_CHAR[0x20]).toBe('Ġ'); // space
  expect(BYTE_TO_CHAR[0x0a]).toBe('Ċ'); // newline
  expect(BYTE_TO_CHAR[0x00]).toBe('Ā');
  expect(BYTE_TO_CHAR[0xad]).toBe('Ń'); // soft hyphen is not printable: 256 + 67
  expect(CHAR_TO_BYTE.get('Ġ'.codePointAt(0)!)).toBe(0x20);
});

test('round trip of all bytes, and non-byte-level strings are rejected', () => {
  const all = Uint8Array.from({ length: 256 }, (_, i) => i);
  expect(byteLevelToBytes(bytesToByteLevel(all))).toEqual(all);
  const utf8 = new TextEncoder().encode(' 医学');
  expect(bytesToByteLevel(utf8)).toBe('ĠåĮ»åŃ¦');
  expect(byteLevelToBytes('<｜User｜>')).toBeNull();
});
