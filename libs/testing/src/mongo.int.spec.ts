import { MongoClient } from 'mongodb';
import { describe, expect, it } from 'vitest';
import { testServerUrls } from './context';
import { testMongo } from './mongo';

async function databaseNames(): Promise<string[]> {
  const client = new MongoClient(testServerUrls().mongoUri);
  try {
    return (await client.db('admin').admin().listDatabases()).databases.map((d) => d.name);
  } finally {
    await client.close();
  }
}

describe('testMongo', () => {
  it('gives each call its own database and drops all of its databases on cleanup', async () => {
    const a = await testMongo();
    const b = await testMongo();
    expect(a.dbName).toMatch(/^t[0-9a-f]{10}$/);
    expect(a.dbName).not.toBe(b.dbName);
    expect(a.uri).toBe(testServerUrls().mongoUri);

    await a.db.collection('jobs').insertOne({ _id: 'j1' } as never);
    const registry = a.dbNameFor('registry');
    expect(registry).toBe(`${a.dbName}_registry`);
    await a.client.db(registry).collection('models').insertOne({ name: 'm' });
    expect(await b.db.collection('jobs').countDocuments()).toBe(0);
    expect(await databaseNames()).toEqual(expect.arrayContaining([a.dbName, registry]));

    await a.cleanup();
    await a.cleanup(); // twice is fine
    const left = await databaseNames();
    expect(left).not.toContain(a.dbName);
    expect(left).not.toContain(registry);
    await b.cleanup();
  });

  it('rejects a database suffix that would not be a valid name', async () => {
    const m = await testMongo();
    try {
      expect(() => m.dbNameFor('a.b')).toThrow(/suffix must be/);
    } finally {
      await m.cleanup();
    }
  });
});
