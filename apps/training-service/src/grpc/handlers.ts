/**
 * Thin gRPC adapters: TrainingService and WorkerRegistryService requests in, core calls, responses
 * out. Every rule lives in the core; errors are the core's DomainErrors, mapped by the kit.
 */
import { training } from '@medtune/contracts';
import { FailedPreconditionError, serverStream, type ServiceHandlers, unary } from '@medtune/kit';
import { jobLogs } from '../core/executors/waiting';
import type { Orchestrator } from '../core/orchestrator';

/** medtune.training.v1.TrainingService. */
export function trainingHandlers(core: Orchestrator): ServiceHandlers<typeof training.TrainingServiceService> {
  return {
    createJob: unary((req, ctx) => core.jobs.createJob(req, ctx.principal)),
    getJob: unary(async (req) => ({ job: await core.jobs.getJob(req.jobId) })),
    listJobs: unary((req) => core.jobs.listJobs(req)),
    cancelJob: unary(async (req, ctx) => ({ job: await core.jobs.cancelJob(req.jobId, req.reason, ctx.principal) })),
    watchJob: serverStream(async function* (req, ctx) {
      // End the stream when the client goes away or the server begins to stop.
      const signal = AbortSignal.any([ctx.signal, ctx.stopping]);
      for await (const event of core.jobs.watchJob(req.jobId, req.fromSequence, signal)) yield { event };
    }),
    listCheckpoints: unary(async (req) => ({ checkpoints: await core.jobs.listCheckpoints(req.jobId) })),
    getJobLogs: unary((req) => jobLogs((jobId) => core.jobs.getJob(jobId), core.executor, req)),
  };
}

/** medtune.training.v1.WorkerRegistryService. */
export function workerRegistryHandlers(core: Orchestrator): ServiceHandlers<typeof training.WorkerRegistryServiceService> {
  return {
    registerWorker: unary((req, ctx) => core.registry.register(req.info, ctx.principal)),
    heartbeat: unary((req, ctx) => core.registry.heartbeat(req.info, ctx.principal)),
    listWorkers: unary(async (req) => ({ workers: await core.registry.list(req.includeLost) })),
    holdWorker: unary(async (req) => ({ hold: await holds(core).hold(req) })),
    releaseWorker: unary(async (req) => {
      const hold = await holds(core).release(req.holdId);
      return hold ? { hold } : {};
    }),
  };
}

function holds(core: Orchestrator): NonNullable<Orchestrator['holds']> {
  if (!core.holds) throw new FailedPreconditionError('this training service places no worker holds');
  return core.holds;
}
