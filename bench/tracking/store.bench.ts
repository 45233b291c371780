/**
 * Where the time goes in the store (FerretDB v1 / SQLite), without NATS: the same metric points
 * written in each candidate layout, then one run's history read back. Run it against a private
 * FerretDB (it drops its database at the end):
 *
 *   MEDTUNE_MONGODB_URI=mongodb://127.0.0.1:27117 npx tsx bench/tracking/store.bench.ts
 *
 * Layouts (BENCH_RUNS runs × BENCH_KEYS keys, batches of BENCH_BATCH points, like the service's):
 *   point/insertOne      one document per point, one insert per point, unique (run, key, step)
 *   point/insertMany     one document per point, one insertMany per batch, unique (run, key, step)
 *   point/no-index       the same without the unique index (the index's cost)
 *   chunk/arrays         one document per run per batch in the run's collection, BSON arrays
 *   chunk/packed         the same with packed float64 (what the service stores)
 *   chunk/shared-packed  packed chunks of all runs in one collection, one insertMany per batch
 * Each write line gives points/s; each read line the time to read one run's history of one key.
 */
import { Binary, MongoClient, type Db } from 'mongodb';

const env = process.env;
const uri = env['MEDTUNE_MONGODB_URI'] ?? 'mongodb://127.0.0.1:27017';
const RUNS = Number(env['BENCH_RUNS'] ?? 20);
const KEYS = Number(env['BENCH_KEYS'] ?? 8);
const BATCH = Number(env['BENCH_BATCH'] ?? 2_000);
const POINTS = Number(env['BENCH_POINTS'] ?? 200_000);
const ONE_BY_ONE = Number(env['BENCH_POINTS_INSERT_ONE'] ?? 10_000);

interface P {
  run: string;
  key: string;
  step: number;
  value: number;
  time: number;
}

/** Batches of points: messages of KEYS points, runs interleaved, BATCH points per batch. */
function* batches(total: number): Generator<P[]> {
  let batch: P[] = [];
  for (let i = 0; i < total / KEYS; i++) {
    const run = `run_${i % RUNS}`;
    const step = Math.floor(i / RUNS);
    for (let k = 0; k < KEYS; k++) batch.push({ run, key: `key/${k}`, step, value: Math.sin(step + k), time: Date.now() });
    if (batch.length >= BATCH) {
      yield batch;
      batch = [];
    }
  }
  if (batch.length) yield batch;
}

const pack = (xs: number[]) => new Binary(Buffer.from(Float64Array.from(xs).buffer));
const unpack = (b: Binary) => new Float64Array(b.buffer.buffer.slice(b.buffer.byteOffset, b.buffer.byteOffset + b.buffer.byteLength));

/** Per run, per key: steps, values, times. */
function group(batch: P[]): Map<string, Map<string, { st: number[]; v: number[]; t: number[] }>> {
  const out = new Map<string, Map<string, { st: number[]; v: number[]; t: number[] }>>();
  for (const p of batch) {
    let r = out.get(p.run);
    if (!r) out.set(p.run, (r = new Map()));
    let s = r.get(p.key);
    if (!s) r.set(p.key, (s = { st: [], v: [], t: [] }));
    s.st.push(p.step);
    s.v.push(p.value);
    s.t.push(p.time);
  }
  return out;
}

async function timed(label: string, points: number, fn: () => Promise<void>): Promise<void> {
  const t = performance.now();
  await fn();
  const s = (performance.now() - t) / 1_000;
  console.log(`${label.padEnd(34)} ${String(points).padStart(8)} points  ${(points / s).toFixed(0).padStart(8)} points/s`);
}

async function readTimed(label: string, fn: () => Promise<number>): Promise<void> {
  const t = performance.now();
  const n = await fn();
  console.log(`${label.padEnd(34)} ${String(n).padStart(8)} points  ${(performance.now() - t).toFixed(0).padStart(8)} ms`);
}

async function pointLayouts(db: Db): Promise<void> {
  const idx = db.collection('points_idx');
  await idx.createIndex({ run: 1, key: 1, step: 1 }, { unique: true });
  await timed('point/insertOne (unique index)', ONE_BY_ONE, async () => {
    for (const b of batches(ONE_BY_ONE)) for (const p of b) await db.collection('points_one').insertOne({ ...p });
  });
  await timed('point/insertMany (unique index)', POINTS, async () => {
    for (const b of batches(POINTS)) await idx.insertMany(b.map((p) => ({ ...p })), { ordered: false });
  });
  await timed('point/insertMany (no index)', POINTS, async () => {
    for (const b of batches(POINTS)) await db.collection('points_noidx').insertMany(b.map((p) => ({ ...p })), { ordered: false });
  });
  await readTimed('  read run_3 key/0 (point docs)', async () => (await idx.find({ run: 'run_3', key: 'key/0' }).sort({ step: 1 }).toArray()).length);
}

async function chunkLayouts(db: Db): Promise<void> {
  for (const packed of [false, true]) {
    const label = packed ? 'chunk/packed (per-run collection)' : 'chunk/arrays (per-run collection)';
    let seq = 0;
    await timed(label, POINTS, async () => {
      for (const b of batches(POINTS)) {
        seq++;
        for (const [run, keys] of group(b)) {
          const s = [...keys].map(([k, x]) => (packed ? { k, n: x.st.length, st: pack(x.st), v: pack(x.v), t: pack(x.t) } : { k, st: x.st, v: x.v, t: x.t }));
          await db.collection(`${packed ? 'p' : 'a'}.${run}`).insertOne({ _id: String(seq).padStart(10, '0') as never, at: Date.now(), s });
        }
      }
    });
    await readTimed(`  read run_3 key/0 (${packed ? 'packed' : 'arrays'})`, async () => {
      let n = 0;
      for (const d of await db.collection(`${packed ? 'p' : 'a'}.run_3`).find({}).toArray()) {
        for (const s of d['s'] as { k: string; n?: number; st: number[] | Binary }[]) {
          if (s.k !== 'key/0') continue;
          n += packed ? unpack(s.st as Binary).length : (s.st as number[]).length;
        }
      }
      return n;
    });
  }
  let seq = 0;
  await timed('chunk/shared-packed (one insertMany)', POINTS, async () => {
    for (const b of batches(POINTS)) {
      seq++;
      const docs = [...group(b)].map(([run, keys]) => ({ _id: `${run}|${String(seq).padStart(10, '0')}` as never, run, at: Date.now(), s: [...keys].map(([k, x]) => ({ k, n: x.st.length, st: pack(x.st), v: pack(x.v), t: pack(x.t) })) }));
      await db.collection('shared').insertMany(docs, { ordered: false });
    }
  });
  await readTimed('  read run_3 key/0 (shared packed)', async () => (await db.collection('shared').find({ run: 'run_3' }).toArray()).length);
}

const client = new MongoClient(uri, { maxPoolSize: 1 });
await client.connect();
const db = client.db(`storebench_${Date.now()}`);
console.log(`FerretDB layouts: ${RUNS} runs × ${KEYS} keys, batches of ${BATCH} points (${uri})`);
try {
  await pointLayouts(db);
  await chunkLayouts(db);
} finally {
  await db.dropDatabase();
  await client.close();
}
