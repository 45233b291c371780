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
}

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
  try {
    return { ok: true, row: raw.row, value: JSON.parse(text), size: raw.size };
  } catch (err) {
    return {
      ok: false,
      row: raw.row,
      code: 'MALFORMED_JSON',
      message: `malformed JSON (row starts at byte ${raw.offset}): ${(err as Error).message}`,
    };
  }
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
