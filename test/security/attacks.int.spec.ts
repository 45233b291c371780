/**
 * The table of attacks (issue 14) against real service processes — dataset, training and
 * registry, started with TLS (certificates from tools/dev/certs/make.sh), signed caller tokens
 * (ES256) and data roots confined to one directory (base models included). Each row tries one
 * thing a caller should not be able to do and expects the documented refusal; afterwards nothing
 * was stored (read back with a service credential), and no credential in use appears in any
 * service log. The last rows use a real dataset version (imported here) and a forged worker (a
 * gRPC TrainerService in this process, registered with a worker credential).
 */
import { execFileSync } from 'node:child_process';
import { createPrivateKey, generateKeyPairSync } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { status } from '@grpc/grpc-js';
import { dataset, registry, trainer, training } from '@medtune/contracts';
import {
  createClient,
  createGrpcServer,
  createLogger,
  fromServiceError,
  serverStream,
  signJobDataToken,
  signToken,
  unary,
  type KitGrpcServer,
  type Role,
  type TlsFiles,
} from '@medtune/kit';
import { printLogsOnFailure, testMongo, testNats, waitFor, type TestMongo, type TestNats } from '@medtune/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repoRoot, startService, type StartedService } from '../support/services';

printLogsOnFailure();
const tmp = mkdtempSync(path.join(tmpdir(), 'attacks-'));
const pki = execFileSync(path.join(repoRoot, 'tools/dev/certs/make.sh'), [path.join(tmp, 'pki')], { encoding: 'utf8' }).trim();
const key = createPrivateKey(readFileSync(path.join(pki, 'jwt.key')));
const tls: TlsFiles = { caFile: path.join(pki, 'ca.pem') };
const allowed = path.join(tmp, 'data');
const outside = path.join(tmp, 'outside');
const tokenizerDir = path.join(repoRoot, '../shared/models/deepseek-r1-distill-qwen/bpe');
let nats: TestNats;
let mongo: TestMongo;
let ds: StartedService;
let tr: StartedService;
let reg: StartedService;
const tokens: Partial<Record<Role, string>> = {};
let evil: KitGrpcServer | undefined;
const secrets: string[] = [];

