/* eslint-disable @typescript-eslint/no-non-null-assertion -- typed-array indexing in hot loops, bounds kept by the loops (noUncheckedIndexedAccess) */
/**
 * The tokenizer: added-token splitting and NFC in TypeScript, then pre-tokenization + BPE of each
 * segment in an engine (the native addon when loaded, else TsBpeEngine).
 */
import { AddedTokenSplitter } from './added-tokens';
import { bytesToByteLevel } from './byte-level';
import { IdList, type SegmentEngine } from './bpe';
import { ID_ABSENT, ID_BYTE_LEVEL, type CompiledTokenizer } from './compile';
import { nfc } from './normalize';

export interface EncodeOptions {
  /**
   * Add the ids that tokenizer.json's post-processor puts around a sequence (e.g. a BOS), as HF's
   * `encode` does by default. Default true. The shared bpe/ directory has no post-processor.
   */
  addSpecialTokens?: boolean;
}

export interface DecodeOptions {
  /** Leave special added tokens out. Default false (transformers' `decode` default). */
  skipSpecialTokens?: boolean;
}

/** Identity and settings of a loaded tokenizer, copied into each worker of a pool. */
export interface TokenizerInfo {
  eosToken: string | null;
  eosTokenId: number | null;
  fingerprint: string;
}

export class Tokenizer {
  readonly vocabSize: number;
  readonly eosToken: string | null;
  readonly eosTokenId: number | null;
  readonly fingerprint: string;
  private readonly splitter: AddedTokenSplitter;
  private readonly special: Set<number>;
  private readonly out = new IdList();
  // ignoreBOM: a leading U+FEFF is text, kept as HF keeps it.
  private readonly decoder = new TextDecoder('utf-8', { ignoreBOM: true });
  private tokenIds: Map<string, number> | undefined;

  constructor(
    /** The tables, shareable with worker threads. */
    readonly compiled: CompiledTokenizer,
    info: TokenizerInfo,
    private readonly engine: SegmentEngine,
    /** Which engine encodes segments: the Rust addon or the TypeScript fallback. */
    readonly engineKind: 'native' | 'ts',
  ) {
    this.vocabSize = compiled.vocabSize;
    this.eosToken = info.eosToken;
    this.eosTokenId = info.eosTokenId;
    this.fingerprint = info.fingerprint;
    const normalize = compiled.nfc ? nfc : (s: string) => s;
    this.splitter = new AddedTokenSplitter(compiled.addedTokens, normalize);
    this.special = new Set(compiled.addedTokens.filter((t) => t.special).map((t) => t.id));
  }

  /** Token ids of a text. */
  encode(text: string, opts: EncodeOptions = {}): Uint32Array {
    const out = this.out;
    out.length = 0;
    const wrap = opts.addSpecialTokens ?? true;
    if (wrap) out.pushAll(this.compiled.prefixIds);
    for (const seg of this.splitter.split(text)) {
      if (typeof seg === 'number') out.push(seg);
      else this.engine.encodeSegment(seg, out);
    }
    if (wrap) out.pushAll(this.compiled.suffixIds);
    return out.toArray();
  }

  /** Number of tokens of a text (= encode(text).length, without building the ids). */
  count(text: string, opts: EncodeOptions = {}): number {
    let n = (opts.addSpecialTokens ?? true) ? this.compiled.prefixIds.length + this.compiled.suffixIds.length : 0;
    for (const seg of this.splitter.split(text)) n += typeof seg === 'number' ? 1 : this.engine.countSegment(seg);
    return n;
  }

  /** Text of some ids; invalid UTF-8 across token boundaries becomes U+FFFD, as in HF. */
  decode(ids: ArrayLike<number>, opts: DecodeOptions = {}): string {
    const { tokenBytes, tokenOffsets, idKind } = this.compiled;
    let size = 0;
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i]!;
      if (!Number.isInteger(id) || id < 0 || id >= this.vocabSize || idKind[id] === ID_ABSENT)
        throw new RangeError(`decode: ids[${i}] = ${id} is not a token id (vocabSize ${this.vocabSize})`);
      size += tokenOffsets[id + 1]! - tokenOffsets[id]!;
    }
    const bytes = new Uint8Array(size);
    let at = 0;
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i]!;
      if (opts.skipSpecialTokens && this.special.has(id)) continue;
      const piece = tokenBytes.subarray(tokenOffsets[id]!, tokenOffsets[id + 1]!);
      bytes.set(piece, at);
      at += piece.length;
    }
    return this.decoder.decode(bytes.subarray(0, at));
  }

  /** The token string of an id (byte-level form for vocabulary tokens), or undefined. */
  idToToken(id: number): string | undefined {
    const { tokenBytes, tokenOffsets, idKind } = this.compiled;
    if (!Number.isInteger(id) || id < 0 || id >= this.vocabSize || idKind[id] === ID_ABSENT) return undefined;
    const bytes = tokenBytes.subarray(tokenOffsets[id]!, tokenOffsets[id + 1]!);
    return idKind[id] === ID_BYTE_LEVEL ? bytesToByteLevel(bytes) : this.decoder.decode(bytes);
  }

  /** The id of a token string (byte-level form, or an added token's content), or undefined. */
  tokenToId(token: string): number | undefined {
    if (this.tokenIds === undefined) {
      // Built on first use: the hot paths never need strings.
      const ids = new Map<string, number>();
      for (let id = 0; id < this.vocabSize; id++) {
        const s = this.idToToken(id);
        if (s !== undefined) ids.set(s, id);
      }
      for (const t of this.compiled.addedTokens) ids.set(t.content, t.id);
      this.tokenIds = ids;
    }
    return this.tokenIds.get(token);
  }
}
