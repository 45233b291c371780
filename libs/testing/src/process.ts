import { spawn } from 'node:child_process';
import { basename } from 'node:path';
import { beforeEach, onTestFailed } from 'vitest';
import { grpcHealthStatus } from './grpc-health';
import { waitGroupGone } from './process-group';

/** When {@link startProcess} considers the process ready. */
export type ReadyWhen =
  /** a line of its stdout / stderr matches (a string matches as a substring) */
  | { log: RegExp | string }
  /** grpc.health.v1 Check on `grpcHealth` (host:port) answers SERVING for `service` ('' = server) */
  | { grpcHealth: string; service?: string }
  /** `check()` returns true (polled every 50 ms; a throw counts as false) */
  | { check: () => boolean | Promise<boolean> };

/** Options of {@link startProcess}. */
export interface StartProcessOptions {
  /** Executable, e.g. `process.execPath`, `node_modules/.bin/tsx` or the trainer's venv python. */
  cmd: string;
  args?: readonly string[];
  /** Added to the inherited environment; `undefined` removes a variable. */
  env?: Readonly<Record<string, string | undefined>>;
  cwd?: string;
  /** Label in messages; default: the command's base name and first argument. */
  name?: string;
  /** Default: none (ready once spawned). */
  readyWhen?: ReadyWhen;
  /** Default 30 s. */
  readyTimeoutMs?: number;
  /** Grace between SIGTERM and SIGKILL in stop(); default 5 s. */
  stopTimeoutMs?: number;
  /** Lines kept in the log buffer (oldest dropped first); default 5000. */
  maxLogLines?: number;
}

