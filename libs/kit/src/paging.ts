import { InvalidArgumentError } from './errors';

/**
 * Opaque page tokens: base64url of a small JSON object with a version tag. Services put the sort
 * key of the last item in it (e.g. `{ after: id }`); clients only pass it back.
 */
const VERSION = 1;

/** Encodes a page position into an opaque token. */
export function encodePageToken(position: Record<string, unknown>): string {
  return Buffer.from(JSON.stringify({ v: VERSION, p: position }), 'utf8').toString('base64url');
}

/**
 * Decodes a token from {@link encodePageToken}. An empty token means "first page" → undefined.
 * Anything else that is not a token of ours → InvalidArgumentError(field, ...).
 */
export function decodePageToken<T extends Record<string, unknown> = Record<string, unknown>>(
  token: string | undefined,
  field = 'page_token',
): T | undefined {
  if (!token) return undefined;
  let parsed: unknown;
  try {
    if (!/^[A-Za-z0-9_-]+$/.test(token)) throw new Error('not base64url');
    parsed = JSON.parse(Buffer.from(token, 'base64url').toString('utf8'));
  } catch (err) {
    throw new InvalidArgumentError(field, 'is not a page token from a previous response', { cause: err });
  }
  const obj = parsed as { v?: unknown; p?: unknown } | null;
  if (!obj || typeof obj !== 'object' || obj.v !== VERSION || !obj.p || typeof obj.p !== 'object' || Array.isArray(obj.p)) {
    throw new InvalidArgumentError(field, 'is not a page token from a previous response');
  }
  return obj.p as T;
}

/** Bounds of {@link pageSize}. */
export interface PageSizeLimits {
  /** Used when the request says 0 / nothing. */
  defaultSize: number;
  /** Larger requests are lowered to this (AIP-158: coerce, don't fail). */
  maxSize: number;
}

/** The page size to use for a request's `page_size`: 0 → default; above max → max; negative → INVALID_ARGUMENT. */
export function pageSize(requested: number | undefined, limits: PageSizeLimits, field = 'page_size'): number {
  const n = requested ?? 0;
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError(field, `must be a non-negative integer (got ${n})`);
  if (n === 0) return limits.defaultSize;
  return Math.min(n, limits.maxSize);
}
