//! Qwen2 pre-tokenization and byte-level BPE over tables compiled by the TypeScript side
//! (libs/tokenizer/src/compile.ts). The algorithms mirror src/pretokenize.ts and src/bpe.ts
//! step by step; both are checked against HF tokenizers by the same tests.

use rustc_hash::FxHashMap;
use std::cmp::Reverse;
use std::collections::BinaryHeap;

pub const OTHER: u8 = 0;
pub const LETTER: u8 = 1;
pub const NUMBER: u8 = 2;
pub const SPACE: u8 = 3;
pub const NEWLINE: u8 = 4;

/// Slots per merge-table entry: left id, right id, rank, merged id (see compile.ts).
const MERGE_STRIDE: usize = 4;
/// Longer pieces are not cached (as in HF): rare, and costly to keep.
const MAX_CACHED_PIECE: usize = 256;
/// Scratch capacity kept between texts; larger buffers are released after use.
const SCRATCH_KEPT: usize = 1 << 16;

pub struct Engine {
    /// Class of every code point (0x110000 entries).
    classes: Vec<u8>,
    byte_ids: [u32; 256],
    merges: Vec<i32>,
    mask: u32,
    cache: FxHashMap<Box<[u8]>, Box<[u32]>>,
    cache_size: usize,
    // Scratch, reused between calls.
    cps: Vec<u32>,
    cls: Vec<u8>,
    offsets: Vec<u32>,
    sym: Vec<i32>,
    next: Vec<i32>,
    prev: Vec<i32>,
    heap: BinaryHeap<Reverse<Candidate>>,
    /// (rank << 32 | merged id) of every pair of single-byte tokens, u64::MAX when they do not merge:
    /// the first round of lookups of every piece, without hashing.
    byte_pairs: Vec<u64>,
    piece: Vec<u32>,
}

#[derive(Debug)]
pub struct TableError(pub String);

/// A pair that may merge: ordered by rank, then position (leftmost first); it is still valid when
/// the symbols at `pos` and after it are still `left` and `right` (a token id names one byte
/// string, and a position's symbol only ever grows, so equal ids mean an unchanged pair).
#[derive(PartialEq, Eq, PartialOrd, Ord, Clone, Copy)]
struct Candidate {
    key: u64, // rank << 32 | pos
    left: i32,
    right: i32,
    merged: i32,
}

fn merge_hash(left: i32, right: i32, mask: u32) -> u32 {
    // Same function as compile.ts's mergeHash (Math.imul is a wrapping 32-bit multiply).
    let a = (left as u32).wrapping_mul(0x9e37_79b1);
    let b = (right as u32).wrapping_add(0x7f4a_7c15).wrapping_mul(0x85eb_ca77);
    (a ^ b) & mask
}

impl Engine {
    pub fn new(classes: Vec<u8>, byte_ids: &[i32], merges: Vec<i32>, cache_size: usize) -> Result<Engine, TableError> {
        if classes.len() != 0x110000 {
            return Err(TableError(format!("classes must have 0x110000 entries, got {}", classes.len())));
        }
        if byte_ids.len() != 256 || byte_ids.iter().any(|&id| id < 0) {
            return Err(TableError("byteIds must hold 256 non-negative ids".into()));
        }
        let entries = merges.len() / MERGE_STRIDE;
        if merges.len() % MERGE_STRIDE != 0 || !entries.is_power_of_two() {
            return Err(TableError("merges must be a power-of-two table of 4-slot entries".into()));
        }
        let mut ids = [0u32; 256];
        for (i, &id) in byte_ids.iter().enumerate() {
            ids[i] = id as u32;
        }
        let mut engine = Engine {
            classes,
            byte_ids: ids,
            merges,
            mask: (entries - 1) as u32,
            cache: FxHashMap::default(),
            cache_size,
            cps: Vec::new(),
            cls: Vec::new(),
            offsets: Vec::new(),
            sym: Vec::new(),
            next: Vec::new(),
            prev: Vec::new(),
            heap: BinaryHeap::new(),
            byte_pairs: Vec::new(),
            piece: Vec::new(),
        };
        let mut byte_pairs = vec![u64::MAX; 256 * 256];
        for a in 0..256 {
            for b in 0..256 {
                if let Some((rank, merged)) = engine.merge(ids[a] as i32, ids[b] as i32) {
                    byte_pairs[a * 256 + b] = ((rank as u64) << 32) | merged as u32 as u64;
                }
            }
        }
        engine.byte_pairs = byte_pairs;
        Ok(engine)
    }

