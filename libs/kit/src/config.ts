/**
 * Typed configuration from environment variables, parsed once at startup. Libraries never read
 * `process.env`: a service's main.ts calls `loadConfig(spec, { prefix }, process.env)` and passes
 * the typed result down.
 *
 * A field named `env: 'MAX_DELIVER'` is read from `<prefix>MAX_DELIVER`; a `shared` field falls
 * back to `<sharedPrefix>MAX_DELIVER` (e.g. MEDTUNE_NATS_URL for every service). An empty value
 * counts as unset. Every bad or missing variable is reported at once, by its full name.
 */

/** Why a raw value was rejected; thrown by a field's parser, reported with the variable's name. */
class BadValue extends Error {}

/** One configuration field: where it is read from and how it is parsed. Build with the helpers below. */
export interface Field<T> {
  /** Variable name without the prefix, e.g. 'GRPC_ADDR'. */
  readonly env: string;
  /** Falls back to `<sharedPrefix><env>` when the service-specific variable is unset. */
  readonly shared: boolean;
  /** Redacted by {@link redactConfig}; its value never appears in error messages. */
  readonly secret: boolean;
  /** Unset and no default: the field is `undefined` instead of an error. */
  readonly optional: boolean;
  /** Value when unset. */
  readonly default: T | undefined;
  /** What the field is, for `configVariables()`. */
  readonly description: string | undefined;
  /** Parses a raw (non-empty) value; throws with the expectation on bad input. */
  parse(raw: string): T;
}

/** Options shared by every field helper. */
export interface FieldOptions<T> {
  env: string;
  shared?: boolean;
  default?: T;
  optional?: boolean;
  description?: string;
}

/** The value type of a field built from options `O`: optional without default ⇒ `| undefined`. */
type Value<T, O> = O extends { default: T } ? T : O extends { optional: true } ? T | undefined : T;

function field<T, O extends FieldOptions<T>>(o: O, parse: (raw: string) => T, secret = false): Field<Value<T, O>> {
  return {
    env: o.env,
    shared: o.shared ?? false,
    secret,
    optional: o.optional ?? false,
    default: o.default as Value<T, O> | undefined,
    description: o.description,
    parse: parse as (raw: string) => Value<T, O>,
  };
}

const shown = (raw: string): string => JSON.stringify(raw).replace(/^"|"$/g, "'");

/** A string; `pattern` restricts it. */
export function str<const O extends FieldOptions<string> & { pattern?: RegExp }>(o: O): Field<Value<string, O>> {
  return field<string, O>(o, (raw) => {
    if (o.pattern && !o.pattern.test(raw)) throw new BadValue(`expected a value matching ${o.pattern}, got ${shown(raw)}`);
    return raw;
  });
}

/** A secret string (token, password, URI with credentials): redacted by {@link redactConfig}. */
export function secret<const O extends FieldOptions<string>>(o: O): Field<Value<string, O>> {
  return field<string, O>(o, (raw) => raw, true);
}

/** An integer, optionally bounded. */
export function int<const O extends FieldOptions<number> & { min?: number; max?: number }>(o: O): Field<Value<number, O>> {
  return field<number, O>(o, (raw) => {
    const expect = `an integer${bounds(o.min, o.max)}`;
    if (!/^[-+]?\d+$/.test(raw.trim())) throw new BadValue(`expected ${expect}, got ${shown(raw)}`);
    return inBounds(Number(raw), o.min, o.max, expect, raw);
  });
}

/** A finite number, optionally bounded. */
export function num<const O extends FieldOptions<number> & { min?: number; max?: number }>(o: O): Field<Value<number, O>> {
  return field<number, O>(o, (raw) => {
    const expect = `a number${bounds(o.min, o.max)}`;
    const n = Number(raw);
    if (raw.trim() === '' || !Number.isFinite(n)) throw new BadValue(`expected ${expect}, got ${shown(raw)}`);
    return inBounds(n, o.min, o.max, expect, raw);
  });
}

/** A TCP port, 0..65535 (0 = pick a free one). */
export function port<const O extends FieldOptions<number>>(o: O): Field<Value<number, O>> {
  return int({ ...o, min: 0, max: 65535 }) as Field<Value<number, O>>;
}

