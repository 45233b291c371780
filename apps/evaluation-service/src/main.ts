/** The evaluation service process: config → logger → app → ordered shutdown on SIGTERM / SIGINT. */
import { createLogger, redactConfig, runService } from '@medtune/kit';
import { startEvaluation } from './app';
import { loadEvaluationConfig } from './config';

const cfg = loadEvaluationConfig(process.env);
const log = createLogger({ service: 'evaluation-service', level: cfg.logLevel });
log.info({ config: redactConfig(cfg) }, 'starting');
try {
  const app = await startEvaluation(cfg, log);
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
  log.fatal({ err }, 'evaluation service failed to start');
  process.exitCode = 1;
  setTimeout(() => process.exit(1), 100).unref();
}