const env = (svc: string): Record<string, string> => ({
  MEDTUNE_JWT_KEY_FILE: path.join(pki, 'jwt.key'),
  MEDTUNE_TLS_CERT: path.join(pki, 'service.pem'),
  MEDTUNE_TLS_KEY: path.join(pki, 'service.key'),
  MEDTUNE_TLS_CA: path.join(pki, 'ca.pem'),
  MEDTUNE_DATA_ROOTS: allowed,
  MEDTUNE_LOG_LEVEL: 'debug',
  // MODEL_CHECK local (the default): base_model paths are confined to the data roots.
  ...(svc === 'training' ? { MEDTUNE_TRAINING_DATASET_ADDR: ds.addr, MEDTUNE_TRAINING_SCHEDULE_INTERVAL: '200ms' } : {}),
  ...(svc === 'registry' ? { MEDTUNE_REGISTRY_CONFIRM_JOBS: 'off' } : {}),
  // Imports only from the allowed directory; tokenizer directories also from the shared model's.
  ...(svc === 'dataset' ? { MEDTUNE_DATASET_IMPORT_ROOTS: allowed, MEDTUNE_DATA_ROOTS: `${allowed}:${tokenizerDir}`, MEDTUNE_DATASET_MAX_UPLOAD_BYTES: String(1 << 20) } : {}),
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
  await evil?.shutdown({ graceMs: 100 });
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

/** A CreateJob request on `digest` with a config-only model directory under the allowed root. */
function jobRequest(digest: string): Parameters<typeof training.CreateJobRequest.fromPartial>[0] {
  const model = path.join(allowed, 'model');
  if (!existsSync(path.join(model, 'config.json'))) {
    mkdirSync(model, { recursive: true });
    writeFileSync(path.join(model, 'config.json'), JSON.stringify({ model_type: 'qwen2' }));
  }
  return { datasetDigest: digest, baseModel: model, experiment: 'attack', idempotencyKey: `k-${Math.random()}`, hyperparameters: { maxSteps: 1 } };
}

let version: string | undefined;
/** A READY dataset version (imported once, from a file under the allowed root). */
async function importVersion(): Promise<string> {
  if (version) return version;
  const file = path.join(allowed, 'rows.jsonl');
  writeFileSync(file, [1, 2, 3, 4, 5].map((i) => JSON.stringify({ Question: `question ${i} about chest pain`, Complex_CoT: `reasoning ${i}`, Response: `answer ${i}` })).join('\n'));
  const options = dataset.ImportOptions.fromPartial({ datasetName: 'attack-rows', tokenizerDir });
  // A loaded machine tokenizes slowly: a longer deadline than the other rows'.
  const client = createClient(dataset.DatasetServiceClient, ds.addr, { ...opts(tokens.user), defaultDeadlineMs: 120_000 });
  for await (const m of client.serverStream('importDataset', dataset.ImportDatasetRequest.fromPartial({ path: file, options }))) {
    if (m.event?.$case === 'result') version = m.event.result.version!.digest;
  }
  if (!version) throw new Error('import gave no version');
  return version;
}

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
    const r = await outcome(dsc(tokens.user).serverStream('importDataset', dataset.ImportDatasetRequest.fromPartial({ path: p(), options: { datasetName: 'stolen', tokenizerDir } })));
    expect(r.code).toBe(status.INVALID_ARGUMENT);
    expect(r.message).toMatch(/^path: /);
    expect((await dsc(tokens.service).unary('listDatasets', dataset.ListDatasetsRequest.fromPartial({}))).datasets).toHaveLength(0);
  });

  it.each([
    ['a directory elsewhere', () => path.join(outside, 'tok')],
    ['traversal', () => path.join(allowed, '..', 'outside', 'tok')],
    ['a symlinked directory', () => path.join(allowed, 'tok-link')],
  ])('paths: a tokenizer directory through %s is INVALID_ARGUMENT naming `options.tokenizer_dir`, and stores nothing', async (_n, p) => {
    // A working tokenizer (a copy of the shared one): without the confinement the import would succeed.
    if (!existsSync(path.join(outside, 'tok'))) cpSync(tokenizerDir, path.join(outside, 'tok'), { recursive: true });
    if (!existsSync(path.join(allowed, 'tok-link'))) symlinkSync(path.join(outside, 'tok'), path.join(allowed, 'tok-link'));
    const file = path.join(allowed, 'one.jsonl');
    writeFileSync(file, JSON.stringify({ Question: 'q', Complex_CoT: 'c', Response: 'r' }));
    const r = await outcome(dsc(tokens.user).serverStream('importDataset', dataset.ImportDatasetRequest.fromPartial({ path: file, options: { datasetName: 'tok', tokenizerDir: p() } })));
    expect(r.code).toBe(status.INVALID_ARGUMENT);
    expect(r.message).toMatch(/^options\.tokenizer_dir: /);
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

  it.each([
    ['traversal', () => path.join(allowed, '..', 'outside', 'model')],
    ['a symlinked directory', () => path.join(allowed, 'model-link')],
    ['a path through a symlinked parent', () => path.join(allowed, 'dir', 'model')],
    ['an absolute path elsewhere', () => '/etc'],
    ['a relative path', () => './model'],
  ])('paths: a base model through %s is INVALID_ARGUMENT naming `base_model`, and no job is stored', async (_n, p) => {
    mkdirSync(path.join(outside, 'model'), { recursive: true });
    writeFileSync(path.join(outside, 'model', 'config.json'), JSON.stringify({ model_type: 'qwen2' }));
    if (!existsSync(path.join(allowed, 'model-link'))) symlinkSync(path.join(outside, 'model'), path.join(allowed, 'model-link'));
    const r = await outcome(trc(tokens.user).unary('createJob', training.CreateJobRequest.fromPartial({ ...jobRequest('x'), baseModel: p() })));
    expect(r.code).toBe(status.INVALID_ARGUMENT);
    expect(r.message).toMatch(/^base_model: /);
    expect((await trc(tokens.service).unary('listJobs', training.ListJobsRequest.fromPartial({}))).jobs).toHaveLength(0);
  });

  it('ownership: a user cannot cancel another user\'s job (PERMISSION_DENIED, nothing changes); its creator and an operator can', async () => {
    const digest = await importVersion();
    const [alice, bob] = await Promise.all([signToken(key, { subject: 'alice', role: 'user' }), signToken(key, { subject: 'bob', role: 'user' })]);
    secrets.push(alice, bob);
    // No worker has 1 PiB of GPU memory: the jobs stay QUEUED.
    const create = async (token: string) =>
      (await trc(token).unary('createJob', training.CreateJobRequest.fromPartial({ ...jobRequest(digest), minGpuMemoryBytes: 2 ** 50 }))).job!;
    const [a, b] = [await create(alice), await create(bob)];
    expect([a.creator, b.creator]).toEqual(['alice', 'bob']);
    const listed = (await trc(tokens.user).unary('listJobs', training.ListJobsRequest.fromPartial({}))).jobs;
    expect(Object.fromEntries(listed.map((j) => [j.jobId, j.creator]))).toMatchObject({ [a.jobId]: 'alice', [b.jobId]: 'bob' });

    const denied = await outcome(trc(bob).unary('cancelJob', training.CancelJobRequest.fromPartial({ jobId: a.jobId, reason: 'mine now' })));
    expect(denied.code).toBe(status.PERMISSION_DENIED);
    expect(denied.message).toContain(`job ${a.jobId} was created by "alice"; a user may cancel only the jobs it created`);
    const untouched = (await trc(tokens.service).unary('getJob', training.GetJobRequest.fromPartial({ jobId: a.jobId }))).job!;
    expect(untouched.state).toBe(training.JobState.JOB_STATE_QUEUED);
    expect(untouched.history).toHaveLength(a.history.length);

    const own = (await trc(alice).unary('cancelJob', training.CancelJobRequest.fromPartial({ jobId: a.jobId, reason: 'done with it' }))).job!;
    expect(own.state).toBe(training.JobState.JOB_STATE_CANCELLED);
    const byOperator = (await trc(tokens.operator).unary('cancelJob', training.CancelJobRequest.fromPartial({ jobId: b.jobId, reason: 'maintenance' }))).job!;
    expect(byOperator.state).toBe(training.JobState.JOB_STATE_CANCELLED);
  });

  it('worker events: a forged worker replaying an event and sending another job\'s events gets nothing stored; the job leaves it', async () => {
    const digest = await importVersion();
    const started: trainer.StartJobRequest[] = [];
    const foreignJob = 'job-someone-else';
    evil = createGrpcServer({ log: createLogger({ service: 'forged-worker', level: 'warn' }), tls: { certFile: path.join(pki, 'worker.pem'), keyFile: path.join(pki, 'worker.key') } });
    const view = (jobId: string, state = trainer.WorkerJobState.WORKER_JOB_STATE_RUNNING) => trainer.WorkerJob.fromPartial({ jobId, state, attempt: 1 });
    evil.add(trainer.TrainerServiceService, {
      startJob: unary(async (req: trainer.StartJobRequest) => {
        started.push(req);
        if (req.spec?.data?.$case === 'dataset' && req.spec.data.dataset.authToken) secrets.push(req.spec.data.dataset.authToken);
        return { job: view(req.jobId), created: true };
      }),
      watchJob: serverStream(async function* (req: trainer.WatchJobRequest, ctx) {
        const at = (sequence: number, jobId: string, payload: trainer.JobEvent['payload']) =>
          trainer.WatchJobResponse.fromPartial({ event: { jobId, sequence, attempt: 1, time: new Date(), payload } });
        const running = at(1, req.jobId, { $case: 'stateChanged', stateChanged: { state: trainer.WorkerJobState.WORKER_JOB_STATE_RUNNING, reason: 'go', failure: undefined } });
        yield running;
        yield running; // replayed: the same event again
        // Another job's artifact and success, on this job's stream.
        yield at(2, foreignJob, { $case: 'artifactReady', artifactReady: { kind: 1, uri: 'file:///elsewhere/adapter', sha256: 'b'.repeat(64), sizeBytes: 1, files: [], details: {} } });
        yield at(3, foreignJob, { $case: 'stateChanged', stateChanged: { state: trainer.WorkerJobState.WORKER_JOB_STATE_SUCCEEDED, reason: 'replayed', failure: undefined } });
        await new Promise((resolve) => ctx.signal.addEventListener('abort', resolve));
      }),
      getJob: unary(async (req: trainer.GetJobRequest) => ({ job: view(req.jobId) })),
      cancelJob: unary(async (req: trainer.CancelJobRequest) => ({ job: view(req.jobId, trainer.WorkerJobState.WORKER_JOB_STATE_CANCELLED) })),
      listCheckpoints: unary(async () => ({ checkpoints: [] })),
      generate: serverStream(async function* () {
        yield* [];
      }),
      evaluateLoss: unary(async () => trainer.EvaluateLossResponse.fromPartial({})),
      getWorkerInfo: unary(async () => ({ info: undefined })),
    });
    const port = await evil.start('127.0.0.1:0');
    const info = { workerId: 'evil-worker', address: `127.0.0.1:${port}`, gpuCount: 1, gpuMemoryBytes: 2 ** 45 };
    await wrc(tokens.worker).unary('registerWorker', training.RegisterWorkerRequest.fromPartial({ info }));
    // Only this worker has 16 TiB: the job goes to it; no retries, so one refusal ends it.
    const job = (await trc(tokens.user).unary('createJob', training.CreateJobRequest.fromPartial({ ...jobRequest(digest), minGpuMemoryBytes: 2 ** 44, maxRetries: 0 }))).job!;
    const ended = await waitFor(
      async () => {
        const j = (await trc(tokens.service).unary('getJob', training.GetJobRequest.fromPartial({ jobId: job.jobId }))).job!;
        return j.state === training.JobState.JOB_STATE_FAILED ? j : undefined;
      },
      60_000,
      { intervalMs: 200, message: () => `job ${job.jobId} FAILED` },
    );
    expect(started.map((r) => r.jobId)).toContain(job.jobId);
    expect(ended.failure?.message).toContain(`worker evil-worker sent an event of job "${foreignJob}" on the stream of job ${job.jobId}`);
    expect(ended.artifacts).toEqual([]);
    // The stored events: the RUNNING once (the replay was dropped), nothing of the other job.
    const stored: training.JobEvent[] = [];
    for await (const m of trc(tokens.service).serverStream('watchJob', training.WatchJobRequest.fromPartial({ jobId: job.jobId }))) if (m.event) stored.push(m.event);
    const fromWorker = stored.flatMap((e) => (e.payload?.$case === 'workerEvent' ? [e.payload.workerEvent] : []));
    expect(fromWorker.map((e) => [e.jobId, e.sequence])).toEqual([[job.jobId, 1]]);
    expect(stored.map((e) => (e.payload?.$case === 'stateChanged' ? training.JobState[e.payload.stateChanged.state] : undefined)).filter(Boolean)).not.toContain('JOB_STATE_SUCCEEDED');
  });

  it("forged registration: another worker credential cannot take over a registered worker's id (register or heartbeat); its own can", async () => {
    const other = await signToken(key, { subject: 'worker-b', role: 'worker' });
    secrets.push(other);
    const before = (await wrc(tokens.service).unary('listWorkers', training.ListWorkersRequest.fromPartial({ includeLost: true }))).workers.find((w) => w.info?.workerId === 'forged-worker');
    expect(before?.info?.address).toBe('10.6.6.6:50061'); // registered by attacker-worker in the roles row
    const hijack = { workerId: 'forged-worker', address: '10.9.9.9:50061' };
    const r = await outcome(wrc(other).unary('registerWorker', training.RegisterWorkerRequest.fromPartial({ info: hijack })));
    expect(r.code).toBe(status.PERMISSION_DENIED);
    expect(r.message).toMatch(/^info\.worker_id: worker "forged-worker" is registered by another credential/);
    expect((await outcome(wrc(other).unary('heartbeat', training.HeartbeatRequest.fromPartial({ info: hijack })))).code).toBe(status.PERMISSION_DENIED);
    const after = (await wrc(tokens.service).unary('listWorkers', training.ListWorkersRequest.fromPartial({ includeLost: true }))).workers.find((w) => w.info?.workerId === 'forged-worker');
    expect(after?.info?.address).toBe('10.6.6.6:50061');
    expect((await outcome(register(tokens.worker))).code).toBe(status.OK);
  });

  it('size: an upload larger than MAX_UPLOAD_BYTES (1 MiB here) is INVALID_ARGUMENT naming `chunk`, and stores nothing', async () => {
    const row = JSON.stringify({ Question: 'q'.repeat(1000), Complex_CoT: 'c', Response: 'r' });
    const body = Buffer.from(`[${Array.from({ length: 1500 }, () => row).join(',')}]`); // ~1.5 MiB
    async function* parts(): AsyncGenerator<dataset.UploadDatasetRequest> {
      yield { part: { $case: 'options', options: dataset.ImportOptions.fromPartial({ datasetName: 'too-big', tokenizerDir }) } };
      for (let i = 0; i < body.length; i += 256 << 10) yield { part: { $case: 'chunk', chunk: body.subarray(i, i + (256 << 10)) } };
    }
    const r = await outcome(dsc(tokens.user).clientStream('uploadDataset', parts()));
    expect(r.code).toBe(status.INVALID_ARGUMENT);
    expect(r.message).toMatch(/^chunk: the upload is larger than 1048576 bytes/);
    expect((await dsc(tokens.service).unary('listDatasets', dataset.ListDatasetsRequest.fromPartial({}))).datasets.map((d) => d.name)).not.toContain('too-big');
  });

  it('no credential in use appears in any service log', () => {
    const logs = [ds, tr, reg].map((s) => s.proc.logs()).join('\n');
    expect(logs).toContain('"auth":true');
    expect(logs).toContain('"tls":true');
    for (const s of secrets) expect(logs).not.toContain(s);
    expect(logs).not.toContain(readFileSync(path.join(pki, 'jwt.key'), 'utf8').split('\n')[1]);
  });
});
