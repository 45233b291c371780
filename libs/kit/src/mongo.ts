/**
 * MongoDB: connection, idempotent index provisioning, duplicate-key detection. Works against
 * MongoDB and FerretDB v1 (the embedded default; its limits are in tools/infra/README.md): no
 * transactions, change streams or TTL indexes; idempotency comes from unique indexes instead.
 */
import { MongoClient, type CreateIndexesOptions, type Db, type IndexSpecification } from 'mongodb';
import type { Logger } from './logger';

/** Options of {@link connectMongo}. */
export interface MongoOptions {
  uri: string;
  /** Database name (each service owns one; tests use random names). */
  db: string;
  log: Logger;
  /** Shown in server logs; default the database name. */
  appName?: string;
  /** How long to look for a server before an operation fails; default 10 s. */
  serverSelectionTimeoutMs?: number;
  /**
   * Connections in the pool; default 1; 0 = auto: 1 on FerretDB, {@link MONGODB_AUTO_POOL} on
   * MongoDB. FerretDB v1 runs an update as "read, then write" with nothing locked, so through
   * several connections compare-and-set updates can have two winners and `$inc`s get lost
   * (tools/infra/README.md); one connection serialises a process's commands. Work that must
   * happen once across processes is guarded by a NATS KV lease (lease.ts), never by the database.
   */
  maxPoolSize?: number;
}

/** Pool size that maxPoolSize 0 (auto) gives on a real MongoDB. */
export const MONGODB_AUTO_POOL = 10;

/** A connected client and the service's database. */
export interface MongoHandle {
  readonly client: MongoClient;
  readonly db: Db;
  /** What the server is: FerretDB (not atomic across connections) or MongoDB. */
  readonly store: 'ferretdb' | 'mongodb';
  /** Connections of the pool in use. */
  readonly poolSize: number;
  /** Closes the client (waits for operations in progress). Safe to call twice. */
  close(): Promise<void>;
}

/** Connects and checks the server answers (fails fast at startup instead of at the first request). */
export async function connectMongo(options: MongoOptions): Promise<MongoHandle> {
  const log = options.log.child({ component: 'mongo' });
  const open = async (maxPoolSize: number): Promise<MongoClient> => {
    const c = new MongoClient(options.uri, {
      appName: options.appName ?? options.db,
      serverSelectionTimeoutMS: options.serverSelectionTimeoutMs ?? 10_000,
      maxPoolSize,
    });
    await c.connect();
    return c;
  };
  const asked = options.maxPoolSize ?? 1;
  let client = await open(asked === 0 ? 1 : asked);
  const store = (await isFerretDb(client)) ? 'ferretdb' : 'mongodb';
  let poolSize = asked === 0 ? 1 : asked;
  if (asked === 0 && store === 'mongodb') {
    await client.close();
    poolSize = MONGODB_AUTO_POOL;
    client = await open(poolSize);
  }
  const db = client.db(options.db);
  await db.command({ ping: 1 });
  if (store === 'ferretdb' && poolSize > 1) log.warn({ poolSize }, 'FerretDB with more than one connection: its compare-and-set is not atomic across them');
  log.info({ db: options.db, store, poolSize }, 'connected to MongoDB');
  let closed: Promise<void> | undefined;
  return {
    client,
    db,
    store,
    poolSize,
    close() {
      closed ??= client.close().then(() => log.info('MongoDB client closed'));
      return closed;
    },
  };
}

/** True when the server is FerretDB (its buildInfo says so). */
export async function isFerretDb(client: MongoClient): Promise<boolean> {
  const info = await client.db('admin').command({ buildInfo: 1 });
  return 'ferretdbVersion' in info || 'ferretdb' in info || JSON.stringify(info).toLowerCase().includes('ferretdb');
}

/** One index: its key and options (unique, name, sparse, expireAfterSeconds, ...). */
export interface IndexDefinition extends Omit<CreateIndexesOptions, 'name'> {
  key: IndexSpecification;
  name?: string;
}

/** Collection name → its indexes. */
export type IndexPlan = Record<string, readonly IndexDefinition[]>;

/**
 * Creates the indexes (and so the collections) of a plan. Creating an index that exists with the
 * same key and options is a no-op, so this runs at every start; an index whose options changed
 * fails with the server's error naming it (drop it on purpose, in a migration).
 */
export async function ensureIndexes(db: Db, plan: IndexPlan): Promise<void> {
  for (const [collection, indexes] of Object.entries(plan)) {
    for (const { key, ...options } of indexes) {
      try {
        await db.collection(collection).createIndex(key, options);
      } catch (err) {
        throw new Error(`creating index ${JSON.stringify(key)} on ${db.databaseName}.${collection} failed: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
      }
    }
  }
}

/** True when a write failed because a unique index already has the value (E11000), also inside bulk errors. */
export function isDuplicateKeyError(err: unknown): boolean {
  if (!err || typeof err !== 'object') return false;
  const e = err as { code?: unknown; writeErrors?: unknown; errorResponse?: { code?: unknown } };
  if (e.code === 11000 || e.code === 11001 || e.errorResponse?.code === 11000) return true;
  const writeErrors = Array.isArray(e.writeErrors) ? e.writeErrors : [];
  return writeErrors.length > 0 && writeErrors.every((w: { code?: unknown }) => w?.code === 11000);
}
