/**
 * The command core: parse the command line, build the context, run the command, and turn every
 * outcome into an exit code and a message that says what to do next. main.ts only wires process
 * streams and signals to it; tests call it in-process.
 */
import { setTimeout as sleepTimer } from 'node:timers/promises';
import { ConfigError } from '@medtune/kit';
import { parseCommandLine, renderHelp, type CommandSpec } from './args';
import { createClients } from './clients';
import { datasetCommands } from './commands/datasets';
import { evalCommands } from './commands/evaluate';
import { modelCommands } from './commands/models';
import { runCommands } from './commands/run';
import { runsCommands } from './commands/runs';
import { trainCommands } from './commands/train';
import { loadCliConfig } from './config';
import type { CliContext } from './context';
import { CliError, EXIT, exitName, toCliError } from './exit';
import { Output, type Io } from './output';

/** Every command, in help order. */
export const COMMANDS: readonly CommandSpec<CliContext>[] = [...runCommands, ...datasetCommands, ...trainCommands, ...runsCommands, ...evalCommands, ...modelCommands];

/** Runs one command line; resolves to the exit code (never throws). */
export async function runCli(argv: readonly string[], io: Io, signal: AbortSignal = new AbortController().signal): Promise<number> {
  let json = argv.includes('--json');
  const quiet = argv.includes('--quiet') || argv.includes('-q');
  let out = new Output(io, { json, quiet });
  let clients: ReturnType<typeof createClients> | undefined;
  try {
    const parsed = parseCommandLine(argv, COMMANDS);
    json = parsed.global.json;
    out = new Output(io, parsed.global);
    if ('help' in parsed) {
      io.stdout.write(`${renderHelp(COMMANDS, parsed.prefix)}\n`);
      return EXIT.OK;
    }
    let cfg;
    try {
      cfg = loadCliConfig(io.env);
    } catch (err) {
      if (err instanceof ConfigError) throw new CliError(EXIT.USAGE, err.message, 'fix the environment variables named above');
      throw err;
    }
    clients = createClients(cfg);
    const ctx: CliContext = {
      io,
      out,
      cfg,
      clients,
      signal,
      sleep: (ms) => sleepTimer(ms, undefined, { signal }).catch(() => undefined),
    };
    const code = await parsed.command.run(ctx, parsed);
    if (signal.aborted) throw new CliError(EXIT.INTERRUPTED, 'interrupted');
    return code ?? EXIT.OK;
  } catch (err) {
    const e = signal.aborted && !(err instanceof CliError) ? new CliError(EXIT.INTERRUPTED, 'interrupted') : toCliError(err);
    reportError(out, e, json);
    return e.exitCode;
  } finally {
    clients?.close();
  }
}

/** Writes an error to stderr: "error: …" + "hint: …", or one JSON object with --json. */
function reportError(out: Output, e: CliError, json: boolean): void {
  if (json) {
    out.io.stderr.write(`${JSON.stringify({ error: { exitCode: e.exitCode, code: exitName(e.exitCode), message: e.message, ...(e.hint ? { hint: e.hint } : {}), ...(e.field ? { field: e.field } : {}) } })}\n`);
    return;
  }
  out.io.stderr.write(`${out.paint('error', 'red')}: ${e.message}\n`);
  if (e.hint) out.io.stderr.write(`${out.paint('hint', 'yellow')}: ${e.hint}\n`);
  if (e.exitCode === EXIT.INTERNAL && e.cause instanceof Error && out.io.env.MEDTUNE_DEBUG) out.io.stderr.write(`${e.cause.stack}\n`);
}
