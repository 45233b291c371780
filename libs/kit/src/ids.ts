import { randomBytes } from 'node:crypto';

/** The current time; services take a Clock instead of calling `new Date()`, so tests can pin it. */
export type Clock = () => Date;

/** The real clock. */
export const systemClock: Clock = () => new Date();

// Crockford's base32 (no I, L, O, U): ids sort as strings in creation order and read unambiguously.
const ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';

/**
 * Generates time-sortable unique ids (ULID layout: 10 chars of millisecond time + 16 chars of
 * randomness). Within one millisecond the random part is incremented, so ids from one generator
 * are strictly increasing. Create one per process (or use {@link newId}).
 */
export function createIdGenerator(clock: Clock = systemClock): (prefix?: string) => string {
  let lastMs = -1;
  let last: number[] = [];
  return (prefix?: string) => {
    const ms = Math.max(clock().getTime(), lastMs);
    if (ms === lastMs) {
      last = increment(last);
    } else {
      lastMs = ms;
      last = Array.from(randomBytes(16), (b) => b & 31);
    }
    const id = encodeTime(ms) + last.map((d) => ALPHABET.charAt(d)).join('');
    return prefix ? `${prefix}_${id}` : id;
  };
}

/**
 * A new time-sortable unique id, e.g. newId('job') → 'job_01JDQ4T9Z8M6XK3V0W2R5NYB7C'.
 * The prefix must be a short lower-case word so ids say what they name.
 */
export const newId: (prefix?: string) => string = createIdGenerator();

function encodeTime(ms: number): string {
  let out = '';
  let t = ms;
  for (let i = 0; i < 10; i++) {
    out = ALPHABET.charAt(t % 32) + out;
    t = Math.floor(t / 32);
  }
  return out;
}

function increment(digits: number[]): number[] {
  const next = [...digits];
  for (let i = next.length - 1; i >= 0; i--) {
    const d = next[i] ?? 0;
    if (d < 31) {
      next[i] = d + 1;
      return next;
    }
    next[i] = 0;
  }
  // 2^80 ids in one millisecond: practically unreachable; start over with fresh randomness.
  return Array.from(randomBytes(16), (b) => b & 31);
}

/** The creation time encoded in an id from {@link newId} (prefix allowed); undefined if it is not one. */
export function idTime(id: string): Date | undefined {
  const body = id.slice(id.lastIndexOf('_') + 1);
  if (!/^[0-9A-HJKMNP-TV-Z]{26}$/.test(body)) return undefined;
  let ms = 0;
  for (const ch of body.slice(0, 10)) ms = ms * 32 + ALPHABET.indexOf(ch);
  return new Date(ms);
}
