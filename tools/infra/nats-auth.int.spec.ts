// NATS with credentials (issue 13): deploy/local/stack.sh starts its own nats-server with one user
// per role and publish/subscribe permissions (tools/infra/secrets.sh). A second stack instance
// (own var dir, own ports, the test run's FerretDB) runs the registry service, which must connect
// with its role's credentials to become SERVING; then a connection without credentials is
// refused, a worker's credentials cannot publish a registry event, and no password is in a log.
import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort, testMongo, waitFor, type TestMongo } from '@medtune/testing';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const repoRoot = fileURLToPath(new URL('../..', import.meta.url));
const STACK = path.join(repoRoot, 'deploy/local/stack.sh');

let mongo: TestMongo;
let varDir: string;
let natsUrl: string;
let env: Record<string, string>;

function run(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(STACK, args, { env, cwd: repoRoot, timeout: 240_000, maxBuffer: 8 << 20 }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr });
    });
  });
}

const secret = (role: string) => readFileSync(path.join(varDir, 'secrets/nats', `${role}.pass`), 'utf8');

async function basePort(): Promise<number> {
  for (;;) {
    const p = await freePort();
    if (p < 60_000) return p;
  }
}

beforeAll(async () => {
  mongo = await testMongo();
  varDir = mkdtempSync(path.join(tmpdir(), 'medtune-nats-auth-'));
  const natsPort = await freePort();
  natsUrl = `nats://127.0.0.1:${natsPort}`;
  const base = await basePort();
  env = Object.fromEntries(
    Object.entries({
      ...process.env,
      NATS_URL: undefined,
      MEDTUNE_NATS_URL: undefined,
      MEDTUNE_NATS_AUTH: undefined, // the stack's default: on
      MEDTUNE_VAR_DIR: varDir,
      MEDTUNE_NATS_PORT: String(natsPort),
      MONGODB_URI: mongo.uri,
      MEDTUNE_REGISTRY_DB: mongo.dbNameFor('registry'),
      MEDTUNE_STACK_BASE_PORT: String(base),
      MEDTUNE_STACK_PARTS: 'registry',
      MEDTUNE_STACK_NO_INSTALL: '1',
    }).filter((e): e is [string, string] => e[1] !== undefined),
  );
  const up = await run(['up']);
  if (up.code !== 0) throw new Error(`stack.sh up failed:\n${up.stderr}`);
}, 300_000);

afterAll(async () => {
  if (varDir) {
    await run(['down']);
    rmSync(varDir, { recursive: true, force: true });
  }
  await mongo?.cleanup();
});

describe('the local stack runs NATS with credentials and per-role permissions', () => {
  it('generates the secrets once under var/secrets (0700 / 0600); the registry connected with its own', () => {
    const dir = path.join(varDir, 'secrets/nats');
    expect(statSync(path.join(varDir, 'secrets')).mode & 0o777).toBe(0o700);
    for (const f of readdirSync(dir)) expect(statSync(path.join(dir, f)).mode & 0o777, f).toBe(0o600);
    expect(readdirSync(dir).sort()).toEqual(expect.arrayContaining(['admin.pass', 'registry.pass', 'server.conf', 'worker.pass']));
    expect(secret('registry')).toMatch(/^[A-Za-z0-9]{40}$/);
    // SERVING (stack.sh up waited for it) means the registry's NATS connection was accepted.
  });

  it('refuses a connection without credentials, and one with a wrong password', async () => {
    await expect(connect({ servers: natsUrl, reconnect: false, timeout: 5_000 })).rejects.toThrow(/Authorization Violation/i);
    await expect(connect({ servers: natsUrl, reconnect: false, timeout: 5_000, user: 'registry', pass: 'guess' })).rejects.toThrow(/Authorization Violation/i);
  });

  it("a worker's credentials cannot publish a registry event (or a training one); the registry's can", async () => {
    const admin = await connect({ servers: natsUrl, user: 'admin', pass: secret('admin') });
    const worker = await connect({ servers: natsUrl, user: 'worker', pass: secret('worker'), reconnect: false });
    const registry = await connect({ servers: natsUrl, user: 'registry', pass: secret('registry') });
    const seen: string[] = [];
    const sub = admin.subscribe('medtune.>', { callback: (_err, m) => { seen.push(m.subject); } });
    await admin.flush();
    const violations: string[] = [];
    void (async () => {
      for await (const s of worker.status()) if (s.type === 'error') violations.push(String((s as { error?: unknown }).error));
    })();
    try {
      worker.publish('medtune.registry.version.ready', 'forged');
      worker.publish('medtune.training.job.succeeded', 'forged');
      await worker.flush();
      await waitFor(() => violations.length >= 2, 10_000);
      expect(violations.join('\n')).toMatch(/Permissions Violation for Publish to "medtune\.registry\.version\.ready"/);
      expect(violations.join('\n')).toMatch(/Permissions Violation for Publish to "medtune\.training\.job\.succeeded"/);
      registry.publish('medtune.registry.version.ready', 'real');
      await registry.flush();
      await waitFor(() => seen.includes('medtune.registry.version.ready'), 10_000);
      expect(seen).toEqual(['medtune.registry.version.ready']); // the worker's two never arrived
    } finally {
      sub.unsubscribe();
      await Promise.all([admin, worker, registry].map((c: NatsConnection) => c.close()));
    }
  });

  it('no password is written to a log or on a command line', () => {
    const logs = readdirSync(path.join(varDir, 'log')).map((f) => readFileSync(path.join(varDir, 'log', f), 'utf8')).join('\n');
    expect(logs.length).toBeGreaterThan(0);
    for (const role of ['admin', 'registry', 'worker', 'training']) expect(logs.includes(secret(role)), role).toBe(false);
    const pid = readFileSync(path.join(varDir, 'run/registry.pid'), 'utf8').trim();
    expect(readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(secret('registry'))).toBe(false);
  });
});
