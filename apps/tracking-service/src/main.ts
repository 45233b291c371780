/** The tracking service process: config → logger → app → ordered shutdown on SIGTERM / SIGINT. */
import { createLogger, redactConfig, runService } from '@medtune/kit';
import { startTracking } from './app';
import { loadTrackingConfig } from './config';

const cfg = loadTrackingConfig(process.env);
const log = createLogger({ service: 'tracking-service', level: cfg.logLevel });
log.info({ config: redactConfig(cfg) }, 'starting');
try {
  const app = await startTracking(cfg, log);
  runService({
    log,
    server: app.server,
    consumers: app.consumers,
    background: [() => app.stopBackground()],
    nc: app.nc,
    mongo: app.mongo,
    graceMs: cfg.shutdownGraceMs,
  });
} catch (err) {
  log.fatal({ err }, 'tracking service failed to start');
  process.exitCode = 1;
  setTimeout(() => process.exit(1), 100).unref();
}
