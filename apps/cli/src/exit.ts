/**
 * Exit codes scripts can rely on, and the mapping of every failure to one of them with a message
 * that says what to do next. Documented in apps/cli/README.md; keep both in step.
 */
import { status } from '@grpc/grpc-js';
import { DomainError, InvalidArgumentError } from '@medtune/kit';

/** The exit codes of `medtune`. */
export const EXIT = {
  /** Success. */
  OK: 0,
  /** An unexpected error (a bug, or an INTERNAL error of a service). */
  INTERNAL: 1,
  /** The command line is wrong (unknown command or option, missing argument). */
  USAGE: 2,
  /** The named thing does not exist (dataset version, job, run, model, alias, file). */
  NOT_FOUND: 3,
  /** The input is invalid (a pipeline field, a hyperparameter, a data file's rows). */
  INVALID_INPUT: 4,
  /** A job, an evaluation or a registration ended without success (failed or cancelled). */
  FAILED: 5,
  /** A service could not be reached, or did not answer in time. */
  UNAVAILABLE: 6,
  /** The call was refused: missing or wrong token (MEDTUNE_AUTH_TOKEN). */
  UNAUTHENTICATED: 7,
  /** The request conflicts with what exists (same key, other content; state does not allow it). */
  CONFLICT: 8,
  /** Interrupted (Ctrl-C); work started on the services keeps running. */
  INTERRUPTED: 130,
} as const;

/** One of {@link EXIT}'s values. */
export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

/** The symbolic name of an exit code, for --json error output. */
export function exitName(code: number): string {
  return Object.entries(EXIT).find(([, v]) => v === code)?.[0] ?? 'UNKNOWN';
}

/** An error the CLI reports as is: a message, what to do next, and its exit code. */
export class CliError extends Error {
  constructor(
    readonly exitCode: ExitCode,
    message: string,
    /** What to do next, one line. */
    readonly hint?: string,
    /** The offending field (pipeline path or request field), when known. */
    readonly field?: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'CliError';
  }
}

/** A usage error (exit 2). */
export function usage(message: string, hint = 'run `medtune help` for the commands and their options'): CliError {
  return new CliError(EXIT.USAGE, message, hint);
}

/** Where a failed call went, to phrase its error. */
export interface CallSite {
  /** Service name as users know it: "training". */
  service: string;
  /** host:port. */
  address: string;
}

const START_HINT = 'start the stack with deploy/local/stack.sh up (or set MEDTUNE_<SERVICE>_ADDR to where it runs)';

/** Maps a gRPC status to an exit code. */
export function exitForStatus(code: number): ExitCode {
  switch (code) {
    case status.NOT_FOUND:
      return EXIT.NOT_FOUND;
    case status.INVALID_ARGUMENT:
    case status.OUT_OF_RANGE:
      return EXIT.INVALID_INPUT;
    case status.UNAVAILABLE:
    case status.DEADLINE_EXCEEDED:
    case status.RESOURCE_EXHAUSTED:
      return EXIT.UNAVAILABLE;
    case status.UNAUTHENTICATED:
    case status.PERMISSION_DENIED:
      return EXIT.UNAUTHENTICATED;
    case status.ALREADY_EXISTS:
    case status.FAILED_PRECONDITION:
    case status.ABORTED:
      return EXIT.CONFLICT;
    case status.CANCELLED:
      return EXIT.INTERRUPTED;
    default:
      return EXIT.INTERNAL;
  }
}

/**
 * Turns an error of a call to `site` into a CliError with a next step. Unknown errors become
 * INTERNAL with their message (the CLI runs on the user's side: nothing to hide from them).
 */
export function explainCallError(err: unknown, site: CallSite): CliError {
  if (err instanceof CliError) return err;
  if (!(err instanceof DomainError)) {
    return new CliError(EXIT.INTERNAL, `${site.service} service call failed: ${messageOf(err)}`, undefined, undefined, { cause: err });
  }
  const code = exitForStatus(err.code);
  const field = err instanceof InvalidArgumentError ? err.field : undefined;
  const msg = stripStatusPrefix(err.message);
  switch (err.code) {
    case status.UNAVAILABLE:
      if (/No connection established|ECONNREFUSED|connect|Name resolution|getaddrinfo/i.test(err.message) || msg === '') {
        return new CliError(code, `cannot reach the ${site.service} service at ${site.address} — is it running?`, START_HINT, undefined, { cause: err });
      }
      return new CliError(code, `the ${site.service} service at ${site.address} is unavailable: ${msg}`, 'retry in a moment; if it persists, check its log (deploy/local/stack.sh logs ' + site.service + ')', undefined, { cause: err });
    case status.DEADLINE_EXCEEDED:
      return new CliError(code, `the ${site.service} service at ${site.address} did not answer in time`, `check that it is healthy: medtune status; its log: deploy/local/stack.sh logs ${site.service}`, undefined, { cause: err });
    case status.UNAUTHENTICATED:
      return new CliError(code, `the ${site.service} service refused the call: ${msg || 'not authenticated'}`, 'set MEDTUNE_AUTH_TOKEN to the token the services were started with', undefined, { cause: err });
    case status.PERMISSION_DENIED:
      return new CliError(code, `the ${site.service} service refused the call: ${msg}`, 'ask for a token that allows it', undefined, { cause: err });
    case status.INTERNAL:
    case status.UNKNOWN:
      return new CliError(code, `the ${site.service} service failed: ${msg}`, `its log has the detail: deploy/local/stack.sh logs ${site.service}`, undefined, { cause: err });
    case status.UNIMPLEMENTED:
      return new CliError(code, `the ${site.service} service at ${site.address} does not implement this call (an older version?)`, undefined, undefined, { cause: err });
    default:
      return new CliError(code, msg, undefined, field, { cause: err });
  }
}

/** Any error to a CliError (for the top level). */
export function toCliError(err: unknown): CliError {
  if (err instanceof CliError) return err;
  if (err instanceof DomainError) return new CliError(exitForStatus(err.code), stripStatusPrefix(err.message), undefined, err instanceof InvalidArgumentError ? err.field : undefined, { cause: err });
  const e = err as NodeJS.ErrnoException;
  if (e?.code === 'ENOENT') return new CliError(EXIT.NOT_FOUND, messageOf(err));
  return new CliError(EXIT.INTERNAL, messageOf(err), 'this looks like a bug in medtune; please report it with the command you ran', undefined, { cause: err });
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

// grpc-js messages read "14 UNAVAILABLE: No connection established"; keep the part after the status.
function stripStatusPrefix(m: string): string {
  return m.replace(/^\d+ [A-Z_]+: /, '');
}
