/**
 * JSONL splitter: one JSON value per line. Lines are found with indexOf('\n') on each chunk, so
 * memory holds at most one row (or nothing, for a row over the limit). Blank lines are skipped
 * but still counted, so row numbers are line numbers.
 */
import { type RawRow, type SplitOptions } from './types';

const NL = 0x0a;

/** Splits JSONL bytes into rows. `start` is the byte offset of the first chunk in the file (after a BOM). */
export async function* splitJsonl(chunks: AsyncIterable<Buffer>, options: SplitOptions, start = 0): AsyncGenerator<RawRow> {
  let line = 1;
  let lineStart = start; // file offset of the current line
  let parts: Buffer[] = [];
  let size = 0;
  let tooLarge = false;
  let pos = start; // file offset of the current chunk's first byte

  const finish = (): RawRow | undefined => {
    let bytes = parts.length === 1 ? parts[0]! : Buffer.concat(parts, size);
    let rowSize = size;
    if (!tooLarge && bytes.length > 0 && bytes[bytes.length - 1] === 0x0d) {
      bytes = bytes.subarray(0, bytes.length - 1);
      rowSize -= 1;
    }
    const row: RawRow | undefined = tooLarge
      ? { row: line, offset: lineStart, size: rowSize }
      : isBlank(bytes)
        ? undefined
        : { row: line, offset: lineStart, bytes, size: rowSize };
    parts = [];
    size = 0;
    tooLarge = false;
    return row;
  };

  for await (const chunk of chunks) {
    let from = 0;
    while (from < chunk.length) {
      const nl = chunk.indexOf(NL, from);
      const end = nl < 0 ? chunk.length : nl;
      const piece = chunk.subarray(from, end);
      size += piece.length;
      if (!tooLarge && size > options.maxRowBytes) {
        tooLarge = true;
        parts = [];
      }
      if (!tooLarge && piece.length > 0) parts.push(piece);
      if (nl < 0) break;
      const row = finish();
      if (row) yield row;
      line += 1;
      lineStart = pos + nl + 1;
      from = nl + 1;
    }
    pos += chunk.length;
  }
  if (size > 0 || tooLarge) {
    const row = finish();
    if (row) yield row;
  }
}

function isBlank(bytes: Buffer): boolean {
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i]!;
    if (b !== 0x20 && b !== 0x09 && b !== 0x0d && b !== 0x0a) return false;
  }
  return true;
}
