import type { training } from '@medtune/contracts';
import type { MethodScopes } from '@medtune/kit';

/**
 * The scope each RPC of the training service needs when access control is on (libs/kit
 * auth.ts). The job API is for users; the worker registry for workers, so a worker credential
 * cannot create or cancel jobs and a user credential cannot register a worker.
 */
export const TRAINING_SCOPES: MethodScopes<typeof training.TrainingServiceService> = {
  createJob: 'write',
  getJob: 'read',
  listJobs: 'read',
  cancelJob: 'write',
  watchJob: 'read',
  listCheckpoints: 'read',
  getJobLogs: 'read',
};

export const WORKER_REGISTRY_SCOPES: MethodScopes<typeof training.WorkerRegistryServiceService> = {
  registerWorker: 'worker',
  heartbeat: 'worker',
  listWorkers: 'read',
  holdWorker: 'service',
  releaseWorker: 'service',
};
