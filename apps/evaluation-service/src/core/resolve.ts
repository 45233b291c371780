/**
 * Resolving what a run needs before it starts: generation settings with the seed's defaults, the
 * model (a base model, or a READY registry version through the registry), and the template used
 * in training. Also the hashes that make runs idempotent and base-model results cacheable.
 */
import { createHash } from 'node:crypto';
import { common, evaluation, type registry } from '@medtune/contracts';
import { FailedPreconditionError, InvalidArgumentError, NotFoundError } from '@medtune/kit';
import { builtinTemplate, DEFAULT_TEMPLATE_NAME } from '@medtune/prompting';
import type { DatasetPort, RegistryPort } from './ports';
import type { RunSpec } from './records';

/**
 * The seed's generation settings: max_new_tokens 1200, seed 8137. Temperature and top_p are used
 * only when a request gives a temperature; otherwise the model's generation_config.json decides
 * (the seed's generate(): sampling, 0.6 / 0.95 for this family), or the set pins greedy.
 */
export const GENERATION_DEFAULTS: GenerationDefaults = { maxNewTokens: 1200, temperature: 0, topP: 1, seed: 8137 };

const DS = evaluation.DecodingSource;

/** Resolved generation settings and where the decoding came from. */
export interface ResolvedGeneration {
  generation: RunSpec['generation'];
  decoding: evaluation.DecodingSource;
}

/**
 * The decoding of a run: the request's temperature when it gives one; else greedy when the set
 * pins it; else the model's generation_config.json (the worker applies it and reports it back;
 * temperature / top_p here are then 0 / 1 placeholders that only the hash sees).
 */
export function resolveDecoding(g: common.GenerationParams | undefined, defaults: Partial<GenerationDefaults> = {}, pinGreedy = false): ResolvedGeneration {
  const generation = resolveGeneration(g, defaults);
  if (g?.temperature !== undefined) return { generation, decoding: DS.DECODING_SOURCE_REQUEST };
  const greedy = { ...generation, temperature: 0, topP: 1 };
  return { generation: greedy, decoding: pinGreedy ? DS.DECODING_SOURCE_EVAL_SET_GREEDY : DS.DECODING_SOURCE_MODEL_GENERATION_CONFIG };
}

/** Generation settings a caller may default differently (e.g. the automation's max_new_tokens). */
export interface GenerationDefaults {
  maxNewTokens: number;
  temperature: number;
  topP: number;
  seed: number;
}

/** Generation settings with defaults filled in; out-of-range values → INVALID_ARGUMENT. */
export function resolveGeneration(g: common.GenerationParams | undefined, defaults: Partial<GenerationDefaults> = {}): RunSpec['generation'] {
  const d = { ...GENERATION_DEFAULTS, ...defaults };
  const out = {
    maxNewTokens: g?.maxNewTokens ?? d.maxNewTokens,
    temperature: g?.temperature ?? d.temperature,
    topP: g?.topP ?? d.topP,
    seed: g?.seed ?? d.seed,
  };
  if (!Number.isInteger(out.maxNewTokens) || out.maxNewTokens < 1 || out.maxNewTokens > 32_768) {
    throw new InvalidArgumentError('generation.max_new_tokens', `must be 1..32768 (got ${out.maxNewTokens})`);
  }
  if (!(out.temperature >= 0 && out.temperature <= 2)) throw new InvalidArgumentError('generation.temperature', `must be 0..2 (got ${out.temperature})`);
  if (!(out.topP > 0 && out.topP <= 1)) throw new InvalidArgumentError('generation.top_p', `must be in (0, 1] (got ${out.topP})`);
  return out;
}

/** The model a run executes. */
export interface ResolvedModel {
  model: common.ModelRef;
  baseModel: string;
  adapterUri: string;
  mergedUri: string;
  /** The GGUF file, when artifactKind is GGUF. */
  ggufUri: string;
  /** The artifact kind that runs (UNSPECIFIED for a base model). */
  artifactKind: common.ArtifactKind;
  registryName: string;
  registryVersion: number;
  /** The registry version, when the model is one (for its lineage). */
  version?: registry.ModelVersion;
}

const K = common.ArtifactKind;
/** The kinds a run can execute: the adapter on its base, the merged directory, the GGUF file. */
const RUNNABLE = [K.ARTIFACT_KIND_ADAPTER, K.ARTIFACT_KIND_MERGED_16BIT, K.ARTIFACT_KIND_GGUF];

/**
 * Resolves a ModelRef: base models as given; registry refs through ResolveModel (READY only). The
 * artifact run is `kind` when given (what is promoted is then what is served: a GGUF is judged
 * through llama.cpp), else the adapter on its base, else the merged model.
 */
