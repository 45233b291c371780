/**
 * The two example subscribers against real parts: NATS JetStream, the registry service (for the
 * champion watcher: a real alias move), and the dataset + training services (for train-on-ready:
 * a real import's version.ready event turns into a real training job, exactly once).
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { common, dataset, registry, STREAMS, SUBJECTS, training } from '@medtune/contracts';
import { createClient, createPublisher, ensureStreams } from '@medtune/kit';
import { printLogsOnFailure, testMongo, testNats, waitFor, type TestMongo, type TestNats } from '@medtune/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { championRecord, watchChampion, type ChampionRecord } from './champion-watcher';
import { repoRoot, startService, type StartedService } from './services.testing';
import type { Subscription } from './subscribe';
import { trainOnReady } from './train-on-ready';

printLogsOnFailure();
let nats: TestNats;
let mongo: TestMongo;
const started: StartedService[] = [];
const subs: Subscription[] = [];

beforeAll(async () => {
  nats = await testNats();
  mongo = await testMongo();
});
afterAll(async () => {
  for (const s of subs) await s.stop().catch(() => undefined);
  for (const s of started.reverse()) await s.proc.stop();
  await nats?.cleanup();
  await mongo?.cleanup();
});

describe('champion watcher (medtune.registry.alias.moved → a file a model server watches)', () => {
  it('maps only the watched model and alias', () => {
    const e = {
      message: { change: { name: 'm', alias: 'staging', fromVersion: 0, toVersion: 1, reason: '', actor: '' }, version: registry.ModelVersion.fromPartial({ name: 'm', version: 1 }) },
      id: 'x',
      type: SUBJECTS.registryAliasMoved.subject,
      time: '',
      deliveryCount: 1,
    };
    expect(championRecord(e, { alias: 'champion' })).toBeUndefined();
    expect(championRecord(e, { alias: 'staging', model: 'other' })).toBeUndefined();
    expect(championRecord(e, { alias: 'staging', model: 'm' })?.version).toBe(1);
  });

  it('writes the champion\'s artifact URIs when the real registry moves the alias, and ignores other aliases', async () => {
    const reg = await startService('registry', nats, mongo);
    started.push(reg);
    const out = path.join(mkdtempSync(path.join(tmpdir(), 'champion-')), 'serving/demo.json');
    subs.push(await watchChampion(nats.nc, { out, model: 'demo', alias: 'champion', namespace: nats }));

    // A real version: an adapter directory whose sha256 the registry verifies.
    const dir = mkdtempSync(path.join(tmpdir(), 'adapter-'));
    mkdirSync(path.join(dir, 'adapter'));
    const body = Buffer.from('{"r": 8}\n');
    writeFileSync(path.join(dir, 'adapter/adapter_config.json'), body);
    const fileSha = createHash('sha256').update(body).digest('hex');
    const manifestSha = createHash('sha256').update(`${fileSha}  adapter_config.json\n`).digest('hex');
    const client = createClient(registry.RegistryServiceClient, reg.addr, { defaultDeadlineMs: 10_000 });
    try {
      await client.unary('createModelVersion', registry.CreateModelVersionRequest.fromPartial({
        name: 'demo',
        idempotencyKey: 'job-1',
        artifacts: [{ kind: common.ArtifactKind.ARTIFACT_KIND_ADAPTER, uri: `file://${dir}/adapter`, sha256: manifestSha, sizeBytes: body.length, files: [{ path: 'adapter_config.json', sha256: fileSha, sizeBytes: body.length }] }],
        lineage: { baseModel: '/models/base', trainingJobId: 'job-1' },
      }));
      await waitFor(async () => (await client.unary('getModelVersion', { name: 'demo', version: 1 })).version?.status === registry.ModelVersionStatus.MODEL_VERSION_STATUS_READY, 20_000);
      await client.unary('setAlias', registry.SetAliasRequest.fromPartial({ name: 'demo', alias: 'staging', version: 1, reason: 'test' }));
      // The staging move is published and delivered to the watcher, which must not write the file.
      await waitFor(async () => (await nats.jsm.streams.info(nats.streamName(STREAMS.registry.name))).state.messages >= 3, 10_000);
      await new Promise((r) => setTimeout(r, 1_000));
      expect(existsSync(out)).toBe(false);
      await client.unary('setAlias', registry.SetAliasRequest.fromPartial({ name: 'demo', alias: 'champion', version: 1, reason: 'test' }));
    } finally {
      client.close();
    }
    const record = await waitFor(() => (existsSync(out) ? (JSON.parse(readFileSync(out, 'utf8')) as ChampionRecord) : undefined), 20_000);
    expect(record).toMatchObject({ model: 'demo', alias: 'champion', version: 1, artifacts: { adapter: { uri: `file://${dir}/adapter`, sha256: manifestSha } } });
    expect(record.event.id).not.toBe('');
  });
});

describe('train on ready (medtune.dataset.version.ready → TrainingService.CreateJob)', () => {
  it('starts exactly one job for a real import, however often the event arrives, and ignores other datasets', async () => {
    const tokenizerDir = path.resolve(repoRoot, '../shared/models/deepseek-r1-distill-qwen/bpe');
    const ds = await startService('dataset', nats, mongo, { MEDTUNE_DATASET_DEFAULT_EOS_TOKEN: '<｜end▁of▁sentence｜>', MEDTUNE_DATASET_TOKENIZER_THREADS: '1' });
    started.push(ds);
    const tr = await startService('training', nats, mongo, { MEDTUNE_TRAINING_DATASET_ADDR: ds.addr, MEDTUNE_TRAINING_ARTIFACT_ROOT: `file://${mkdtempSync(path.join(tmpdir(), 'art-'))}`, MEDTUNE_TRAINING_MODEL_CHECK: 'off' });
    started.push(tr);
    const lines: string[] = [];
    subs.push(
      await trainOnReady(nats.nc, {
        rule: { dataset: 'demo-medical-zh', baseModel: '/models/tiny', registerAs: 'demo', hyperparameters: { maxSteps: 4 } },
        trainingAddr: tr.addr,
        namespace: nats,
        log: (l) => lines.push(l),
      }),
    );

    const dsClient = createClient(dataset.DatasetServiceClient, ds.addr, { defaultDeadlineMs: 60_000 });
    const trClient = createClient(training.TrainingServiceClient, tr.addr, { defaultDeadlineMs: 10_000 });
    try {
      let digest = '';
      for await (const m of dsClient.serverStream('importDataset', dataset.ImportDatasetRequest.fromPartial({
        path: path.join(repoRoot, 'examples/demo/data/train.json'),
        options: { datasetName: 'demo-medical-zh', tokenizerDir, maxSeqLength: 1024, evalRatio: 0.1 },
      }))) {
        if (m.event?.$case === 'result') digest = m.event.result.version?.digest ?? '';
      }
      expect(digest).toMatch(/^[0-9a-f]{64}$/);
      const jobs = await waitFor(async () => {
        const res = await trClient.unary('listJobs', training.ListJobsRequest.fromPartial({ datasetDigest: digest }));
        return res.jobs.length > 0 ? res.jobs : undefined;
      }, 30_000);
      expect(jobs).toHaveLength(1);
      expect(jobs[0]).toMatchObject({ datasetDigest: digest, baseModel: '/models/tiny', registerAs: 'demo', tags: { trigger: 'dataset.version.ready' } });
      expect(jobs[0]!.hyperparameters?.maxSteps).toBe(4);

      // The same fact again (a redelivery or a re-import) and an unrelated dataset: still one job.
      await ensureStreams(nats.nc, [STREAMS.dataset], { namespace: nats });
      const pub = createPublisher(nats.nc, { source: 'medtune/dataset-service', namespace: nats });
      const version = (await dsClient.unary('getVersion', { digest })).version!;
      await pub.publish(SUBJECTS.datasetVersionReady, { version, created: false });
      await pub.publish(SUBJECTS.datasetVersionReady, { version: { ...version, datasetName: 'something-else', digest: 'f'.repeat(64) }, created: true });
      await waitFor(() => lines.filter((l) => l.includes('job')).length >= 2, 20_000);
      const after = await trClient.unary('listJobs', training.ListJobsRequest.fromPartial({ pageSize: 50 }));
      expect(after.jobs.map((j) => j.jobId)).toEqual([jobs[0]!.jobId]);
      expect(lines.filter((l) => l.startsWith('started')), lines.join('\n')).toHaveLength(1);
      expect(lines.filter((l) => l.startsWith('already started')), lines.join('\n')).toHaveLength(1);
    } finally {
      dsClient.close();
      trClient.close();
    }
  }, 180_000);
});
