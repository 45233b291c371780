/** The dashboard gateway process: config → logger → gateway → ordered shutdown on SIGTERM / SIGINT. */
import { createLogger, redactConfig, runService } from '@medtune/kit';
import { startDashboard } from './app';
import { loadDashboardConfig } from './config';

const cfg = loadDashboardConfig(process.env);
const log = createLogger({ service: 'dashboard', level: cfg.logLevel });
log.info({ config: redactConfig(cfg) }, 'starting');
try {
  const app = await startDashboard(cfg, log);
  runService({ log, background: [() => app.stop()], graceMs: 5_000 });
} catch (err) {
  log.fatal({ err }, 'dashboard failed to start');
  process.exitCode = 1;
  setTimeout(() => process.exit(1), 100).unref();
}
