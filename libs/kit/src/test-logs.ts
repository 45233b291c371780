// Test support for the kit's own specs (not exported): a logger whose lines can be read back.
import { createLogger, type Logger } from './logger';

/** A debug-level logger that keeps its lines in memory. */
export function captureLogs(): { log: Logger; lines(): Record<string, unknown>[]; text(): string } {
  const raw: string[] = [];
  const log = createLogger({ service: 'kit-test', level: 'debug', destination: { write: (s: string) => void raw.push(s) } });
  return {
    log,
    lines: () => raw.map((s) => JSON.parse(s) as Record<string, unknown>),
    text: () => raw.join(''),
  };
}
