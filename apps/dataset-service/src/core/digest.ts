/**
 * Content hashing. A row's content hash finds duplicates and seeds its split key; the version
 * digest is sha256 over a header of the settings that shape the training text and then every
 * kept row's canonical content in order, so the same rows with the same settings give the same
 * digest wherever and whenever they are imported.
 */
import { createHash } from 'node:crypto';

/** sha256 over a row's question, chain of thought and answer (an unambiguous JSON encoding of the three). */
export function contentHash(question: string, cot: string, response: string): Buffer {
  return createHash('sha256').update(JSON.stringify([question, cot, response])).digest();
}

/** The duplicate-detection key of a content hash: its first 16 bytes, base64. */
export function contentKey(hash: Buffer): string {
  return hash.toString('base64', 0, 16);
}

/** JSON with object keys sorted at every level, so equal values give equal text. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value && typeof value === 'object') {
    const obj = value as Record<string, unknown>;
    return `{${Object.keys(obj)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonicalJson(obj[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(value);
}

const NO_METADATA = Buffer.alloc(32);

/** Incremental version digest. */
export class VersionDigest {
  private readonly hash = createHash('sha256');

  /** `settings` is every setting that shapes the stored rows and their training text. */
  constructor(settings: unknown) {
    this.hash.update(`medtune.dataset.v1\n${canonicalJson(settings)}\n`);
  }

  /**
   * Adds the next kept row: its content hash, then (when it has unmapped columns) the sha256 of
   * their canonical JSON, so metadata is part of the content but hashing a row costs one pass.
   */
  addRow(hash: Buffer, metadataJson: string): void {
    this.hash.update(hash);
    this.hash.update(metadataJson ? createHash('sha256').update(canonicalJson(JSON.parse(metadataJson))).digest() : NO_METADATA);
  }

  /** The hex digest (once). */
  hex(): string {
    return this.hash.digest('hex');
  }
}

/** A settings key: sha256 of their canonical JSON. */
export function settingsKey(settings: unknown): string {
  return createHash('sha256').update(canonicalJson(settings)).digest('hex');
}
