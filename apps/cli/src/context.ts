/** What every command gets: output, clients, config, and the interrupt signal. */
import type { Clients } from './clients';
import type { CliConfig } from './config';
import type { Io, Output } from './output';

/** The context of one command run. */
export interface CliContext {
  io: Io;
  out: Output;
  cfg: CliConfig;
  clients: Clients;
  /** Aborted on Ctrl-C: long waits stop, work already started on the services goes on. */
  signal: AbortSignal;
  /** Sleeps (tests may shorten it); rejects when `signal` aborts. */
  sleep(ms: number): Promise<void>;
}
