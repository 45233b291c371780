// FerretDB with credentials (issue 14): deploy/local/stack.sh starts its own FerretDB with the new
// SCRAM-SHA-256 authentication (tools/infra/infra.sh, MEDTUNE_MONGO_AUTH=1, the stack's default)
// and one user whose password is generated under var/secrets/mongo. A stack instance of its own
// (var dir, ports, nats-server, FerretDB) runs the registry service, which must connect with the
// credentials to become SERVING; then an anonymous client and a wrong password are refused, the
// credentials work, and the password is in no log, no command line and no URI that infra.sh prints.
import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from '@medtune/testing';
import { MongoClient } from 'mongodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const repoRoot = fileURLToPath(new URL('../..', import.meta.url));
const STACK = path.join(repoRoot, 'deploy/local/stack.sh');
const INFRA = path.join(repoRoot, 'tools/infra/infra.sh');

let varDir: string;
let mongoUrl: string;
let env: Record<string, string>;

function run(cmd: string, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(cmd, args, { env, cwd: repoRoot, timeout: 240_000, maxBuffer: 8 << 20 }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr });
    });
  });
}

const password = () => readFileSync(path.join(varDir, 'secrets/mongo/medtune.pass'), 'utf8');

async function basePort(): Promise<number> {
  for (;;) {
    const p = await freePort();
    if (p < 60_000) return p;
  }
}

/** Runs `fn` with a client of `uri` (short timeouts) and closes it. */
async function withClient<T>(uri: string, fn: (c: MongoClient) => Promise<T>): Promise<T> {
  const c = new MongoClient(uri, { serverSelectionTimeoutMS: 5_000, connectTimeoutMS: 5_000 });
  try {
    return await fn(c);
  } finally {
    await c.close();
  }
}

beforeAll(async () => {
  varDir = mkdtempSync(path.join(tmpdir(), 'medtune-mongo-auth-'));
  const [natsPort, mongoPort, base] = [await freePort(), await freePort(), await basePort()];
  mongoUrl = `mongodb://127.0.0.1:${mongoPort}/`;
  env = Object.fromEntries(
    Object.entries({
      ...process.env,
      NATS_URL: undefined,
      MONGODB_URI: undefined, // the stack's own FerretDB
      MEDTUNE_NATS_URL: undefined,
      MEDTUNE_MONGODB_URI: undefined,
      MEDTUNE_MONGO_AUTH: undefined, // the stack's default: on
      MEDTUNE_VAR_DIR: varDir,
      MEDTUNE_NATS_PORT: String(natsPort),
      MEDTUNE_MONGO_PORT: String(mongoPort),
      MEDTUNE_STACK_BASE_PORT: String(base),
      MEDTUNE_STACK_PARTS: 'registry',
      MEDTUNE_STACK_NO_INSTALL: '1',
    }).filter((e): e is [string, string] => e[1] !== undefined),
  );
  const up = await run(STACK, ['up']);
  if (up.code !== 0) throw new Error(`stack.sh up failed:\n${up.stderr}`);
}, 300_000);

afterAll(async () => {
  if (varDir) {
    await run(STACK, ['down']);
    rmSync(varDir, { recursive: true, force: true });
  }
});

describe("the local stack's FerretDB requires credentials", () => {
  it('keeps the password under var/secrets/mongo (0700 / 0600); the registry connected with it', async () => {
    expect(statSync(path.join(varDir, 'secrets/mongo')).mode & 0o777).toBe(0o700);
    expect(statSync(path.join(varDir, 'secrets/mongo/medtune.pass')).mode & 0o777).toBe(0o600);
    expect(password()).toMatch(/^[A-Za-z0-9]{40}$/);
    // SERVING (stack.sh up waited for it) needed the registry's indexes, i.e. an authenticated connection.
    const names = await withClient(`mongodb://medtune:${password()}@127.0.0.1:${new URL(mongoUrl).port}/?authSource=admin`, async (c) =>
      (await c.db('medtune_registry').listCollections().toArray()).map((x) => x.name),
    );
    expect(names.length).toBeGreaterThan(0);
  });

  it('refuses an anonymous client and a wrong password', async () => {
    const anonymous = withClient(mongoUrl, (c) => c.db('medtune_registry').listCollections().toArray());
    await expect(anonymous).rejects.toMatchObject({ codeName: 'Unauthorized' });
    await expect(anonymous).rejects.toThrow(/requires authentication/);
    const wrong = withClient(`mongodb://medtune:guess@127.0.0.1:${new URL(mongoUrl).port}/?authSource=admin`, (c) => c.db('x').collection('y').insertOne({ a: 1 }));
    await expect(wrong).rejects.toMatchObject({ codeName: 'AuthenticationFailed' });
  });

  it('no password in a log, on a command line, or in what infra.sh env prints', async () => {
    const secret = password();
    const logs = readdirSync(path.join(varDir, 'log')).map((f) => readFileSync(path.join(varDir, 'log', f), 'utf8')).join('\n');
    expect(logs.length).toBeGreaterThan(0);
    expect(logs.includes(secret)).toBe(false);
    for (const part of ['registry', 'mongo']) {
      const pid = readFileSync(path.join(varDir, 'run', `${part}.pid`), 'utf8').trim();
      expect(readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(secret), part).toBe(false);
    }
    const printed = await run(INFRA, ['env']);
    expect(printed.stdout).toContain(`export MONGODB_URI=${mongoUrl}\n`);
    expect(printed.stdout).toContain(`export MEDTUNE_MONGO_SECRETS_DIR=${path.join(varDir, 'secrets/mongo')}\n`);
    expect(printed.stdout.includes(secret)).toBe(false);
  });
});
