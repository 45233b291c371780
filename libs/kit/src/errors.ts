import { randomUUID } from 'node:crypto';
import { Metadata, status, type ServiceError } from '@grpc/grpc-js';
import type { Logger } from './logger';

/** A gRPC status code (the numeric values of grpc-js's `status` enum). */
export type GrpcStatusCode = status;

/** Trailing-metadata key that carries the offending field of an INVALID_ARGUMENT. */
export const FIELD_METADATA_KEY = 'medtune-field';

/**
 * Base class of every error a service core throws on purpose. Each subclass stands for one gRPC
 * status; the transport adapters map it through {@link toServiceError} / {@link fromServiceError}.
 */
export abstract class DomainError extends Error {
  /** The gRPC status this error crosses the wire as. */
  abstract readonly code: GrpcStatusCode;
  /** Whether a client may retry the call as is (UNAVAILABLE, RESOURCE_EXHAUSTED, ABORTED). */
  get retryable(): boolean {
    return RETRYABLE.has(this.code);
  }
  constructor(message: string, options: { cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
  }
}

/** A request field is wrong. The message reads "field: reason", e.g. "lora.r: must be >= 1 (got 0)". */
export class InvalidArgumentError extends DomainError {
  readonly code = status.INVALID_ARGUMENT;
  /** The offending field's path in the request, e.g. `lora.r` or `page_token`. */
  readonly field: string;
  /** What is wrong with it, without the field. */
  readonly reason: string;
  constructor(field: string, reason: string, options: { cause?: unknown } = {}) {
    super(field ? `${field}: ${reason}` : reason, options);
    this.field = field;
    this.reason = reason;
  }
}
/** The named thing does not exist. */
export class NotFoundError extends DomainError {
  readonly code = status.NOT_FOUND;
}
/** The thing to create exists already. */
export class AlreadyExistsError extends DomainError {
  readonly code = status.ALREADY_EXISTS;
}
/** The system is not in a state that allows the operation (e.g. deleting a version in use). */
export class FailedPreconditionError extends DomainError {
  readonly code = status.FAILED_PRECONDITION;
}
/** A quota or capacity is exhausted; retryable after a while. */
export class ResourceExhaustedError extends DomainError {
  readonly code = status.RESOURCE_EXHAUSTED;
}
/** A dependency is down or the service is stopping; retryable. */
export class UnavailableError extends DomainError {
  readonly code = status.UNAVAILABLE;
}
/** A concurrency conflict (e.g. an optimistic-lock miss); retryable. */
export class AbortedError extends DomainError {
  readonly code = status.ABORTED;
}
/** A value is outside the valid range of the current state (e.g. a step past the end). */
export class OutOfRangeError extends DomainError {
  readonly code = status.OUT_OF_RANGE;
}
/** The caller is known but not allowed to do this. */
export class PermissionDeniedError extends DomainError {
  readonly code = status.PERMISSION_DENIED;
}
/** The caller did not prove who it is (missing or wrong bearer token). */
export class UnauthenticatedError extends DomainError {
  readonly code = status.UNAUTHENTICATED;
}
/** The call's deadline passed before it completed. */
export class DeadlineExceededError extends DomainError {
  readonly code = status.DEADLINE_EXCEEDED;
}
/** The call was cancelled (usually by the caller). */
export class CancelledError extends DomainError {
  readonly code = status.CANCELLED;
}
/** The method is not implemented by this server. */
export class UnimplementedError extends DomainError {
  readonly code = status.UNIMPLEMENTED;
}
/**
 * A bug or an unexpected failure. Crosses gRPC as INTERNAL with a generic message and a
 * reference; the detail (message, cause, stack) goes only to the server's log.
 */
export class InternalError extends DomainError {
  readonly code = status.INTERNAL;
}

type DomainErrorClass = new (message: string, options?: { cause?: unknown }) => DomainError;

/**
 * THE table: gRPC status ↔ domain error class. {@link fromServiceError} reads it one way; each
 * class's `code` is the other way (a unit test checks both agree). Codes not listed here
 * (UNKNOWN, DATA_LOSS, OK) come back as {@link InternalError}.
 */
export const ERROR_TABLE: ReadonlyMap<GrpcStatusCode, DomainErrorClass> = new Map<GrpcStatusCode, DomainErrorClass>([
  [status.INVALID_ARGUMENT, InvalidArgumentError as unknown as DomainErrorClass],
  [status.NOT_FOUND, NotFoundError],
  [status.ALREADY_EXISTS, AlreadyExistsError],
  [status.FAILED_PRECONDITION, FailedPreconditionError],
  [status.RESOURCE_EXHAUSTED, ResourceExhaustedError],
  [status.UNAVAILABLE, UnavailableError],
  [status.ABORTED, AbortedError],
  [status.OUT_OF_RANGE, OutOfRangeError],
  [status.PERMISSION_DENIED, PermissionDeniedError],
  [status.UNAUTHENTICATED, UnauthenticatedError],
  [status.DEADLINE_EXCEEDED, DeadlineExceededError],
  [status.CANCELLED, CancelledError],
  [status.UNIMPLEMENTED, UnimplementedError],
  [status.INTERNAL, InternalError],
]);

/** The statuses a client may retry: the only ones the kit's client helper retries. */
export const RETRYABLE: ReadonlySet<GrpcStatusCode> = new Set([status.UNAVAILABLE, status.RESOURCE_EXHAUSTED, status.ABORTED]);

/** True for a DomainError, or a gRPC error, whose status is retryable. */
export function isRetryable(err: unknown): boolean {
  if (err instanceof DomainError) return err.retryable;
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'number' && RETRYABLE.has(code);
}

/**
 * Maps anything a handler threw to the ServiceError grpc-js sends. DomainErrors keep their
 * message (INVALID_ARGUMENT also carries the field in trailing metadata `medtune-field`);
 * InternalError and every non-domain error become INTERNAL with a generic message and a
 * reference id, and are logged in full under that id. An aborted handler (the client went away)
 * becomes CANCELLED.
 */
export function toServiceError(err: unknown, log?: Logger, context: Record<string, unknown> = {}): ServiceError {
  const metadata = new Metadata();
  if (err instanceof DomainError && !(err instanceof InternalError)) {
    if (err instanceof InvalidArgumentError && err.field) metadata.set(FIELD_METADATA_KEY, err.field);
    return serviceError(err.code, err.message, metadata);
  }
  if (isAbortError(err)) return serviceError(status.CANCELLED, 'call cancelled', metadata);
  const ref = randomUUID();
  log?.error({ err, ref, ...context }, 'internal error');
  return serviceError(status.INTERNAL, `internal error (ref ${ref})`, metadata);
}

/**
 * Maps a gRPC error a client received back to the DomainError class of its status, so callers
 * can `catch (e) { if (e instanceof NotFoundError) ... }`. The original is the `cause`.
 */
export function fromServiceError(err: unknown): DomainError {
  if (err instanceof DomainError) return err;
  const e = err as Partial<ServiceError> | null;
  const code = typeof e?.code === 'number' ? e.code : status.UNKNOWN;
  const details = typeof e?.details === 'string' ? e.details : e instanceof Error ? e.message : String(err);
  if (code === status.INVALID_ARGUMENT) {
    const fieldValue = e?.metadata instanceof Metadata ? e.metadata.get(FIELD_METADATA_KEY)[0] : undefined;
    const field = typeof fieldValue === 'string' ? fieldValue : '';
    const reason = field && details.startsWith(`${field}: `) ? details.slice(field.length + 2) : details;
    return new InvalidArgumentError(field, reason, { cause: err });
  }
  const Class = ERROR_TABLE.get(code) ?? InternalError;
  return new Class(details, { cause: err });
}

/** The gRPC status a thrown value maps to (INTERNAL for anything that is not a DomainError). */
export function statusOf(err: unknown): GrpcStatusCode {
  if (err instanceof DomainError) return err.code;
  if (isAbortError(err)) return status.CANCELLED;
  return status.INTERNAL;
}

function serviceError(code: GrpcStatusCode, details: string, metadata: Metadata): ServiceError {
  return Object.assign(new Error(details), { code, details, metadata });
}

function isAbortError(err: unknown): boolean {
  return err instanceof Error && (err.name === 'AbortError' || (err as { code?: unknown }).code === 'ABORT_ERR');
}