    /// (rank, merged id) of the pair, if it merges.
    #[inline]
    fn merge(&self, left: i32, right: i32) -> Option<(u32, i32)> {
        let mut h = merge_hash(left, right, self.mask) as usize;
        loop {
            let at = h * MERGE_STRIDE;
            let l = self.merges[at];
            if l == left && self.merges[at + 1] == right {
                return Some((self.merges[at + 2] as u32, self.merges[at + 3]));
            }
            if l == -1 {
                return None;
            }
            h = (h + 1) & self.mask as usize;
        }
    }

    fn load(&mut self, text: &str) {
        self.cps.clear();
        self.cls.clear();
        self.offsets.clear();
        for (i, ch) in text.char_indices() {
            let cp = ch as u32;
            self.cps.push(cp);
            self.cls.push(self.classes[cp as usize]);
            self.offsets.push(i as u32);
        }
        self.offsets.push(text.len() as u32);
    }

    /// Number of tokens of a normalized segment (no added tokens in it).
    pub fn count(&mut self, text: &str) -> u32 {
        let mut n = 0u32;
        self.for_each_piece(text, |ids| n += ids.len() as u32);
        n
    }

    /// Appends the ids of a normalized segment to out.
    pub fn encode(&mut self, text: &str, out: &mut Vec<u32>) {
        self.for_each_piece(text, |ids| out.extend_from_slice(ids));
    }

    fn for_each_piece(&mut self, text: &str, mut emit: impl FnMut(&[u32])) {
        self.load(text);
        let bytes = text.as_bytes();
        let n = self.cps.len();
        let mut k = 0;
        while k < n {
            let end = piece_end(&self.cps, &self.cls, k);
            let piece = &bytes[self.offsets[k] as usize..self.offsets[end] as usize];
            k = end;
            if piece.len() == 1 {
                emit(&[self.byte_ids[piece[0] as usize]]);
                continue;
            }
            if let Some(ids) = self.cache.get(piece) {
                emit(ids);
                continue;
            }
            let mut ids = std::mem::take(&mut self.piece);
            self.bpe(piece, &mut ids);
            emit(&ids);
            if self.cache_size > 0 && piece.len() <= MAX_CACHED_PIECE {
                if self.cache.len() >= self.cache_size {
                    self.cache.clear();
                }
                self.cache.insert(piece.into(), ids.as_slice().into());
            }
            self.piece = ids;
        }
        self.shrink_scratch();
    }

    /// Releases buffers grown for a very long text, so that one such text does not pin the memory.
    fn shrink_scratch(&mut self) {
        if self.cps.capacity() > SCRATCH_KEPT {
            self.cps = Vec::new();
            self.cls = Vec::new();
            self.offsets = Vec::new();
        }
        if self.sym.capacity() > SCRATCH_KEPT {
            self.sym = Vec::new();
            self.next = Vec::new();
            self.prev = Vec::new();
            self.heap = BinaryHeap::new();
            self.piece = Vec::new();
        }
    }

