import { describe, expect, it } from 'vitest';
import { decodeRow, firstInvalidUtf8 } from './decode';
import { readRows } from './source';
import { FileFormatError, type RawRow } from './types';

/** Feeds `text` in chunks of `size` bytes (1 = every byte boundary is a chunk boundary). */
async function* chunked(data: Buffer, size: number): AsyncGenerator<Buffer> {
  for (let i = 0; i < data.length; i += size) yield data.subarray(i, i + size);
}

async function collect(data: Buffer | string, size = 7, maxRowBytes = 1 << 20, layout?: 'jsonl' | 'json-array') {
  const buf = typeof data === 'string' ? Buffer.from(data) : data;
  const src = readRows(chunked(buf, size), { maxRowBytes }, layout);
  const rows: RawRow[] = [];
  for await (const r of src.rows) rows.push(r);
  return { rows, tap: src.tap };
}

async function failure(data: string | Buffer, size = 5): Promise<FileFormatError> {
  try {
    await collect(data, size);
  } catch (err) {
    expect(err).toBeInstanceOf(FileFormatError);
    return err as FileFormatError;
  }
  throw new Error('expected a FileFormatError');
}

describe('JSON array splitting', () => {
  const doc = ' \n[ {"a": "x,]}\\"{["} , {"b": [1, {"c": "]"}]},"s", 12 ,null, [1,2] ]\n';
  for (const size of [1, 2, 3, 7, 1000]) {
    it(`splits elements exactly whatever the chunk size (${size})`, async () => {
      const { rows, tap } = await collect(doc, size);
      expect(rows.map((r) => r.bytes!.toString())).toEqual(['{"a": "x,]}\\"{["}', '{"b": [1, {"c": "]"}]}', '"s"', '12', 'null', '[1,2]']);
      expect(rows.map((r) => r.row)).toEqual([1, 2, 3, 4, 5, 6]);
      expect(rows[0]!.offset).toBe(doc.indexOf('{'));
      expect(tap.layout).toBe('json-array');
      expect(tap.bytes).toBe(Buffer.byteLength(doc));
    });
  }

  it('handles an empty array and a BOM', async () => {
    expect((await collect('\ufeff[]')).rows).toEqual([]);
    const { rows } = await collect('\ufeff[{"x":1}]', 1);
    expect(rows[0]!.offset).toBe(4);
  });

  it('reports a truncated file with the row and byte', async () => {
    const e = await failure('[{"a":"b"},{"a":"unfinish');
    expect(e.message).toMatch(/ends at byte 25 inside row 2, which starts at byte 11: truncated/);
    expect(e.row).toBe(2);
    const e2 = await failure('[{"a":"b"},');
    expect(e2.message).toMatch(/before the closing '\]' \(after row 1\)/);
  });

  it('reports broken structure with the byte offset', async () => {
    expect((await failure('[{"a":1}{"b":2}]')).message).toMatch(/after row 1: expected ',' or '\]' at byte 8, found '\{'/);
    expect((await failure('[{"a":[1}]')).message).toMatch(/row 1: expected '\]' but found '\}' at byte 8/);
    expect((await failure('[{"a":1},]')).message).toMatch(/trailing comma before '\]' at byte 9/);
    expect((await failure('[{"a":1}] x')).message).toMatch(/after the closing '\]' at byte 10/);
  });

  it('skips a row over the byte limit without keeping it, then goes on', async () => {
    const big = `{"q":"${'x'.repeat(5000)}"}`;
    const { rows } = await collect(`[${big},{"a":1}]`, 64, 1000);
    expect(rows[0]!.bytes).toBeUndefined();
    expect(rows[0]!.size).toBe(big.length);
    expect(rows[1]!.bytes!.toString()).toBe('{"a":1}');
  });
});

describe('JSONL splitting', () => {
  it('gives line numbers, skips blank lines, strips CR, keeps a last line without newline', async () => {
    for (const size of [1, 4, 100]) {
      const { rows, tap } = await collect('{"a":1}\r\n\n  \n{"b":2}\n{"c":3}', size);
      expect(rows.map((r) => [r.row, r.bytes!.toString(), r.offset])).toEqual([
        [1, '{"a":1}', 0],
        [4, '{"b":2}', 13],
        [5, '{"c":3}', 21],
      ]);
      expect(tap.layout).toBe('jsonl');
    }
  });

  it('marks a line over the limit', async () => {
    const { rows } = await collect(`{"a":1}\n{"q":"${'y'.repeat(3000)}"}\n{"b":2}\n`, 100, 500);
    expect(rows.map((r) => [r.row, r.bytes?.toString()])).toEqual([
      [1, '{"a":1}'],
      [2, undefined],
      [3, '{"b":2}'],
    ]);
  });
});

describe('detection', () => {
  it('says an empty file is empty', async () => {
    expect((await failure('')).message).toMatch(/empty/);
    expect((await failure(' \n\t ')).message).toMatch(/empty/);
  });
  it('names the first byte when it starts neither layout', async () => {
    expect((await failure('  hello')).message).toMatch(/first non-space byte \(at byte 2\) is 'h'/);
  });
  it('refuses a forced layout that does not match', async () => {
    await expect(collect('[1]', 3, 100, 'jsonl')).rejects.toThrow(/JSONL was asked for/);
  });
});

describe('row decoding', () => {
  const raw = (s: Buffer | string, offset = 100): RawRow => {
    const bytes = typeof s === 'string' ? Buffer.from(s) : s;
    return { row: 3, offset, bytes, size: bytes.length };
  };
  it('parses JSON', () => {
    expect(decodeRow(raw('{"a":"é"}'), 1000)).toEqual({ ok: true, row: 3, value: { a: 'é' }, size: 10 });
  });
  it('finds the first invalid UTF-8 byte', () => {
    const bytes = Buffer.concat([Buffer.from('{"a":"é'), Buffer.from([0xff]), Buffer.from('"}')]);
    const r = decodeRow(raw(bytes), 1000);
    expect(r).toMatchObject({ ok: false, code: 'INVALID_UTF8' });
    expect((r as { message: string }).message).toMatch(/byte 0xff at byte 108 of the file \(offset 8 in the row\)/);
    expect(firstInvalidUtf8(Buffer.from([0x61, 0xe4, 0xb8]))).toBe(1); // truncated sequence
    expect(firstInvalidUtf8(Buffer.from([0xed, 0xa0, 0x80]))).toBe(0); // surrogate
    expect(firstInvalidUtf8(Buffer.from([0xc0, 0x80]))).toBe(0); // overlong
  });
  it('reports malformed JSON with the row start', () => {
    const r = decodeRow(raw('{"a": }'), 1000);
    expect(r).toMatchObject({ ok: false, row: 3, code: 'MALFORMED_JSON' });
    expect((r as { message: string }).message).toMatch(/row starts at byte 100/);
  });
  it('reports a row too large', () => {
    expect(decodeRow({ row: 9, offset: 5, size: 5000 }, 1000)).toMatchObject({ ok: false, code: 'TOO_LARGE', row: 9 });
  });
});