/** How a process ended. */
export interface ExitInfo {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** A child process started by {@link startProcess}. */
export interface RunningProcess {
  readonly name: string;
  readonly pid: number;
  /** Captured stdout and stderr lines (interleaved in arrival order), joined by newlines. */
  logs(): string;
  /** The last `lines` lines of logs(). */
  logTail(lines?: number): string;
  /** Resolves with the first line (already captured or coming) matching `pattern`. */
  waitForLog(pattern: RegExp | string, timeoutMs?: number): Promise<string>;
  /** Resolves when the process has exited. */
  readonly exited: Promise<ExitInfo>;
  /** How it exited, or undefined while it runs. */
  exitInfo(): ExitInfo | undefined;
  /** Sends `signal` to the process alone (e.g. SIGKILL to simulate a crash); stop() still cleans up. */
  kill(signal?: NodeJS.Signals): void;
  /**
   * SIGTERM, then after stopTimeoutMs SIGKILL; finally SIGKILL to its whole process group so no
   * grandchild (tsx runs the service in a child node) outlives it. Safe to call twice.
   */
  stop(): Promise<ExitInfo>;
}

// Processes of this spec file that are not stopped yet: printed by printLogsOnFailure() and
// killed when the test worker exits, so a failed or forgotten stop() leaves nothing running.
const running = new Set<RunningProcess & { killGroup(signal: NodeJS.Signals): void }>();
let exitHookInstalled = false;

/**
 * Spawns a real child process in its own process group, captures its output and waits until
 * it is ready. A process that exits or is not ready in time is killed, and the error carries the
 * last lines of its output. Inside a test, its logs are printed when that test fails; for
 * processes started in beforeAll, call {@link printLogsOnFailure} at the top of the spec.
 */
export async function startProcess(options: StartProcessOptions): Promise<RunningProcess> {
  const args = options.args ?? [];
  const name = options.name ?? [basename(options.cmd), args[0]].filter(Boolean).join(' ');
  const maxLines = options.maxLogLines ?? 5_000;
  const env = Object.fromEntries(
    Object.entries({ ...process.env, ...options.env }).filter((e): e is [string, string] => e[1] !== undefined),
  );

  const child = spawn(options.cmd, args, { cwd: options.cwd, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  const lines: string[] = [];
  let dropped = 0;
  const lineListeners = new Set<(line: string) => void>();
  const pushLine = (line: string): void => {
    lines.push(line);
    if (lines.length > maxLines) {
      lines.shift();
      dropped++;
    }
    for (const listener of lineListeners) listener(line);
  };
  for (const stream of [child.stdout, child.stderr]) {
    let partial = '';
    stream.setEncoding('utf8');
    stream.on('data', (chunk: string) => {
      const parts = (partial + chunk).split('\n');
      partial = parts.pop() ?? '';
      for (const part of parts) pushLine(part);
    });
    stream.on('end', () => partial && pushLine(partial));
  }

  let exit: ExitInfo | undefined;
  const exited = new Promise<ExitInfo>((resolve) => {
    child.once('exit', (code, signal) => resolve((exit = { code, signal })));
    child.once('error', (err) => {
      pushLine(`[startProcess] ${err.message}`);
      resolve((exit = { code: null, signal: null }));
    });
  });
  // 'close' comes after the output pipes are drained: wait for it before quoting the last lines.
  const closed = new Promise<void>((resolve) => child.once('close', () => resolve()));
  await new Promise<void>((resolve) => {
    child.once('spawn', resolve);
    child.once('error', () => resolve());
  });

  const pid = child.pid ?? -1;
  const logs = (): string => (dropped ? [`[${dropped} earlier lines dropped]`, ...lines] : lines).join('\n');
  const logTail = (n = 60): string => lines.slice(-n).join('\n');
  const killGroup = (signal: NodeJS.Signals): void => {
    if (pid <= 0) return;
    try {
      process.kill(-pid, signal);
    } catch {
      // ESRCH: nothing of the group is left
    }
  };
  const stopTimeoutMs = options.stopTimeoutMs ?? 5_000;
  let stopping: Promise<ExitInfo> | undefined;

  const handle = {
    name,
    pid,
    logs,
    logTail,
    exited,
    exitInfo: () => exit,
    killGroup,
    kill(signal: NodeJS.Signals = 'SIGTERM'): void {
      if (!exit) child.kill(signal);
    },
    waitForLog(pattern: RegExp | string, timeoutMs = 10_000): Promise<string> {
      return new Promise<string>((resolve, reject) => {
        const hit = lines.find((line) => lineMatches(pattern, line));
        if (hit !== undefined) return resolve(hit);
        const timer = setTimeout(() => {
          lineListeners.delete(listener);
          reject(new Error(`${name}: no log line matching ${String(pattern)} within ${timeoutMs} ms; last lines:\n${logTail()}`));
        }, timeoutMs);
        const listener = (line: string): void => {
          if (!lineMatches(pattern, line)) return;
          clearTimeout(timer);
          lineListeners.delete(listener);
          resolve(line);
        };
        lineListeners.add(listener);
      });
    },
    stop(): Promise<ExitInfo> {
      stopping ??= (async () => {
        if (!exit) {
          child.kill('SIGTERM');
          const timer = sleep(stopTimeoutMs);
          await Promise.race([exited, timer.promise]);
          timer.cancel();
          if (!exit) killGroup('SIGKILL');
        }
        const info = await exited;
        killGroup('SIGKILL');
        await waitGroupGone(pid, 2_000);
        await Promise.race([closed, sleep(1_000).promise]);
        running.delete(handle);
        return info;
      })();
      return stopping;
    },
  };
  running.add(handle);
  installExitHook();
  try {
    onTestFailed(() => printLogs(handle));
  } catch {
    // not inside a test (beforeAll, or outside vitest): printLogsOnFailure() covers that
  }

  if (pid <= 0 || exit) {
    await closed;
    running.delete(handle);
    throw new Error(`${name}: could not start ${options.cmd}:\n${logTail()}`);
  }
  if (options.readyWhen) await waitReady(handle, options.readyWhen, options.readyTimeoutMs ?? 30_000, lineListeners, closed);
  return handle;
}

async function waitReady(
  handle: RunningProcess,
  readyWhen: ReadyWhen,
  timeoutMs: number,
  lineListeners: Set<(line: string) => void>,
  closed: Promise<void>,
): Promise<void> {
  let sawLine = false;
  const listener = (line: string): void => {
    if ('log' in readyWhen && lineMatches(readyWhen.log, line)) sawLine = true;
  };
  if ('log' in readyWhen) {
    sawLine = handle.logs().split('\n').some((line) => lineMatches(readyWhen.log, line));
    lineListeners.add(listener);
  }
  const isReady = async (): Promise<boolean> => {
    if ('log' in readyWhen) return sawLine;
    try {
      if ('grpcHealth' in readyWhen) return (await grpcHealthStatus(readyWhen.grpcHealth, readyWhen.service ?? '', 500)) === 'SERVING';
      return await readyWhen.check();
    } catch {
      return false;
    }
  };
  const what =
    'log' in readyWhen ? `a log line matching ${String(readyWhen.log)}` : 'grpcHealth' in readyWhen ? `SERVING from ${readyWhen.grpcHealth}` : 'check()';
  const deadline = Date.now() + timeoutMs;
  try {
    for (;;) {
      const exit = handle.exitInfo();
      if (exit) {
        await Promise.race([closed, sleep(1_000).promise]);
        throw new Error(`${handle.name} exited (code ${exit.code}, signal ${exit.signal}) before it was ready; last lines:\n${handle.logTail()}`);
      }
      if (await isReady()) return;
      if (Date.now() > deadline) {
        throw new Error(`${handle.name} was not ready within ${timeoutMs} ms (waited for ${what}); last lines:\n${handle.logTail()}`);
      }
      await sleep(50).promise;
    }
  } catch (err) {
    await handle.stop();
    throw err;
  } finally {
    lineListeners.delete(listener);
  }
}

/**
 * Call at the top of a spec file that starts processes in beforeAll: when a test fails, the
 * output of every process of that file that is still running (or not yet stopped) is printed.
 */
export function printLogsOnFailure(): void {
  beforeEach((context) => {
    context.onTestFailed(() => {
      for (const proc of running) printLogs(proc);
    });
  });
}

function printLogs(proc: RunningProcess): void {
  console.error(`----- output of ${proc.name} (pid ${proc.pid}) -----\n${proc.logs()}\n----- end of ${proc.name} -----`);
}

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once('exit', () => {
    for (const proc of running) proc.killGroup('SIGKILL');
  });
}

function lineMatches(pattern: RegExp | string, line: string): boolean {
  return typeof pattern === 'string' ? line.includes(pattern) : pattern.test(line);
}

function sleep(ms: number): { promise: Promise<void>; cancel(): void } {
  let timer: NodeJS.Timeout | undefined;
  const promise = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, ms);
  });
  return { promise, cancel: () => clearTimeout(timer) };
}
