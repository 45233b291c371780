import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import { realpathSync } from 'node:fs';
import { join } from 'node:path';
import { isConfined, type DataRoots } from '@medtune/kit';
import { insideS3Roots, isS3Uri, parseS3Uri, S3_MANIFEST, type ObjectStore, type S3Location } from '@medtune/kit/storage';
import type { ArtifactDigest, FileDigest } from '../core/verify';
import type { ArtifactReader } from '../core/ports';

/** Hex sha256 of a file's bytes, streamed (artifacts are gigabytes). */
export async function sha256File(path: string): Promise<{ sha256: string; size: number }> {
  const hash = createHash('sha256');
  let size = 0;
  for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 })) {
    hash.update(chunk as Buffer);
    size += (chunk as Buffer).length;
  }
  return { sha256: hash.digest('hex'), size };
}

/** Paths compare by their UTF-8 bytes, which is code-point order, as Python's sorted() does. */
export function comparePaths(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

/** The manifest text of a directory artifact: "<sha256>  <path>\n" per file, sorted by path. */
export function manifestOf(files: readonly { path: string; sha256: string }[]): string {
  return [...files]
    .sort((x, y) => comparePaths(x.path, y.path))
    .map((f) => `${f.sha256}  ${f.path}\n`)
    .join('');
}

async function listFiles(root: string, rel = ''): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(join(root, rel), { withFileTypes: true })) {
    const child = rel ? `${rel}/${entry.name}` : entry.name;
    // Symbolic links are followed: what a loader would read is what gets hashed.
    const isDir = entry.isDirectory() || (entry.isSymbolicLink() && (await stat(join(root, child))).isDirectory());
    if (isDir) out.push(...(await listFiles(root, child)));
    else out.push(child);
  }
  return out;
}

/** Hashes a file or a directory artifact at `path` (throws ENOENT etc. as fs does). */
export async function digestPath(path: string): Promise<ArtifactDigest> {
  const info = await stat(path);
  if (!info.isDirectory()) {
    const d = await sha256File(path);
    return { sha256: d.sha256, size: d.size, files: [{ path: '', ...d }], directory: false };
  }
  const files: FileDigest[] = [];
  for (const rel of (await listFiles(path)).sort(comparePaths)) {
    files.push({ path: rel, ...(await sha256File(join(path, rel))) });
  }
  const sha256 = createHash('sha256').update(manifestOf(files), 'utf8').digest('hex');
  return { sha256, size: files.reduce((n, f) => n + f.size, 0), files, directory: true };
}

/**
 * The reader confined to `roots`: an artifact, or any file inside a directory artifact, that
 * resolves (symlinks resolved) outside them reads as null — the version fails registration and
 * nothing outside is ever hashed.
 */
export function confinedArtifactReader(roots: DataRoots): ArtifactReader {
  const inside = (p: string) => isConfined(p, roots.roots, { deny: roots.deny });
  return {
    async digest(path: string): Promise<ArtifactDigest | null> {
      if (!inside(path)) return null;
      const info = await stat(path).catch(() => null);
      if (info?.isDirectory()) {
        for (const rel of await listFiles(path)) if (!inside(realpathSync(join(path, rel)))) return null;
      }
      return fileArtifactReader.digest(path);
    },
  };
}

/** The file-system reader of artifacts: a missing path reads as null. */
export const fileArtifactReader: ArtifactReader = {
  async digest(path: string): Promise<ArtifactDigest | null> {
    try {
      return await digestPath(path);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT' || (err as NodeJS.ErrnoException).code === 'ENOTDIR') return null;
      throw err;
    }
  },
};

/**
 * The reader of s3:// artifacts, confined to `roots` (anything else reads as null, as outside the
 * file roots does). An object at the key is a single-file artifact; otherwise the key is a
 * directory, complete only when its manifest object (written last by the trainer) is there — an
 * upload that died half-way reads as null, never as an artifact. Every object is hashed as it
 * streams; the manifest object itself is not one of the files.
 */
export function s3ArtifactReader(store: ObjectStore, roots: readonly S3Location[]): ArtifactReader {
  return {
    async digest(uri: string): Promise<ArtifactDigest | null> {
      const loc = parseS3Uri(uri, 'uri');
      if (!insideS3Roots(loc, roots)) return null;
      if (loc.key && (await store.head(loc))) {
        const d = await store.sha256(loc);
        return d ? { sha256: d.sha256, size: d.size, files: [{ path: '', ...d }], directory: false } : null;
      }
      const objects = await store.list(loc);
      if (!objects.some((o) => o.key === S3_MANIFEST)) return null;
      const files: FileDigest[] = [];
      for (const o of objects.filter((x) => x.key !== S3_MANIFEST).sort((a, b) => comparePaths(a.key, b.key))) {
        const d = await store.sha256({ bucket: loc.bucket, key: loc.key ? `${loc.key}/${o.key}` : o.key });
        if (!d) return null; // deleted while we read: not a complete artifact
        files.push({ path: o.key, ...d });
      }
      const sha256 = createHash('sha256').update(manifestOf(files), 'utf8').digest('hex');
      return { sha256, size: files.reduce((n, f) => n + f.size, 0), files, directory: true };
    },
  };
}

/** file:// paths to `files`, s3:// URIs to `s3` (null when object storage is not configured). */
export function artifactReader(files: ArtifactReader, s3: ArtifactReader | null): ArtifactReader {
  return {
    digest: (location: string) => (isS3Uri(location) ? (s3 ? s3.digest(location) : Promise.resolve(null)) : files.digest(location)),
  };
}