const TRUE = new Set(['1', 'true', 'yes', 'on']);
const FALSE = new Set(['0', 'false', 'no', 'off']);

/** A boolean: 1/0, true/false, yes/no, on/off (any case). */
export function bool<const O extends FieldOptions<boolean>>(o: O): Field<Value<boolean, O>> {
  return field<boolean, O>(o, (raw) => {
    const v = raw.trim().toLowerCase();
    if (TRUE.has(v)) return true;
    if (FALSE.has(v)) return false;
    throw new BadValue(`expected a boolean (true/false, 1/0, yes/no, on/off), got ${shown(raw)}`);
  });
}

const UNIT_MS: Record<string, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000 };

/** A duration in milliseconds: a plain number of ms, or with a unit: '250ms', '5s', '2m', '1h'. */
export function duration<const O extends FieldOptions<number> & { min?: number; max?: number }>(o: O): Field<Value<number, O>> {
  return field<number, O>(o, (raw) => {
    const m = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h)?$/.exec(raw.trim());
    const expect = `a duration like 500, 250ms, 5s, 2m or 1h${bounds(o.min, o.max, ' ms')}`;
    if (!m) throw new BadValue(`expected ${expect}, got ${shown(raw)}`);
    return inBounds(Math.round(Number(m[1]) * (UNIT_MS[m[2] ?? 'ms'] ?? 1)), o.min, o.max, expect, raw);
  });
}

/** One of a fixed list of strings. */
export function enumOf<const V extends readonly string[], const O extends FieldOptions<V[number]>>(
  values: V,
  o: O,
): Field<Value<V[number], O>> {
  return field<V[number], O>(o, (raw) => {
    if (!values.includes(raw)) throw new BadValue(`expected one of ${values.join(', ')}, got ${shown(raw)}`);
    return raw as V[number];
  });
}

/** A URL, optionally restricted to some protocols (e.g. ['nats:', 'tls:']). Set `secret` when it may hold credentials. */
export function url<const O extends FieldOptions<string> & { protocols?: readonly string[]; secret?: boolean }>(
  o: O,
): Field<Value<string, O>> {
  return field<string, O>(
    o,
    (raw) => {
      let parsed: URL;
      try {
        parsed = new URL(raw);
      } catch {
        throw new BadValue(`expected a URL, got ${o.secret ? 'an unparsable value (hidden)' : shown(raw)}`);
      }
      if (o.protocols && !o.protocols.includes(parsed.protocol)) {
        throw new BadValue(`expected a URL with protocol ${o.protocols.join(' or ')}, got ${shown(parsed.protocol)}`);
      }
      return raw;
    },
    o.secret ?? false,
  );
}

/** A listen / dial address `host:port`, e.g. '127.0.0.1:50051' or '[::]:0'. */
export function addr<const O extends FieldOptions<string>>(o: O): Field<Value<string, O>> {
  return field<string, O>(o, (raw) => {
    const m = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/.exec(raw.trim());
    if (!m || Number(m[2]) > 65535) throw new BadValue(`expected host:port (e.g. 127.0.0.1:50051), got ${shown(raw)}`);
    return raw.trim();
  });
}

function bounds(min?: number, max?: number, unit = ''): string {
  if (min !== undefined && max !== undefined) return ` in ${min}..${max}${unit}`;
  if (min !== undefined) return ` >= ${min}${unit}`;
  if (max !== undefined) return ` <= ${max}${unit}`;
  return '';
}

function inBounds(n: number, min: number | undefined, max: number | undefined, expect: string, raw: string): number {
  if ((min !== undefined && n < min) || (max !== undefined && n > max)) throw new BadValue(`expected ${expect}, got ${shown(raw)}`);
  return n;
}

/** A config spec: field name → field. */
export type ConfigSpec = Record<string, Field<unknown>>;
/** The typed config a spec produces. */
export type ConfigOf<S extends ConfigSpec> = { readonly [K in keyof S]: S[K] extends Field<infer T> ? T : never };

/** Where a spec's variables live. */
export interface ConfigSource {
  /** Service prefix, e.g. 'MEDTUNE_DATASET_'. */
  prefix: string;
  /** Prefix of shared fields' fallback; default 'MEDTUNE_'. */
  sharedPrefix?: string;
}

