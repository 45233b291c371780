/**
 * The gateway on a secure stack, against real processes: the tracking and training services with
 * TLS and signed tokens (certificates and the JWT key from tools/dev/certs/make.sh), the gateway
 * in this process with the CA and its own `user` token read from a file, as `stack.sh up` with
 * MEDTUNE_STACK_SECURE=1 starts it. Checked: reads go over TLS with the gateway's token; a gateway
 * without the CA gets the services' UNAVAILABLE passed through; actions carry the signed-in
 * caller's token, whose scopes the service checks (a worker token is refused at sign-in, an
 * operator's reaches the service); the caller's token appears in no log line (every request is
 * logged at trace level), no response body and no header but the Set-Cookie that keeps it.
 */
import { execFileSync } from 'node:child_process';
import { createPrivateKey } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { tracking } from '@medtune/contracts';
import { createClient, createLogger, signToken } from '@medtune/kit';
import { freePort, repoRoot, startService, testMongo, testNats, type StartedService, type TestMongo, type TestNats } from '@medtune/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDashboard, type Dashboard } from './app';
import { loadDashboardConfig } from './config';

const tmp = mkdtempSync(path.join(tmpdir(), 'dashboard-secure-'));
const pki = execFileSync(path.join(repoRoot, 'tools/dev/certs/make.sh'), [path.join(tmp, 'pki')], { encoding: 'utf8' }).trim();
const key = createPrivateKey(readFileSync(path.join(pki, 'jwt.key')));
const serviceEnv = {
  MEDTUNE_JWT_KEY_FILE: path.join(pki, 'jwt.key'),
  MEDTUNE_TLS_CERT: path.join(pki, 'service.pem'),
  MEDTUNE_TLS_KEY: path.join(pki, 'service.key'),
  MEDTUNE_TLS_CA: path.join(pki, 'ca.pem'),
};
let nats: TestNats;
let mongo: TestMongo;
let trk: StartedService;
let trn: StartedService;
const dashboards: Dashboard[] = [];
const logLines: string[] = [];
const secrets: string[] = [];
const runId = `dash-secure-${Date.now().toString(36)}`;

/** A service as a real process, TLS on: ready when it logs that it listens. */
const service = (name: 'tracking' | 'training', env: Record<string, string>): Promise<StartedService> =>
  startService(name, nats, mongo, { ...serviceEnv, ...env }, { readyLog: /gRPC server listening/, readyTimeoutMs: 90_000 });

async function gateway(extra: Record<string, string>): Promise<string> {
  const cfg = loadDashboardConfig({
    MEDTUNE_DASHBOARD_HTTP_ADDR: `127.0.0.1:${await freePort()}`,
    MEDTUNE_DASHBOARD_TRACKING_ADDR: trk.addr,
    MEDTUNE_DASHBOARD_TRAINING_ADDR: trn.addr,
    MEDTUNE_DASHBOARD_DEADLINE: '5s',
    ...extra,
  });
  const log = createLogger({ service: 'dashboard', level: 'trace', destination: { write: (s: string) => void logLines.push(s) } });
  const d = await startDashboard(cfg, log);
  dashboards.push(d);
  return d.url.replace(/\/$/, '');
}

beforeAll(async () => {
  nats = await testNats();
  mongo = await testMongo();
  [trk, trn] = await Promise.all([service('tracking', {}), service('training', { MEDTUNE_TRAINING_DATASET_ADDR: `127.0.0.1:${await freePort()}` })]);
  const admin = await signToken(key, { subject: 'test-admin', role: 'service' });
  const client = createClient(tracking.TrackingServiceClient, trk.addr, { defaultDeadlineMs: 10_000, authToken: admin, tls: { caFile: path.join(pki, 'ca.pem') } });
  await client.unary('createRun', tracking.CreateRunRequest.fromPartial({ runId, experiment: 'dash-secure', name: 'secure', kind: tracking.RunKind.RUN_KIND_OTHER, status: tracking.RunStatus.RUN_STATUS_RUNNING }));
  await client.unary('logMetrics', { runId, points: [1, 2].map((step) => ({ key: 'loss', step, value: 1 / step, time: new Date() })) });
  client.close();
}, 180_000);

afterAll(async () => {
  for (const d of dashboards) await d.stop();
  await Promise.all([trk?.proc.stop(), trn?.proc.stop()]);
  await nats?.cleanup();
  await mongo?.cleanup();
});

