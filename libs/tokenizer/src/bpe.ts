/* eslint-disable @typescript-eslint/no-non-null-assertion -- typed-array indexing in hot loops, bounds kept by the loops (noUncheckedIndexedAccess) */
/**
 * Byte-level BPE in TypeScript: the exact fallback when the native addon is absent.
 *
 * A piece's UTF-8 bytes start as single-byte tokens; merges are applied lowest rank first, and
 * among equal ranks leftmost first, through a binary heap of candidate pairs, as HF's
 * `Word::merge_all` does. Results are cached per piece string.
 */
import { mergeSlot, type CompiledTokenizer } from './compile';
import { CodePoints, pieceEnd, SCRATCH_KEPT } from './pretokenize';

/** Longer pieces are not cached (as in HF): rare, and costly to keep. */
const MAX_CACHED_PIECE = 256;

/** Growable list of ids that engines append to. */
export class IdList {
  ids = new Uint32Array(256);
  length = 0;

  push(id: number): void {
    if (this.length === this.ids.length) {
      const next = new Uint32Array(this.ids.length * 2);
      next.set(this.ids);
      this.ids = next;
    }
    this.ids[this.length++] = id;
  }

  pushAll(ids: Int32Array | Uint32Array | readonly number[]): void {
    for (let i = 0; i < ids.length; i++) this.push(ids[i]!);
  }

  toArray(): Uint32Array {
    return this.ids.slice(0, this.length);
  }
}

/** Encodes normalized text that holds no added tokens (a "segment"). */
export interface SegmentEngine {
  countSegment(text: string): number;
  encodeSegment(text: string, out: IdList): void;
}

const RANK_SCALE = 2 ** 32; // heap key = rank * RANK_SCALE + position: ranks first, then leftmost

export class TsBpeEngine implements SegmentEngine {
  private readonly cache = new Map<string, number[]>();
  private readonly cp = new CodePoints();
  private bytes = new Uint8Array(4096);
  private readonly encoder = new TextEncoder();
  // Scratch for one piece: symbol ids, links, and per position a version that changes whenever
  // the pair starting there changes, so that a candidate of the heap is valid iff its version is
  // current (no lookup to check it). The heap holds candidates as key = rank * RANK_SCALE +
  // position (lowest rank, then leftmost, first) with the merged id and version beside.
  private sym = new Int32Array(256);
  private next = new Int32Array(256);
  private prev = new Int32Array(256);
  private version = new Int32Array(256);
  private heap = new Float64Array(256);
  private heapMerged = new Int32Array(256);
  private heapVersion = new Int32Array(256);
  private readonly byteIds: Int32Array;
  private readonly merges: Int32Array;
  /** Rank and merged id of every pair of single-byte tokens (index = b1 << 8 | b2), rank -1 if none. */
  private readonly pairRank = new Int32Array(65536).fill(-1);
  private readonly pairMerged = new Int32Array(65536);

  constructor(
    t: CompiledTokenizer,
    /** Pieces whose ids are kept (the cache is emptied when full). */
    private readonly cacheSize: number,
  ) {
    // Private copies of the hot tables: V8 reads SharedArrayBuffer-backed arrays (as the pool's
    // workers receive them) about a third slower.
    this.byteIds = t.byteIds.buffer instanceof SharedArrayBuffer ? new Int32Array(t.byteIds) : t.byteIds;
    this.merges = t.merges.buffer instanceof SharedArrayBuffer ? new Int32Array(t.merges) : t.merges;
    for (let pair = 0; pair < 65536; pair++) {
      const slot = mergeSlot(this.merges, this.byteIds[pair >> 8]!, this.byteIds[pair & 255]!);
      if (slot >= 0) {
        this.pairRank[pair] = this.merges[slot + 2]!;
        this.pairMerged[pair] = this.merges[slot + 3]!;
      }
    }
  }

  countSegment(text: string): number {
    let count = 0;
    this.forEachPiece(text, (ids) => (count += ids.length));
    return count;
  }

  encodeSegment(text: string, out: IdList): void {
    this.forEachPiece(text, (ids) => out.pushAll(ids));
  }

  private forEachPiece(text: string, emit: (ids: readonly number[]) => void): void {
    const cp = this.cp;
    cp.load(text);
    if (this.bytes.length < cp.utf8[cp.n]!) this.bytes = new Uint8Array(cp.utf8[cp.n]! * 2);
    let encoded = false;
    for (let k = 0; k < cp.n; ) {
      const end = pieceEnd(cp, k);
      const key = text.slice(cp.utf16[k], cp.utf16[end]);
      let ids = this.cache.get(key);
      if (ids === undefined) {
        if (!encoded) {
          this.encoder.encodeInto(text, this.bytes);
          encoded = true;
        }
        ids = this.bpe(this.bytes, cp.utf8[k]!, cp.utf8[end]!);
        if (this.cacheSize > 0 && key.length <= MAX_CACHED_PIECE) {
          if (this.cache.size >= this.cacheSize) this.cache.clear();
          this.cache.set(key, ids);
        }
      }
      emit(ids);
      k = end;
    }
    if (this.bytes.length > 4 * SCRATCH_KEPT) this.bytes = new Uint8Array(4096);
    cp.shrink();
  }

