/** The training service process: config → logger → app → ordered shutdown on SIGTERM / SIGINT. */
import { createLogger, redactConfig, runService } from '@medtune/kit';
import { startTraining } from './app';
import { loadTrainingConfig } from './config';

const cfg = loadTrainingConfig(process.env);
const log = createLogger({ service: 'training-service', level: cfg.logLevel });
log.info({ config: redactConfig(cfg) }, 'starting');
try {
  const app = await startTraining(cfg, log);
  runService({
    log,
    server: app.server,
    background: [() => app.stopBackground()],
    nc: app.nc,
    mongo: app.mongo,
    graceMs: cfg.shutdownGraceMs,
  });
} catch (err) {
  log.fatal({ err }, 'training service failed to start');
  process.exitCode = 1;
  setTimeout(() => process.exit(1), 100).unref();
}
