/**
 * The registry's stored records and the rules on their names and fields. Records are what the
 * store keeps; the contract messages (registry.v1) are built from them in convert.ts.
 */
import { common, registry } from '@medtune/contracts';
import { InvalidArgumentError, MODEL_NAME, type PendingEvent as OutboxEvent } from '@medtune/kit';
import { isS3Uri, parseS3Uri } from '@medtune/kit/storage';

/** An event written in the same document update as the state change it announces (the kit's outbox). */
export interface PendingEvent extends OutboxEvent {
  /** For alias events: the history record to store before publishing. */
  aliasChange?: AliasChangeRecord;
}

/** A registered model as stored. */
export interface ModelRecord {
  name: string;
  description: string;
  tags: Record<string, string>;
  /** Alias → version. */
  aliases: Record<string, number>;
  /** Highest version number created so far. */
  latestVersion: number;
  promotionPolicy: registry.PromotionPolicy;
  createTime: Date;
  updateTime: Date;
}

/** A model version as stored. */
export interface VersionRecord {
  name: string;
  version: number;
  status: registry.ModelVersionStatus;
  statusMessage: string;
  artifacts: common.Artifact[];
  lineage: registry.ModelLineage;
  tags: Record<string, string>;
  idempotencyKey: string;
  /** sha256 of the request's content, to tell an idempotent repeat from a reused key. */
  requestHash: string;
  createTime: Date;
  updateTime: Date;
}

/** One alias change as stored in the history. */
export interface AliasChangeRecord {
  /** Unique id of the change (also the event's ce-id). */
  id: string;
  name: string;
  alias: string;
  fromVersion: number;
  toVersion: number;
  reason: string;
  actor: string;
  time: Date;
}

const ALIAS_NAME = /^[a-z0-9][a-z0-9_-]{0,62}$/;
const SHA256 = /^[0-9a-f]{64}$/;

/** Checks a registered model name; `field` names it in the error. */
export function checkModelName(name: string, field = 'name'): void {
  if (!name) throw new InvalidArgumentError(field, 'required');
  if (!MODEL_NAME.test(name)) {
    throw new InvalidArgumentError(field, `must be 1..100 of lowercase letters, digits, '-', '_', '.', starting with a letter or digit (got ${JSON.stringify(name)})`);
  }
}

/** Checks an alias name; "latest" is reserved for the newest READY version. */
export function checkAliasName(alias: string, field = 'alias'): void {
  if (!alias) throw new InvalidArgumentError(field, 'required');
  if (alias === 'latest') throw new InvalidArgumentError(field, '"latest" is reserved (it always means the newest READY version)');
  if (!ALIAS_NAME.test(alias)) {
    throw new InvalidArgumentError(field, `must be 1..63 of lowercase letters, digits, '-', '_' (got ${JSON.stringify(alias)})`);
  }
}

/** Checks tag keys and values. */
export function checkTags(tags: Record<string, string>, field: string): void {
  for (const [k, v] of Object.entries(tags)) {
    if (!k || k.length > 128) throw new InvalidArgumentError(`${field}`, `tag keys must be 1..128 characters (got ${JSON.stringify(k)})`);
    if (v.length > 1024) throw new InvalidArgumentError(`${field}[${k}]`, `tag values must be at most 1024 characters (got ${v.length})`);
  }
}

