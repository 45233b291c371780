/**
 * The canonical hash of a CreateJob request, for idempotency: the same key with the same request
 * returns the job; the same key with another request is ALREADY_EXISTS. The hash covers the
 * request with every default resolved (so leaving a field unset and giving the seed's value are
 * the same request), map keys sorted, and the idempotency key itself left out.
 */
import { createHash } from 'node:crypto';
import type { training } from '@medtune/contracts';
import type { ResolvedSpec } from './validation';

/** sha256 (hex) over the canonical JSON of what the request asks for. */
export function requestHash(req: training.CreateJobRequest, spec: ResolvedSpec): string {
  const canonical = {
    displayName: req.displayName,
    datasetDigest: req.datasetDigest,
    baseModel: req.baseModel,
    hyperparameters: spec.hyperparameters,
    lora: spec.lora,
    backend: spec.backend,
    priority: req.priority,
    exports: spec.exports,
    experiment: spec.experiment,
    registerAs: req.registerAs,
    tags: req.tags,
    maxRetries: spec.maxRetries,
    minGpuMemoryBytes: req.minGpuMemoryBytes,
  };
  return createHash('sha256').update(canonicalJson(canonical)).digest('hex');
}

/** JSON with object keys sorted at every level and undefined members dropped. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(sortKeys(value));
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value !== null && typeof value === 'object' && !(value instanceof Date)) {
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(value).sort()) {
      const v = (value as Record<string, unknown>)[key];
      if (v !== undefined) out[key] = sortKeys(v);
    }
    return out;
  }
  return value;
}