/** One problem with one variable. */
export interface ConfigProblem {
  /** The full variable name, e.g. MEDTUNE_DATASET_MAX_DELIVER. */
  variable: string;
  /** What is wrong, e.g. "expected an integer >= 1, got 'x'". */
  problem: string;
}

/** Thrown by {@link loadConfig}; its message lists every bad or missing variable by full name. */
export class ConfigError extends Error {
  constructor(readonly problems: readonly ConfigProblem[]) {
    super(`invalid configuration:\n${problems.map((p) => `  ${p.variable}: ${p.problem}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

const SECRET_KEYS = Symbol('medtune.config.secretKeys');

/** Reads, parses and validates every field; throws a {@link ConfigError} naming each bad variable. */
export function loadConfig<S extends ConfigSpec>(
  spec: S,
  source: ConfigSource,
  env: Readonly<Record<string, string | undefined>>,
): ConfigOf<S> {
  const shared = source.sharedPrefix ?? 'MEDTUNE_';
  const out: Record<string, unknown> = {};
  const problems: ConfigProblem[] = [];
  for (const [key, f] of Object.entries(spec)) {
    const own = source.prefix + f.env;
    const names = f.shared ? [own, shared + f.env] : [own];
    const found = names.find((n) => env[n] !== undefined && env[n] !== '');
    const raw = found === undefined ? undefined : env[found];
    if (found === undefined || raw === undefined) {
      if (f.default !== undefined) out[key] = f.default;
      else if (f.optional) out[key] = undefined;
      else problems.push({ variable: names.join(' (or ') + (names.length > 1 ? ')' : ''), problem: 'required but not set' });
      continue;
    }
    try {
      out[key] = f.parse(raw);
    } catch (err) {
      if (!(err instanceof BadValue)) throw err;
      problems.push({ variable: found, problem: f.secret ? err.message.replace(/got .*$/, 'got an invalid value (hidden)') : err.message });
    }
  }
  if (problems.length > 0) throw new ConfigError(problems);
  const secrets = Object.entries(spec)
    .filter(([, f]) => f.secret)
    .map(([k]) => k);
  Object.defineProperty(out, SECRET_KEYS, { value: secrets, enumerable: false });
  return Object.freeze(out) as ConfigOf<S>;
}

/**
 * A copy of a loaded config that is safe to log: secret fields become '[redacted]', except that a
 * URL keeps its shape with only the password hidden (mongodb://user:[redacted]@host/db).
 * Pass the spec when the object is not the one loadConfig returned (e.g. a spread copy).
 */
export function redactConfig<T extends object>(cfg: T, spec?: ConfigSpec): Record<keyof T, unknown> {
  const keys: readonly string[] =
    (cfg as { [SECRET_KEYS]?: string[] })[SECRET_KEYS] ??
    Object.entries(spec ?? {})
      .filter(([, f]) => f.secret)
      .map(([k]) => k);
  const out: Record<string, unknown> = { ...(cfg as Record<string, unknown>) };
  for (const k of keys) {
    const v = out[k];
    if (typeof v === 'string') out[k] = redactValue(v);
  }
  return out as Record<keyof T, unknown>;
}

function redactValue(v: string): string {
  try {
    const u = new URL(v);
    if (u.protocol && u.host) {
      if (u.password) u.password = '[redacted]';
      else if (u.username) u.username = '[redacted]';
      return u.toString().replace('%5Bredacted%5D', '[redacted]');
    }
  } catch {
    // not a URL: hide it all
  }
  return '[redacted]';
}

/** One row per field: the variable(s) it is read from, its default, whether required — for --help and docs. */
export function configVariables(spec: ConfigSpec, source: ConfigSource): { variable: string; required: boolean; default?: string; description?: string }[] {
  const shared = source.sharedPrefix ?? 'MEDTUNE_';
  return Object.values(spec).map((f) => ({
    variable: f.shared ? `${source.prefix}${f.env} (or ${shared}${f.env})` : source.prefix + f.env,
    required: f.default === undefined && !f.optional,
    ...(f.default !== undefined ? { default: f.secret ? '[redacted]' : String(f.default) } : {}),
    ...(f.description ? { description: f.description } : {}),
  }));
}
