import { Metadata, status, type ServiceError } from '@grpc/grpc-js';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import {
  AbortedError,
  DomainError,
  ERROR_TABLE,
  FIELD_METADATA_KEY,
  FailedPreconditionError,
  InternalError,
  InvalidArgumentError,
  NotFoundError,
  RETRYABLE,
  ResourceExhaustedError,
  UnavailableError,
  fromServiceError,
  isRetryable,
  toServiceError,
} from './errors';

function capture() {
  const lines: Record<string, unknown>[] = [];
  const log = pino({ level: 'debug' }, { write: (s: string) => void lines.push(JSON.parse(s) as Record<string, unknown>) });
  return { log, lines };
}

describe('the error table', () => {
  it('maps each class to its status and back to the same class', () => {
    for (const [code, Class] of ERROR_TABLE) {
      const err = code === status.INVALID_ARGUMENT ? new InvalidArgumentError('f', 'bad') : new Class('m');
      expect(err.code, Class.name).toBe(code);
      expect(err).toBeInstanceOf(DomainError);
      const back = fromServiceError(toServiceError(err));
      expect(back, Class.name).toBeInstanceOf(Class);
      expect(back.code).toBe(code);
    }
    expect(ERROR_TABLE.size).toBe(14);
  });

  it('only UNAVAILABLE, RESOURCE_EXHAUSTED and ABORTED are retryable', () => {
    expect([...RETRYABLE].sort()).toEqual([status.RESOURCE_EXHAUSTED, status.ABORTED, status.UNAVAILABLE].sort());
    expect(new UnavailableError('x').retryable).toBe(true);
    expect(new ResourceExhaustedError('x').retryable).toBe(true);
    expect(new AbortedError('x').retryable).toBe(true);
    expect(new NotFoundError('x').retryable).toBe(false);
    expect(isRetryable({ code: status.UNAVAILABLE })).toBe(true);
    expect(isRetryable({ code: status.INTERNAL })).toBe(false);
  });
});

describe('toServiceError / fromServiceError', () => {
  it('INVALID_ARGUMENT carries the field in the message and in trailing metadata, and comes back with it', () => {
    const e = toServiceError(new InvalidArgumentError('lora.r', 'must be >= 1 (got 0)'));
    expect(e.code).toBe(status.INVALID_ARGUMENT);
    expect(e.details).toBe('lora.r: must be >= 1 (got 0)');
    expect(e.metadata.get(FIELD_METADATA_KEY)).toEqual(['lora.r']);
    const back = fromServiceError(e);
    expect(back).toBeInstanceOf(InvalidArgumentError);
    expect((back as InvalidArgumentError).field).toBe('lora.r');
    expect((back as InvalidArgumentError).reason).toBe('must be >= 1 (got 0)');
    expect(back.message).toBe('lora.r: must be >= 1 (got 0)');
  });

  it('INTERNAL hides the detail from the client and logs it with a reference', () => {
    const { log, lines } = capture();
    const e = toServiceError(new Error('connection string mongodb://u:secret@h leaked'), log);
    expect(e.code).toBe(status.INTERNAL);
    expect(e.details).toMatch(/^internal error \(ref [0-9a-f-]{36}\)$/);
    expect(e.details).not.toContain('secret');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ level: 50, ref: /\(ref (.+)\)/.exec(e.details)?.[1] });
    expect(JSON.stringify(lines[0])).toContain('leaked');
    expect(toServiceError(new InternalError('db exploded')).details).not.toContain('exploded');
  });

  it('keeps domain messages and causes', () => {
    const cause = new Error('root');
    const err = new FailedPreconditionError('version in use by job j1', { cause });
    expect(err.cause).toBe(cause);
    expect(err.name).toBe('FailedPreconditionError');
    expect(toServiceError(err)).toMatchObject({ code: status.FAILED_PRECONDITION, details: 'version in use by job j1' });
  });

  it('unknown statuses come back as InternalError with the original as cause', () => {
    const raw = Object.assign(new Error('x'), { code: status.DATA_LOSS, details: 'lost', metadata: new Metadata() }) as ServiceError;
    const back = fromServiceError(raw);
    expect(back).toBeInstanceOf(InternalError);
    expect(back.cause).toBe(raw);
  });

  it('an aborted handler maps to CANCELLED', () => {
    expect(toServiceError(new DOMException('aborted', 'AbortError')).code).toBe(status.CANCELLED);
  });
});
