/** Files of the service's host, optionally confined to some directories. */
import { createReadStream } from 'node:fs';
import { realpath, stat } from 'node:fs/promises';
import path from 'node:path';
import { NotFoundError, PermissionDeniedError, InvalidArgumentError } from '@medtune/kit';
import type { FileSource } from '../core/ports';

/** Reads local files in 1 MiB chunks. With `roots`, only files under one of them (after resolving links). */
export class LocalFiles implements FileSource {
  constructor(private readonly roots: readonly string[] = []) {}

  async open(file: string, field: string): Promise<{ size: number; read(): AsyncIterable<Uint8Array> }> {
    if (!path.isAbsolute(file)) throw new InvalidArgumentError(field, `must be an absolute path (got ${JSON.stringify(file)})`);
    let real: string;
    try {
      real = await realpath(file);
    } catch (err) {
      throw new NotFoundError(`${field}: no file ${file}`, { cause: err });
    }
    if (this.roots.length > 0 && !this.roots.some((root) => real === root || real.startsWith(root.endsWith(path.sep) ? root : root + path.sep))) {
      throw new PermissionDeniedError(`${field}: ${file} is outside the directories this service imports from`);
    }
    const s = await stat(real);
    if (!s.isFile()) throw new NotFoundError(`${field}: ${file} is not a regular file`);
    return { size: s.size, read: () => createReadStream(real, { highWaterMark: 1 << 20 }) };
  }
}
