import type { tracking } from '@medtune/contracts';
import type { MethodScopes } from '@medtune/kit';

/** The scope each TrackingService RPC needs when access control is on (libs/kit auth.ts). */
export const TRACKING_SCOPES: MethodScopes<typeof tracking.TrackingServiceService> = {
  createExperiment: 'write',
  getExperiment: 'read',
  listExperiments: 'read',
  createRun: 'write',
  getRun: 'read',
  updateRunStatus: 'write',
  logParams: 'write',
  setTags: 'write',
  logMetrics: 'write',
  heartbeat: 'write',
  getMetricHistory: 'read',
  watchRun: 'read',
  searchRuns: 'read',
  compareRuns: 'read',
};
