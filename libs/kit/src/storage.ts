/**
 * Object storage for artifacts: `s3://bucket/key` URIs on any S3-compatible store (the AWS SDK v3),
 * the TypeScript side of python-services/trainer/src/medtune_trainer/storage.py.
 *
 * - URIs are checked here, once: a malformed one is INVALID_ARGUMENT naming the field; a bucket that
 *   does not exist is FAILED_PRECONDITION naming the field (checkBucket).
 * - Objects are read as streams and hashed as they stream (artifacts are gigabytes).
 * - A directory artifact is complete only once its manifest (`.medtune-manifest`, written last by
 *   the trainer) is there; readers use {@link ObjectStore.listDirectory}, which says so.
 * - Settings come from the service's env config ({@link s3ConfigSpec}: MEDTUNE_S3_ENDPOINT,
 *   MEDTUNE_S3_REGION, MEDTUNE_S3_ACCESS_KEY / MEDTUNE_S3_SECRET_KEY, else the SDK's own chain:
 *   AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY, ...). Credentials are secret config fields (redacted
 *   when a config is logged) and no error message carries one: errors name the bucket and key only.
 */
import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, rename, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Transform, type Readable } from 'node:stream';
import {
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  S3ServiceException,
} from '@aws-sdk/client-s3';
import { secret, str, url } from './config';
import { FailedPreconditionError, InvalidArgumentError, UnavailableError } from './errors';

/** The name of a directory artifact's manifest object (written last: its presence = complete). */
export const S3_MANIFEST = '.medtune-manifest';

/** A bucket and a key ('' for the bucket's root; no leading slash). */
export interface S3Location {
  bucket: string;
  key: string;
}

const BUCKET = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;

/** Whether a URI names object storage. */
export function isS3Uri(uri: string): boolean {
  return uri.startsWith('s3://');
}

