/* eslint-disable @typescript-eslint/no-non-null-assertion -- typed-array indexing in hot loops, bounds kept by the loops (noUncheckedIndexedAccess) */
/**
 * The Qwen2 pre-tokenizer: splits normalized text into the pieces that BPE then encodes alone.
 *
 * It is the regex of Qwen2's tokenizer.json, written out as a scanner so that it runs without
 * backtracking and with the character classes of HF tokenizers (see unicode-classes.generated.ts):
 *
 *   (?i:'s|'t|'re|'ve|'m|'ll|'d) | [^\r\n\p{L}\p{N}]?\p{L}+ | \p{N} | ?[^\s\p{L}\p{N}]+[\r\n]*
 *   | \s*[\r\n]+ | \s+(?!\S) | \s+
 *
 * Alternatives are tried in that order at each position, as the regex engine does.
 */
import { LETTER_RANGES, NUMBER_RANGES, SPACE_RANGES } from './unicode-classes.generated';

/** Character classes of the scanner. NEWLINE (\r, \n) is also a space. */
export const OTHER = 0;
export const LETTER = 1;
export const NUMBER = 2;
export const SPACE = 3;
export const NEWLINE = 4;

function buildClassTable(): Uint8Array {
  const table = new Uint8Array(0x110000);
  const fill = (ranges: readonly number[], cls: number) => {
    for (let i = 0; i < ranges.length; i += 2) table.fill(cls, ranges[i]!, ranges[i + 1]! + 1);
  };
  fill(LETTER_RANGES, LETTER);
  fill(NUMBER_RANGES, NUMBER);
  fill(SPACE_RANGES, SPACE);
  table[0x0a] = NEWLINE;
  table[0x0d] = NEWLINE;
  return table;
}

/** Scratch sizes (in elements) kept between texts; larger buffers are dropped after use. */
export const SCRATCH_KEPT = 1 << 16;

/** Class of every code point (index = code point). */
export const CHAR_CLASS: Uint8Array = buildClassTable();

/**
 * A segment decoded into code points, with where each one starts in the UTF-16 string and in its
 * UTF-8 bytes. Buffers grow as needed and are reused between calls (one per engine).
 */
export class CodePoints {
  n = 0;
  cps = new Int32Array(1024);
  cls = new Uint8Array(1024);
  /** utf16[k] / utf8[k]: start of code point k; index n holds the end. */
  utf16 = new Int32Array(1025);
  utf8 = new Int32Array(1025);

  /** Decodes text; a lone surrogate counts as U+FFFD (3 bytes), as TextEncoder writes it. */
  load(text: string): void {
    const len = text.length;
    if (this.cps.length < len) this.grow(len);
    const { cps, cls, utf16, utf8 } = this;
    let n = 0;
    let bytes = 0;
    for (let i = 0; i < len; ) {
      let cp = text.charCodeAt(i);
      let width = 1;
      if (cp >= 0xd800 && cp <= 0xdfff) {
        const lo = i + 1 < len ? text.charCodeAt(i + 1) : 0;
        if (cp <= 0xdbff && lo >= 0xdc00 && lo <= 0xdfff) {
          cp = ((cp - 0xd800) << 10) + (lo - 0xdc00) + 0x10000;
          width = 2;
        } else {
          cp = 0xfffd;
        }
      }
      cps[n] = cp;
      cls[n] = CHAR_CLASS[cp]!;
      utf16[n] = i;
      utf8[n] = bytes;
      bytes += cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
      i += width;
      n++;
    }
    utf16[n] = len;
    utf8[n] = bytes;
    this.n = n;
  }

  /** Drops buffers grown for a very long text, so that one such text does not pin the memory. */
  shrink(): void {
    if (this.cps.length <= SCRATCH_KEPT) return;
    this.cps = new Int32Array(1024);
    this.cls = new Uint8Array(1024);
    this.utf16 = new Int32Array(1025);
    this.utf8 = new Int32Array(1025);
  }

  private grow(len: number): void {
    const size = Math.max(len, this.cps.length * 2);
    this.cps = new Int32Array(size);
    this.cls = new Uint8Array(size);
    this.utf16 = new Int32Array(size + 1);
    this.utf8 = new Int32Array(size + 1);
  }
}

const isS = (cp: number) => cp === 0x73 || cp === 0x53 || cp === 0x17f; // s S ſ (Unicode case folding)
const isE = (cp: number) => cp === 0x65 || cp === 0x45;
const isL = (cp: number) => cp === 0x6c || cp === 0x4c;

/** Length after the apostrophe of a contraction ('s 't 're 've 'm 'll 'd, any case) at k, or 0. */
function contraction(cps: Int32Array, k: number, n: number): number {
  const a = cps[k]!;
  if (isS(a) || a === 0x74 || a === 0x54 || a === 0x6d || a === 0x4d || a === 0x64 || a === 0x44) return 1;
  if (k + 1 >= n) return 0;
  const b = cps[k + 1]!;
  if ((a === 0x72 || a === 0x52 || a === 0x76 || a === 0x56) && isE(b)) return 2;
  if (isL(a) && isL(b)) return 2;
  return 0;
}

/** End (exclusive, in code points) of the piece that starts at code point k. */
export function pieceEnd(cp: CodePoints, k: number): number {
  const { cps, cls, n } = cp;
  const c = cls[k]!;
  const ch = cps[k]!;
  if (ch === 0x27 && k + 1 < n) {
    const m = contraction(cps, k + 1, n);
    if (m > 0) return k + 1 + m;
  }
  let j: number;
  if (c === LETTER || (c !== NEWLINE && c !== NUMBER && k + 1 < n && cls[k + 1] === LETTER)) {
    j = k + 1;
    while (j < n && cls[j] === LETTER) j++;
    return j;
  }
  if (c === NUMBER) return k + 1;
  if (c === OTHER || (ch === 0x20 && k + 1 < n && cls[k + 1] === OTHER)) {
    j = k + 1;
    while (j < n && cls[j] === OTHER) j++;
    while (j < n && cls[j] === NEWLINE) j++;
    return j;
  }
  // A run of spaces: up to its last newline if it has one (\s*[\r\n]+); else all of it at the end
  // of the text, or all but its last space, which then leads the next piece (\s+(?!\S)); a lone
  // space before a non-space stands alone (\s+).
  let lastNewline = -1;
  j = k;
  while (j < n && cls[j]! >= SPACE) {
    if (cls[j] === NEWLINE) lastNewline = j;
    j++;
  }
  if (lastNewline >= 0) return lastNewline + 1;
  if (j === n || j - k === 1) return j;
  return j - 1;
}

/** The pieces of a text, as strings (for tests and debugging; engines use pieceEnd directly). */
export function preTokenize(text: string): string[] {
  const cp = new CodePoints();
  cp.load(text);
  const out: string[] = [];
  for (let k = 0; k < cp.n; ) {
    const end = pieceEnd(cp, k);
    out.push(text.slice(cp.utf16[k], cp.utf16[end]));
    k = end;
  }
  return out;
}
