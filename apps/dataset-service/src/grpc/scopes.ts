import type { dataset } from '@medtune/contracts';
import type { MethodScopes } from '@medtune/kit';

/**
 * The scope each DatasetService RPC needs when access control is on (libs/kit auth.ts). Rows go
 * to workers only, with the per-job data credential of one version (checked in the handler) or
 * a service credential; deleting a version others may train on is an operator's.
 */
export const DATASET_SCOPES: MethodScopes<typeof dataset.DatasetServiceService> = {
  importDataset: 'write',
  uploadDataset: 'write',
  getDataset: 'read',
  listDatasets: 'read',
  getVersion: 'read',
  listVersions: 'read',
  deleteVersion: 'operator',
  getValidationReport: 'read',
  previewFormatted: 'read',
  streamRows: 'dataset-stream',
  registerTemplate: 'write',
  getTemplate: 'read',
  listTemplates: 'read',
};
