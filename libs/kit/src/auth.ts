import { createHash, timingSafeEqual } from 'node:crypto';
import type { Metadata } from '@grpc/grpc-js';

/** Metadata key of the bearer token. */
export const AUTHORIZATION_KEY = 'authorization';

/**
 * A checker for `authorization: Bearer <token>` metadata. Both sides are hashed first so the
 * comparison is constant-time whatever the lengths; the token itself is never logged or kept
 * in an error.
 */
export function bearerTokenChecker(token: string): (metadata: Metadata) => boolean {
  if (!token) throw new Error('bearerTokenChecker: empty token');
  const expected = digest(token);
  return (metadata) => {
    const value = metadata.get(AUTHORIZATION_KEY)[0];
    if (typeof value !== 'string') return false;
    const m = /^Bearer (.+)$/i.exec(value);
    return m?.[1] !== undefined && timingSafeEqual(digest(m[1]), expected);
  };
}

/** The metadata value a client sends for `token`. */
export function bearer(token: string): string {
  return `Bearer ${token}`;
}

function digest(s: string): Buffer {
  return createHash('sha256').update(s, 'utf8').digest();
}
