/**
 * The optional native engine (Rust, N-API; sources in ../native). Built by native/build.sh into
 * native/build/medtune_tokenizer.node; when it is absent or stale, loadTokenizer falls back to
 * the TypeScript engine, which gives the same ids.
 */
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { IdList, type SegmentEngine } from './bpe';
import type { CompiledTokenizer } from './compile';
import { CHAR_CLASS } from './pretokenize';

/** Pieces whose ids an engine keeps by default (per engine, i.e. per thread). */
export const DEFAULT_PIECE_CACHE_SIZE = 20_000;

/** The addon's binding version that this file speaks (native/src/lib.rs abi_version). */
const ABI_VERSION = 1;

/** Where native/build.sh puts the addon. */
export const DEFAULT_NATIVE_ADDON = fileURLToPath(new URL('../native/build/medtune_tokenizer.node', import.meta.url));

interface NativeBpe {
  count(text: string): number;
  encode(text: string): Uint32Array;
}

interface Addon {
  abiVersion(): number;
  NativeBpe: new (classes: Uint8Array, byteIds: Int32Array, merges: Int32Array, cacheSize: number) => NativeBpe;
}

class NativeEngine implements SegmentEngine {
  constructor(private readonly bpe: NativeBpe) {}

  countSegment(text: string): number {
    return this.bpe.count(text);
  }

  encodeSegment(text: string, out: IdList): void {
    out.pushAll(this.bpe.encode(text));
  }
}

const require = createRequire(import.meta.url);

/**
 * The native engine over the compiled tables, or null when the addon cannot be loaded (an Error
 * instead when `required`).
 */
export function loadNativeEngine(
  compiled: CompiledTokenizer,
  addonPath = DEFAULT_NATIVE_ADDON,
  required = false,
  pieceCacheSize = DEFAULT_PIECE_CACHE_SIZE,
): SegmentEngine | null {
  let addon: Addon;
  try {
    addon = require(addonPath) as Addon;
    const abi = addon.abiVersion();
    if (abi !== ABI_VERSION) throw new Error(`it speaks binding version ${abi}, this library ${ABI_VERSION}: rebuild it`);
  } catch (err) {
    if (!required) return null;
    throw new Error(`native tokenizer addon ${addonPath} cannot be used (${(err as Error).message}); build it with libs/tokenizer/native/build.sh`, {
      cause: err,
    });
  }
  // Copies: the addon reads plain (not shared) buffers.
  const bpe = new addon.NativeBpe(CHAR_CLASS, new Int32Array(compiled.byteIds), new Int32Array(compiled.merges), pieceCacheSize);
  return new NativeEngine(bpe);
}
