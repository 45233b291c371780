/** A small adapter-shaped directory with its true digests (manifest rule of common.v1.Artifact). */
import { createHash } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { common } from '@medtune/contracts';

const sha = (s: string) => createHash('sha256').update(s).digest('hex');

/** Writes `<root>/adapter` and returns its Artifact. */
export function writeAdapter(root: string): { dir: string; artifact: common.Artifact } {
  const dir = join(root, 'adapter');
  mkdirSync(dir, { recursive: true });
  const files: Record<string, string> = { 'adapter_config.json': '{"r":32}', 'adapter_model.safetensors': 'w'.repeat(4096) };
  for (const [p, body] of Object.entries(files)) writeFileSync(join(dir, p), body);
  const listed = Object.keys(files)
    .sort()
    .map((p) => ({ path: p, sha256: sha(files[p]!), sizeBytes: files[p]!.length }));
  return {
    dir,
    artifact: common.Artifact.fromPartial({
      kind: common.ArtifactKind.ARTIFACT_KIND_ADAPTER,
      uri: pathToFileURL(dir).href,
      sha256: sha(listed.map((f) => `${f.sha256}  ${f.path}\n`).join('')),
      sizeBytes: listed.reduce((n, f) => n + f.sizeBytes, 0),
      files: listed,
    }),
  };
}
