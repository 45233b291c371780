/**
 * The metric log on MongoDB / FerretDB v1: an inbox written with one insertMany per batch, and a
 * collection per run that the inbox is compacted into.
 *
 * Why both (bench/tracking/README.md): FerretDB v1 reads a whole collection for any query (even
 * `{_id}`), and spends about a millisecond per insert command. Chunks of every run in one
 * collection are cheap to write (one command per batch) but every history read would scan every
 * run's data; one collection per run keeps reads to the run's own data but costs an insert per
 * run per batch. So batches go to the small shared inbox, and every few seconds each run's inbox
 * chunks are merged into one document of the run's collection and removed from the inbox.
 *
 * - `metric_inbox` {_id: "<run>|<seq, 10 digits>", r: run, q: seq, at, s: [{k, n, st, v, t}]}
 *   One document per run per batch. The unique _id is the compare-and-set of appends
 *   (core/metrics/types.ts) for as long as the chunk is in the inbox; older chunk numbers are
 *   protected by the single-writer rule of FerretDB deployments (one service process per
 *   database), under which the writer's view of a run is always complete.
 * - `metrics.<run>` {_id: first seq (10 digits), e: last seq, at, s: [{k, n, st, v, t, q}]}: one
 *   document per compaction of the run; `q` holds each point's original chunk number, so a read
 *   "after chunk n" can start inside a merged document.
 *
 * st / v / t / q are packed little-endian float64 (BSON binary): FerretDB keeps a type per array
 * element, and packing made writes 1.4-3x and history reads ~3x faster.
 *
 * Crash safety: compaction inserts the merged document before deleting the inbox chunks, and
 * readers read the inbox before the run's collection and drop inbox chunks the collection already
 * holds, so a reader never misses a point and never sees one twice; a compaction that died halfway
 * is finished by the next one (the merged document's _id makes its insert idempotent).
 */
import { endianness } from 'node:os';
import { Binary, MongoBulkWriteError, type Db } from 'mongodb';
import { isDuplicateKeyError, type Logger } from '@medtune/kit';
import { lastSeqOf, type ChunkSeries, type MetricChunk, type MetricLogStore } from '../core/metrics/types';

/** Collection of a run's compacted metric log. */
export function metricLogCollection(runId: string): string {
  return `metrics.${runId}`;
}

/** The shared inbox of recent chunks. */
export const METRIC_INBOX = 'metric_inbox';

/** Packed series as stored; `q` (each point's chunk number) only in compacted documents. */
interface SeriesDoc {
  k: string;
  n: number;
  st: Binary;
  v: Binary;
  t: Binary;
  q?: Binary;
}

/** A chunk in the inbox. */
export interface InboxDoc {
  _id: string;
  r: string;
  q: number;
  at: number;
  s: SeriesDoc[];
}

/** Merged chunks in a run's collection. */
export interface CompactedDoc {
  _id: string;
  e: number;
  at: number;
  s: SeriesDoc[];
}

const SEQ_DIGITS = 10;
const seqId = (seq: number): string => String(seq).padStart(SEQ_DIGITS, '0');
const inboxId = (runId: string, seq: number): string => `${runId}|${seqId(seq)}`;

// Float64Array is in the platform's byte order; every platform Node runs medtune on is little-endian.
if (endianness() !== 'LE') throw new Error('the metric log encoding assumes a little-endian platform');

function pack(values: readonly number[]): Binary {
  return new Binary(Buffer.from(Float64Array.from(values).buffer));
}

function unpack(b: Binary, n: number, field: string): number[] {
  const bytes = b.buffer;
  if (bytes.byteLength !== n * 8) throw new Error(`metric chunk: ${field} holds ${bytes.byteLength} bytes, ${n * 8} expected`);
  // Copy: the bytes may not be 8-byte aligned inside the driver's buffer.
  return Array.from(new Float64Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength)));
}

