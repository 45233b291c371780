/**
 * The single-host stack (deploy/local/stack.sh) as e2e tests use it: its own state directory and
 * ports, the test run's NATS and MongoDB-protocol server, a NATS namespace and databases of its own,
 * so it runs beside a developer's stack and other test runs.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import type { TestMongo, TestNats } from '@medtune/testing';
import { repoRoot } from '../support/services';

const run = promisify(execFile);

/** A running stack. */
export interface E2eStack {
  /** Environment of its processes (and of stack.sh calls about it). */
  env: NodeJS.ProcessEnv;
  /** MEDTUNE_*_ADDR for the CLI. */
  addrs: Record<string, string>;
  varDir: string;
  /** `stack.sh down` (exit status checked: no process may be left). */
  down(): Promise<string>;
}

async function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createServer();
    s.once('error', () => resolve(false));
    s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
  });
}

/** A base port whose ports (base … base+4, base+10, the dashboard base+19) are free. */
async function freeBasePort(): Promise<number> {
  for (let i = 0; i < 50; i++) {
    const base = 20_000 + Math.floor(Math.random() * 30_000);
    const ports = [0, 1, 2, 3, 4, 10, 19].map((d) => base + d);
    if ((await Promise.all(ports.map(portFree))).every(Boolean)) return base;
  }
  throw new Error('no free port range for the stack');
}

/** Starts the stack; `extraEnv` goes to every part. */
export async function startStack(nats: TestNats, mongo: TestMongo, extraEnv: Record<string, string> = {}): Promise<E2eStack> {
  const varDir = mkdtempSync(path.join(tmpdir(), 'medtune-e2e-'));
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    MEDTUNE_VAR_DIR: varDir,
    MEDTUNE_STACK_BASE_PORT: String(await freeBasePort()),
    MEDTUNE_STACK_MODEL_DIR: path.join(repoRoot, 'var/models/tiny-qwen2'),
    MEDTUNE_STACK_NO_INSTALL: '1',
    NATS_URL: nats.url,
    MONGODB_URI: mongo.uri,
    MEDTUNE_NATS_NAMESPACE: nats.id,
    MEDTUNE_DATASET_DB: mongo.dbNameFor('dataset'),
    MEDTUNE_TRAINING_DB: mongo.dbNameFor('training'),
    MEDTUNE_TRACKING_DB: mongo.dbNameFor('tracking'),
    MEDTUNE_EVALUATION_DB: mongo.dbNameFor('evaluation'),
    MEDTUNE_REGISTRY_DB: mongo.dbNameFor('registry'),
    MEDTUNE_TRAINER_WORKER_ID: `e2e-${nats.id}`,
    ...extraEnv,
  };
  const stackSh = path.join(repoRoot, 'deploy/local/stack.sh');
  try {
    await run(stackSh, ['up'], { env, cwd: repoRoot, maxBuffer: 16 << 20, timeout: 600_000 });
  } catch (err) {
    const e = err as { stderr?: string };
    throw new Error(`stack.sh up failed:\n${e.stderr ?? String(err)}`);
  }
  const { stdout } = await run(stackSh, ['env'], { env });
  const addrs = Object.fromEntries([...stdout.matchAll(/export (MEDTUNE_\w+_ADDR)=(\S+)/g)].map((m) => [m[1]!, m[2]!]));
  return {
    env,
    addrs,
    varDir,
    async down() {
      const res = await run(stackSh, ['down', '--keep-infra'], { env, cwd: repoRoot, timeout: 300_000 });
      return res.stderr;
    },
  };
}

/** Runs the medtune command (apps/cli/bin/medtune) against the stack; never rejects. */
export async function medtune(stack: E2eStack, args: string[], timeoutMs = 900_000): Promise<{ code: number; stdout: string; stderr: string; ms: number }> {
  const t0 = Date.now();
  try {
    const r = await run(path.join(repoRoot, 'apps/cli/bin/medtune'), args, { env: { ...stack.env, ...stack.addrs }, cwd: repoRoot, maxBuffer: 64 << 20, timeout: timeoutMs });
    return { code: 0, stdout: r.stdout, stderr: r.stderr, ms: Date.now() - t0 };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : -1, stdout: e.stdout ?? '', stderr: e.stderr ?? String(err), ms: Date.now() - t0 };
  }
}