/** Checks the artifacts of a new version: kind, a file:// URI with an absolute path or an s3://bucket/key URI, a hex sha256. */
export function checkArtifacts(artifacts: readonly common.Artifact[]): void {
  if (artifacts.length === 0) throw new InvalidArgumentError('artifacts', 'at least one artifact is required');
  const kinds = new Set<common.ArtifactKind>();
  artifacts.forEach((a, i) => {
    const f = `artifacts[${i}]`;
    if (a.kind === common.ArtifactKind.ARTIFACT_KIND_UNSPECIFIED || a.kind === common.ArtifactKind.UNRECOGNIZED) {
      throw new InvalidArgumentError(`${f}.kind`, 'required (ADAPTER, MERGED_16BIT, GGUF or CHECKPOINT)');
    }
    if (kinds.has(a.kind)) throw new InvalidArgumentError(`${f}.kind`, `${common.artifactKindToJSON(a.kind)} appears twice`);
    kinds.add(a.kind);
    artifactLocation(a.uri, `${f}.uri`);
    if (!SHA256.test(a.sha256)) throw new InvalidArgumentError(`${f}.sha256`, `must be 64 lowercase hex digits (got ${JSON.stringify(a.sha256)})`);
    a.files.forEach((file, j) => {
      if (!SHA256.test(file.sha256)) throw new InvalidArgumentError(`${f}.files[${j}].sha256`, `must be 64 lowercase hex digits (got ${JSON.stringify(file.sha256)})`);
    });
  });
}

/**
 * Where an artifact's bytes are, for an ArtifactReader: the local path of a file:// URI, or the
 * s3:// URI itself (checked: bucket name, key). INVALID_ARGUMENT naming `field` otherwise.
 */
export function artifactLocation(uri: string, field = 'uri'): string {
  if (isS3Uri(uri)) {
    parseS3Uri(uri, field);
    return uri;
  }
  return filePathOfUri(uri, field);
}

/** The local path of a file:// URI. */
export function filePathOfUri(uri: string, field = 'uri'): string {
  let url: URL;
  try {
    url = new URL(uri);
  } catch {
    throw new InvalidArgumentError(field, `not a URI: ${JSON.stringify(uri)}`);
  }
  if (url.protocol !== 'file:') throw new InvalidArgumentError(field, `only file:// and s3:// URIs are supported (got ${JSON.stringify(uri)})`);
  if (url.host && url.host !== 'localhost') throw new InvalidArgumentError(field, `file:// URIs must name a local absolute path (got host ${JSON.stringify(url.host)})`);
  const path = decodeURIComponent(url.pathname);
  if (!path.startsWith('/') || path === '/') throw new InvalidArgumentError(field, `file:// URIs must name an absolute path (got ${JSON.stringify(uri)})`);
  return path;
}

/** The metrics the promotion policy can judge on, and which way is better. */
export const POLICY_METRICS: Readonly<Record<string, boolean>> = {
  accuracy: true,
  format_compliance: true,
  eval_loss: false,
};

/** A policy with every default filled in; validates what was given. */
export function resolvePolicy(p: registry.PromotionPolicy | undefined, field = 'promotion_policy'): registry.PromotionPolicy {
  const alias = p?.alias || 'champion';
  checkAliasName(alias, `${field}.alias`);
  const metric = p?.metric || 'accuracy';
  const higher = POLICY_METRICS[metric];
  if (higher === undefined) {
    throw new InvalidArgumentError(`${field}.metric`, `must be one of ${Object.keys(POLICY_METRICS).join(', ')} (got ${JSON.stringify(metric)})`);
  }
  const minDelta = p?.minDelta ?? 0;
  if (!Number.isFinite(minDelta) || minDelta < 0) throw new InvalidArgumentError(`${field}.min_delta`, `must be >= 0 (got ${minDelta})`);
  const evalSet = p?.evalSet || 'seed-question';
  if (!MODEL_NAME.test(evalSet)) throw new InvalidArgumentError(`${field}.eval_set`, `not a valid set name: ${JSON.stringify(evalSet)}`);
  // The paired test's level (the evaluation service applies it; 1 turns the test off). Kept unset
  // when not given, so the evaluation service's default applies.
  const significance = p?.significance;
  if (significance !== undefined && !(Number.isFinite(significance) && significance > 0 && significance <= 1)) {
    throw new InvalidArgumentError(`${field}.significance`, `must be in (0, 1] (got ${significance})`);
  }
  return { alias, metric, higherIsBetter: p?.higherIsBetter ?? higher, evalSet, minDelta, disabled: p?.disabled ?? false, ...(significance !== undefined ? { significance } : {}) };
}
