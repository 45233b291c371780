import type { registry } from '@medtune/contracts';
import type { MethodScopes } from '@medtune/kit';

/**
 * The scope each RegistryService RPC needs when access control is on (libs/kit auth.ts): users
 * read and create models and versions; moving aliases (what deployments resolve) is an
 * operator's; attaching evaluation evidence is the evaluation service's.
 */
export const REGISTRY_SCOPES: MethodScopes<typeof registry.RegistryServiceService> = {
  createRegisteredModel: 'write',
  getRegisteredModel: 'read',
  listRegisteredModels: 'read',
  updateRegisteredModel: 'write',
  createModelVersion: 'write',
  getModelVersion: 'read',
  listModelVersions: 'read',
  resolveModel: 'read',
  setAlias: 'operator',
  deleteAlias: 'operator',
  listAliasHistory: 'read',
  setVersionTags: 'write',
  attachEvaluation: 'service',
};
