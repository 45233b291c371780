/** Turns a raw row's bytes into a JSON value, or says precisely why not. */
import { isUtf8 } from 'node:buffer';
import type { RawRow } from './types';

/** A row that decoded. */
export interface DecodedRow {
  readonly ok: true;
  readonly row: number;
  readonly value: unknown;
  /** Size of the row's bytes. */
  readonly size: number;
}

/** A row that did not decode. */
export interface UndecodableRow {
  readonly ok: false;
  readonly row: number;
  readonly code: 'INVALID_UTF8' | 'MALFORMED_JSON' | 'TOO_LARGE';
  readonly message: string;
  /** The top-level column concerned, when the problem is inside one. */
  readonly column?: string;
}

// A JSON \uD800-\uDFFF escape: only then can JSON.parse yield a lone surrogate, which UTF-8 cannot
// carry (it would be stored as U+FFFD without a word). Rows without one skip the walk.
const SURROGATE_ESCAPE = /\\u[dD][89a-fA-F]/;

/** Decodes one raw row: size limit, UTF-8 validity (with the offset of the first bad byte), JSON. */
export function decodeRow(raw: RawRow, maxRowBytes: number): DecodedRow | UndecodableRow {
  if (!raw.bytes) {
    return {
      ok: false,
      row: raw.row,
      code: 'TOO_LARGE',
      message: `row is ${raw.size} bytes, over the limit of ${maxRowBytes} bytes (starts at byte ${raw.offset})`,
    };
  }
  if (!isUtf8(raw.bytes)) {
    const bad = firstInvalidUtf8(raw.bytes);
    return {
      ok: false,
      row: raw.row,
      code: 'INVALID_UTF8',
      message: `not valid UTF-8: byte 0x${raw.bytes[bad]?.toString(16).padStart(2, '0')} at byte ${raw.offset + bad} of the file (offset ${bad} in the row)`,
    };
  }
  const text = raw.bytes.toString('utf8');
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    return {
      ok: false,
      row: raw.row,
      code: 'MALFORMED_JSON',
      message: `malformed JSON (row starts at byte ${raw.offset}): ${(err as Error).message}`,
    };
  }
  if (SURROGATE_ESCAPE.test(text)) {
    const bad = loneSurrogate(value, '');
    if (bad !== undefined) {
      return {
        ok: false,
        row: raw.row,
        code: 'INVALID_UTF8',
        column: bad.column,
        message: `a lone UTF-16 surrogate escape (\\u${bad.unit.toString(16)}) has no UTF-8 form; it would be stored as U+FFFD (row starts at byte ${raw.offset})`,
      };
    }
  }
  return { ok: true, row: raw.row, value, size: raw.size };
}

/** The first string (or key) holding an unpaired surrogate, with the top-level column it is under. */
function loneSurrogate(v: unknown, column: string): { column: string; unit: number } | undefined {
  if (typeof v === 'string') {
    if (!/[\uD800-\uDFFF]/.test(v)) return undefined;
    for (let i = 0; i < v.length; i++) {
      const c = v.charCodeAt(i);
      if (c >= 0xd800 && c <= 0xdbff && i + 1 < v.length && (v.charCodeAt(i + 1) & 0xfc00) === 0xdc00) i++;
      else if (c >= 0xd800 && c <= 0xdfff) return { column, unit: c };
    }
    return undefined;
  }
  if (Array.isArray(v)) {
    for (const x of v) {
      const bad = loneSurrogate(x, column);
      if (bad) return bad;
    }
    return undefined;
  }
  if (typeof v === 'object' && v !== null) {
    for (const [k, x] of Object.entries(v)) {
      const bad = loneSurrogate(k, column || k) ?? loneSurrogate(x, column || k);
      if (bad) return bad;
    }
  }
  return undefined;
}

/** Offset of the first byte that breaks UTF-8 (called only once isUtf8 said no). */
export function firstInvalidUtf8(b: Uint8Array): number {
  let i = 0;
  while (i < b.length) {
    const c = b[i]!;
    let need: number;
    let min: number;
    if (c < 0x80) {
      i++;
      continue;
    } else if (c >= 0xc2 && c <= 0xdf) {
      need = 1;
      min = 0x80;
    } else if (c >= 0xe0 && c <= 0xef) {
      need = 2;
      min = 0x800;
    } else if (c >= 0xf0 && c <= 0xf4) {
      need = 3;
      min = 0x10000;
    } else return i;
    let cp = c & (0x3f >> need);
    for (let k = 1; k <= need; k++) {
      const cc = b[i + k];
      if (cc === undefined || (cc & 0xc0) !== 0x80) return i;
      cp = (cp << 6) | (cc & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return i;
    i += need + 1;
  }
  return b.length;
}
