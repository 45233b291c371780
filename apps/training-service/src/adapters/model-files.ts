/**
 * Reads what CreateJob can know about a base model before any GPU sees it, from the model's
 * directory on this host (the local stack and single-host deployments share one filesystem with
 * the workers; MEDTUNE_TRAINING_MODEL_CHECK=off where they do not). Cheap: config.json and the
 * safetensors header or index, never the weights. A base model path must resolve — symlinks
 * resolved — under the model roots (INVALID_ARGUMENT naming base_model otherwise), before anything
 * in it is read.
 */
import { open, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { confinePath, type DataRoots } from '@medtune/kit';
import type { ModelFacts, ModelInspector } from '../core/ports';

// Decoder architectures whose module names are known without reading the weights (a directory of
// config files only, as ../shared/models holds): the linear layers LoRA targets, plus the rest.
const KNOWN_MODULES: Record<string, readonly string[]> = Object.fromEntries(
  ['qwen2', 'qwen3', 'llama', 'mistral'].map((t) => [t, ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj', 'embed_tokens', 'lm_head', 'self_attn', 'mlp']]),
);

/** Whether `baseModel` names a directory (rather than a hub id such as "org/model"). */
export function isModelPath(baseModel: string): boolean {
  return path.isAbsolute(baseModel) || baseModel.startsWith('./') || baseModel.startsWith('../');
}

/** The inspector for model directories on this host, confined to `roots` (see paths.ts). */
export function localModelInspector(roots: DataRoots): ModelInspector {
  return {
    async inspect(baseModel: string): Promise<ModelFacts | undefined> {
      if (!isModelPath(baseModel)) return undefined; // a hub id: the workers resolve it
      // Throws INVALID_ARGUMENT (base_model) for a relative path, traversal or a symlink escape;
      // a path that does not exist is resolved through its parent and reported missing below.
      const dir = confinePath(baseModel, roots.roots, 'base_model', { mustExist: false, deny: roots.deny });
      const s = await stat(dir).catch(() => undefined);
      if (!s) return { kind: 'missing', reason: `no model directory at ${dir}` };
      if (!s.isDirectory()) return { kind: 'missing', reason: `${dir} is not a directory` };
      let config: { model_type?: unknown };
      try {
        config = JSON.parse(await readFile(path.join(dir, 'config.json'), 'utf8')) as { model_type?: unknown };
      } catch {
        return { kind: 'missing', reason: `${dir} has no readable config.json (not a model directory)` };
      }
      const modelType = typeof config.model_type === 'string' ? config.model_type : '';
      const modules = (await weightModules(dir)) ?? KNOWN_MODULES[modelType];
      return { kind: 'model', dir, modelType, ...(modules ? { modules: [...modules] } : {}) };
    },
  };
}

/** Module names that hold weights, from model.safetensors.index.json or model.safetensors' header. */
async function weightModules(dir: string): Promise<string[] | undefined> {
  let keys: string[] | undefined;
  try {
    const index = JSON.parse(await readFile(path.join(dir, 'model.safetensors.index.json'), 'utf8')) as { weight_map?: Record<string, string> };
    keys = Object.keys(index.weight_map ?? {});
  } catch {
    keys = await safetensorsKeys(path.join(dir, 'model.safetensors'));
  }
  if (!keys || keys.length === 0) return undefined;
  // "model.layers.0.self_attn.q_proj.weight" → module "model.layers.0.self_attn.q_proj"
  return [...new Set(keys.map((k) => k.slice(0, k.lastIndexOf('.') > 0 ? k.lastIndexOf('.') : k.length)))];
}

async function safetensorsKeys(file: string): Promise<string[] | undefined> {
  const fh = await open(file, 'r').catch(() => undefined);
  if (!fh) return undefined;
  try {
    const len = Buffer.alloc(8);
    await fh.read(len, 0, 8, 0);
    const n = Number(len.readBigUInt64LE());
    if (n <= 0 || n > 100 << 20) return undefined;
    const header = Buffer.alloc(n);
    await fh.read(header, 0, n, 8);
    return Object.keys(JSON.parse(header.toString('utf8')) as Record<string, unknown>).filter((k) => k !== '__metadata__');
  } catch {
    return undefined;
  } finally {
    await fh.close();
  }
}
