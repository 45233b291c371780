import { appendFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { common, registry, training, type events } from '@medtune/contracts';
import { AbortedError, AlreadyExistsError, FailedPreconditionError, InvalidArgumentError, NotFoundError } from '@medtune/kit';
import { afterAll, describe, expect, it } from 'vitest';
import { removeTempDirs, tempDir, testRegistry, writeAdapter, writeGguf } from './testing';

afterAll(removeTempDirs);

const { ModelVersionStatus: S } = registry;

async function readyVersion(t: ReturnType<typeof testRegistry>, name = 'med-zh', key = 'job-1', seed = 'a') {
  const { artifact } = writeAdapter(undefined, seed);
  const res = await t.core.createVersion({ name, idempotencyKey: key, artifacts: [artifact], tags: {}, lineage: undefined });
  await t.verifier.idle();
  return res;
}

describe('createVersion', () => {
  it('rejects bad input naming the field, storing nothing', async () => {
    const t = testRegistry();
    const { artifact } = writeAdapter();
    const cases: [Partial<registry.CreateModelVersionRequest>, string][] = [
      [{ artifacts: [] }, 'artifacts'],
      [{ artifacts: [{ ...artifact, uri: 'http://x/y' }] }, 'artifacts[0].uri'],
      [{ artifacts: [{ ...artifact, uri: 'file://relative' }] }, 'artifacts[0].uri'],
      [{ artifacts: [{ ...artifact, sha256: 'abc' }] }, 'artifacts[0].sha256'],
      [{ artifacts: [{ ...artifact, kind: common.ArtifactKind.ARTIFACT_KIND_UNSPECIFIED }] }, 'artifacts[0].kind'],
      [{ idempotencyKey: '' }, 'idempotency_key'],
      [{ name: 'Bad Name' }, 'name'],
    ];
    for (const [patch, field] of cases) {
      const req = { name: 'm', idempotencyKey: 'k', artifacts: [artifact], tags: {}, lineage: undefined, ...patch };
      const err = await t.core.createVersion(req).catch((e: unknown) => e);
      expect(err, field).toBeInstanceOf(InvalidArgumentError);
      expect((err as InvalidArgumentError).field).toBe(field);
    }
    expect(t.store.versions.size).toBe(0);
    expect(t.store.models.size).toBe(0);
  });

  it('creates PENDING, verifies to READY, and announces model.created, version.created, version.ready in order', async () => {
    const t = testRegistry();
    const { artifact } = writeAdapter();
    const gguf = writeGguf().artifact;
    const res = await t.core.createVersion({ name: 'med-zh', idempotencyKey: 'job-1', artifacts: [artifact, gguf], tags: { a: 'b' }, lineage: undefined });
    expect(res.created).toBe(true);
    expect(res.version!.version).toBe(1);
    expect(res.version!.status).toBe(S.MODEL_VERSION_STATUS_PENDING_REGISTRATION);
    await t.verifier.idle();
    const v = await t.core.getVersion('med-zh', 1);
    expect(v.status).toBe(S.MODEL_VERSION_STATUS_READY);
    expect(v.statusMessage).toBe('');
    expect(t.sink.subjects()).toEqual(['medtune.registry.model.created', 'medtune.registry.version.created', 'medtune.registry.version.ready']);
    const ready = t.sink.published[2]!.message as events.ModelVersionChanged;
    expect(ready.version!.status).toBe(S.MODEL_VERSION_STATUS_READY);
    expect((await t.core.getModel('med-zh')).latestVersion).toBe(1);
  });

  it('is idempotent by key, and refuses the key with other content', async () => {
    const t = testRegistry();
    const { artifact } = writeAdapter();
    const req = { name: 'm', idempotencyKey: 'job-7', artifacts: [artifact], tags: {}, lineage: undefined };
    const a = await t.core.createVersion(req);
    const b = await t.core.createVersion(req);
    expect(b.created).toBe(false);
    expect(b.version!.version).toBe(a.version!.version);
    await expect(t.core.createVersion({ ...req, tags: { other: 'x' } })).rejects.toBeInstanceOf(AlreadyExistsError);
    expect(t.store.versions.size).toBe(1);
  });

  it('allocates 1..N without gaps under concurrent creation', async () => {
    const t = testRegistry();
    const { artifact } = writeAdapter();
    const all = await Promise.all(
      Array.from({ length: 12 }, (_, i) => t.core.createVersion({ name: 'm', idempotencyKey: `k${i}`, artifacts: [artifact], tags: {}, lineage: undefined })),
    );
    expect(all.map((r) => r.version!.version).sort((a, b) => a - b)).toEqual(Array.from({ length: 12 }, (_, i) => i + 1));
    await t.verifier.idle();
  });

  it('fails registration of a tampered artifact, naming the file with expected and actual sha256', async () => {
    const t = testRegistry();
    const { dir, artifact } = writeAdapter();
    appendFileSync(join(dir, 'adapter_model.safetensors'), 'tampered');
    await t.core.createVersion({ name: 'm', idempotencyKey: 'k', artifacts: [artifact], tags: {}, lineage: undefined });
    await t.verifier.idle();
    const v = await t.core.getVersion('m', 1);
    expect(v.status).toBe(S.MODEL_VERSION_STATUS_FAILED_REGISTRATION);
    const expected = artifact.files.find((f) => f.path === 'adapter_model.safetensors')!.sha256;
    expect(v.statusMessage).toContain('file adapter_model.safetensors sha256 expected ' + expected + ', actual ');
    expect(t.sink.subjects().at(-1)).toBe('medtune.registry.version.failed');
    await expect(t.core.resolve({ name: 'm', selector: { $case: 'version', version: 1 } })).rejects.toBeInstanceOf(FailedPreconditionError);
  });

  it('fails a single-file artifact whose size or bytes differ, and a missing path', async () => {
    const t = testRegistry();
    const g = writeGguf();
    writeFileSync(g.path, 'x');
    const root = tempDir();
    const missing = writeAdapter(root, 'gone');
    rmSync(missing.dir, { recursive: true });
    await t.core.createVersion({ name: 'm', idempotencyKey: 'k1', artifacts: [g.artifact], tags: {}, lineage: undefined });
    await t.core.createVersion({ name: 'm', idempotencyKey: 'k2', artifacts: [missing.artifact], tags: {}, lineage: undefined });
    await t.verifier.idle();
    expect((await t.core.getVersion('m', 1)).statusMessage).toMatch(/^artifact GGUF \(file:.*model\.gguf\): sha256 expected [0-9a-f]{64}, actual [0-9a-f]{64}$/);
    expect((await t.core.getVersion('m', 2)).statusMessage).toContain('nothing found at that path');
  });

  it('re-verifies versions left PENDING by a restart', async () => {
    const t = testRegistry();
    const { artifact } = writeAdapter();
    t.verifier.schedule = () => undefined; // the process "dies" before verifying
    await t.core.createVersion({ name: 'm', idempotencyKey: 'k', artifacts: [artifact], tags: {}, lineage: undefined });
    expect((await t.core.getVersion('m', 1)).status).toBe(S.MODEL_VERSION_STATUS_PENDING_REGISTRATION);
    const again = testRegistry();
    Object.assign(again.store, { models: t.store.models, versions: t.store.versions });
    expect(await again.verifier.resumePending()).toBe(1);
    await again.verifier.idle();
    expect((await again.core.getVersion('m', 1)).status).toBe(S.MODEL_VERSION_STATUS_READY);
  });
});

describe('aliases', () => {
  it('refuses an alias on a FAILED version and changes nothing', async () => {
    const t = testRegistry();
    const { dir, artifact } = writeAdapter();
    writeFileSync(join(dir, 'adapter_config.json'), '{}');
    await t.core.createVersion({ name: 'm', idempotencyKey: 'k', artifacts: [artifact], tags: {}, lineage: undefined });
    await t.verifier.idle();
    const before = t.sink.published.length;
    const err = await t.aliases.setAlias({ name: 'm', alias: 'champion', version: 1, reason: '', actor: 'me' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(FailedPreconditionError);
    expect((err as Error).message).toMatch(/version 1 is FAILED_REGISTRATION .*only READY versions can hold an alias/);
    expect((await t.core.getModel('m')).aliases).toEqual({});
    expect((await t.aliases.history({ name: 'm', alias: '', pageSize: 0, pageToken: '' })).changes).toEqual([]);
    expect(t.sink.published.length).toBe(before);
  });

  it('sets, moves with compare-and-set, deletes, and keeps history newest first', async () => {
    const t = testRegistry();
    await readyVersion(t, 'm', 'k1', 'a');
    await readyVersion(t, 'm', 'k2', 'b');
    const set = await t.aliases.setAlias({ name: 'm', alias: 'champion', version: 1, expectedVersion: 0, reason: 'first', actor: 'me' });
    expect(set).toMatchObject({ fromVersion: 0, toVersion: 1 });
    await expect(t.aliases.setAlias({ name: 'm', alias: 'champion', version: 2, expectedVersion: 0, reason: '', actor: '' })).rejects.toBeInstanceOf(AbortedError);
    expect((await t.core.getModel('m')).aliases).toEqual({ champion: 1 });
    const moved = await t.aliases.setAlias({ name: 'm', alias: 'champion', version: 2, expectedVersion: 1, reason: 'better', actor: 'eval' });
    expect(moved).toMatchObject({ fromVersion: 1, toVersion: 2, reason: 'better', actor: 'eval' });
    const same = await t.aliases.setAlias({ name: 'm', alias: 'champion', version: 2, reason: '', actor: '' });
    expect(same).toMatchObject({ fromVersion: 2, toVersion: 2 });
    expect((await t.core.getVersion('m', 2)).aliases).toEqual(['champion']);
    await t.aliases.deleteAlias({ name: 'm', alias: 'champion', reason: 'retired', actor: 'me' });
    await expect(t.aliases.deleteAlias({ name: 'm', alias: 'champion', reason: '', actor: '' })).rejects.toBeInstanceOf(NotFoundError);
    const h = await t.aliases.history({ name: 'm', alias: 'champion', pageSize: 2, pageToken: '' });
    expect(h.changes.map((c) => [c.fromVersion, c.toVersion])).toEqual([[2, 0], [1, 2]]);
    const rest = await t.aliases.history({ name: 'm', alias: 'champion', pageSize: 2, pageToken: h.nextPageToken });
    expect(rest.changes.map((c) => [c.fromVersion, c.toVersion])).toEqual([[0, 1]]);
    expect(rest.nextPageToken).toBe('');
    const subjects = t.sink.subjects().filter((s) => s.includes('alias'));
    expect(subjects).toEqual(['medtune.registry.alias.moved', 'medtune.registry.alias.moved', 'medtune.registry.alias.deleted']);
  });

  it('rejects "latest" and bad alias names', async () => {
    const t = testRegistry();
    await readyVersion(t);
    for (const alias of ['latest', 'Champion', '']) {
      const err = await t.aliases.setAlias({ name: 'med-zh', alias, version: 1, reason: '', actor: '' }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(InvalidArgumentError);
      expect((err as InvalidArgumentError).field).toBe('alias');
    }
  });
});

describe('resolve', () => {
  it('resolves by version, alias and latest; unknown model / alias → NOT_FOUND', async () => {
    const t = testRegistry();
    await readyVersion(t, 'm', 'k1', 'a');
    await readyVersion(t, 'm', 'k2', 'b');
    await t.aliases.setAlias({ name: 'm', alias: 'champion', version: 1, reason: '', actor: '' });
    expect((await t.core.resolve({ name: 'm', selector: { $case: 'alias', alias: 'champion' } })).version).toBe(1);
    expect((await t.core.resolve({ name: 'm', selector: { $case: 'latest', latest: true } })).version).toBe(2);
    expect((await t.core.resolve({ name: 'm', selector: { $case: 'version', version: 2 } })).artifacts).toHaveLength(1);
    await expect(t.core.resolve({ name: 'nope', selector: { $case: 'latest', latest: true } })).rejects.toBeInstanceOf(NotFoundError);
    await expect(t.core.resolve({ name: 'm', selector: { $case: 'alias', alias: 'staging' } })).rejects.toBeInstanceOf(NotFoundError);
  });

  it('serves aliases from the cache and sees a move at once', async () => {
    const t = testRegistry();
    await readyVersion(t, 'm', 'k1', 'a');
    await readyVersion(t, 'm', 'k2', 'b');
    await t.aliases.setAlias({ name: 'm', alias: 'champion', version: 1, reason: '', actor: '' });
    const ref = { name: 'm', selector: { $case: 'alias' as const, alias: 'champion' } };
    await t.core.resolve(ref);
    let reads = 0;
    const getModel = t.store.getModel.bind(t.store);
    t.store.getModel = (name) => (reads++, getModel(name));
    expect((await t.core.resolve(ref)).version).toBe(1);
    expect(reads).toBe(0);
    await t.aliases.setAlias({ name: 'm', alias: 'champion', version: 2, reason: '', actor: '' });
    expect((await t.core.resolve(ref)).version).toBe(2);
  });
});

describe('registerJob', () => {
  it('registers a succeeded job once, skipping checkpoints and carrying lineage', async () => {
    const t = testRegistry();
    const { artifact } = writeAdapter();
    const job = training.Job.fromPartial({
      jobId: 'job_1',
      registerAs: 'med-zh',
      baseModel: '/models/tiny',
      datasetDigest: 'sha256:abc',
      trackingRunId: 'job_1',
      backendUsed: common.Backend.BACKEND_HF,
      artifacts: [artifact, { ...artifact, kind: common.ArtifactKind.ARTIFACT_KIND_CHECKPOINT, uri: 'file:///ckpt' }],
    });
    const first = await t.core.registerJob(job);
    const again = await t.core.registerJob(job);
    expect(first!.created).toBe(true);
    expect(again!.created).toBe(false);
    await t.verifier.idle();
    const v = await t.core.getVersion('med-zh', 1);
    expect(v.status).toBe(S.MODEL_VERSION_STATUS_READY);
    expect(v.artifacts.map((a) => a.kind)).toEqual([common.ArtifactKind.ARTIFACT_KIND_ADAPTER]);
    expect(v.lineage).toMatchObject({ baseModel: '/models/tiny', datasetDigest: 'sha256:abc', trainingJobId: 'job_1', backend: common.Backend.BACKEND_HF });
    expect(await t.core.registerJob({ ...job, registerAs: '' })).toBeNull();
  });
});

describe('evaluations, tags and listing', () => {
  it('attaches an evaluation once and pages versions newest first with filters', async () => {
    const t = testRegistry();
    for (let i = 1; i <= 3; i++) await readyVersion(t, 'm', `k${i}`, `s${i}`);
    const result = { evaluationId: 'ev_1', evalSet: 'seed-question', metrics: { format_compliance: 1 }, time: undefined };
    await t.core.attachEvaluation({ name: 'm', version: 2, result });
    const v = await t.core.attachEvaluation({ name: 'm', version: 2, result });
    expect(v.lineage!.evaluations.map((e) => e.evaluationId)).toEqual(['ev_1']);
    await t.core.setVersionTags({ name: 'm', version: 3, set: { stage: 'x' }, remove: [] });
    const p1 = await t.core.listVersions({ name: 'm', statuses: [], tags: {}, pageSize: 2, pageToken: '' });
    expect(p1.versions.map((x) => x.version)).toEqual([3, 2]);
    const p2 = await t.core.listVersions({ name: 'm', statuses: [], tags: {}, pageSize: 2, pageToken: p1.nextPageToken });
    expect(p2.versions.map((x) => x.version)).toEqual([1]);
    const tagged = await t.core.listVersions({ name: 'm', statuses: [S.MODEL_VERSION_STATUS_READY], tags: { stage: 'x' }, pageSize: 0, pageToken: '' });
    expect(tagged.versions.map((x) => x.version)).toEqual([3]);
    await expect(t.core.listVersions({ name: 'm', statuses: [], tags: {}, pageSize: 0, pageToken: 'garbage!' })).rejects.toBeInstanceOf(InvalidArgumentError);
  });

  it('keeps events of a failed publish in the outbox and sends them later, in order', async () => {
    const t = testRegistry();
    t.sink.failing = true;
    await readyVersion(t);
    expect(t.sink.published).toHaveLength(0);
    t.sink.failing = false;
    await t.deps.outbox.flush();
    expect(t.sink.subjects()).toEqual(['medtune.registry.model.created', 'medtune.registry.version.created', 'medtune.registry.version.ready']);
    expect(await t.store.unpublishedEvents()).toEqual([]);
  });

  it('creates models idempotently with a resolved promotion policy', async () => {
    const t = testRegistry();
    const a = await t.core.createModel({ name: 'm', description: 'd', tags: {}, promotionPolicy: undefined });
    const b = await t.core.createModel({ name: 'm', description: 'other', tags: {}, promotionPolicy: undefined });
    expect([a.created, b.created]).toEqual([true, false]);
    expect(a.model!.promotionPolicy).toEqual({ alias: 'champion', metric: 'accuracy', higherIsBetter: true, evalSet: 'seed-question', minDelta: 0, disabled: false });
    const err = await t.core
      .updateModel({ name: 'm', setTags: {}, promotionPolicy: { alias: 'x', metric: 'bleu', evalSet: '', minDelta: 0, disabled: false } })
      .catch((e: unknown) => e);
    expect((err as InvalidArgumentError).field).toBe('promotion_policy.metric');
    const listed = await t.core.listModels({ tags: {}, pageSize: 0, pageToken: '', namePrefix: 'm' });
    expect(listed.models.map((m) => m.name)).toEqual(['m']);
  });
});
