/** The thin gRPC adapter: each RPC calls the core; the kit maps thrown DomainErrors to status. */
import { registry } from '@medtune/contracts';
import { confineFileUri, unary, type DataRoots, type ServiceHandlers } from '@medtune/kit';
import type { AliasCore } from '../core/aliases';
import type { RegistryCore } from '../core/registry';

/** Handlers of medtune.registry.v1.RegistryService. */
export function registryHandlers(core: RegistryCore, aliases: AliasCore, roots?: DataRoots): ServiceHandlers<typeof registry.RegistryServiceService> {
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
