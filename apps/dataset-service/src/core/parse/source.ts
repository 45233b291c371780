/**
 * Reads a source as rows: measures and hashes the bytes as they pass, detects the layout from the
 * first non-space byte ('[' JSON array, '{' JSONL), skips a UTF-8 byte order mark, and hands the
 * stream to the matching splitter.
 */
import { createHash } from 'node:crypto';
import { splitJsonArray } from './json-array';
import { splitJsonl } from './jsonl';
import { FileFormatError, showByte, type RawRow, type SplitOptions } from './types';

/** Layout of a source file. */
export type Layout = 'json-array' | 'jsonl';

/** What has passed through a source so far. */
export interface SourceTap {
  /** Bytes read. */
  bytes: number;
  /** Layout, once detected. */
  layout?: Layout;
  /** sha256 of all bytes read; valid once the rows are exhausted. */
  sha256(): string;
}

/** Rows of a source plus its running byte count and hash. */
export interface SourceRows {
  readonly tap: SourceTap;
  readonly rows: AsyncIterable<RawRow>;
}

/**
 * Opens a byte stream as rows. `layout` forces one; undefined detects it. An empty source (or
 * only whitespace) and a first byte that starts neither layout are {@link FileFormatError}s.
 */
export function readRows(chunks: AsyncIterable<Uint8Array>, options: SplitOptions, layout?: Layout): SourceRows {
  const hash = createHash('sha256');
  let digest: string | undefined;
  const tap: SourceTap = {
    bytes: 0,
    sha256: () => (digest ??= hash.digest('hex')),
  };

  async function* measured(): AsyncGenerator<Buffer> {
    for await (const c of chunks) {
      const chunk = Buffer.isBuffer(c) ? c : Buffer.from(c.buffer, c.byteOffset, c.byteLength);
      if (chunk.length === 0) continue;
      hash.update(chunk);
      tap.bytes += chunk.length;
      yield chunk;
    }
  }

  async function* rows(): AsyncGenerator<RawRow> {
    const it = measured()[Symbol.asyncIterator]();
    const head: Buffer[] = [];
    let offset = 0; // file offset of head[0]
    let first = -1; // the first non-space byte
    let firstAt = 0;
    let bom = 0;
    // Read until the first non-space byte; keep what was read to replay it.
    for (;;) {
      const next = await it.next();
      if (next.done) break;
      head.push(next.value);
      const all = head.length === 1 ? head[0]! : Buffer.concat(head);
      if (offset === 0 && all.length >= 3 && all[0] === 0xef && all[1] === 0xbb && all[2] === 0xbf) bom = 3;
      else if (offset === 0 && all.length < 3 && all[0] === 0xef) continue;
      const at = firstNonSpace(all, bom);
      if (at >= 0) {
        first = all[at]!;
        firstAt = at;
        head.length = 0;
        head.push(all.subarray(bom));
        offset = bom;
        break;
      }
    }
    if (first < 0) throw new FileFormatError('the file is empty (no rows)', tap.bytes, 0);
    const detected: Layout | undefined = first === 0x5b ? 'json-array' : first === 0x7b ? 'jsonl' : undefined;
    const chosen = layout ?? detected;
    if (!chosen) {
      throw new FileFormatError(
        `cannot tell the layout: the first non-space byte (at byte ${firstAt}) is ${showByte(first)}, expected '[' (JSON array) or '{' (JSONL)`,
        firstAt,
        0,
      );
    }
    if (layout && detected !== layout) {
      throw new FileFormatError(
        `format ${layout === 'jsonl' ? 'JSONL' : 'JSON array'} was asked for, but the file starts with ${showByte(first)} at byte ${firstAt}`,
        firstAt,
        0,
      );
    }
    tap.layout = chosen;
    async function* replay(): AsyncGenerator<Buffer> {
      yield* head;
      for (;;) {
        const next = await it.next();
        if (next.done) return;
        yield next.value;
      }
    }
    yield* chosen === 'jsonl' ? splitJsonl(replay(), options, offset) : splitJsonArray(replay(), options, offset);
  }

  return { tap, rows: rows() };
}

function firstNonSpace(buf: Buffer, from: number): number {
  for (let i = from; i < buf.length; i++) {
    const b = buf[i]!;
    if (b !== 0x20 && b !== 0x0a && b !== 0x0d && b !== 0x09) return i;
  }
  return -1;
}
