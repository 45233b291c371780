// tools/infra/infra.sh against a second instance (own var dir, own ports), so that stopping it
// cannot touch the servers the rest of the test run uses.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from '@medtune/testing';
import { MongoClient } from 'mongodb';
import { connect } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';

const INFRA = fileURLToPath(new URL('./infra.sh', import.meta.url));

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

function infra(env: Record<string, string | undefined>, ...args: string[]): Promise<Result> {
  const merged = Object.fromEntries(Object.entries({ ...process.env, ...env }).filter((e): e is [string, string] => e[1] !== undefined));
  return new Promise((resolve) => {
    execFile(INFRA, args, { env: merged, timeout: 120_000 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

/** Live (not zombie) processes whose command line mentions `dir`. */
function processesUsing(dir: string): { pid: number; cmd: string }[] {
  const found: { pid: number; cmd: string }[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const cmd = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0').join(' ');
      const state = readFileSync(`/proc/${entry}/stat`, 'utf8').replace(/^.*\) /, '')[0];
      if (cmd.includes(dir) && state !== 'Z') found.push({ pid: Number(entry), cmd });
    } catch {
      // the process ended while we looked
    }
  }
  return found;
}

async function natsAnswers(url: string): Promise<boolean> {
  try {
    const nc = await connect({ servers: url, reconnect: false, timeout: 1_000 });
    await nc.flush();
    const jetstream = Boolean(nc.info?.jetstream);
    await nc.close();
    return jetstream;
  } catch {
    return false;
  }
}

async function mongoAnswers(uri: string): Promise<boolean> {
  const client = new MongoClient(uri, { serverSelectionTimeoutMS: 1_000 });
  try {
    return (await client.db('admin').command({ ping: 1 })).ok === 1;
  } catch {
    return false;
  } finally {
    await client.close();
  }
}

describe('tools/infra/infra.sh (second instance)', () => {
  let varDir: string;
  let env: Record<string, string | undefined>;
  let natsUrl: string;
  let mongoUri: string;
  let holder: ChildProcess | undefined;

  beforeAll(async () => {
    varDir = mkdtempSync(join(tmpdir(), 'medtune-infra-'));
    const [natsPort, mongoPort] = [await freePort(), await freePort()];
    natsUrl = `nats://127.0.0.1:${natsPort}`;
    mongoUri = `mongodb://127.0.0.1:${mongoPort}/`;
    env = {
      MEDTUNE_VAR_DIR: varDir,
      MEDTUNE_NATS_PORT: String(natsPort),
      MEDTUNE_MONGO_PORT: String(mongoPort),
      NATS_URL: undefined, // the test run's globalSetup sets these; this instance must not see them
      MONGODB_URI: undefined,
    };
  });

  afterAll(async () => {
    holder?.kill();
    await infra(env, 'down');
    rmSync(varDir, { recursive: true, force: true });
  });

  it('env prints the URLs of this instance', async () => {
    const r = await infra(env, 'env');
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(`export NATS_URL=${natsUrl}\nexport MONGODB_URI=${mongoUri}\n`);
  });

  it('up starts both servers on loopback, answering; a second up finds them running', async () => {
    const first = await infra(env, 'up');
    expect(first.code, first.stderr).toBe(0);
    expect(first.stderr).toMatch(/nats: started nats-server \(pid \d+\)/);
    expect(first.stderr).toMatch(/mongo: started ferretdb \(pid \d+\)/);
    expect(await natsAnswers(natsUrl)).toBe(true);
    expect(await mongoAnswers(mongoUri)).toBe(true);
    const pids = processesUsing(varDir).map((p) => p.pid).sort();
    expect(pids).toHaveLength(2);
    for (const { cmd } of processesUsing(varDir)) expect(cmd).toMatch(/127\.0\.0\.1/);

    const second = await infra(env, 'up');
    expect(second.code, second.stderr).toBe(0);
    expect(second.stderr).toMatch(/nats: already running/);
    expect(second.stderr).toMatch(/mongo: already running/);
    expect(processesUsing(varDir).map((p) => p.pid).sort()).toEqual(pids);

    const status = await infra(env, 'status');
    expect(status.code).toBe(0);
    expect(status.stderr).toMatch(/nats: running .*started by hand/);
  });

  it('refuses to start on a port taken by a server it did not start', async () => {
    const otherDir = mkdtempSync(join(tmpdir(), 'medtune-infra-other-'));
    try {
      const r = await infra({ ...env, MEDTUNE_VAR_DIR: otherDir }, 'up');
      expect(r.code).not.toBe(0);
      expect(r.stderr).toMatch(/is taken by a process this script did not start/);
      expect(processesUsing(otherDir)).toEqual([]);
    } finally {
      rmSync(otherDir, { recursive: true, force: true });
    }
  });

  it('with NATS_URL / MONGODB_URI set, uses them and starts nothing', async () => {
    const otherDir = mkdtempSync(join(tmpdir(), 'medtune-infra-ext-'));
    try {
      const ext = { ...env, MEDTUNE_VAR_DIR: otherDir, NATS_URL: natsUrl, MONGODB_URI: mongoUri };
      const up = await infra(ext, 'up');
      expect(up.code, up.stderr).toBe(0);
      expect(up.stderr).toMatch(/using NATS_URL=.*starting nothing/);
      expect(up.stderr).toMatch(/using MONGODB_URI=.*starting nothing/);
      expect(processesUsing(otherDir)).toEqual([]);
      const down = await infra(ext, 'down');
      expect(down.stderr).toMatch(/not ours to stop/);
      expect(await natsAnswers(natsUrl)).toBe(true);
    } finally {
      rmSync(otherDir, { recursive: true, force: true });
    }
  });

  it('a test run’s release never stops servers started by hand', async () => {
    expect((await infra(env, 'up', '--lease', String(process.pid))).code).toBe(0);
    const r = await infra(env, 'release', String(process.pid));
    expect(r.code).toBe(0);
    expect(processesUsing(varDir)).toHaveLength(2);
    expect(await natsAnswers(natsUrl)).toBe(true);
  });

  it('down stops exactly this instance and leaves no process behind', async () => {
    const r = await infra(env, 'down');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/nats: stopped nats-server/);
    expect(r.stderr).toMatch(/mongo: stopped ferretdb/);
    expect(processesUsing(varDir)).toEqual([]);
    expect(await natsAnswers(natsUrl)).toBe(false);
    expect(await mongoAnswers(mongoUri)).toBe(false);
    // the shared servers of this test run are untouched
    expect(await mongoAnswers(inject('medtuneMongoUri') ?? '')).toBe(true);
    expect((await infra(env, 'status')).code).not.toBe(0);
  });

  it('servers started under leases stop when the last live lease is released', async () => {
    holder = spawn('sleep', ['300'], { stdio: 'ignore' });
    const a = String(process.pid);
    const b = String(holder.pid);
    expect((await infra(env, 'up', '--lease', a)).code).toBe(0);
    expect((await infra(env, 'up', '--lease', b)).code).toBe(0);
    expect(processesUsing(varDir)).toHaveLength(2);

    const first = await infra(env, 'release', a);
    expect(first.stderr).toMatch(/still used by 1 other test run/);
    expect(processesUsing(varDir)).toHaveLength(2);

    // A holder that died without releasing (a killed test run) does not keep them up.
    const exited = new Promise((resolve) => holder?.once('exit', resolve));
    holder.kill('SIGKILL');
    await exited;
    const last = await infra(env, 'release', a);
    expect(last.stderr).toMatch(/stopped nats-server/);
    expect(processesUsing(varDir)).toEqual([]);
  });
});
