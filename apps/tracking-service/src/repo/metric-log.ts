/**
 * The metric log on MongoDB / FerretDB v1: one collection per run, `metrics.<run id>`, one
 * document per chunk: {_id: the chunk number, 10 digits, at, s: [{k, n, st, v, t}]} where st / v / t
 * are the steps, values and times (ms) of key k as packed little-endian float64 (BSON binary).
 *
 * - The _id's unique index is the compare-and-set of appends (core/metrics/types.ts).
 * - One collection per run: FerretDB v1 reads a whole collection for any query (even `{_id}`), so
 *   a history read touches only the run's own data; a shared collection would be read whole for
 *   every history query.
 * - Packed, not BSON arrays: FerretDB keeps a type per array element; packing made writes 1.4-3x
 *   and history reads ~3x faster.
 * - Tried and measured worse (bench/tracking/README.md): a shared inbox written with one
 *   insertMany per batch and compacted into the per-run collections every few seconds — the
 *   compaction's scans and deletes of the inbox (FerretDB decodes the whole inbox for each) cost
 *   more than the insert per run per batch they saved.
 */
import { endianness } from 'node:os';
import { Binary, MongoBulkWriteError, type Db } from 'mongodb';
import { isDuplicateKeyError } from '@medtune/kit';
import type { RunDigestData } from '../core/metrics/digest';
import type { MetricChunk, MetricLogStore } from '../core/metrics/types';

/** Collection of a run's metric log. */
export function metricLogCollection(runId: string): string {
  return `metrics.${runId}`;
}

/**
 * Collection of a run's metric digests (core/metrics/digest.ts): one document, its own
 * collection so that reading it does not make FerretDB read the run's points.
 */
export function metricDigestCollection(runId: string): string {
  return `metricdigest.${runId}`;
}

/** The digests as stored: {_id: 'digest', seq: chunks covered, s: per key, bucket arrays packed}. */
export interface DigestDoc {
  _id: string;
  seq: number;
  s: { k: string; w: number; n: number; f: number[]; l: number[]; ms: Binary; mv: Binary; mt: Binary; xs: Binary; xv: Binary; xt: Binary }[];
}
const DIGEST_ID = 'digest';

/** A chunk as stored. */
export interface ChunkDoc {
  _id: string;
  at: number;
  s: { k: string; n: number; st: Binary; v: Binary; t: Binary }[];
}

const SEQ_DIGITS = 10;
const seqId = (seq: number): string => String(seq).padStart(SEQ_DIGITS, '0');

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

/** The stored form of a chunk. */
export function encodeChunk(c: MetricChunk): ChunkDoc {
  return { _id: seqId(c.seq), at: c.storedAt, s: c.series.map((s) => ({ k: s.key, n: s.steps.length, st: pack(s.steps), v: pack(s.values), t: pack(s.times) })) };
}

/** A chunk from its stored form. */
export function decodeChunk(runId: string, d: ChunkDoc): MetricChunk {
  return {
    runId,
    seq: Number(d._id),
    storedAt: d.at,
    series: d.s.map((s) => ({ key: s.k, steps: unpack(s.st, s.n, 'st'), values: unpack(s.v, s.n, 'v'), times: unpack(s.t, s.n, 't') })),
  };
}

/**
 * Metric logs, one collection per run. `read` may use another connection than `append` (a long
 * history read then does not hold up ingestion on the writer's single connection).
 */
export class MongoMetricLog implements MetricLogStore {
  constructor(
    private readonly writeDb: Db,
    private readonly readDb: Db = writeDb,
  ) {}

  async read(runId: string, afterSeq = -1): Promise<MetricChunk[]> {
    const q = afterSeq >= 0 ? { _id: { $gt: seqId(afterSeq) } } : {};
    const docs = await this.readDb.collection<ChunkDoc>(metricLogCollection(runId)).find(q).toArray();
    docs.sort((a, b) => (a._id < b._id ? -1 : 1));
    return docs.map((d) => decodeChunk(runId, d));
  }

  async readDigest(runId: string): Promise<RunDigestData | undefined> {
    const doc = await this.readDb.collection<DigestDoc>(metricDigestCollection(runId)).findOne({ _id: DIGEST_ID });
    if (!doc) return undefined;
    return {
      runId,
      nextSeq: doc.seq,
      series: doc.s.map((x) => {
        const b = x.ms.buffer.byteLength / 8;
        return {
          key: x.k,
          width: x.w,
          count: x.n,
          first: [x.f[0]!, x.f[1]!, x.f[2]!] as const,
          last: [x.l[0]!, x.l[1]!, x.l[2]!] as const,
          minSteps: unpack(x.ms, b, 'ms'),
          minValues: unpack(x.mv, b, 'mv'),
          minTimes: unpack(x.mt, b, 'mt'),
          maxSteps: unpack(x.xs, b, 'xs'),
          maxValues: unpack(x.xv, b, 'xv'),
          maxTimes: unpack(x.xt, b, 'xt'),
        };
      }),
    };
  }

  async writeDigest(d: RunDigestData): Promise<void> {
    const doc: DigestDoc = {
      _id: DIGEST_ID,
      seq: d.nextSeq,
      s: d.series.map((x) => ({
        k: x.key,
        w: x.width,
        n: x.count,
        f: [...x.first],
        l: [...x.last],
        ms: pack(x.minSteps),
        mv: pack(x.minValues),
        mt: pack(x.minTimes),
        xs: pack(x.maxSteps),
        xv: pack(x.maxValues),
        xt: pack(x.maxTimes),
      })),
    };
    try {
      // Replaces only an older one; where a newer one is stored the upsert's insert hits the _id.
      await this.writeDb.collection<DigestDoc>(metricDigestCollection(d.runId)).replaceOne({ _id: DIGEST_ID, seq: { $lt: d.nextSeq } }, doc, { upsert: true });
    } catch (err) {
      if (!isDuplicateKeyError(err)) throw err;
    }
  }

  async lastSeq(runId: string): Promise<number> {
    const docs = await this.readDb
      .collection<ChunkDoc>(metricLogCollection(runId))
      .find({}, { projection: { _id: 1 } })
      .toArray();
    let max = -1;
    for (const d of docs) max = Math.max(max, Number(d._id));
    return max;
  }

  async append(chunks: readonly MetricChunk[]): Promise<{ conflicts: readonly MetricChunk[] }> {
    const byRun = new Map<string, MetricChunk[]>();
    for (const c of chunks) {
      const list = byRun.get(c.runId);
      if (list) list.push(c);
      else byRun.set(c.runId, [c]);
    }
    const conflicts: MetricChunk[] = [];
    for (const [runId, list] of byRun) {
      const docs = list.map(encodeChunk);
      try {
        await this.writeDb.collection<ChunkDoc>(metricLogCollection(runId)).insertMany(docs, { ordered: false });
      } catch (err) {
        if (!(err instanceof MongoBulkWriteError) || !isDuplicateKeyError(err)) throw err;
        const failed = Array.isArray(err.writeErrors) ? err.writeErrors : [err.writeErrors];
        for (const w of failed) conflicts.push(list[w.index]!);
      }
    }
    return { conflicts };
  }
}
