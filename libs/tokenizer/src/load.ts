/** loadTokenizer: model directory → Tokenizer, with the native engine when it can be loaded. */
import { TsBpeEngine, type SegmentEngine } from './bpe';
import { compile, type CompiledTokenizer } from './compile';
import { TokenizerLoadError } from './errors';
import { readModelDir, type EosOptions } from './model-dir';
import { DEFAULT_PIECE_CACHE_SIZE, loadNativeEngine } from './native';
import { Tokenizer, type TokenizerInfo } from './tokenizer';

/** Which engine encodes segments: 'auto' = native when the addon loads, else TypeScript. */
export type EngineChoice = 'auto' | 'native' | 'ts';

/** How segments are encoded. */
export interface EngineOptions {
  /** Default 'auto'. 'native' fails when the addon cannot be loaded. */
  engine?: EngineChoice;
  /** Path of the native addon (.node); default: native/build/medtune_tokenizer.node in this lib. */
  nativeAddon?: string;
  /**
   * Pre-tokenizer pieces whose ids each engine (each thread) keeps, default 20,000 (HF keeps
   * 10,000). More saves work on repetitive text and costs memory: about 100 bytes a piece.
   */
  pieceCacheSize?: number;
}

export interface LoadTokenizerOptions extends EosOptions, EngineOptions {
  /** Put the tables in SharedArrayBuffers (for handing them to worker threads). */
  shared?: boolean;
}

/** A tokenizer from its compiled tables, e.g. in a worker thread. */
export function tokenizerFromCompiled(compiled: CompiledTokenizer, info: TokenizerInfo, opts: EngineOptions = {}): Tokenizer {
  const engine = opts.engine ?? 'auto';
  const cacheSize = opts.pieceCacheSize ?? DEFAULT_PIECE_CACHE_SIZE;
  if (!Number.isInteger(cacheSize) || cacheSize < 0) throw new RangeError(`pieceCacheSize must be a non-negative integer, got ${cacheSize}`);
  let segmentEngine: SegmentEngine | null = null;
  if (engine !== 'ts') segmentEngine = loadNativeEngine(compiled, opts.nativeAddon, engine === 'native', cacheSize);
  if (segmentEngine !== null) return new Tokenizer(compiled, info, segmentEngine, 'native');
  return new Tokenizer(compiled, info, new TsBpeEngine(compiled, cacheSize), 'ts');
}

/** Loads the tokenizer of a local model directory (see index.ts for the formats). */
export async function loadTokenizer(dir: string, opts: LoadTokenizerOptions = {}): Promise<Tokenizer> {
  const { definition, eosToken, eosSource, fingerprint } = await readModelDir(dir, opts);
  const compiled = compile(definition, opts.shared ?? false);
  let eosTokenId: number | null = null;
  if (eosToken !== null) {
    eosTokenId = definition.addedTokens.find((t) => t.content === eosToken)?.id ?? definition.vocab.get(eosToken) ?? null;
    if (eosTokenId === null) throw new TokenizerLoadError(`the EOS token ${JSON.stringify(eosToken)} is not a token of this tokenizer`, eosSource ?? dir);
  }
  return tokenizerFromCompiled(compiled, { eosToken, eosTokenId, fingerprint }, opts);
}
