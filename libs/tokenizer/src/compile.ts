/* eslint-disable @typescript-eslint/no-non-null-assertion -- typed-array indexing in hot loops, bounds kept by the loops (noUncheckedIndexedAccess) */
/**
 * Compiles a TokenizerDefinition into flat typed arrays: everything the encoders need, with no
 * strings in the hot path. With `shared`, the arrays live in SharedArrayBuffers, so worker threads
 * get them without copying (structured clone shares the memory).
 */
import { BYTE_TO_CHAR, CHAR_TO_BYTE } from './byte-level';
import type { AddedToken, TokenizerDefinition } from './definition';
import { TokenizerLoadError } from './errors';

/** Kinds of ids in CompiledTokenizer.idKind. */
export const ID_ABSENT = 0;
/** A byte-level token: its string is the byte-level form of its bytes. */
export const ID_BYTE_LEVEL = 1;
/** A token with characters outside the byte-level alphabet (e.g. "<think>" is, "<｜User｜>" is not): its bytes are its UTF-8. */
export const ID_TEXT = 2;

/** Slots per entry of the merge table: left id, right id, rank, merged id. */
export const MERGE_STRIDE = 4;

export interface CompiledTokenizer {
  /** One past the largest id (vocabulary and added tokens). */
  vocabSize: number;
  /** Bytes of id i: tokenBytes[tokenOffsets[i] .. tokenOffsets[i + 1]). */
  tokenBytes: Uint8Array;
  tokenOffsets: Uint32Array;
  /** ID_ABSENT / ID_BYTE_LEVEL / ID_TEXT per id. */
  idKind: Uint8Array;
  /** Id of the single-byte token of each byte. */
  byteIds: Int32Array;
  /**
   * Open-addressing hash table of merges, MERGE_STRIDE slots per entry: (left, right, rank,
   * merged); left = -1 marks an empty entry. Size is a power of two; see mergeSlot().
   */
  merges: Int32Array;
  addedTokens: AddedToken[];
  nfc: boolean;
  prefixIds: number[];
  suffixIds: number[];
}

function nextPowerOfTwo(n: number): number {
  let p = 1;
  while (p < n) p *= 2;
  return p;
}

/** Hash of a pair of ids into a table of `mask + 1` entries. */
export function mergeHash(left: number, right: number, mask: number): number {
  return (Math.imul(left, 0x9e3779b1) ^ Math.imul(right + 0x7f4a7c15, 0x85ebca77)) & mask;
}

/** Index (in slots) of the entry of (left, right) in the merge table, or -1. */
export function mergeSlot(table: Int32Array, left: number, right: number): number {
  const mask = table.length / MERGE_STRIDE - 1;
  for (let h = mergeHash(left, right, mask); ; h = (h + 1) & mask) {
    const at = h * MERGE_STRIDE;
    const l = table[at]!;
    if (l === left && table[at + 1] === right) return at;
    if (l === -1) return -1;
  }
}

function alloc<T extends Uint8Array | Uint32Array | Int32Array>(
  Kind: { new (buffer: ArrayBufferLike): T; BYTES_PER_ELEMENT: number },
  length: number,
  shared: boolean,
): T {
  const buffer = shared ? new SharedArrayBuffer(length * Kind.BYTES_PER_ELEMENT) : new ArrayBuffer(length * Kind.BYTES_PER_ELEMENT);
  return new Kind(buffer);
}

const encoder = new TextEncoder();

/** Writes the bytes of a byte-level string at out[at..]; -1 (nothing meaningful written) if it is not one. */
function writeByteLevel(s: string, out: Uint8Array, at: number): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const b = CHAR_TO_BYTE.get(s.charCodeAt(i)); // the alphabet is all in the BMP
    if (b === undefined) return -1;
    out[at + n++] = b;
  }
  return n;
}

export function compile(def: TokenizerDefinition, shared = false): CompiledTokenizer {
  let vocabSize = 0;
  for (const id of def.vocab.values()) vocabSize = Math.max(vocabSize, id + 1);
  for (const t of def.addedTokens) vocabSize = Math.max(vocabSize, t.id + 1);

  // Bytes of every token: byte-level tokens decode to their bytes; others (added tokens such as
  // "<｜User｜>") to their UTF-8, as HF's ByteLevel decoder does. Written straight into one buffer:
  // no per-token arrays at load.
  const strings = new Array<string | undefined>(vocabSize);
  for (const [token, id] of def.vocab) strings[id] = token;
  for (const t of def.addedTokens) strings[t.id] = t.content;
  const idKind = alloc(Uint8Array, vocabSize, shared);
  const tokenOffsets = alloc(Uint32Array, vocabSize + 1, shared);
  let bytes = new Uint8Array(vocabSize * 8);
  let at = 0;
  for (let id = 0; id < vocabSize; id++) {
    tokenOffsets[id] = at;
    const s = strings[id];
    if (s === undefined) continue;
    if (bytes.length < at + 4 * s.length) {
      const bigger = new Uint8Array(Math.max(bytes.length * 2, at + 4 * s.length));
      bigger.set(bytes.subarray(0, at));
      bytes = bigger;
    }
    const n = writeByteLevel(s, bytes, at);
    if (n >= 0) {
      idKind[id] = ID_BYTE_LEVEL;
      at += n;
    } else {
      idKind[id] = ID_TEXT;
      at += encoder.encodeInto(s, bytes.subarray(at)).written;
    }
  }
  tokenOffsets[vocabSize] = at;
  const tokenBytes = alloc(Uint8Array, at, shared);
  tokenBytes.set(bytes.subarray(0, at));

  const byteIds = alloc(Int32Array, 256, shared);
  for (let b = 0; b < 256; b++) {
    const id = def.vocab.get(BYTE_TO_CHAR[b]!);
    if (id === undefined)
      throw new TokenizerLoadError(`the vocabulary has no token for byte 0x${b.toString(16)} ("${BYTE_TO_CHAR[b]}"): not a byte-level BPE`, def.modelFile);
    byteIds[b] = id;
  }

  // Load factor ≤ 0.6 keeps linear probing short.
  const count = def.merges.length / 3;
  const entries = nextPowerOfTwo(Math.ceil(Math.max(count, 1) / 0.6));
  const merges = alloc(Int32Array, entries * MERGE_STRIDE, shared);
  merges.fill(-1);
  const mask = entries - 1;
  for (let rank = 0; rank < count; rank++) {
    const left = def.merges[3 * rank]!;
    const right = def.merges[3 * rank + 1]!;
    let at = mergeHash(left, right, mask) * MERGE_STRIDE;
    // A repeated pair keeps its last rank, as HF's merge map does.
    while (merges[at] !== -1 && !(merges[at] === left && merges[at + 1] === right)) at = (at + MERGE_STRIDE) & (merges.length - 1);
    merges[at] = left;
    merges[at + 1] = right;
    merges[at + 2] = rank;
    merges[at + 3] = def.merges[3 * rank + 2]!;
  }

  return {
    vocabSize,
    tokenBytes,
    tokenOffsets,
    idKind,
    byteIds,
    merges,
    addedTokens: def.addedTokens,
    nfc: def.nfc,
    prefixIds: def.prefixIds,
    suffixIds: def.suffixIds,
  };
}
