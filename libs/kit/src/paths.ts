/**
 * Confinement of user-given paths: the one implementation every service uses for the paths a
 * request names (imports, evaluation sets, base models, artifact roots, file:// artifact URIs).
 * A path is allowed only when it resolves — symlinks resolved, `..` collapsed — to a place under
 * one of the configured roots (themselves resolved); anything else is INVALID_ARGUMENT naming the
 * request field. A path that does not exist yet (an artifact root to create) is resolved through
 * its nearest existing ancestor, so a symlinked parent cannot smuggle it out either.
 */
import { realpathSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { InvalidArgumentError } from './errors';

/** Options of {@link confinePath}. */
export interface ConfineOptions {
  /** The path must exist (default true). */
  mustExist?: boolean;
  /** Directories refused even under a root (the stack's secrets). */
  deny?: readonly string[];
}

/**
 * The resolved absolute path of `p` when it lies under one of `roots`; throws
 * InvalidArgumentError(`field`, …) otherwise. Relative paths are refused (a service has no
 * meaningful working directory for its callers). `roots` empty = nothing is allowed.
 */
export function confinePath(p: string, roots: readonly string[], field: string, options: ConfineOptions = {}): string {
  if (typeof p !== 'string' || p === '') throw new InvalidArgumentError(field, 'a path is required');
  if (p.includes('\0')) throw new InvalidArgumentError(field, 'the path holds a NUL byte');
  if (!path.isAbsolute(p)) throw new InvalidArgumentError(field, `must be an absolute path (got ${JSON.stringify(p)})`);
  const real = resolveReal(path.resolve(p), options.mustExist ?? true, field);
  for (const d of options.deny ?? []) {
    const r = resolveRoot(d) ?? path.resolve(d);
    const rel = path.relative(r, real);
    if (rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel))) throw new InvalidArgumentError(field, `${JSON.stringify(p)} is in a directory no request may name`);
  }
  for (const root of roots) {
    const r = resolveRoot(root);
    if (r === undefined) continue;
    const rel = path.relative(r, real);
    if (rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel))) return real;
  }
  throw new InvalidArgumentError(
    field,
    roots.length === 0
      ? 'paths are not allowed here (no root is configured)'
      : `${JSON.stringify(p)} is outside the allowed roots (${roots.join(', ')}); symlinks are resolved before the check`,
  );
}

/** {@link confinePath} for a `file://` URI (or a bare absolute path); returns the resolved path. */
export function confineFileUri(uri: string, roots: readonly string[], field: string, options: ConfineOptions = {}): string {
  let p = uri;
  if (uri.startsWith('file:')) {
    try {
      p = fileURLToPath(uri);
    } catch {
      throw new InvalidArgumentError(field, `not a valid file:// URI (got ${JSON.stringify(uri)})`);
    }
  }
  return confinePath(p, roots, field, options);
}

/** Whether `p` lies under one of `roots` (same rules as {@link confinePath}, never throws). */
export function isConfined(p: string, roots: readonly string[], options: ConfineOptions = {}): boolean {
  try {
    confinePath(p, roots, 'path', options);
    return true;
  } catch {
    return false;
  }
}

function resolveRoot(root: string): string | undefined {
  try {
    return realpathSync(path.resolve(root));
  } catch {
    return undefined; // a root that does not exist confines nothing
  }
}

function resolveReal(abs: string, mustExist: boolean, field: string): string {
  try {
    return realpathSync(abs);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw new InvalidArgumentError(field, `cannot resolve ${JSON.stringify(abs)}`, { cause: err });
    if (mustExist) throw new InvalidArgumentError(field, `${JSON.stringify(abs)} does not exist`, { cause: err });
  }
  // Not there yet: resolve the nearest existing ancestor, then append the rest.
  const rest: string[] = [];
  let dir = abs;
  for (;;) {
    const parent = path.dirname(dir);
    rest.unshift(path.basename(dir));
    if (parent === dir) return abs;
    dir = parent;
    try {
      return path.join(realpathSync(dir), ...rest);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw new InvalidArgumentError(field, `cannot resolve ${JSON.stringify(abs)}`, { cause: err });
    }
  }
}
