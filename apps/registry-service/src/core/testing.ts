/**
 * Test support for the registry core: a core wired on the in-memory store, a recording event
 * sink, and artifacts written to a temporary directory with their true digests.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { common, subjectSpec } from '@medtune/contracts';
import { type Clock, createIdGenerator, OutboxRelay } from '@medtune/kit';
import { pino } from 'pino';
import { fileArtifactReader } from '../artifacts/digest';
import { AliasCore } from './aliases';
import { MemoryRegistryStore } from './memory-store';
import type { EventSink } from './ports';
import { RegistryCore } from './registry';
import { ResolveCache } from './resolve-cache';
import { Verifier } from './verification';

/** A published event, decoded. */
export interface Published {
  subject: string;
  id: string;
  message: unknown;
}

/** An EventSink that records what it publishes; `failing = true` makes publishes throw. */
export class RecordingSink implements EventSink {
  readonly published: Published[] = [];
  failing = false;
  async publish(subject: string, payload: Uint8Array, id: string): Promise<void> {
    if (this.failing) throw new Error('nats is down');
    const spec = subjectSpec(subject);
    if (!spec) throw new Error(`unknown subject ${subject}`);
    this.published.push({ subject, id, message: spec.codec.decode(payload) });
  }
  subjects(): string[] {
    return this.published.map((p) => p.subject);
  }
}

/** A clock that advances one millisecond per reading. */
export function steppingClock(start = Date.UTC(2025, 0, 1)): Clock {
  let t = start;
  return () => new Date(t++);
}

/** The registry core on the in-memory store. */
export function testRegistry(options: { cacheTtlMs?: number } = {}) {
  const store = new MemoryRegistryStore();
  const sink = new RecordingSink();
  const log = pino({ level: 'silent' });
  const clock = steppingClock();
  const newId = createIdGenerator(clock);
  const outbox = new OutboxRelay(store, sink, log, async (e) => {
    if (e.aliasChange) await store.insertAliasChange(e.aliasChange);
  });
  const cache = new ResolveCache(options.cacheTtlMs ?? 60_000, clock);
  const verifier = new Verifier({ store, reader: fileArtifactReader, outbox, cache, clock, newId, log, retryDelaysMs: [10] });
  const deps = { store, outbox, verifier, cache, clock, newId, log };
  return { store, sink, verifier, cache, core: new RegistryCore(deps), aliases: new AliasCore(deps), deps };
}

const sha = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');

const tempRoots: string[] = [];
/** A new temporary directory, removed by {@link removeTempDirs}. */
export function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'medtune-reg-'));
  tempRoots.push(d);
  return d;
}
/** Removes the directories made by this module's helpers (call in afterAll). */
export function removeTempDirs(): void {
  for (const d of tempRoots.splice(0)) rmSync(d, { recursive: true, force: true });
}

/** Writes a small adapter directory and returns its Artifact with the true digests (computed independently of the service's code). */
export function writeAdapter(root = tempDir(), seed = 'a'): { dir: string; artifact: common.Artifact } {
  const dir = join(root, `adapter-${seed}`);
  mkdirSync(join(dir, 'sub'), { recursive: true });
  const files: Record<string, string> = {
    'adapter_config.json': JSON.stringify({ r: 32, seed }),
    'adapter_model.safetensors': `weights-${seed}`.repeat(100),
    'sub/tokenizer.json': '{"model":"bpe"}',
  };
  for (const [p, body] of Object.entries(files)) writeFileSync(join(dir, p), body);
  const listed = Object.keys(files)
    .sort()
    .map((p) => ({ path: p, sha256: sha(files[p]!), sizeBytes: Buffer.byteLength(files[p]!) }));
  const manifest = listed.map((f) => `${f.sha256}  ${f.path}\n`).join('');
  return {
    dir,
    artifact: common.Artifact.fromPartial({
      kind: common.ArtifactKind.ARTIFACT_KIND_ADAPTER,
      uri: pathToFileURL(dir).href,
      sha256: sha(manifest),
      sizeBytes: listed.reduce((n, f) => n + f.sizeBytes, 0),
      files: listed,
    }),
  };
}

/** Writes a single-file artifact (a GGUF stand-in). */
export function writeGguf(root = tempDir()): { path: string; artifact: common.Artifact } {
  const path = join(root, 'model.gguf');
  const body = Buffer.from('GGUF'.repeat(256));
  writeFileSync(path, body);
  return {
    path,
    artifact: common.Artifact.fromPartial({
      kind: common.ArtifactKind.ARTIFACT_KIND_GGUF,
      uri: pathToFileURL(path).href,
      sha256: sha(body),
      sizeBytes: body.length,
      details: { quantization: 'q8_0' },
    }),
  };
}