  /** BPE of bytes[start, end). */
  bpe(bytes: Uint8Array, start: number, end: number): number[] {
    const n = end - start;
    const { byteIds, merges, pairRank, pairMerged } = this;
    if (n === 1) return [byteIds[bytes[start]!]!];
    if (this.sym.length < n) this.growScratch(n);
    const { sym, next, prev, version } = this;
    for (let i = 0; i < n; i++) {
      sym[i] = byteIds[bytes[start + i]!]!;
      next[i] = i + 1 < n ? i + 1 : -1;
      prev[i] = i - 1;
      version[i] = 0;
    }
    let size = 0;
    for (let i = 0; i + 1 < n; i++) {
      const pair = (bytes[start + i]! << 8) | bytes[start + i + 1]!;
      const rank = pairRank[pair]!;
      if (rank >= 0) size = this.push(size, rank * RANK_SCALE + i, pairMerged[pair]!, 0);
    }
    while (size > 0) {
      const top = this.heap[0]!;
      const merged = this.heapMerged[0]!;
      const seen = this.heapVersion[0]!;
      size = this.pop(size);
      const pos = top % RANK_SCALE;
      // Stale: merged into its left neighbour, or its pair changed since (see `version`).
      if (sym[pos] === -1 || version[pos] !== seen) continue;
      const right = next[pos]!;
      sym[pos] = merged;
      sym[right] = -1;
      const after = next[right]!;
      next[pos] = after;
      if (after !== -1) prev[after] = pos;
      const before = prev[pos]!;
      version[pos]++;
      if (before !== -1) {
        const v = ++version[before]!;
        const s = mergeSlot(merges, sym[before]!, merged);
        if (s >= 0) size = this.push(size, merges[s + 2]! * RANK_SCALE + before, merges[s + 3]!, v);
      }
      if (after !== -1) {
        const s = mergeSlot(merges, merged, sym[after]!);
        if (s >= 0) size = this.push(size, merges[s + 2]! * RANK_SCALE + pos, merges[s + 3]!, version[pos]!);
      }
    }
    // A plain array: in the cache it takes about half the memory of a typed array.
    const out: number[] = [];
    for (let i = 0; i !== -1; i = next[i]!) out.push(sym[i]!);
    if (this.sym.length > SCRATCH_KEPT) this.resetScratch();
    return out;
  }

  private resetScratch(): void {
    this.sym = new Int32Array(256);
    this.next = new Int32Array(256);
    this.prev = new Int32Array(256);
    this.version = new Int32Array(256);
    this.heap = new Float64Array(256);
    this.heapMerged = new Int32Array(256);
    this.heapVersion = new Int32Array(256);
  }

  private growScratch(n: number): void {
    const size = Math.max(n, this.sym.length * 2);
    this.sym = new Int32Array(size);
    this.next = new Int32Array(size);
    this.prev = new Int32Array(size);
    this.version = new Int32Array(size);
  }

  /** Adds a candidate merge (key = rank * RANK_SCALE + position) to the heap; returns the new size. */
  private push(size: number, key: number, merged: number, version: number): number {
    if (size === this.heap.length) {
      const grow = <T extends Float64Array | Int32Array>(a: T, b: T): T => (b.set(a), b);
      this.heap = grow(this.heap, new Float64Array(size * 2));
      this.heapMerged = grow(this.heapMerged, new Int32Array(size * 2));
      this.heapVersion = grow(this.heapVersion, new Int32Array(size * 2));
    }
    const { heap, heapMerged, heapVersion } = this;
    let i = size;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (heap[parent]! <= key) break;
      heap[i] = heap[parent]!;
      heapMerged[i] = heapMerged[parent]!;
      heapVersion[i] = heapVersion[parent]!;
      i = parent;
    }
    heap[i] = key;
    heapMerged[i] = merged;
    heapVersion[i] = version;
    return size + 1;
  }

  /** Removes the smallest candidate; returns the new size. */
  private pop(size: number): number {
    const { heap, heapMerged, heapVersion } = this;
    const last = --size;
    const key = heap[last]!;
    let i = 0;
    for (;;) {
      let child = 2 * i + 1;
      if (child >= size) break;
      if (child + 1 < size && heap[child + 1]! < heap[child]!) child++;
      if (heap[child]! >= key) break;
      heap[i] = heap[child]!;
      heapMerged[i] = heapMerged[child]!;
      heapVersion[i] = heapVersion[child]!;
      i = child;
    }
    if (size > 0) {
      heap[i] = key;
      heapMerged[i] = heapMerged[last]!;
      heapVersion[i] = heapVersion[last]!;
    }
    return size;
  }
}

