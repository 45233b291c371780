/** The gRPC adapter: medtune.tracking.v1.TrackingService on the core. Translation only. */
import { serverStream, unary, type ServiceHandlers } from '@medtune/kit';
import type { tracking } from '@medtune/contracts';
import type { TrackingCore } from '../core/service';
import { watchRun } from '../core/watch';

/** Handlers for every RPC of the tracking service. */
export function trackingHandlers(core: TrackingCore): ServiceHandlers<typeof tracking.TrackingServiceService> {
  return {
    createExperiment: unary((req) => core.createExperiment(req)),
    getExperiment: unary((req) => core.getExperiment(req)),
    listExperiments: unary((req) => core.listExperiments(req)),
    createRun: unary((req) => core.createRun(req)),
    getRun: unary((req) => core.getRun(req)),
    updateRunStatus: unary((req) => core.updateRunStatus(req)),
    logParams: unary((req) => core.logParams(req)),
    setTags: unary((req) => core.setTags(req)),
    logMetrics: unary((req) => core.logMetrics(req)),
    heartbeat: unary((req) => core.heartbeat(req)),
    getMetricHistory: unary((req) => core.getMetricHistory(req)),
    watchRun: serverStream((req, ctx) => watchRun(core, req, ctx.signal, ctx.stopping)),
    searchRuns: unary((req) => core.searchRuns(req)),
    compareRuns: unary((req) => core.compareRuns(req)),
  };
}