describe('the gateway on a secure stack', () => {
  it('reads over TLS with its own token from a file; without the CA the services are UNAVAILABLE', async () => {
    const tokenFile = path.join(tmp, 'dashboard.token');
    const own = await signToken(key, { subject: 'dashboard', role: 'user' });
    secrets.push(own);
    writeFileSync(tokenFile, `${own}\n`, { mode: 0o600 });
    const url = await gateway({ MEDTUNE_DASHBOARD_TOKEN_FILE: tokenFile, MEDTUNE_DASHBOARD_TLS_CA: path.join(pki, 'ca.pem') });
    const res = await fetch(`${url}/api/runs/${runId}`);
    expect(res.status).toBe(200);
    expect(((await res.json()) as { run: { runId: string } }).run.runId).toBe(runId);
    expect(((await (await fetch(`${url}/api/session`)).json()) as { authRequired: boolean }).authRequired).toBe(true);

    // The history revalidates: the same stored points answer 304, a new point a fresh body.
    const hist = `${url}/api/runs/${runId}/history?key=loss&max_points=100`;
    const first = await fetch(hist);
    expect(first.status).toBe(200);
    const etag = first.headers.get('etag')!;
    expect(etag).toMatch(/^W\/"/);
    expect((await fetch(hist, { headers: { 'if-none-match': etag } })).status).toBe(304);
    const admin = createClient(tracking.TrackingServiceClient, trk.addr, { defaultDeadlineMs: 10_000, authToken: await signToken(key, { subject: 'test-admin', role: 'service' }), tls: { caFile: path.join(pki, 'ca.pem') } });
    await admin.unary('logMetrics', { runId, points: [{ key: 'loss', step: 3, value: 0.5, time: new Date() }] });
    admin.close();
    const fresh = await fetch(hist, { headers: { 'if-none-match': etag } });
    expect(fresh.status).toBe(200);
    expect(fresh.headers.get('etag')).not.toBe(etag);
    expect(((await fresh.json()) as { series: { steps: number[] }[] }).series[0]!.steps.at(-1)).toBe(3);

    const plain = await gateway({ MEDTUNE_DASHBOARD_TOKEN_FILE: tokenFile });
    const refused = await fetch(`${plain}/api/runs/${runId}`);
    expect(refused.status).toBe(503);
    expect(((await refused.json()) as { error: { code: string } }).error.code).toBe('UNAVAILABLE');
  }, 60_000);

  it('acts with the caller’s own scoped token, kept only in the httpOnly cookie', async () => {
    const tokenFile = path.join(tmp, 'dashboard-2.token');
    const own = await signToken(key, { subject: 'dashboard', role: 'user' });
    writeFileSync(tokenFile, own, { mode: 0o600 });
    secrets.push(own);
    const url = await gateway({ MEDTUNE_DASHBOARD_TOKEN_FILE: tokenFile, MEDTUNE_DASHBOARD_TLS_CA: path.join(pki, 'ca.pem') });
    const post = (p: string, body: unknown, cookie?: string) =>
      fetch(`${url}${p}`, { method: 'POST', headers: { 'content-type': 'application/json', ...(cookie ? { cookie } : {}) }, body: JSON.stringify(body) });

    // Without signing in: refused by the gateway, nothing sent with its own token.
    const anon = await post('/api/jobs/job_unknown/cancel', { reason: 'test' });
    expect(anon.status).toBe(401);

    // A worker token holds no `read` scope: the service refuses it at sign-in.
    const worker = await signToken(key, { subject: 'w1', role: 'worker' });
    secrets.push(worker);
    const w = await post('/api/session', { token: worker });
    expect(w.status).toBe(403);
    expect(((await w.json()) as { error: { code: string } }).error.code).toBe('PERMISSION_DENIED');
    expect(w.headers.get('set-cookie')).toBeNull();

    // An operator's token: kept in the cookie; the cancel reaches the service with it (the job
    // does not exist, so the service's NOT_FOUND comes back rather than an auth error).
    const operator = await signToken(key, { subject: 'alice', role: 'operator' });
    secrets.push(operator);
    const signIn = await post('/api/session', { token: operator });
    expect(signIn.status).toBe(200);
    const setCookie = signIn.headers.get('set-cookie')!;
    expect(setCookie).toMatch(/HttpOnly/);
    expect(setCookie).toMatch(/SameSite=Strict/);
    const signInBody = await signIn.text();
    const cookie = setCookie.split(';')[0]!;
    const cancel = await post('/api/jobs/job_unknown/cancel', { reason: 'test' }, cookie);
    const cancelBody = await cancel.text();
    expect(cancel.status).toBe(404);
    expect(JSON.parse(cancelBody)).toMatchObject({ error: { code: 'NOT_FOUND' } });
    // A forged cookie is the service's to refuse, not the gateway's to trust.
    const forged = await post('/api/jobs/job_unknown/cancel', { reason: 'test' }, 'medtune_session=not-a-token');
    expect(forged.status).toBe(401);

    for (const s of secrets) {
      expect(signInBody).not.toContain(s);
      expect(cancelBody).not.toContain(s);
      expect(logLines.join('')).not.toContain(s);
    }
    // Every request was logged (by path), so the check above looked at real lines.
    expect(logLines.some((l) => l.includes('/api/jobs/job_unknown/cancel'))).toBe(true);
  }, 60_000);
});
