/** Records → contract messages. */
import { registry } from '@medtune/contracts';
import type { AliasChangeRecord, ModelRecord, VersionRecord } from './records';

/** The contract form of a model. */
export function toModel(m: ModelRecord): registry.RegisteredModel {
  return {
    name: m.name,
    description: m.description,
    tags: { ...m.tags },
    aliases: { ...m.aliases },
    latestVersion: m.latestVersion,
    promotionPolicy: m.promotionPolicy,
    createTime: m.createTime,
    updateTime: m.updateTime,
  };
}

/** The aliases of `model` that point at `version`, sorted. */
export function aliasesOf(model: ModelRecord | null, version: number): string[] {
  if (!model) return [];
  return Object.entries(model.aliases)
    .filter(([, v]) => v === version)
    .map(([a]) => a)
    .sort();
}

/** The contract form of a version, with the aliases that point at it. */
export function toVersion(v: VersionRecord, model: ModelRecord | null): registry.ModelVersion {
  return {
    name: v.name,
    version: v.version,
    status: v.status,
    statusMessage: v.statusMessage,
    artifacts: v.artifacts,
    lineage: v.lineage,
    tags: { ...v.tags },
    aliases: aliasesOf(model, v.version),
    idempotencyKey: v.idempotencyKey,
    createTime: v.createTime,
    updateTime: v.updateTime,
  };
}

/** The contract form of an alias change. */
export function toAliasChange(c: AliasChangeRecord): registry.AliasChange {
  return {
    name: c.name,
    alias: c.alias,
    fromVersion: c.fromVersion,
    toVersion: c.toVersion,
    reason: c.reason,
    actor: c.actor,
    time: c.time,
  };
}

/** Short name of a version status, for messages: READY, FAILED_REGISTRATION, ... */
export function statusName(s: registry.ModelVersionStatus): string {
  return registry.modelVersionStatusToJSON(s).replace(/^MODEL_VERSION_STATUS_/, '');
}