function packSeries(s: ChunkSeries, seqs?: readonly number[]): SeriesDoc {
  const doc: SeriesDoc = { k: s.key, n: s.steps.length, st: pack(s.steps), v: pack(s.values), t: pack(s.times) };
  if (seqs) doc.q = pack(seqs);
  return doc;
}

/** The inbox form of a chunk. */
export function encodeInbox(c: MetricChunk): InboxDoc {
  return { _id: inboxId(c.runId, c.seq), r: c.runId, q: c.seq, at: c.storedAt, s: c.series.map((s) => packSeries(s)) };
}

/** A chunk from its inbox form. */
export function decodeInbox(d: InboxDoc): MetricChunk {
  return { runId: d.r, seq: d.q, storedAt: d.at, series: d.s.map((s) => ({ key: s.k, steps: unpack(s.st, s.n, 'st'), values: unpack(s.v, s.n, 'v'), times: unpack(s.t, s.n, 't') })) };
}

/** Merges consecutive chunks of one run into one compacted document. */
export function encodeCompacted(chunks: readonly MetricChunk[]): CompactedDoc {
  const byKey = new Map<string, { steps: number[]; values: number[]; times: number[]; seqs: number[] }>();
  for (const c of chunks) {
    for (const s of c.series) {
      let m = byKey.get(s.key);
      if (!m) byKey.set(s.key, (m = { steps: [], values: [], times: [], seqs: [] }));
      for (let i = 0; i < s.steps.length; i++) {
        m.steps.push(s.steps[i]!);
        m.values.push(s.values[i]!);
        m.times.push(s.times[i]!);
        m.seqs.push(c.seq);
      }
    }
  }
  return {
    _id: seqId(chunks[0]!.seq),
    e: lastSeqOf(chunks[chunks.length - 1]!),
    at: chunks[chunks.length - 1]!.storedAt,
    s: [...byKey].map(([key, m]) => packSeries({ key, steps: m.steps, values: m.values, times: m.times }, m.seqs)),
  };
}

/** The points of a compacted document appended after chunk `afterSeq`, as one chunk (undefined if none). */
export function decodeCompacted(runId: string, d: CompactedDoc, afterSeq: number): MetricChunk | undefined {
  const first = Number(d._id);
  if (d.e <= afterSeq) return undefined;
  const series: ChunkSeries[] = [];
  for (const s of d.s) {
    const steps = unpack(s.st, s.n, 'st');
    const values = unpack(s.v, s.n, 'v');
    const times = unpack(s.t, s.n, 't');
    if (first > afterSeq || !s.q) {
      series.push({ key: s.k, steps, values, times });
      continue;
    }
    const seqs = unpack(s.q, s.n, 'q');
    const keep = (_: number, i: number) => seqs[i]! > afterSeq;
    const kept = { key: s.k, steps: steps.filter(keep), values: values.filter(keep), times: times.filter(keep) };
    if (kept.steps.length) series.push(kept);
  }
  return { runId, seq: Math.max(first, afterSeq + 1), seqEnd: d.e, storedAt: d.at, series };
}

/** When a run's inbox chunks are compacted. */
export interface CompactionPolicy {
  /** Compact a run once its inbox chunks hold this many points... */
  readonly minPoints: number;
  /** ...or once its oldest inbox chunk is this old (ms). */
  readonly maxAgeMs: number;
}

/**
 * The metric log (see the file comment). Appends and compaction go through `db` (the writer's
 * connection); reads may use `readDb`, so a long history read does not hold up ingestion.
 */
export class MongoMetricLog implements MetricLogStore {
  constructor(
    private readonly db: Db,
    private readonly readDb: Db = db,
    private readonly log?: Logger,
  ) {}

  private inbox(db: Db) {
    return db.collection<InboxDoc>(METRIC_INBOX);
  }

  private runCollection(db: Db, runId: string) {
    return db.collection<CompactedDoc>(metricLogCollection(runId));
  }