/** s3://bucket/key, or INVALID_ARGUMENT naming `field` (credentials in a URI are refused: they belong in the env). */
export function parseS3Uri(uri: string, field = 'uri'): S3Location {
  if (!isS3Uri(uri)) throw new InvalidArgumentError(field, `expected an s3://bucket/prefix URI (got ${JSON.stringify(uri.slice(0, 200))})`);
  const rest = uri.slice('s3://'.length);
  const slash = rest.indexOf('/');
  const bucket = slash < 0 ? rest : rest.slice(0, slash);
  const key = slash < 0 ? '' : rest.slice(slash + 1);
  if (bucket.includes('@') || bucket.includes(':')) throw new InvalidArgumentError(field, 'an s3:// URI must not carry credentials or a port; set the endpoint and credentials in the environment');
  if (!BUCKET.test(bucket)) throw new InvalidArgumentError(field, `${JSON.stringify(bucket)} is not a valid bucket name (3-63 of a-z 0-9 . -)`);
  if (/[?#]/.test(key)) throw new InvalidArgumentError(field, 'an s3:// URI takes no query or fragment');
  if (key.split('/').some((s) => s === '.' || s === '..')) throw new InvalidArgumentError(field, 'an s3:// key must not contain . or .. segments');
  if (key.includes('//') || [...key].some((c) => c.charCodeAt(0) < 0x20)) throw new InvalidArgumentError(field, 'an s3:// key must not contain empty segments or control characters');
  return { bucket, key: key.replace(/\/+$/, '') };
}

/** The URI of a location. */
export function s3UriOf(loc: S3Location): string {
  return `s3://${loc.bucket}/${loc.key}`;
}

/** The configured roots (s3://bucket[/prefix], separated by commas or spaces). */
export function parseS3Roots(raw: string | undefined, field = 'MEDTUNE_S3_ROOTS'): S3Location[] {
  return (raw ?? '')
    .split(/[\s,]+/)
    .filter(Boolean)
    .map((r) => parseS3Uri(r, field));
}

/** Whether `loc` lies inside one of `roots` (same bucket, at or under its prefix). */
export function insideS3Roots(loc: S3Location, roots: readonly S3Location[]): boolean {
  return roots.some((r) => r.bucket === loc.bucket && (r.key === '' || loc.key === r.key || loc.key.startsWith(`${r.key}/`)));
}

/** The location of `uri` when it lies inside `roots`, else INVALID_ARGUMENT naming `field`. */
export function confineS3Uri(uri: string, roots: readonly S3Location[], field: string): S3Location {
  const loc = parseS3Uri(uri, field);
  if (!insideS3Roots(loc, roots)) {
    const allowed = roots.map(s3UriOf).join(', ') || 'none (set MEDTUNE_S3_ROOTS)';
    throw new InvalidArgumentError(field, `${uri} is outside the object-storage roots this service may read (${allowed})`);
  }
  return loc;
}

/**
 * The S3 settings a service spreads into its config spec (shared: MEDTUNE_S3_* for every service,
 * or the service's own prefix first).
 */
export function s3ConfigSpec() {
  return {
    s3Endpoint: url({ env: 'S3_ENDPOINT', shared: true, optional: true, protocols: ['http:', 'https:'], description: 'S3-compatible endpoint (e.g. http://127.0.0.1:8333); default: AWS' }),
    s3Region: str({ env: 'S3_REGION', shared: true, default: 'us-east-1', description: 'S3 region' }),
    s3AccessKey: secret({ env: 'S3_ACCESS_KEY', shared: true, optional: true, description: 'S3 access key id (with S3_SECRET_KEY); default: the AWS SDK chain (AWS_ACCESS_KEY_ID, ...)' }),
    s3SecretKey: secret({ env: 'S3_SECRET_KEY', shared: true, optional: true, description: 'S3 secret access key' }),
    s3Roots: str({ env: 'S3_ROOTS', shared: true, optional: true, description: 's3://bucket[/prefix] list (commas or spaces): where artifacts may live; s3:// URIs elsewhere are refused' }),
  };
}

/** The S3 part of a loaded config. */
export interface S3Settings {
  s3Endpoint?: string | undefined;
  s3Region: string;
  s3AccessKey?: string | undefined;
  s3SecretKey?: string | undefined;
  s3Roots?: string | undefined;
}

/** A missing bucket, an unreachable store or a refused request as a domain error naming the field. */
function storageError(err: unknown, loc: S3Location, field: string): Error {
  const name = (err as { name?: string }).name ?? '';
  const status = err instanceof S3ServiceException ? err.$metadata.httpStatusCode : undefined;
  if (name === 'NoSuchBucket') return new FailedPreconditionError(`${field}: bucket ${JSON.stringify(loc.bucket)} does not exist on the object store`);
  if (name === 'AccessDenied' || name === 'InvalidAccessKeyId' || name === 'SignatureDoesNotMatch' || status === 403) {
    return new FailedPreconditionError(`${field}: the object store refused access to s3://${loc.bucket}/${loc.key} (${name || status}); check the S3 credentials`);
  }
  if (status === undefined || status >= 500) return new UnavailableError(`${field}: the object store did not answer for s3://${loc.bucket}/${loc.key} (${name || 'no response'})`);
  return err instanceof Error ? err : new Error(String(err));
}

function notFound(err: unknown): boolean {
  const name = (err as { name?: string }).name;
  return name === 'NoSuchKey' || name === 'NotFound' || (err instanceof S3ServiceException && err.$metadata.httpStatusCode === 404 && name !== 'NoSuchBucket');
}

/** One object: its key and size. */
export interface S3Object {
  key: string;
  size: number;
}

/** One S3-compatible endpoint. */
export class ObjectStore {
  readonly client: S3Client;

  constructor(settings: S3Settings) {
    this.client = new S3Client({
      region: settings.s3Region,
      ...(settings.s3Endpoint ? { endpoint: settings.s3Endpoint, forcePathStyle: true } : {}),
      ...(settings.s3AccessKey && settings.s3SecretKey ? { credentials: { accessKeyId: settings.s3AccessKey, secretAccessKey: settings.s3SecretKey } } : {}),
      // Objects are hashed as they stream; the SDK's own response checksums add nothing here.
      responseChecksumValidation: 'WHEN_REQUIRED',
      requestChecksumCalculation: 'WHEN_REQUIRED',
    });
  }

  /** FAILED_PRECONDITION naming `field` when the bucket does not exist (or is not ours to read). */
  async checkBucket(bucket: string, field: string): Promise<void> {
    try {
      await this.client.send(new HeadBucketCommand({ Bucket: bucket }));
    } catch (err) {
      if (err instanceof S3ServiceException && err.$metadata.httpStatusCode === 404) {
        throw new FailedPreconditionError(`${field}: bucket ${JSON.stringify(bucket)} does not exist on the object store`);
      }
      throw storageError(err, { bucket, key: '' }, field);
    }
  }

  /** The object's size, or null when there is none. */
  async head(loc: S3Location, field = 'uri'): Promise<{ size: number } | null> {
    try {
      const r = await this.client.send(new HeadObjectCommand({ Bucket: loc.bucket, Key: loc.key }));
      return { size: Number(r.ContentLength ?? 0) };
    } catch (err) {
      if (notFound(err)) return null;
      throw storageError(err, loc, field);
    }
  }

  /** Every object under `prefix/` (keys relative to it), in the store's (UTF-8 byte) order. */
  async list(loc: S3Location, field = 'uri'): Promise<S3Object[]> {
    const prefix = loc.key ? `${loc.key}/` : '';
    const out: S3Object[] = [];
    let token: string | undefined;
    try {
      do {
        const r = await this.client.send(new ListObjectsV2Command({ Bucket: loc.bucket, Prefix: prefix, ContinuationToken: token }));
        for (const o of r.Contents ?? []) if (o.Key) out.push({ key: o.Key.slice(prefix.length), size: Number(o.Size ?? 0) });
        token = r.IsTruncated ? r.NextContinuationToken : undefined;
      } while (token);
    } catch (err) {
      throw storageError(err, loc, field);
    }
    return out;
  }

  /** The object's bytes as a stream (null when there is none). */
  async open(loc: S3Location, field = 'uri'): Promise<Readable | null> {
    try {
      const r = await this.client.send(new GetObjectCommand({ Bucket: loc.bucket, Key: loc.key }));
      return r.Body as Readable;
    } catch (err) {
      if (notFound(err)) return null;
      throw storageError(err, loc, field);
    }
  }

  /** sha256 and size of the object's bytes, streamed; null when there is none. */
  async sha256(loc: S3Location, field = 'uri'): Promise<{ sha256: string; size: number } | null> {
    const body = await this.open(loc, field);
    if (!body) return null;
    const hash = createHash('sha256');
    let size = 0;
    for await (const chunk of body) {
      hash.update(chunk as Buffer);
      size += (chunk as Buffer).length;
    }
    return { sha256: hash.digest('hex'), size };
  }

  /** Downloads the object to `path` (a temp file renamed once complete); returns its sha256 and size. */
  async download(loc: S3Location, path: string, field = 'uri'): Promise<{ sha256: string; size: number }> {
    const body = await this.open(loc, field);
    if (!body) throw new FailedPreconditionError(`${field}: no object at s3://${loc.bucket}/${loc.key}`);
    await mkdir(dirname(path), { recursive: true });
    const tmp = join(dirname(path), `.tmp-${process.pid}-${Math.random().toString(36).slice(2, 10)}`);
    const hash = createHash('sha256');
    let size = 0;
    const tap = new Transform({
      transform(chunk: Buffer, _enc, cb) {
        hash.update(chunk);
        size += chunk.length;
        cb(null, chunk);
      },
    });
    try {
      await pipeline(body, tap, createWriteStream(tmp));
      await rename(tmp, path);
    } finally {
      await rm(tmp, { force: true });
    }
    return { sha256: hash.digest('hex'), size };
  }

  /** Writes an object in one request (small objects: tests, manifests). */
  async put(loc: S3Location, body: Buffer | string): Promise<void> {
    try {
      await this.client.send(new PutObjectCommand({ Bucket: loc.bucket, Key: loc.key, Body: body }));
    } catch (err) {
      throw storageError(err, loc, 'uri');
    }
  }

  /** Closes the client's connections. */
  close(): void {
    this.client.destroy();
  }
}
