/**
 * The table of attacks (issue 14) against real service processes — dataset, training and
 * registry, started with TLS (certificates from tools/dev/certs/make.sh), signed caller tokens
 * (ES256) and data roots confined to one directory. Each row tries one thing a caller should not
 * be able to do and expects the documented refusal; afterwards nothing was stored (read back
 * with a service credential), and no credential in use appears in any service log.
 */
import { execFileSync } from 'node:child_process';
import { createPrivateKey, generateKeyPairSync } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { status } from '@grpc/grpc-js';
import { dataset, registry, training } from '@medtune/contracts';
import { createClient, fromServiceError, signJobDataToken, signToken, type Role, type TlsFiles } from '@medtune/kit';
import { printLogsOnFailure, testMongo, testNats, type TestMongo, type TestNats } from '@medtune/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repoRoot, startService, type StartedService } from '../support/services';

printLogsOnFailure();
const tmp = mkdtempSync(path.join(tmpdir(), 'attacks-'));
const pki = execFileSync(path.join(repoRoot, 'tools/dev/certs/make.sh'), [path.join(tmp, 'pki')], { encoding: 'utf8' }).trim();
const key = createPrivateKey(readFileSync(path.join(pki, 'jwt.key')));
const tls: TlsFiles = { caFile: path.join(pki, 'ca.pem') };
const allowed = path.join(tmp, 'data');
const outside = path.join(tmp, 'outside');
let nats: TestNats;
let mongo: TestMongo;
let ds: StartedService;
let tr: StartedService;
let reg: StartedService;
const tokens: Partial<Record<Role, string>> = {};
const secrets: string[] = [];

const env = (svc: string): Record<string, string> => ({
  MEDTUNE_JWT_KEY_FILE: path.join(pki, 'jwt.key'),
  MEDTUNE_TLS_CERT: path.join(pki, 'service.pem'),
  MEDTUNE_TLS_KEY: path.join(pki, 'service.key'),
  MEDTUNE_TLS_CA: path.join(pki, 'ca.pem'),
  MEDTUNE_DATA_ROOTS: allowed,
  MEDTUNE_LOG_LEVEL: 'debug',
  ...(svc === 'training' ? { MEDTUNE_TRAINING_MODEL_CHECK: 'off', MEDTUNE_TRAINING_DATASET_ADDR: ds.addr } : {}),
  ...(svc === 'registry' ? { MEDTUNE_REGISTRY_CONFIRM_JOBS: 'off' } : {}),
});
const ready = /gRPC server listening/;

beforeAll(async () => {
  mkdirSync(allowed, { recursive: true });
  mkdirSync(outside, { recursive: true });
  writeFileSync(path.join(outside, 'secret.json'), JSON.stringify([{ Question: 'q', Complex_CoT: 'c', Response: 'r' }]));
  symlinkSync(path.join(outside, 'secret.json'), path.join(allowed, 'link.json'));
  symlinkSync(outside, path.join(allowed, 'dir'));
  nats = await testNats();
  mongo = await testMongo();
  ds = await startService('dataset', nats, mongo, env('dataset'), { readyLog: ready });
  [tr, reg] = await Promise.all([
    startService('training', nats, mongo, env('training'), { readyLog: ready }),
    startService('registry', nats, mongo, env('registry'), { readyLog: ready }),
  ]);
  for (const role of ['user', 'operator', 'worker', 'service'] as const) tokens[role] = await signToken(key, { subject: `attacker-${role}`, role });
  secrets.push(...Object.values(tokens));
}, 240_000);
afterAll(async () => {
  await Promise.all([ds?.proc.stop(), tr?.proc.stop(), reg?.proc.stop()]);
  await nats?.cleanup();
  await mongo?.cleanup();
});

const opts = (token: string | undefined, o: { plaintext?: boolean } = {}) => ({ defaultDeadlineMs: 10_000, retry: false as const, authToken: token, ...(o.plaintext ? {} : { tls }) });
const dsc = (token: string | undefined, o: { plaintext?: boolean } = {}) => createClient(dataset.DatasetServiceClient, ds.addr, opts(token, o));
const trc = (token: string | undefined) => createClient(training.TrainingServiceClient, tr.addr, opts(token));
const wrc = (token: string | undefined) => createClient(training.WorkerRegistryServiceClient, tr.addr, opts(token));
const rgc = (token: string | undefined) => createClient(registry.RegistryServiceClient, reg.addr, opts(token));