    /// BPE of one piece's bytes: lowest rank first, then leftmost, as HF's Word::merge_all.
    fn bpe(&mut self, piece: &[u8], out: &mut Vec<u32>) {
        let n = piece.len();
        out.clear();
        let (mut sym, mut next, mut prev) = (std::mem::take(&mut self.sym), std::mem::take(&mut self.next), std::mem::take(&mut self.prev));
        sym.clear();
        next.clear();
        prev.clear();
        for (i, &b) in piece.iter().enumerate() {
            sym.push(self.byte_ids[b as usize] as i32);
            next.push(if i + 1 < n { i as i32 + 1 } else { -1 });
            prev.push(i as i32 - 1);
        }
        let mut heap = std::mem::take(&mut self.heap);
        heap.clear();
        for i in 0..n - 1 {
            let pair = self.byte_pairs[(piece[i] as usize) << 8 | piece[i + 1] as usize];
            if pair != u64::MAX {
                let key = (pair & !0xffff_ffff) | i as u64;
                heap.push(Reverse(Candidate { key, left: sym[i], right: sym[i + 1], merged: pair as u32 as i32 }));
            }
        }
        while let Some(Reverse(top)) = heap.pop() {
            let pos = (top.key & 0xffff_ffff) as usize;
            let right = next[pos];
            if sym[pos] != top.left || right == -1 || sym[right as usize] != top.right {
                continue; // stale: the pair changed since
            }
            let right = right as usize;
            let merged = top.merged;
            sym[pos] = merged;
            sym[right] = -1;
            let after = next[right];
            next[pos] = after;
            if after != -1 {
                prev[after as usize] = pos as i32;
            }
            let before = prev[pos];
            if before != -1 {
                let left = sym[before as usize];
                if let Some((r, m)) = self.merge(left, merged) {
                    heap.push(Reverse(Candidate { key: ((r as u64) << 32) | before as u64, left, right: merged, merged: m }));
                }
            }
            if after != -1 {
                let right = sym[after as usize];
                if let Some((r, m)) = self.merge(merged, right) {
                    heap.push(Reverse(Candidate { key: ((r as u64) << 32) | pos as u64, left: merged, right, merged: m }));
                }
            }
        }
        let mut i = 0i32;
        while i != -1 {
            out.push(sym[i as usize] as u32);
            i = next[i as usize];
        }
        self.sym = sym;
        self.next = next;
        self.prev = prev;
        self.heap = heap;
    }
}

fn is_s(c: u32) -> bool {
    c == 0x73 || c == 0x53 || c == 0x17f // s S ſ (Unicode case folding)
}
fn is_e(c: u32) -> bool {
    c == 0x65 || c == 0x45
}
fn is_l(c: u32) -> bool {
    c == 0x6c || c == 0x4c
}

/// Length after the apostrophe of a contraction ('s 't 're 've 'm 'll 'd, any case) at k, or 0.
fn contraction(cps: &[u32], k: usize) -> usize {
    let a = cps[k];
    if is_s(a) || matches!(a, 0x74 | 0x54 | 0x6d | 0x4d | 0x64 | 0x44) {
        return 1;
    }
    if k + 1 >= cps.len() {
        return 0;
    }
    let b = cps[k + 1];
    if matches!(a, 0x72 | 0x52 | 0x76 | 0x56) && is_e(b) {
        return 2;
    }
    if is_l(a) && is_l(b) {
        return 2;
    }
    0
}

/// End (exclusive, in code points) of the piece that starts at code point k: the Qwen2 split
/// regex's alternatives in order (see pretokenize.ts for the pattern).
pub fn piece_end(cps: &[u32], cls: &[u8], k: usize) -> usize {
    let n = cps.len();
    let c = cls[k];
    let ch = cps[k];
    if ch == 0x27 && k + 1 < n {
        let m = contraction(cps, k + 1);
        if m > 0 {
            return k + 1 + m;
        }
    }
    if c == LETTER || (c != NEWLINE && c != NUMBER && k + 1 < n && cls[k + 1] == LETTER) {
        let mut j = k + 1;
        while j < n && cls[j] == LETTER {
            j += 1;
        }
        return j;
    }
    if c == NUMBER {
        return k + 1;
    }
    if c == OTHER || (ch == 0x20 && k + 1 < n && cls[k + 1] == OTHER) {
        let mut j = k + 1;
        while j < n && cls[j] == OTHER {
            j += 1;
        }
        while j < n && cls[j] == NEWLINE {
            j += 1;
        }
        return j;
    }
    let mut last_newline = usize::MAX;
    let mut j = k;
    while j < n && cls[j] >= SPACE {
        if cls[j] == NEWLINE {
            last_newline = j;
        }
        j += 1;
    }
    if last_newline != usize::MAX {
        return last_newline + 1;
    }
    if j == n || j - k == 1 {
        return j;
    }
    j - 1
}
