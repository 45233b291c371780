/**
 * Reads an evaluation set file row by row: JSONL streamed line by line (blank lines skipped, row
 * numbers are line numbers), a JSON array (row numbers are 1-based positions; read whole, so
 * capped at maxArrayBytes), or a file holding one JSON object (yielded once, marked `whole`: the
 * set's mapping says where its records are). A line that is not JSON is reported as that row's error.
 */
import { createReadStream } from 'node:fs';
import { open, readFile, stat } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { confinePath, InvalidArgumentError, NotFoundError, type DataRoots } from '@medtune/kit';
import type { RawRow } from '../core/evalsets';
import type { RowReader } from '../core/ports';

/** Options of {@link fileRowReader}. */
export interface RowReaderOptions {
  /** Largest JSON-array file read whole. Default 256 MiB. */
  maxArrayBytes?: number;
  /** Only files under these roots (symlinks resolved); outside: INVALID_ARGUMENT `path`, before the file is looked at. */
  confine?: DataRoots;
}

async function firstChar(path: string): Promise<string> {
  const fh = await open(path, 'r');
  try {
    const buf = Buffer.alloc(4096);
    const { bytesRead } = await fh.read(buf, 0, buf.length, 0);
    return buf.subarray(0, bytesRead).toString('utf8').replace(/^\uFEFF/, '').trimStart()[0] ?? '';
  } finally {
    await fh.close();
  }
}

/** The file-system RowReader. */
export function fileRowReader(options: RowReaderOptions = {}): RowReader {
  return async function* read(path: string): AsyncGenerator<RawRow> {
    if (options.confine) path = confinePath(path, options.confine.roots, 'path', { mustExist: false, deny: options.confine.deny });
    let info;
    try {
      info = await stat(path);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new NotFoundError(`file ${path} not found`, { cause: err });
      throw new InvalidArgumentError('path', `cannot read ${path}: ${(err as Error).message}`, { cause: err });
    }
    if (!info.isFile()) throw new InvalidArgumentError('path', `${path} is not a file`);
    if ((await firstChar(path)) === '[') {
      const max = options.maxArrayBytes ?? 256 * 1024 * 1024;
      if (info.size > max) throw new InvalidArgumentError('path', `JSON array files are read whole and must be at most ${max} bytes (got ${info.size}); use JSONL`);
      let rows: unknown;
      try {
        rows = JSON.parse((await readFile(path, 'utf8')).replace(/^\uFEFF/, ''));
      } catch (err) {
        throw new InvalidArgumentError('path', `${path} is not valid JSON: ${(err as Error).message}`, { cause: err });
      }
      if (!Array.isArray(rows)) throw new InvalidArgumentError('path', `${path} must hold a JSON array or JSON lines`);
      for (const [i, value] of rows.entries()) yield { row: i + 1, value };
      return;
    }
    if ((await firstChar(path)) === '{' && info.size <= (options.maxArrayBytes ?? 256 * 1024 * 1024)) {
      // One JSON object for the whole file (records keyed by id, or data inside a wrapper)? A
      // JSONL file fails this parse at its second line and is read line by line below.
      let whole: unknown;
      try {
        whole = JSON.parse((await readFile(path, 'utf8')).replace(/^\uFEFF/, ''));
      } catch {
        whole = undefined;
      }
      if (whole && typeof whole === 'object' && !Array.isArray(whole)) {
        yield { row: 1, value: whole, whole: true };
        return;
      }
    }
    const lines = createInterface({ input: createReadStream(path, { encoding: 'utf8' }), crlfDelay: Infinity });
    let n = 0;
    for await (const raw of lines) {
      n++;
      const line = n === 1 ? raw.replace(/^\uFEFF/, '') : raw;
      if (!line.trim()) continue;
      try {
        yield { row: n, value: JSON.parse(line) };
      } catch (err) {
        yield { row: n, error: `not valid JSON (${(err as Error).message})` };
      }
    }
  };
}
