/** The registry service process: config → logger → app → ordered shutdown on SIGTERM / SIGINT. */
import { createLogger, redactConfig, runService } from '@medtune/kit';
import { startRegistry } from './app';
import { loadRegistryConfig } from './config';

const cfg = loadRegistryConfig(process.env);
const log = createLogger({ service: 'registry-service', level: cfg.logLevel });
log.info({ config: redactConfig(cfg) }, 'starting');
try {
  const app = await startRegistry(cfg, log);
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
  log.fatal({ err }, 'registry service failed to start');
  process.exitCode = 1;
  setTimeout(() => process.exit(1), 100).unref();
}
