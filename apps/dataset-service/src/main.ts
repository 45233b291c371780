/** The dataset service process: config → logger → app → ordered shutdown on SIGTERM / SIGINT. */
import { createLogger, redactConfig, runService } from '@medtune/kit';
import { startDataset } from './app';
import { loadDatasetConfig } from './config';

const cfg = loadDatasetConfig(process.env);
const log = createLogger({ service: 'dataset-service', level: cfg.logLevel });
log.info({ config: redactConfig(cfg) }, 'starting');
try {
  const app = await startDataset(cfg, log);
  runService({
    log,
    server: app.server,
    consumers: app.consumers,
    background: [() => app.stopBackground()],
    inflight: app.inflight,
    nc: app.nc,
    mongo: app.mongo,
    graceMs: cfg.shutdownGraceMs,
  });
} catch (err) {
  log.fatal({ err }, 'dataset service failed to start');
  process.exitCode = 1;
  setTimeout(() => process.exit(1), 100).unref();
}