/** The gRPC status (and message) a call ends with; OK when it succeeds. */
async function outcome(p: Promise<unknown> | AsyncIterable<unknown>): Promise<{ code: status; message: string }> {
  try {
    if (Symbol.asyncIterator in (p as object)) for await (const _ of p as AsyncIterable<unknown>) void _;
    else await p;
    return { code: status.OK, message: '' };
  } catch (err) {
    const e = fromServiceError(err);
    return { code: e.code, message: e.message };
  }
}

const createJob = (token: string | undefined) =>
  trc(token).unary(
    'createJob',
    training.CreateJobRequest.fromPartial({ datasetDigest: `sha256:${'a'.repeat(64)}`, baseModel: '/models/none', experiment: 'attack', idempotencyKey: `k-${Math.random()}` }),
  );
const register = (token: string | undefined) =>
  wrc(token).unary('registerWorker', training.RegisterWorkerRequest.fromPartial({ info: { workerId: 'forged-worker', address: '10.6.6.6:50061' } }));

describe('the table of attacks', () => {
  it('transport: a plaintext client gets nothing from a TLS service', async () => {
    const r = await outcome(dsc(tokens.service, { plaintext: true }).unary('listDatasets', dataset.ListDatasetsRequest.fromPartial({})));
    expect(r.code).toBe(status.UNAVAILABLE);
  });

  it.each([
    ['no credential', undefined],
    ['a token signed by another key', 'forged'],
    ['an expired token', 'expired'],
    ['garbage', 'not.a.jwt'],
  ])('identity: %s is UNAUTHENTICATED on every service', async (_name, which) => {
    let token = which;
    if (which === 'forged') token = await signToken(generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey, { subject: 'mallory', role: 'service' });
    if (which === 'expired') token = await signToken(key, { subject: 'alice', role: 'operator', ttlSeconds: -5 });
    if (token) secrets.push(token);
    const results = await Promise.all([
      outcome(dsc(token).unary('listDatasets', dataset.ListDatasetsRequest.fromPartial({}))),
      outcome(trc(token).unary('listJobs', training.ListJobsRequest.fromPartial({}))),
      outcome(rgc(token).unary('listRegisteredModels', registry.ListRegisteredModelsRequest.fromPartial({}))),
    ]);
    expect(results.map((r) => r.code)).toEqual([status.UNAUTHENTICATED, status.UNAUTHENTICATED, status.UNAUTHENTICATED]);
  });

  it('roles: a worker credential cannot create jobs; a user cannot register a worker or move an alias; nothing is stored', async () => {
    const asWorker = await outcome(createJob(tokens.worker));
    expect(asWorker.code).toBe(status.PERMISSION_DENIED);
    expect(asWorker.message).toMatch(/worker credential may not call .*CreateJob/);
    expect((await outcome(register(tokens.user))).code).toBe(status.PERMISSION_DENIED);
    expect((await outcome(register(tokens.operator))).code).toBe(status.PERMISSION_DENIED);
    await rgc(tokens.user).unary('createRegisteredModel', registry.CreateRegisteredModelRequest.fromPartial({ name: 'attacked' }));
    const alias = await outcome(rgc(tokens.user).unary('setAlias', registry.SetAliasRequest.fromPartial({ name: 'attacked', alias: 'champion', version: 1 })));
    expect(alias.code).toBe(status.PERMISSION_DENIED);
    // Read back as the platform: no job, no worker, no alias.
    expect((await trc(tokens.service).unary('listJobs', training.ListJobsRequest.fromPartial({}))).jobs).toHaveLength(0);
    expect((await wrc(tokens.service).unary('listWorkers', training.ListWorkersRequest.fromPartial({ includeLost: true }))).workers).toHaveLength(0);
    expect((await rgc(tokens.service).unary('getRegisteredModel', registry.GetRegisteredModelRequest.fromPartial({ name: 'attacked' }))).model?.aliases ?? {}).toEqual({});
    // …while the rightful roles get through.
    expect((await outcome(register(tokens.worker))).code).toBe(status.OK);
  });

  it('data credentials: a per-job token reads only its own version, and nothing else', async () => {
    const own = `sha256:${'1'.repeat(64)}`;
    const jobToken = await signJobDataToken(key, { jobId: 'job-x', versionDigest: own });
    secrets.push(jobToken);
    const other = await outcome(dsc(jobToken).serverStream('streamRows', dataset.StreamRowsRequest.fromPartial({ digest: `sha256:${'2'.repeat(64)}` })));
    expect(other.code).toBe(status.PERMISSION_DENIED);
    const mine = await outcome(dsc(jobToken).serverStream('streamRows', dataset.StreamRowsRequest.fromPartial({ digest: own })));
    expect([status.PERMISSION_DENIED, status.UNAUTHENTICATED]).not.toContain(mine.code); // let through (the version does not exist)
    expect((await outcome(dsc(jobToken).unary('listDatasets', dataset.ListDatasetsRequest.fromPartial({})))).code).toBe(status.PERMISSION_DENIED);
    expect((await outcome(trc(jobToken).unary('listJobs', training.ListJobsRequest.fromPartial({})))).code).toBe(status.PERMISSION_DENIED);
    // A user cannot read rows at all (only workers, with the job's credential).
    expect((await outcome(dsc(tokens.user).serverStream('streamRows', dataset.StreamRowsRequest.fromPartial({ digest: own })))).code).toBe(status.PERMISSION_DENIED);
  });

  it.each([
    ['traversal', () => path.join(allowed, '..', 'outside', 'secret.json')],
    ['a symlinked file', () => path.join(allowed, 'link.json')],
    ['a symlinked directory', () => path.join(allowed, 'dir', 'secret.json')],
    ['an absolute path elsewhere', () => '/etc/passwd'],
    ['the stack secrets', () => path.join(repoRoot, 'var/secrets/auth-token')],
  ])('paths: importing through %s is INVALID_ARGUMENT naming `path`, and stores nothing', async (_n, p) => {
    const r = await outcome(dsc(tokens.user).serverStream('importDataset', dataset.ImportDatasetRequest.fromPartial({ path: p(), options: { datasetName: 'stolen', tokenizerDir: path.join(repoRoot, '../shared/models/deepseek-r1-distill-qwen/bpe') } })));
    expect(r.code).toBe(status.INVALID_ARGUMENT);
    expect(r.message).toMatch(/^path: /);
    expect((await dsc(tokens.service).unary('listDatasets', dataset.ListDatasetsRequest.fromPartial({}))).datasets).toHaveLength(0);
  });

  it('paths: the registry hashes no file outside the roots (artifact URI, symlink escape) and stores no version', async () => {
    const artifact = (uri: string) =>
      registry.CreateModelVersionRequest.fromPartial({ name: 'attacked', artifacts: [{ kind: 1, uri, sha256: 'a'.repeat(64), sizeBytes: 1, files: [] }] });
    for (const uri of ['file:///etc/passwd', `file://${path.join(allowed, 'link.json')}`, `file://${path.join(allowed, 'dir')}`]) {
      const r = await outcome(rgc(tokens.user).unary('createModelVersion', artifact(uri)));
      expect(r.code, uri).toBe(status.INVALID_ARGUMENT);
      expect(r.message).toMatch(/^artifacts\[0\]\.uri: /);
    }
    expect((await rgc(tokens.service).unary('listModelVersions', registry.ListModelVersionsRequest.fromPartial({ name: 'attacked' }))).versions).toHaveLength(0);
  });

  it('size: an oversized message is RESOURCE_EXHAUSTED before any handler runs', async () => {
    const big = 'x'.repeat(6 << 20);
    expect((await outcome(rgc(tokens.user).unary('createRegisteredModel', registry.CreateRegisteredModelRequest.fromPartial({ name: 'big', description: big })))).code).toBe(
      status.RESOURCE_EXHAUSTED,
    );
    expect((await outcome(dsc(tokens.user).unary('getDataset', dataset.GetDatasetRequest.fromPartial({ name: big })))).code).toBe(status.RESOURCE_EXHAUSTED);
    expect((await outcome(rgc(tokens.service).unary('getRegisteredModel', registry.GetRegisteredModelRequest.fromPartial({ name: 'big' })))).code).toBe(status.NOT_FOUND);
  });

  it('no credential in use appears in any service log', () => {
    const logs = [ds, tr, reg].map((s) => s.proc.logs()).join('\n');
    expect(logs).toContain('"auth":true');
    expect(logs).toContain('"tls":true');
    for (const s of secrets) expect(logs).not.toContain(s);
    expect(logs).not.toContain(readFileSync(path.join(pki, 'jwt.key'), 'utf8').split('\n')[1]);
  });
});
