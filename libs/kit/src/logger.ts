import { pino, type DestinationStream, type Logger as PinoLogger } from 'pino';

/** The kit's logger type: a pino logger (object-first calls: `log.info({ jobId }, 'job queued')`). */
export type Logger = PinoLogger;

/** Log levels accepted by {@link createLogger} (pino's). */
export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
/** One of {@link LOG_LEVELS}. */
export type LogLevel = (typeof LOG_LEVELS)[number];

/** Options of {@link createLogger}. */
export interface LoggerOptions {
  /** Service name, put on every line as `service`. */
  service: string;
  /** Minimum level; default 'info'. */
  level?: LogLevel;
  /** Where lines go; default stdout (synchronous, so nothing is lost on exit). */
  destination?: DestinationStream;
  /** Extra fields on every line (e.g. { worker: 'w1' }). */
  base?: Record<string, unknown>;
}

/**
 * Paths pino blanks out in every line: credentials must never reach a log, even when a whole
 * config or metadata object is logged by mistake.
 */
const REDACT_PATHS = [
  'authorization',
  'authToken',
  'token',
  'password',
  'pass',
  'mongoUri',
  '*.authorization',
  '*.authToken',
  '*.token',
  '*.password',
  '*.pass',
  '*.mongoUri',
];

/**
 * Creates the process's one root logger. Components take `log.child({ component: 'grpc' })`;
 * libraries receive a logger, they never create one.
 */
export function createLogger(options: LoggerOptions): Logger {
  return pino(
    {
      level: options.level ?? 'info',
      base: { service: options.service, pid: process.pid, ...options.base },
      timestamp: pino.stdTimeFunctions.isoTime,
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
      formatters: { level: (label) => ({ level: label }) },
    },
    options.destination ?? pino.destination({ dest: 1, sync: true }),
  );
}

/** Flushes buffered log lines (a no-op for synchronous destinations); never rejects. */
export function flushLogger(log: Logger): Promise<void> {
  return new Promise((resolve) => {
    try {
      log.flush(() => resolve());
    } catch {
      resolve();
    }
  });
}
