/** The thin gRPC adapter: each RPC calls the core; the kit maps thrown DomainErrors to status. */
import { registry } from '@medtune/contracts';
import { confineFileUri, FailedPreconditionError, unary, type DataRoots, type ServiceHandlers } from '@medtune/kit';
import { confineS3Uri, type ObjectStore, type S3Location } from '@medtune/kit/storage';
import type { AliasCore } from '../core/aliases';
import type { RegistryCore } from '../core/registry';

/** Handlers of medtune.registry.v1.RegistryService. */
/** Object storage as the handlers see it: the allowed roots and the store (null: not configured). */
export interface S3Access {
  roots: readonly S3Location[];
  store: ObjectStore | null;
}

export function registryHandlers(core: RegistryCore, aliases: AliasCore, roots?: DataRoots, s3?: S3Access): ServiceHandlers<typeof registry.RegistryServiceService> {
  return {
    createRegisteredModel: unary(async (req) => core.createModel(req)),
    getRegisteredModel: unary(async (req) => ({ model: await core.getModel(req.name) })),
    listRegisteredModels: unary(async (req) => core.listModels(req)),
    updateRegisteredModel: unary(async (req) => ({ model: await core.updateModel(req) })),
    createModelVersion: unary(async (req) => {
      // The registry hashes only what lies under the allowed roots (a job's artifacts are there):
      // any other path would reveal the size and sha256 of whatever file it names.
      if (roots) {
        req.artifacts.forEach((a, i) => {
          if (a.uri.startsWith('file:')) confineFileUri(a.uri, roots.roots, `artifacts[${i}].uri`, { mustExist: false, deny: roots.deny });
        });
      }
      // The same for object storage: only under the configured s3:// roots, in a bucket that exists.
      for (const [i, a] of req.artifacts.entries()) {
        if (!a.uri.startsWith('s3:')) continue;
        const field = `artifacts[${i}].uri`;
        const loc = confineS3Uri(a.uri, s3?.roots ?? [], field);
        if (!s3?.store) throw new FailedPreconditionError(`${field}: object storage is not configured on the registry (MEDTUNE_S3_ENDPOINT, MEDTUNE_S3_ROOTS)`);
        await s3.store.checkBucket(loc.bucket, field);
      }
      return core.createVersion(req);
    }),
    getModelVersion: unary(async (req) => ({ version: await core.getVersion(req.name, req.version) })),
    listModelVersions: unary(async (req) => core.listVersions(req)),
    resolveModel: unary(async (req) => ({ version: await core.resolve(req.ref) })),
    setAlias: unary(async (req) => ({ change: await aliases.setAlias(req) })),
    deleteAlias: unary(async (req) => ({ change: await aliases.deleteAlias(req) })),
    listAliasHistory: unary(async (req) => aliases.history(req)),
    setVersionTags: unary(async (req) => ({ version: await core.setVersionTags(req) })),
    attachEvaluation: unary(async (req) => ({ version: await core.attachEvaluation(req) })),
  };
}
