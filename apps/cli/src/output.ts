/**
 * Where the CLI writes. Results go to stdout (human text, or one JSON document with --json);
 * narrative and progress go to stderr, so `medtune ... --json | jq` and pipes stay clean.
 * Progress bars redraw in place only on a terminal; elsewhere they become occasional lines.
 */
import { truncate } from './format/table';

/** A writable the CLI prints to (process.stdout / stderr, or a capture in tests). */
export interface TextSink {
  write(chunk: string): unknown;
  isTTY?: boolean;
  columns?: number;
}

/** The process around a command: streams, environment, clock. */
export interface Io {
  stdout: TextSink;
  stderr: TextSink;
  env: Readonly<Record<string, string | undefined>>;
  /** Current directory, for relative paths. */
  cwd: string;
  now?: () => number;
}

/** Output switches from the global options. */
export interface OutputOptions {
  json: boolean;
  quiet: boolean;
}

/** ANSI styles, applied only when colour is on. */
export type Style = 'bold' | 'dim' | 'green' | 'red' | 'yellow' | 'cyan';
const CODES: Record<Style, [number, number]> = { bold: [1, 22], dim: [2, 22], green: [32, 39], red: [31, 39], yellow: [33, 39], cyan: [36, 39] };

/** The output of one command. */
export class Output {
  readonly json: boolean;
  readonly quiet: boolean;
  private readonly color: boolean;

  constructor(
    readonly io: Io,
    options: OutputOptions,
  ) {
    this.json = options.json;
    this.quiet = options.quiet;
    this.color = Boolean(io.stdout.isTTY) && io.env.NO_COLOR === undefined && io.env.TERM !== 'dumb';
  }

  /** Terminal width (80 when unknown). */
  get width(): number {
    return this.io.stdout.columns ?? this.io.stderr.columns ?? 80;
  }

  /** Colours `text` when writing to a colour terminal. */
  paint(text: string, style: Style): string {
    if (!this.color) return text;
    const [on, off] = CODES[style];
    return `\x1b[${on}m${text}\x1b[${off}m`;
  }

  /** Writes a command's result: `human()` as text, or `value` as JSON with --json. */
  result(value: unknown, human: () => string): void {
    if (this.json) this.io.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
    else {
      const text = human();
      if (text) this.io.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
    }
  }

  /** One JSON line on stdout (streaming commands with --json). */
  jsonLine(value: unknown): void {
    this.io.stdout.write(`${JSON.stringify(value)}\n`);
  }

  /** A narrative line on stderr (suppressed by --quiet). */
  note(line: string): void {
    if (!this.quiet) this.io.stderr.write(`${line}\n`);
  }

  /** A progress line that redraws in place on a terminal. */
  live(minIntervalMs = 5_000): LiveLine {
    return new LiveLine(this.io, this.quiet, minIntervalMs);
  }
}

/**
 * One line of progress on stderr. On a terminal `update` redraws it in place and `log` prints
 * a permanent line above it; elsewhere `update` prints at most one line per `minIntervalMs`.
 */
export class LiveLine {
  private shown = '';
  private lastPrinted = 0;
  private pending = '';
  private readonly tty: boolean;

  constructor(
    private readonly io: Io,
    private readonly quiet: boolean,
    private readonly minIntervalMs: number,
  ) {
    this.tty = Boolean(io.stderr.isTTY);
  }

  /** Replaces the progress text. */
  update(text: string): void {
    if (this.quiet) return;
    if (this.tty) {
      this.shown = truncate(text, (this.io.stderr.columns ?? 80) - 1);
      this.io.stderr.write(`\r\x1b[2K${this.shown}`);
      return;
    }
    this.pending = text;
    const now = (this.io.now ?? Date.now)();
    if (now - this.lastPrinted >= this.minIntervalMs) {
      this.io.stderr.write(`${text}\n`);
      this.lastPrinted = now;
      this.pending = '';
    }
  }

  /** Prints a permanent line (above the progress line on a terminal). */
  log(line: string): void {
    if (this.quiet) return;
    if (this.tty && this.shown) this.io.stderr.write(`\r\x1b[2K${line}\n${this.shown}`);
    else this.io.stderr.write(`${line}\n`);
  }

  /** Ends the progress line: keeps its last text (terminal) or prints what was not shown yet. */
  done(finalText?: string): void {
    if (this.quiet) return;
    if (this.tty) {
      const last = finalText ?? this.shown;
      this.io.stderr.write(last ? `\r\x1b[2K${last}\n` : '');
      this.shown = '';
    } else {
      const last = finalText ?? this.pending;
      if (last) this.io.stderr.write(`${last}\n`);
      this.pending = '';
    }
  }
}
