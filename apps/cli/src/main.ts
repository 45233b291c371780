/** The `medtune` command: wires the process (argv, streams, env, Ctrl-C) to the command core. */
import { runCli } from './cli';

const controller = new AbortController();
let interrupts = 0;
process.on('SIGINT', () => {
  // The first Ctrl-C stops waiting (jobs keep running on the services); a second one exits now.
  if (++interrupts > 1) process.exit(130);
  controller.abort();
});

const code = await runCli(process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr, env: process.env, cwd: process.cwd() }, controller.signal);
process.exitCode = code;
// Pending channel timers must not keep a finished command alive.
setTimeout(() => process.exit(code), 200).unref();
