import type { evaluation } from '@medtune/contracts';
import type { MethodScopes } from '@medtune/kit';

/** The scope each EvaluationService RPC needs when access control is on (libs/kit auth.ts). */
export const EVALUATION_SCOPES: MethodScopes<typeof evaluation.EvaluationServiceService> = {
  createEvalSet: 'write',
  getEvalSet: 'read',
  listEvalSets: 'read',
  startEvaluation: 'write',
  getEvaluation: 'read',
  listEvaluations: 'read',
  watchEvaluation: 'read',
  listItemResults: 'read',
  compareEvaluations: 'write',
  getComparison: 'read',
  listComparisons: 'read',
};
