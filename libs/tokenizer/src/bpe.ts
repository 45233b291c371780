/* eslint-disable @typescript-eslint/no-non-null-assertion -- typed-array indexing in hot loops, bounds kept by the loops (noUncheckedIndexedAccess) */
/**
 * Byte-level BPE in TypeScript: the exact fallback when the native addon is absent.
 *
 * A piece's UTF-8 bytes start as single-byte tokens; merges are applied lowest rank first, and
 * among equal ranks leftmost first, through a binary heap of candidate pairs, as HF's
 * `Word::merge_all` does. Results are cached per piece string.
 */
import { mergeSlot, type CompiledTokenizer } from './compile';
import { CodePoints, pieceEnd } from './pretokenize';

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
  private readonly cache = new Map<string, Int32Array>();
  private readonly cp = new CodePoints();
  private bytes = new Uint8Array(4096);
  private readonly encoder = new TextEncoder();
  // Scratch for one piece: symbol ids and links, and the heap of candidate merges.
  private sym = new Int32Array(256);
  private next = new Int32Array(256);
  private prev = new Int32Array(256);
  private heap = new Float64Array(256);
  private readonly byteIds: Int32Array;
  private readonly merges: Int32Array;

  constructor(
    t: CompiledTokenizer,
    private readonly cacheSize = 100_000,
  ) {
    // Private copies of the hot tables: V8 reads SharedArrayBuffer-backed arrays (as the pool's
    // workers receive them) about a third slower.
    this.byteIds = t.byteIds.buffer instanceof SharedArrayBuffer ? new Int32Array(t.byteIds) : t.byteIds;
    this.merges = t.merges.buffer instanceof SharedArrayBuffer ? new Int32Array(t.merges) : t.merges;
  }

  countSegment(text: string): number {
    let count = 0;
    this.forEachPiece(text, (ids) => (count += ids.length));
    return count;
  }

  encodeSegment(text: string, out: IdList): void {
    this.forEachPiece(text, (ids) => out.pushAll(ids));
  }

  private forEachPiece(text: string, emit: (ids: Int32Array) => void): void {
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
        if (this.cache.size >= this.cacheSize) this.cache.clear();
        this.cache.set(key, ids);
      }
      emit(ids);
      k = end;
    }
  }

  /** BPE of bytes[start, end). */
  bpe(bytes: Uint8Array, start: number, end: number): Int32Array {
    const n = end - start;
    const { byteIds, merges } = this;
    if (n === 1) return Int32Array.of(byteIds[bytes[start]!]!);
    if (this.sym.length < n) this.growScratch(n);
    const { sym, next, prev } = this;
    for (let i = 0; i < n; i++) {
      sym[i] = byteIds[bytes[start + i]!]!;
      next[i] = i + 1 < n ? i + 1 : -1;
      prev[i] = i - 1;
    }
    let size = 0;
    for (let i = 0; i + 1 < n; i++) {
      const slot = mergeSlot(merges, sym[i]!, sym[i + 1]!);
      if (slot >= 0) size = this.push(size, merges[slot + 2]! * RANK_SCALE + i);
    }
    let live = n;
    while (size > 0) {
      const top = this.heap[0]!;
      size = this.pop(size);
      const rank = Math.floor(top / RANK_SCALE);
      const pos = top - rank * RANK_SCALE;
      if (sym[pos] === -1) continue; // merged into its left neighbour since
      const right = next[pos]!;
      if (right === -1) continue;
      const slot = mergeSlot(merges, sym[pos]!, sym[right]!);
      if (slot < 0 || merges[slot + 2] !== rank) continue; // stale: the pair changed since
      sym[pos] = merges[slot + 3]!;
      sym[right] = -1;
      live--;
      const after = next[right]!;
      next[pos] = after;
      if (after !== -1) prev[after] = pos;
      const before = prev[pos]!;
      if (before !== -1) {
        const s = mergeSlot(merges, sym[before]!, sym[pos]!);
        if (s >= 0) size = this.push(size, merges[s + 2]! * RANK_SCALE + before);
      }
      if (after !== -1) {
        const s = mergeSlot(merges, sym[pos]!, sym[after]!);
        if (s >= 0) size = this.push(size, merges[s + 2]! * RANK_SCALE + pos);
      }
    }
    const out = new Int32Array(live);
    for (let i = 0, j = 0; i !== -1; i = next[i]!) out[j++] = sym[i]!;
    return out;
  }

  private growScratch(n: number): void {
    const size = Math.max(n, this.sym.length * 2);
    this.sym = new Int32Array(size);
    this.next = new Int32Array(size);
    this.prev = new Int32Array(size);
    const heap = new Float64Array(size * 2);
    this.heap = heap;
  }

  private push(size: number, key: number): number {
    if (size === this.heap.length) {
      const bigger = new Float64Array(size * 2);
      bigger.set(this.heap);
      this.heap = bigger;
    }
    const heap = this.heap;
    let i = size;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (heap[parent]! <= key) break;
      heap[i] = heap[parent]!;
      i = parent;
    }
    heap[i] = key;
    return size + 1;
  }

  private pop(size: number): number {
    const heap = this.heap;
    const last = heap[--size]!;
    let i = 0;
    for (;;) {
      let child = 2 * i + 1;
      if (child >= size) break;
      if (child + 1 < size && heap[child + 1]! < heap[child]!) child++;
      if (heap[child]! >= last) break;
      heap[i] = heap[child]!;
      i = child;
    }
    if (size > 0) heap[i] = last;
    return size;
  }
}

