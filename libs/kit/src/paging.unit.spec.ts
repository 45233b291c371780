import { describe, expect, it } from 'vitest';
import { InvalidArgumentError } from './errors';
import { decodePageToken, encodePageToken, pageSize } from './paging';

describe('page tokens', () => {
  it('round-trip a position; an empty token is the first page', () => {
    const token = encodePageToken({ after: 'job_01J', n: 3 });
    expect(token).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(decodePageToken(token)).toEqual({ after: 'job_01J', n: 3 });
    expect(decodePageToken('')).toBeUndefined();
    expect(decodePageToken(undefined)).toBeUndefined();
  });

  it.each(['%%%', 'abc', Buffer.from('{"p":{}}').toString('base64url'), Buffer.from('[1]').toString('base64url'), encodePageToken({}).slice(0, -4)])(
    'a foreign or damaged token %s is INVALID_ARGUMENT naming the field',
    (token) => {
      let err: unknown;
      try {
        decodePageToken(token, 'page_token');
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(InvalidArgumentError);
      expect((err as InvalidArgumentError).field).toBe('page_token');
      expect((err as Error).message).toMatch(/^page_token: /);
    },
  );

  it('page sizes: 0 is the default, above max is lowered, negative is rejected', () => {
    const limits = { defaultSize: 50, maxSize: 500 };
    expect(pageSize(0, limits)).toBe(50);
    expect(pageSize(undefined, limits)).toBe(50);
    expect(pageSize(20, limits)).toBe(20);
    expect(pageSize(10_000, limits)).toBe(500);
    expect(() => pageSize(-1, limits)).toThrow('page_size: must be a non-negative integer (got -1)');
  });
});
