/**
 * Access control against a real service process (the registry) started with MEDTUNE_AUTH_TOKEN:
 * a call without the token, or with a wrong one, is refused with UNAUTHENTICATED (and the CLI
 * says so with exit code 7); with the token it works; grpc.health.v1 stays open for probes; and
 * the token appears nowhere in the service's logs or in the events it publishes.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { promisify } from 'node:util';
import { status } from '@grpc/grpc-js';
import { registry } from '@medtune/contracts';
import { createClient, UnauthenticatedError } from '@medtune/kit';
import { collectEvents, freePort, grpcHealthStatus, printLogsOnFailure, startProcess, testMongo, testNats, type TestMongo, type TestNats } from '@medtune/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repoRoot, startService, type StartedService } from '../support/services';

const run = promisify(execFile);
printLogsOnFailure();
const token = `tok-${randomBytes(18).toString('hex')}`;
let nats: TestNats;
let mongo: TestMongo;
let reg: StartedService;

beforeAll(async () => {
  nats = await testNats();
  mongo = await testMongo();
  reg = await startService('registry', nats, mongo, { MEDTUNE_AUTH_TOKEN: token, MEDTUNE_LOG_LEVEL: 'debug' });
});
afterAll(async () => {
  await reg?.proc.stop();
  await nats?.cleanup();
  await mongo?.cleanup();
});

const call = (authToken?: string) => {
  const c = createClient(registry.RegistryServiceClient, reg.addr, { defaultDeadlineMs: 5_000, authToken, retry: false });
  return c.unary('createRegisteredModel', registry.CreateRegisteredModelRequest.fromPartial({ name: 'guarded', description: 'auth test' })).finally(() => c.close());
};

describe('gRPC access control (MEDTUNE_AUTH_TOKEN)', () => {
  it('refuses a call without the token, and one with a wrong token, with UNAUTHENTICATED', async () => {
    const none = await call(undefined).catch((e: unknown) => e);
    expect(none).toBeInstanceOf(UnauthenticatedError);
    expect((none as UnauthenticatedError).code).toBe(status.UNAUTHENTICATED);
    const wrong = await call(`${token}x`).catch((e: unknown) => e);
    expect(wrong).toBeInstanceOf(UnauthenticatedError);
  });

  it('accepts the right token, keeps the health service open, and never writes the token to logs or events', async () => {
    const events = await collectEvents(nats.nc, [nats.subject('medtune.registry.>')]);
    const res = await call(token);
    expect(res.model?.name).toBe('guarded');
    expect(await grpcHealthStatus(reg.addr, 'medtune.registry.v1.RegistryService')).toBe('SERVING');
    await events.waitFor(nats.subject('medtune.registry.model.created'));
    for (const e of events.events) {
      expect(Buffer.from(e.data).includes(token)).toBe(false);
      expect(JSON.stringify(e.headers)).not.toContain(token);
    }
    const logs = reg.proc.logs();
    expect(logs).toContain('"auth":true');
    expect(logs).toContain('"msg":"call"'); // the calls are logged (debug level)…
    expect(logs).not.toContain(token); // …and hold no token
  });

  it('the CLI passes MEDTUNE_AUTH_TOKEN, and without it exits 7 with what to do', async () => {
    const cli = path.join(repoRoot, 'apps/cli/bin/medtune');
    const env: NodeJS.ProcessEnv = { ...process.env, MEDTUNE_REGISTRY_ADDR: reg.addr };
    delete env.MEDTUNE_AUTH_TOKEN;
    const refused = await run(cli, ['models', 'list'], { env }).catch((e: { code: number; stderr: string }) => e);
    expect((refused as { code: number }).code).toBe(7);
    expect((refused as { stderr: string }).stderr).toMatch(/refused the call[\s\S]*hint: set MEDTUNE_AUTH_TOKEN/);
    const ok = await run(cli, ['models', 'list', '--json'], { env: { ...env, MEDTUNE_AUTH_TOKEN: token } });
    expect(JSON.parse(ok.stdout).models.map((m: { name: string }) => m.name)).toContain('guarded');
    expect(ok.stdout + ok.stderr).not.toContain(token);
  }, 60_000);
});

// NATS credentials: MEDTUNE_NATS_USER / MEDTUNE_NATS_PASSWORD reach connectNats through the kit's
// service config (natsConnectOptions).
describe('NATS credentials', () => {
  it('a service connects to a NATS server that requires a user and password, and its logs hold no password', async () => {
    const port = await freePort();
    const password = `pw-${randomBytes(12).toString('hex')}`;
    const server = await startProcess({
      name: 'nats-server (auth)',
      cmd: 'nats-server',
      args: ['-a', '127.0.0.1', '-p', String(port), '--jetstream', '--store_dir', mkdtempSync(path.join(tmpdir(), 'js-')), '--user', 'medtune', '--pass', password],
      readyWhen: { log: /Server is ready/ },
    });
    try {
      const authed = { ...nats, url: `nats://127.0.0.1:${port}` };
      const svc = await startService('registry', authed, mongo, { MEDTUNE_NATS_USER: 'medtune', MEDTUNE_NATS_PASSWORD: password });
      await svc.proc.stop();
      expect(svc.proc.logs()).not.toContain(password);
      await expect(startService('registry', authed, mongo, { MEDTUNE_NATS_USER: 'medtune', MEDTUNE_NATS_PASSWORD: 'wrong' })).rejects.toThrow();
    } finally {
      await server.stop();
    }
  }, 120_000);
});
