/**
 * The verification rule: an artifact is what it claims when the sha256 and size computed from its
 * bytes (for a directory, the sha256 of its manifest, see common.v1.Artifact) match the declared
 * ones. The reason for a mismatch names the artifact, the file, and expected vs actual.
 */
import { common } from '@medtune/contracts';

/** One file of an artifact as found on disk. */
export interface FileDigest {
  /** Path relative to the artifact's root, '/'-separated ('' for a single-file artifact). */
  path: string;
  sha256: string;
  size: number;
}

/** What an artifact on disk hashes to. */
export interface ArtifactDigest {
  /** sha256 of the file, or of the manifest for a directory. */
  sha256: string;
  /** Total bytes of all files. */
  size: number;
  /** The files, sorted by path. */
  files: FileDigest[];
  directory: boolean;
}

function label(a: common.Artifact): string {
  return `artifact ${common.artifactKindToJSON(a.kind).replace(/^ARTIFACT_KIND_/, '')} (${a.uri})`;
}

/**
 * Compares a declared artifact with what is on disk (null: nothing there). Returns the reason it
 * does not match, or null when it does. Per-file mismatches are reported first, since they say
 * which file to look at; then the artifact's own sha256 and size.
 */
export function mismatchReason(declared: common.Artifact, actual: ArtifactDigest | null): string | null {
  const what = label(declared);
  if (!actual) return `${what}: nothing found at that path`;
  if (actual.directory && declared.files.length > 0) {
    const onDisk = new Map(actual.files.map((f) => [f.path, f]));
    for (const f of declared.files) {
      const got = onDisk.get(f.path);
      if (!got) return `${what}: file ${f.path} is missing`;
      if (got.sha256 !== f.sha256) return `${what}: file ${f.path} sha256 expected ${f.sha256}, actual ${got.sha256}`;
      if (f.sizeBytes && got.size !== f.sizeBytes) return `${what}: file ${f.path} size expected ${f.sizeBytes}, actual ${got.size}`;
    }
    const listed = new Set(declared.files.map((f) => f.path));
    const extra = actual.files.filter((f) => !listed.has(f.path)).map((f) => f.path);
    if (extra.length > 0) return `${what}: unexpected file(s) ${extra.slice(0, 5).join(', ')}${extra.length > 5 ? ', …' : ''}`;
  }
  if (actual.sha256 !== declared.sha256) {
    const kind = actual.directory ? `manifest sha256 (${actual.files.length} files)` : 'sha256';
    return `${what}: ${kind} expected ${declared.sha256}, actual ${actual.sha256}`;
  }
  if (actual.size !== declared.sizeBytes) return `${what}: size expected ${declared.sizeBytes} bytes, actual ${actual.size}`;
  return null;
}