  async read(runId: string, afterSeq = -1): Promise<MetricChunk[]> {
    // The inbox first: a compaction in between then shows up twice (deduplicated below), never not at all.
    const recent = await this.inbox(this.readDb).find({ r: runId }).toArray();
    const compacted = await this.runCollection(this.readDb, runId).find({}).toArray();
    compacted.sort((a, b) => (a._id < b._id ? -1 : 1));
    const out: MetricChunk[] = [];
    let upTo = afterSeq;
    for (const d of compacted) {
      const c = decodeCompacted(runId, d, upTo);
      if (c) out.push(c);
      upTo = Math.max(upTo, d.e);
    }
    recent.sort((a, b) => a.q - b.q);
    for (const d of recent) if (d.q > upTo) out.push(decodeInbox(d));
    return out;
  }

  async lastSeq(runId: string): Promise<number> {
    let max = -1;
    for (const d of await this.inbox(this.readDb).find({ r: runId }, { projection: { q: 1 } }).toArray()) max = Math.max(max, d.q);
    for (const d of await this.runCollection(this.readDb, runId).find({}, { projection: { e: 1 } }).toArray()) max = Math.max(max, d.e);
    return max;
  }

  async append(chunks: readonly MetricChunk[]): Promise<{ conflicts: readonly MetricChunk[] }> {
    if (!chunks.length) return { conflicts: [] };
    try {
      await this.inbox(this.db).insertMany(chunks.map(encodeInbox), { ordered: false });
      return { conflicts: [] };
    } catch (err) {
      if (!(err instanceof MongoBulkWriteError) || !isDuplicateKeyError(err)) throw err;
      const failed = Array.isArray(err.writeErrors) ? err.writeErrors : [err.writeErrors];
      return { conflicts: failed.map((w) => chunks[w.index]!) };
    }
  }

  /**
   * Moves inbox chunks into their runs' collections: for each run whose inbox chunks are due
   * (policy), one merged document of its consecutive chunks, then their removal from the inbox.
   * Returns the number of chunks moved.
   */
  async compact(policy: CompactionPolicy, now = Date.now()): Promise<number> {
    const docs = await this.inbox(this.db).find({}).toArray();
    const byRun = new Map<string, InboxDoc[]>();
    for (const d of docs) {
      const list = byRun.get(d.r);
      if (list) list.push(d);
      else byRun.set(d.r, [d]);
    }
    let moved = 0;
    for (const [runId, list] of byRun) {
      list.sort((a, b) => a.q - b.q);
      const points = list.reduce((n, d) => n + d.s.reduce((m, s) => m + s.n, 0), 0);
      if (points < policy.minPoints && now - list[0]!.at < policy.maxAgeMs) continue;
      try {
        moved += await this.compactRun(runId, list);
      } catch (err) {
        this.log?.warn({ err, runId }, 'metric log compaction failed for a run; retried next time');
      }
    }
    return moved;
  }

  private async compactRun(runId: string, inboxDocs: InboxDoc[]): Promise<number> {
    const col = this.runCollection(this.db, runId);
    let done = -1;
    for (const d of await col.find({}, { projection: { e: 1 } }).toArray()) done = Math.max(done, d.e);
    // What an earlier (perhaps interrupted) compaction moved already only needs removing.
    const stale = inboxDocs.filter((d) => d.q <= done);
    const pending: InboxDoc[] = [];
    for (const d of inboxDocs) {
      if (d.q <= done) continue;
      if (d.q !== (pending.length ? pending[pending.length - 1]!.q : done) + 1) break; // only consecutive chunks
      pending.push(d);
    }
    if (pending.length) {
      try {
        await col.insertOne(encodeCompacted(pending.map(decodeInbox)));
      } catch (err) {
        if (!isDuplicateKeyError(err)) throw err;
        // Not reachable with one writer (done was read above); leave the inbox as it is.
        return 0;
      }
    }
    const remove = [...stale, ...pending].map((d) => d._id);
    if (remove.length) await this.inbox(this.db).deleteMany({ _id: { $in: remove } });
    return pending.length;
  }
}
