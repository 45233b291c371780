/** What the file splitters produce: one raw row at a time, never the whole file. */

/** One row's bytes, as found in the file. */
export interface RawRow {
  /** 1-based row number: JSONL line number, or JSON array element index + 1. */
  readonly row: number;
  /** Byte offset of the row's first byte in the file. */
  readonly offset: number;
  /** The row's bytes (one JSON value); absent when the row was over the byte limit. */
  readonly bytes?: Buffer;
  /** Size of the row in bytes (also when it was too large to keep). */
  readonly size: number;
}

/** The file's structure is broken (not just one row): nothing after this point can be trusted. */
export class FileFormatError extends Error {
  override readonly name = 'FileFormatError';
  /** Byte offset in the file where the problem was found. */
  readonly offset: number;
  /** The row concerned (the one being read, or the last one read), 0 when none. */
  readonly row: number;
  constructor(message: string, offset: number, row: number) {
    super(message);
    this.offset = offset;
    this.row = row;
  }
}

/** Limits of the splitters. */
export interface SplitOptions {
  /** Rows larger than this are reported as too large and skipped without being held in memory. */
  readonly maxRowBytes: number;
}

/** Shows a byte for an error message. */
export function showByte(b: number): string {
  return b >= 0x20 && b < 0x7f ? `'${String.fromCharCode(b)}'` : `0x${b.toString(16).padStart(2, '0')}`;
}
