// Pins the FerretDB v1 (SQLite backend) behaviour that tools/infra/README.md documents and the
// services rely on. Skipped, with the reason, when the test run's MongoDB is not FerretDB v1.
import { testMongo, type TestMongo } from '@medtune/testing';
import { MongoBulkWriteError, MongoClient, MongoServerError, type Collection, type Document } from 'mongodb';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';

const uri = inject('medtuneMongoUri') ?? '';
const buildInfo = uri ? await probe(uri) : undefined;
const isFerret = typeof buildInfo?.ferretdbVersion === 'string' && buildInfo.ferretdbVersion.startsWith('v1.');

async function probe(u: string): Promise<Document | undefined> {
  const c = new MongoClient(u, { serverSelectionTimeoutMS: 5_000 });
  try {
    return await c.db('admin').command({ buildInfo: 1 });
  } catch {
    return undefined;
  } finally {
    await c.close();
  }
}

async function serverError(p: Promise<unknown>): Promise<MongoServerError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(MongoServerError);
  return err as MongoServerError;
}

describe.skipIf(!isFerret)(`FerretDB v1 behaviour (server: ${String(buildInfo?.ferretdbVersion ?? 'not FerretDB v1: skipped')})`, () => {
  let mongo: TestMongo;
  beforeAll(async () => {
    mongo = await testMongo();
  });
  afterAll(() => mongo.cleanup());
  const col = (name: string): Collection<Document> => mongo.db.collection(name);

  it('reports MongoDB 7.0 and rejects a duplicate on a unique index with code 11000, without keyValue', async () => {
    expect(buildInfo?.version).toBe('7.0.42');
    await col('u').createIndex({ key: 1 }, { unique: true });
    await col('u').insertOne({ key: 'a' });
    const err = await serverError(col('u').insertOne({ key: 'a' }));
    expect(err.code).toBe(11000);
    expect(err.message).toMatch(/^E11000 duplicate key error collection: t[0-9a-f]+\.u$/);
    expect(err.keyValue).toBeUndefined();
  });

  it('enforces compound unique indexes, and unordered inserts keep the non-duplicates', async () => {
    const m = col('metrics');
    await m.createIndex({ runId: 1, key: 1, step: 1 }, { unique: true });
    await m.insertOne({ runId: 'r', key: 'loss', step: 1 });
    const docs = [3, 1, 4, 3].map((step) => ({ runId: 'r', key: 'loss', step }));
    const err = await m.insertMany(docs, { ordered: false }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MongoBulkWriteError);
    const bulk = err as MongoBulkWriteError;
    expect(bulk.code).toBe(11000);
    expect(bulk.insertedCount).toBe(2);
    expect([bulk.writeErrors].flat().map((w) => [w.index, w.code])).toEqual([
      [1, 11000],
      [3, 11000],
    ]);
    expect(await m.countDocuments()).toBe(3);
  });

  it('findOneAndUpdate upserts with $setOnInsert and returns the document', async () => {
    const jobs = col('jobs');
    await jobs.createIndex({ idempotencyKey: 1 }, { unique: true });
    const created = await jobs.findOneAndUpdate(
      { idempotencyKey: 'k1' },
      { $setOnInsert: { state: 'QUEUED' }, $inc: { seen: 1 } },
      { upsert: true, returnDocument: 'after', includeResultMetadata: true },
    );
    expect(created.lastErrorObject).toMatchObject({ updatedExisting: false, n: 1 });
    expect(created.value).toMatchObject({ idempotencyKey: 'k1', state: 'QUEUED', seen: 1 });
    const again = await jobs.findOneAndUpdate({ idempotencyKey: 'k1' }, { $setOnInsert: { state: 'X' }, $inc: { seen: 1 } }, { upsert: true, returnDocument: 'after' });
    expect(again).toMatchObject({ state: 'QUEUED', seen: 2 });
  });

  it('is atomic per command only through one connection: with maxPoolSize 1, $inc and compare-and-set are exact', async () => {
    const client = new MongoClient(mongo.uri, { maxPoolSize: 1 });
    try {
      const c = client.db(mongo.dbName).collection<Document>('cas');
      await c.insertOne({ _id: 'cnt' as never, n: 0, state: 'QUEUED' });
      await Promise.all(Array.from({ length: 30 }, () => c.updateOne({ _id: 'cnt' as never }, { $inc: { n: 1 } })));
      const winners = await Promise.all(
        Array.from({ length: 10 }, (_, i) => c.findOneAndUpdate({ _id: 'cnt' as never, state: 'QUEUED' }, { $set: { state: 'DISPATCHED', by: i } })),
      );
      expect((await c.findOne({ _id: 'cnt' as never }))?.n).toBe(30);
      expect(winners.filter(Boolean)).toHaveLength(1);
    } finally {
      await client.close();
    }
  });

  it('has no transactions and no change streams', async () => {
    const session = mongo.client.startSession();
    try {
      const err = await serverError(session.withTransaction(() => col('tx').insertOne({ a: 1 }, { session })));
      expect(err.code).toBe(9);
      expect(err.message).toMatch(/unknown field "autocommit"/);
    } finally {
      await session.endSession();
    }
    const stream = col('tx').watch();
    stream.on('error', () => undefined);
    const err = await serverError(stream.tryNext());
    await stream.close();
    expect(err.code).toBe(238);
    expect(err.message).toMatch(/\$changeStream" is not implemented/);
  });

  it('rejects TTL and partial indexes (NotImplemented) and does not enforce uniqueness inside arrays', async () => {
    expect((await serverError(col('ttl').createIndex({ at: 1 }, { expireAfterSeconds: 60 }))).code).toBe(238);
    expect((await serverError(col('p').createIndex({ a: 1 }, { partialFilterExpression: { a: { $gt: 1 } } }))).code).toBe(238);
    await col('arr').createIndex({ tags: 1 }, { unique: true });
    await col('arr').insertMany([{ tags: ['a', 'b'] }, { tags: ['b', 'c'] }]);
    expect(await col('arr').countDocuments()).toBe(2);
  });

  it('aggregates with $match/$sort/$unwind/$count and $group with ONE $sum or $count accumulator', async () => {
    const m = col('agg');
    await m.insertMany([
      { run: 'a', step: 1, value: 2, tags: ['x', 'y'] },
      { run: 'a', step: 2, value: 1.5, tags: ['y'] },
      { run: 'b', step: 1, value: 3, tags: [] },
    ]);
    const group = (accumulators: Document) =>
      m.aggregate([{ $match: { step: { $gte: 1 } } }, { $group: { _id: '$run', ...accumulators } }, { $sort: { _id: 1 } }]).toArray();
    expect(await group({ total: { $sum: '$value' } })).toEqual([
      { _id: 'a', total: 3.5 },
      { _id: 'b', total: 3 },
    ]);
    expect(await group({ n: { $count: {} } })).toEqual([
      { _id: 'a', n: 2 },
      { _id: 'b', n: 1 },
    ]);
    // Only the FIRST accumulator of a $group is computed; the others silently come back as 0.
    expect(await group({ total: { $sum: '$value' }, n: { $sum: 1 } })).toEqual([
      { _id: 'a', total: 3.5, n: 0 },
      { _id: 'b', total: 3, n: 0 },
    ]);
    expect(await m.aggregate([{ $unwind: '$tags' }, { $count: 'n' }]).toArray()).toEqual([{ n: 3 }]);
    for (const stage of [{ $group: { _id: '$run', v: { $avg: '$value' } } }, { $lookup: { from: 'x', localField: 'a', foreignField: 'b', as: 'c' } }, { $project: { d: { $multiply: ['$value', 2] } } }]) {
      expect((await serverError(m.aggregate([stage]).toArray())).code).toBe(238);
    }
    // A field path in $addFields / $set / $project is NOT evaluated: it comes back as the string.
    const [doc] = await m.aggregate([{ $sort: { step: 1, run: 1 } }, { $limit: 1 }, { $set: { copy: '$value' } }]).toArray();
    expect(doc?.copy).toBe('$value');
  });

  it('pushes a filter down only for {_id: <string or ObjectId>}: other filters and sorts scan the collection', async () => {
    const m = col('plan');
    await m.createIndex({ run: 1, step: 1 }, { unique: true });
    await m.insertOne({ _id: 'r/1' as never, run: 'r', step: 1 });
    const byId = await m.find({ _id: 'r/1' as never }).explain();
    const byIndexedField = await m.find({ run: 'r' }).sort({ step: 1 }).explain();
    expect(byId.filterPushdown).toBe(true);
    expect(byIndexedField.filterPushdown).toBe(false);
    expect(byIndexedField.sortPushdown).toBe(false);
  });
});
