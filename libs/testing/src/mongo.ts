import { MongoClient, type Db } from 'mongodb';
import { testServerUrls } from './context';
import { randomId } from './ids';

/** A MongoDB connection with databases of its own, dropped by {@link TestMongo.cleanup}. */
export interface TestMongo {
  /** Connected client; closed by cleanup(). */
  readonly client: MongoClient;
  /** The server URI without a database, to hand to a service under test. */
  readonly uri: string;
  /** Name of this spec's default database (`t<hex>`), unique per call of testMongo(). */
  readonly dbName: string;
  /** This spec's default database. */
  readonly db: Db;
  /**
   * Name of another database of this spec, e.g. one per service in an end-to-end test
   * (`t<hex>_registry`); it is dropped by cleanup() too.
   */
  dbNameFor(suffix: string): string;
  /** Drops every database named by this helper and closes the client. Safe to call twice. */
  cleanup(): Promise<void>;
}

/** Options of {@link testMongo}. */
export interface TestMongoOptions {
  /** Server URI; default: the test run's (see global-setup.ts). */
  uri?: string;
}

/**
 * Connects to the test run's MongoDB-protocol server with a fresh random database name.
 * Use it as `beforeAll(async () => { mongo = await testMongo(); return mongo.cleanup; })`.
 */
export async function testMongo(options: TestMongoOptions = {}): Promise<TestMongo> {
  const uri = options.uri ?? testServerUrls().mongoUri;
  const client = new MongoClient(uri, { serverSelectionTimeoutMS: 5_000, appName: 'medtune-test' });
  await client.connect();
  const dbName = randomId();
  const names = new Set<string>([dbName]);
  let closed = false;
  return {
    client,
    uri,
    dbName,
    db: client.db(dbName),
    dbNameFor(suffix: string): string {
      if (!/^[A-Za-z0-9_-]{1,30}$/.test(suffix)) throw new Error(`dbNameFor: suffix must be 1-30 of [A-Za-z0-9_-], got ${JSON.stringify(suffix)}`);
      const name = `${dbName}_${suffix}`;
      names.add(name);
      return name;
    },
    async cleanup(): Promise<void> {
      if (closed) return;
      closed = true;
      try {
        for (const name of names) await client.db(name).dropDatabase();
      } finally {
        await client.close();
      }
    },
  };
}
