import { randomBytes } from 'node:crypto';

/**
 * A short random token, unique per call, that is valid in every name we derive from it:
 * MongoDB database names, JetStream stream names (upper-cased) and NATS subject tokens.
 */
export function randomId(prefix = 't'): string {
  return `${prefix}${randomBytes(5).toString('hex')}`;
}
