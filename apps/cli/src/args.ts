/**
 * The command table's types and the command-line parser: global flags anywhere, the longest
 * matching command path, then node:util's parseArgs for that command's options (strict).
 * Pure; every mistake becomes a usage error (exit 2) that names the option; a value an option
 * does not accept (`--lr -1`) is invalid input (exit 4) naming it.
 */
import { parseArgs } from 'node:util';
import { CliError, EXIT, usage } from './exit';

/** An option of a command. */
export interface OptionSpec {
  type: 'string' | 'boolean';
  short?: string;
  multiple?: boolean;
  /** Shown in help; "<value>" names the value. */
  description: string;
  /** Name of the value in help, e.g. "N" or "DIGEST". */
  value?: string;
}

/** A command: where it is, what it takes. `run` lives beside it in commands/. */
export interface CommandSpec<C = unknown> {
  /** Words after `medtune`, e.g. ['models', 'alias', 'set']. */
  path: readonly string[];
  /** One line for the command list. */
  summary: string;
  /** Positional arguments, e.g. ['<name>', '<alias>', '<version>'] (optional ones in [brackets]). */
  args?: readonly string[];
  options?: Readonly<Record<string, OptionSpec>>;
  /** More lines of help (examples). */
  details?: string;
  run(ctx: C, parsed: ParsedCommand<C>): Promise<number | void>;
}

/** Flags every command takes. */
export interface GlobalFlags {
  json: boolean;
  quiet: boolean;
  help: boolean;
}

/** The result of parsing a command line. */
export interface ParsedCommand<C = unknown> {
  command: CommandSpec<C>;
  values: Record<string, string | boolean | string[] | boolean[] | undefined>;
  positionals: string[];
  global: GlobalFlags;
}

const GLOBAL = new Map<string, keyof GlobalFlags>([
  ['--json', 'json'],
  ['--quiet', 'quiet'],
  ['-q', 'quiet'],
  ['--help', 'help'],
  ['-h', 'help'],
]);

/** Splits off the global flags (anywhere before a `--`). */
export function splitGlobalFlags(argv: readonly string[]): { rest: string[]; global: GlobalFlags } {
  const global: GlobalFlags = { json: false, quiet: false, help: false };
  const rest: string[] = [];
  let passthrough = false;
  for (const a of argv) {
    const g = passthrough ? undefined : GLOBAL.get(a);
    if (g) global[g] = true;
    else rest.push(a);
    if (a === '--') passthrough = true;
  }
  return { rest, global };
}

/**
 * Finds the command (the longest path matching the leading words) and parses its options.
 * Returns undefined for an empty command line (the caller prints help). Throws usage errors.
 */
export function parseCommandLine<C>(argv: readonly string[], commands: readonly CommandSpec<C>[]): ParsedCommand<C> | { help: true; prefix: string[]; global: GlobalFlags } {
  const { rest, global } = splitGlobalFlags(argv);
  const words: string[] = [];
  for (const a of rest) {
    if (a.startsWith('-')) break;
    words.push(a);
  }
  if (words[0] === 'help') return { help: true, prefix: words.slice(1), global };
  let command: CommandSpec<C> | undefined;
  for (const c of commands) {
    if (c.path.length <= words.length && c.path.every((w, i) => words[i] === w) && (!command || c.path.length > command.path.length)) command = c;
  }
  if (!command) {
    if (words.length === 0 || global.help) return { help: true, prefix: words, global };
    const known = commands.filter((c) => c.path[0] === words[0]);
    if (known.length > 0) throw usage(`unknown command: medtune ${words.slice(0, 2).join(' ')}`, `the ${words[0]} commands are: ${known.map((c) => c.path.slice(1).join(' ')).join(', ')}`);
    throw usage(`unknown command: ${words[0]}`, `run \`medtune help\` for the commands`);
  }
  if (global.help) return { help: true, prefix: [...command.path], global };
  const tail = rest.slice(command.path.length);
  const options = Object.fromEntries(
    Object.entries(command.options ?? {}).map(([k, o]) => [k, { type: o.type, ...(o.short ? { short: o.short } : {}), ...(o.multiple ? { multiple: true } : {}) }]),
  );
  let parsed;
  try {
    parsed = parseArgs({ args: attachNegativeValues(tail, command.options ?? {}), options, strict: true, allowPositionals: true });
  } catch (err) {
    throw usage(`${commandName(command)}: ${(err as Error).message.replace(/\. To specify.*$/s, '')}`, `see \`medtune help ${command.path.join(' ')}\``);
  }
  const spec = command.args ?? [];
  const required = spec.filter((a) => a.startsWith('<')).length;
  const variadic = spec.some((a) => a.endsWith('...') || a.endsWith('...]'));
  if (parsed.positionals.length < required) {
    throw usage(`${commandName(command)}: missing ${spec.slice(parsed.positionals.length).filter((a) => a.startsWith('<')).join(' ')}`, `usage: ${commandUsage(command)}`);
  }
  if (!variadic && parsed.positionals.length > spec.length) {
    throw usage(`${commandName(command)}: unexpected argument ${JSON.stringify(parsed.positionals[spec.length])}`, `usage: ${commandUsage(command)}`);
  }
  return { command, values: parsed.values as ParsedCommand<C>['values'], positionals: parsed.positionals, global };
}

// A value that starts with '-' and reads as a number: `--lr -1` must reach the range check (and
// its field error), not parseArgs' "argument is ambiguous".
const NEGATIVE_NUMBER = /^-(\d|\.\d|Infinity$)/;

