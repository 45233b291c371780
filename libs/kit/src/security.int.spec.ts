// TLS, mutual TLS and scoped credentials of the kit's gRPC server and client over a real socket
// (port 0), with certificates made by tools/dev/certs/make.sh (openssl): a plaintext client, a
// client that trusts another CA, and (mTLS) a client without a certificate or with one signed by
// another CA are refused; JWTs are told apart as UNAUTHENTICATED (missing, forged, expired) vs
// PERMISSION_DENIED (valid, wrong role); the shared token keeps working.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { Metadata } from '@grpc/grpc-js';
import { admin, dataset } from '@medtune/contracts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  confineFileUri,
  confinePath,
  createAuthenticator,
  createClient,
  createGrpcServer,
  InvalidArgumentError,
  PermissionDeniedError,
  signJobDataToken,
  signToken,
  unary,
  UnauthenticatedError,
  UnavailableError,
  type KitGrpcServer,
  type MethodScopes,
  type TlsFiles,
} from './index';
import { captureLogs } from './test-logs';

const Svc = { getDataset: dataset.DatasetServiceService.getDataset, getVersion: dataset.DatasetServiceService.getVersion };
const SCOPES: MethodScopes<typeof Svc> = { getDataset: 'read', getVersion: 'write' };
const logs = captureLogs();
const root = path.resolve(__dirname, '../../..');
const tmp = mkdtempSync(path.join(tmpdir(), 'kit-sec-'));
const certs = (name: string) => execFileSync(path.join(root, 'tools/dev/certs/make.sh'), [path.join(tmp, name)], { encoding: 'utf8' }).trim();
let good: string;
let other: string;
const { privateKey: key, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const shared = `shared-${randomBytes(8).toString('hex')}`;
const servers: KitGrpcServer[] = [];

async function serve(tls: TlsFiles | undefined): Promise<string> {
  const server = createGrpcServer({ log: logs.log, tls, auth: createAuthenticator({ sharedToken: shared, jwtPublicKey: publicKey }) });
  server.add(Svc, {
    getDataset: unary(async (_req, ctx) => dataset.GetDatasetResponse.fromPartial({ dataset: { name: ctx.principal?.subject ?? '' } })),
    getVersion: unary(async () => dataset.GetVersionResponse.fromPartial({})),
  }, SCOPES);
  server.add(admin.AdminServiceService, {
    listDeadLetters: unary(async () => ({ deadLetters: [], nextPageToken: '' })),
    redriveDeadLetter: unary(async () => admin.RedriveDeadLetterResponse.fromPartial({})),
  });
  servers.push(server);
  return `127.0.0.1:${await server.start('127.0.0.1:0')}`;
}

const getDataset = async (addr: string, o: { tls?: TlsFiles; token?: string }) => {
  const c = createClient({ service: Svc }, addr, { defaultDeadlineMs: 3_000, retry: false, tls: o.tls, authToken: o.token ?? shared });
  try {
    return await c.unary('getDataset', dataset.GetDatasetRequest.fromPartial({ name: 'x' }));
  } finally {
    c.close();
  }
};

beforeAll(() => {
  good = certs('good');
  other = certs('other');
});
afterAll(async () => {
  await Promise.all(servers.map((s) => s.shutdown({ graceMs: 500 })));
  rmSync(tmp, { recursive: true, force: true });
});

describe('TLS', () => {
  let addr: string;
  beforeAll(async () => {
    addr = await serve({ certFile: `${good}/service.pem`, keyFile: `${good}/service.key` });
  });

  it('serves a client that trusts the CA, and refuses a plaintext client and one that trusts another CA', async () => {
    expect((await getDataset(addr, { tls: { caFile: `${good}/ca.pem` } })).dataset?.name).toBe('shared-token');
    await expect(getDataset(addr, {})).rejects.toBeInstanceOf(UnavailableError);
    await expect(getDataset(addr, { tls: { caFile: `${other}/ca.pem` } })).rejects.toBeInstanceOf(UnavailableError);
  });
});

describe('mutual TLS', () => {
  let addr: string;
  beforeAll(async () => {
    addr = await serve({ certFile: `${good}/service.pem`, keyFile: `${good}/service.key`, caFile: `${good}/ca.pem`, clientAuth: true });
  });

  it('requires a client certificate signed by its CA', async () => {
    const ca = `${good}/ca.pem`;
    expect((await getDataset(addr, { tls: { caFile: ca, certFile: `${good}/client.pem`, keyFile: `${good}/client.key` } })).dataset?.name).toBe('shared-token');
    await expect(getDataset(addr, { tls: { caFile: ca } })).rejects.toBeInstanceOf(UnavailableError);
    await expect(getDataset(addr, { tls: { caFile: ca, certFile: `${other}/client.pem`, keyFile: `${other}/client.key` } })).rejects.toBeInstanceOf(UnavailableError);
    await expect(getDataset(addr, {})).rejects.toBeInstanceOf(UnavailableError);
  });
});

describe('scoped credentials', () => {
  let addr: string;
  beforeAll(async () => {
    addr = await serve(undefined);
  });

  it('UNAUTHENTICATED: no credential, a wrong shared token, a forged or an expired JWT', async () => {
    const none = createClient({ service: Svc }, addr, { defaultDeadlineMs: 3_000, retry: false });
    await expect(none.unary('getDataset', dataset.GetDatasetRequest.fromPartial({ name: 'x' }))).rejects.toBeInstanceOf(UnauthenticatedError);
    none.close();
    await expect(getDataset(addr, { token: `${shared}x` })).rejects.toBeInstanceOf(UnauthenticatedError);
    const forged = await signToken(generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey, { subject: 'mallory', role: 'operator' });
    await expect(getDataset(addr, { token: forged })).rejects.toBeInstanceOf(UnauthenticatedError);
    const expired = await signToken(key, { subject: 'alice', role: 'user', ttlSeconds: -10 });
    await expect(getDataset(addr, { token: expired })).rejects.toBeInstanceOf(UnauthenticatedError);
    // an unsigned token ("alg": "none") with a valid-looking body
    const b64 = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
    const unsigned = `${b64({ alg: 'none' })}.${b64({ sub: 'mallory', role: 'service', iss: 'medtune', exp: 9e9 })}.`;
    await expect(getDataset(addr, { token: unsigned })).rejects.toBeInstanceOf(UnauthenticatedError);
    const logged = logs.text();
    expect(logged).not.toContain(shared);
    expect(logged).not.toContain(forged);
  });

  it('PERMISSION_DENIED: a valid credential of a role that lacks the method scope; the caller is known to the handler', async () => {
    const user = await signToken(key, { subject: 'alice', role: 'user' });
    const worker = await signToken(key, { subject: 'worker-1', role: 'worker' });
    const operator = await signToken(key, { subject: 'olga', role: 'operator' });
    const job = await signJobDataToken(key, { jobId: 'job-1', versionDigest: 'sha256:abc' });
    expect((await getDataset(addr, { token: user })).dataset?.name).toBe('alice');
    const denied = await getDataset(addr, { token: worker }).catch((e: unknown) => e);
    expect(denied).toBeInstanceOf(PermissionDeniedError);
    expect((denied as Error).message).toMatch(/worker credential may not call .*GetDataset.*scope read/);
    await expect(getDataset(addr, { token: job })).rejects.toBeInstanceOf(PermissionDeniedError);
    // A service without a scope table needs `service`: an operator is refused, the shared token is not.
    const call = (token: string) => {
      const c = createClient(admin.AdminServiceClient, addr, { defaultDeadlineMs: 3_000, retry: false, authToken: token });
      return c.unary('listDeadLetters', admin.ListDeadLettersRequest.fromPartial({})).finally(() => c.close());
    };
    await expect(call(operator)).rejects.toBeInstanceOf(PermissionDeniedError);
    await expect(call(shared)).resolves.toBeDefined();
  });

  it('the client reads a token function on every call', async () => {
    let t = 'wrong';
    const c = createClient({ service: Svc }, addr, { defaultDeadlineMs: 3_000, retry: false, authToken: () => t });
    await expect(c.unary('getDataset', dataset.GetDatasetRequest.fromPartial({ name: 'x' }))).rejects.toBeInstanceOf(UnauthenticatedError);
    t = shared;
    await expect(c.unary('getDataset', dataset.GetDatasetRequest.fromPartial({ name: 'x' }))).resolves.toBeDefined();
    c.close();
  });

  it('metadata without Bearer is refused', async () => {
    const auth = createAuthenticator({ sharedToken: shared });
    if (!auth) throw new Error("no authenticator");
    const md = new Metadata();
    md.set('authorization', shared);
    expect(await auth.authenticate(md)).toBeUndefined();
    md.set('authorization', `Bearer ${shared}`);
    expect((await auth.authenticate(md))?.role).toBe('service');
  });
});

describe('confinePath', () => {
  it('allows paths under a root, refuses traversal, symlink escapes and relative paths, naming the field', () => {
    const base = path.join(tmp, 'confine');
    const allowed = path.join(base, 'data');
    const outside = path.join(base, 'outside');
    mkdirSync(allowed, { recursive: true });
    mkdirSync(outside, { recursive: true });
    writeFileSync(path.join(allowed, 'a.json'), '[]');
    writeFileSync(path.join(outside, 'secret.txt'), 'x');
    symlinkSync(path.join(outside, 'secret.txt'), path.join(allowed, 'link.json'));
    symlinkSync(outside, path.join(allowed, 'dirlink'));
    expect(confinePath(path.join(allowed, 'a.json'), [allowed], 'path')).toBe(path.join(allowed, 'a.json'));
    expect(confinePath(path.join(allowed, 'new', 'x'), [allowed], 'artifact_root', { mustExist: false })).toBe(path.join(allowed, 'new', 'x'));
    const bad = [
      [path.join(allowed, '..', 'outside', 'secret.txt'), {}],
      [path.join(allowed, 'link.json'), {}],
      [path.join(allowed, 'dirlink', 'secret.txt'), {}],
      [path.join(allowed, 'dirlink', 'fresh'), { mustExist: false }],
      ['data/a.json', {}],
      ['/etc/passwd', {}],
    ] as const;
    for (const [p, o] of bad) {
      const e = (() => {
        try {
          confinePath(p, [allowed], 'eval_set.path', o);
        } catch (err) {
          return err;
        }
        return undefined;
      })();
      expect(e, p).toBeInstanceOf(InvalidArgumentError);
      expect((e as InvalidArgumentError).field).toBe('eval_set.path');
    }
    expect(() => confineFileUri(`file://${path.join(allowed, 'link.json')}`, [allowed], 'uri')).toThrow(InvalidArgumentError);
    expect(confineFileUri(`file://${path.join(allowed, 'a.json')}`, [allowed], 'uri')).toBe(path.join(allowed, 'a.json'));
    expect(() => confinePath(path.join(allowed, 'a.json'), [], 'path')).toThrow(/no root is configured/);
  });
});