export async function resolveModel(
  ref: common.ModelRef | undefined,
  reg: RegistryPort | undefined,
  kind: common.ArtifactKind = K.ARTIFACT_KIND_UNSPECIFIED,
): Promise<ResolvedModel> {
  if (kind !== K.ARTIFACT_KIND_UNSPECIFIED && !RUNNABLE.includes(kind)) {
    throw new InvalidArgumentError('artifact_kind', `must be ARTIFACT_KIND_ADAPTER, ARTIFACT_KIND_MERGED_16BIT or ARTIFACT_KIND_GGUF (got ${K[kind] ?? kind})`);
  }
  const r = ref?.ref;
  if (!r) throw new InvalidArgumentError('model', 'required: a base_model, or a registry name with a version, an alias or latest');
  if (r.$case === 'baseModel') {
    if (!r.baseModel.trim()) throw new InvalidArgumentError('model.base_model', 'must not be empty');
    if (kind !== K.ARTIFACT_KIND_UNSPECIFIED) throw new InvalidArgumentError('artifact_kind', 'a base model has no artifacts: leave it unset or evaluate a registry version');
    return { model: ref, baseModel: r.baseModel, adapterUri: '', mergedUri: '', ggufUri: '', artifactKind: K.ARTIFACT_KIND_UNSPECIFIED, registryName: '', registryVersion: 0 };
  }
  if (!r.registry.name) throw new InvalidArgumentError('model.registry.name', 'required');
  if (!r.registry.selector) throw new InvalidArgumentError('model.registry', 'give a version, an alias or latest');
  if (!reg) throw new InvalidArgumentError('model.registry', 'this evaluation service has no registry configured');
  const version = await reg.resolve(r.registry);
  const adapter = version.artifacts.find((a) => a.kind === common.ArtifactKind.ARTIFACT_KIND_ADAPTER);
  const merged = version.artifacts.find((a) => a.kind === common.ArtifactKind.ARTIFACT_KIND_MERGED_16BIT);
  const baseModel = version.lineage?.baseModel ?? '';
  const named = { model: ref, baseModel, registryName: version.name, registryVersion: version.version, version };
  if (kind !== K.ARTIFACT_KIND_UNSPECIFIED) {
    const art = version.artifacts.find((a) => a.kind === kind);
    if (!art) {
      const has = version.artifacts.map((a) => K[a.kind] ?? String(a.kind)).join(', ') || 'none';
      throw new FailedPreconditionError(`artifact_kind: ${version.name} version ${version.version} has no ${K[kind]} artifact (it has: ${has})`);
    }
    if (kind === K.ARTIFACT_KIND_ADAPTER && !baseModel) throw new InvalidArgumentError('model.registry', `${version.name} version ${version.version} has an adapter but no base model in its lineage`);
    const uri = (k: common.ArtifactKind) => (kind === k ? art.uri : '');
    return { ...named, adapterUri: uri(K.ARTIFACT_KIND_ADAPTER), mergedUri: uri(K.ARTIFACT_KIND_MERGED_16BIT), ggufUri: uri(K.ARTIFACT_KIND_GGUF), artifactKind: kind };
  }
  if (!adapter && !merged) {
    throw new InvalidArgumentError('model.registry', `${version.name} version ${version.version} has neither an adapter nor a merged model to run`);
  }
  if (adapter && !baseModel) throw new InvalidArgumentError('model.registry', `${version.name} version ${version.version} has an adapter but no base model in its lineage`);
  return {
    model: ref,
    baseModel,
    adapterUri: adapter?.uri ?? '',
    mergedUri: adapter ? '' : (merged?.uri ?? ''),
    ggufUri: '',
    artifactKind: adapter ? K.ARTIFACT_KIND_ADAPTER : K.ARTIFACT_KIND_MERGED_16BIT,
    registryName: version.name,
    registryVersion: version.version,
    version,
  };
}

/**
 * The template for a run: the one named in the request; else the one the model was trained with
 * (its lineage's template_name, or the template stored with its training dataset version); else
 * the seed's medical-o1-zh. Built-in templates resolve locally; others through the dataset service.
 */
export async function resolveTemplate(
  name: string,
  lineage: registry.ModelLineage | undefined,
  ds: DatasetPort | undefined,
): Promise<common.PromptTemplate> {
  const byName = async (n: string, field: string) => {
    const builtin = builtinTemplate(n);
    if (builtin) return builtin;
    if (!ds) throw new InvalidArgumentError(field, `template ${JSON.stringify(n)} is not built in and no dataset service is configured`);
    try {
      return await ds.getTemplate(n);
    } catch (err) {
      if (err instanceof NotFoundError) throw new NotFoundError(`template ${JSON.stringify(n)} not found`, { cause: err });
      throw err;
    }
  };
  if (name) return byName(name, 'template_name');
  if (lineage?.templateName) return byName(lineage.templateName, 'template_name');
  if (lineage?.datasetDigest && ds) {
    try {
      const t = (await ds.getVersion(lineage.datasetDigest)).lineage?.template;
      if (t?.inferenceFormat) return t;
    } catch (err) {
      // A deleted dataset version cannot tell; anything else (unavailable) must not silently change the prompt.
      if (!(err instanceof NotFoundError)) throw err;
    }
  }
  return builtinTemplate(DEFAULT_TEMPLATE_NAME)!;
}

/** JSON with sorted object keys, so equal content hashes equally. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) =>
    v && typeof v === 'object' && !Array.isArray(v) && !(v instanceof Date)
      ? Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : v,
  );
}

const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');

/** Hash of everything that determines a run's outputs (the base-model cache key, and idempotency). */
export function specHash(s: RunSpec): string {
  return sha256(
    canonicalJson({
      baseModel: s.baseModel,
      adapterUri: s.adapterUri,
      mergedUri: s.mergedUri,
      // Only for GGUF runs, so the hashes of the other runs (and cached base results) stay as before.
      ...(s.ggufUri ? { ggufUri: s.ggufUri } : {}),
      setSha: s.setSha,
      limit: s.limit,
      inference: s.template.inferenceFormat,
      generation: s.generation,
      // Only model-config runs hash differently: greedy is greedy whether the request or the set
      // asked for it, so existing hashes (and cached base results) stay as they were.
      ...(s.decoding === DS.DECODING_SOURCE_MODEL_GENERATION_CONFIG ? { decoding: s.decoding } : {}),
      evalLossDigest: s.evalLossDigest,
    }),
  );
}