/** Rewrites `--opt -1` / `-o -1` of string options as `--opt=-1`, so that the value is the option's. */
function attachNegativeValues(tail: readonly string[], specs: Readonly<Record<string, OptionSpec>>): string[] {
  const byFlag = new Map<string, string>();
  for (const [k, o] of Object.entries(specs)) {
    if (o.type !== 'string') continue;
    byFlag.set(`--${k}`, k);
    if (o.short) byFlag.set(`-${o.short}`, k);
  }
  const out: string[] = [];
  for (let i = 0; i < tail.length; i++) {
    const a = tail[i]!;
    if (a === '--') {
      out.push(...tail.slice(i));
      break;
    }
    const name = byFlag.get(a);
    const next = tail[i + 1];
    if (name !== undefined && next !== undefined && NEGATIVE_NUMBER.test(next)) {
      out.push(`--${name}=${next}`);
      i++;
    } else out.push(a);
  }
  return out;
}

/** "medtune models alias set". */
export function commandName(c: CommandSpec<unknown>): string {
  return ['medtune', ...c.path].join(' ');
}

/** "medtune models alias set <name> <alias> <version> [options]". */
export function commandUsage(c: CommandSpec<unknown>): string {
  return [commandName(c), ...(c.args ?? []), Object.keys(c.options ?? {}).length ? '[options]' : ''].filter(Boolean).join(' ');
}

/** A string option's value, or undefined. */
export function str(p: ParsedCommand<unknown>, name: string): string | undefined {
  const v = p.values[name];
  return typeof v === 'string' ? v : undefined;
}

/** A boolean option. */
export function flag(p: ParsedCommand<unknown>, name: string): boolean {
  return p.values[name] === true;
}

/**
 * A value the option does not accept (not a number, out of range): invalid input naming the
 * option (exit 4), as the API's INVALID_ARGUMENT for the same field would be.
 */
function badValue(name: string, message: string): CliError {
  return new CliError(EXIT.INVALID_INPUT, `--${name}: ${message}`, `see \`medtune help\` for the option's range`, `--${name}`);
}

/** An integer option within bounds, or undefined when absent. */
export function intOpt(p: ParsedCommand<unknown>, name: string, bounds: { min?: number; max?: number } = {}): number | undefined {
  const raw = str(p, name);
  if (raw === undefined) return undefined;
  const n = Number(raw);
  if (!/^-?\d+$/.test(raw.trim()) || (bounds.min !== undefined && n < bounds.min) || (bounds.max !== undefined && n > bounds.max)) {
    const range = bounds.min !== undefined && bounds.max !== undefined ? ` in ${bounds.min}..${bounds.max}` : bounds.min !== undefined ? ` >= ${bounds.min}` : '';
    throw badValue(name, `expected an integer${range}, got ${JSON.stringify(raw)}`);
  }
  return n;
}

/** A number option within bounds, or undefined when absent. */
export function numOpt(p: ParsedCommand<unknown>, name: string, bounds: { min?: number; max?: number; exclusiveMin?: boolean } = {}): number | undefined {
  const raw = str(p, name);
  if (raw === undefined) return undefined;
  const n = Number(raw);
  const low = bounds.min !== undefined && (bounds.exclusiveMin ? n <= bounds.min : n < bounds.min);
  if (raw.trim() === '' || !Number.isFinite(n) || low || (bounds.max !== undefined && n > bounds.max)) {
    throw badValue(name, `expected a number${bounds.min !== undefined ? (bounds.exclusiveMin ? ` > ${bounds.min}` : ` >= ${bounds.min}`) : ''}${bounds.max !== undefined ? ` <= ${bounds.max}` : ''}, got ${JSON.stringify(raw)}`);
  }
  return n;
}

/** The help text: every command, or the commands under `prefix`, or one command in full. */
export function renderHelp(commands: readonly CommandSpec<unknown>[], prefix: readonly string[] = []): string {
  const exact = commands.find((c) => c.path.length === prefix.length && c.path.every((w, i) => prefix[i] === w));
  if (exact) {
    const lines = [`usage: ${commandUsage(exact)}`, '', exact.summary];
    const opts = Object.entries(exact.options ?? {});
    if (opts.length) {
      lines.push('', 'options:');
      const rows = opts.map(([k, o]) => [`${o.short ? `-${o.short}, ` : ''}--${k}${o.type === 'string' ? ` ${o.value ?? 'VALUE'}` : ''}`, o.description] as const);
      const w = Math.max(...rows.map(([a]) => a.length));
      for (const [a, d] of rows) lines.push(`  ${a.padEnd(w)}  ${d}`);
    }
    lines.push('', 'global: --json (machine-readable output on stdout), -q/--quiet (no progress on stderr), -h/--help');
    if (exact.details) lines.push('', exact.details.trimEnd());
    return lines.join('\n');
  }
  const shown = commands.filter((c) => prefix.every((w, i) => c.path[i] === w));
  const list = (shown.length ? shown : commands).map((c) => [commandUsage(c).replace(/^medtune /, ''), c.summary] as const);
  const w = Math.min(44, Math.max(...list.map(([a]) => a.length)));
  return [
    'usage: medtune <command> [options]   (medtune help <command> for its options)',
    '',
    ...list.map(([a, s]) => (a.length > w ? `  ${a}\n  ${''.padEnd(w)}  ${s}` : `  ${a.padEnd(w)}  ${s}`)),
    '',
    'global: --json, -q/--quiet, -h/--help',
    'environment: MEDTUNE_{DATASET,TRAINING,TRACKING,EVALUATION,REGISTRY}_ADDR (host:port), MEDTUNE_AUTH_TOKEN',
    'exit codes: 0 ok, 1 internal, 2 usage, 3 not found, 4 invalid input, 5 job/eval failed, 6 unavailable, 7 unauthenticated, 8 conflict, 130 interrupted',
  ].join('\n');
}
