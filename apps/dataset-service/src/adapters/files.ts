/** Files of the service's host, confined to some directories (libs/kit paths.ts). */
import { createReadStream } from 'node:fs';
import { realpath, stat } from 'node:fs/promises';
import { confinePath, NotFoundError, type DataRoots } from '@medtune/kit';
import type { FileSource } from '../core/ports';

/**
 * Reads local files in 1 MiB chunks, only under `roots` (symlinks resolved). A path outside is
 * INVALID_ARGUMENT naming the field before the file is looked at, so whether it exists is not
 * revealed either.
 */
export class LocalFiles implements FileSource {
  constructor(private readonly confine: DataRoots) {}

  async open(file: string, field: string): Promise<{ size: number; read(): AsyncIterable<Uint8Array> }> {
    confinePath(file, this.confine.roots, field, { mustExist: false, deny: this.confine.deny });
    let real: string;
    try {
      real = await realpath(file);
    } catch (err) {
      throw new NotFoundError(`${field}: no file ${file}`, { cause: err });
    }
    // Resolved again: the file may have become a link between the two looks.
    confinePath(real, this.confine.roots, field, { deny: this.confine.deny });
    const s = await stat(real);
    if (!s.isFile()) throw new NotFoundError(`${field}: ${file} is not a regular file`);
    return { size: s.size, read: () => createReadStream(real, { highWaterMark: 1 << 20 }) };
  }
}
