// s3:// artifacts through real processes: a SeaweedFS S3 server (tools/infra/s3-server.sh), the
// dataset, training and registry services as processes (main.ts), and a Python trainer worker
// (`python -m medtune_trainer`) training the tiny Qwen2 on CPU. The training service's artifact
// root is s3://: the job's checkpoint and adapter land on the bucket, the registry registers the
// succeeded job from training.job.succeeded and verifies the objects to READY, and the worker loads
// the registered s3:// adapter for Generate (the call the evaluation service makes with a version's
// URI). No S3 credential appears in any process's log.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { common, registry, trainer, training } from '@medtune/contracts';
import { createClient } from '@medtune/kit';
import { printLogsOnFailure, startTrainerWorker, testMongo, testNats, testS3, waitFor, type RunningProcess, type TestMongo, type TestNats, type TestS3 } from '@medtune/testing';
import { ObjectStore } from '@medtune/kit/storage';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { importTinyDataset, repoRoot, tinyModelDir } from '../ray/support';
import { startService, type StartedService } from '../support/services';

printLogsOnFailure();
const S = training.JobState;
let nats: TestNats;
let mongo: TestMongo;
let s3: TestS3;
let store: ObjectStore;
let bucket: string;
let work: string;
let tinyModel: string;
let digest: string;
const procs: RunningProcess[] = [];
let trainingSvc: StartedService;
let registrySvc: StartedService;
let workerAddr: string;

beforeAll(async () => {
  [nats, mongo, s3] = await Promise.all([testNats(), testMongo(), testS3()]);
  store = new ObjectStore(s3.storeConfig);
  bucket = await s3.bucket();
  work = mkdtempSync(join(tmpdir(), 'medtune-s3-pipeline-'));
  tinyModel = tinyModelDir();
  // The tiny model is cached under the repository's var/ (whatever MEDTUNE_VAR_DIR says): a data root.
  const roots = { MEDTUNE_DATA_ROOTS: [join(repoRoot, 'var'), work].join(':') };
  const base = { MEDTUNE_NATS_URL: nats.url, MEDTUNE_NATS_NAMESPACE: nats.id, MEDTUNE_MONGODB_URI: mongo.uri, MEDTUNE_LOG_LEVEL: 'debug', ...roots };
  const s3Env = { ...s3.env, MEDTUNE_S3_ROOTS: `s3://${bucket}/medtune` };
  const ds = await importTinyDataset(work, tinyModel, base, mongo.dbNameFor('dataset'));
  procs.push(ds.proc);
  digest = ds.digest;
  trainingSvc = await startService('training', nats, mongo, {
    ...roots,
    MEDTUNE_LOG_LEVEL: 'debug',
    MEDTUNE_TRAINING_DATASET_ADDR: ds.address,
    MEDTUNE_TRAINING_ARTIFACT_ROOT: `s3://${bucket}/medtune`,
    MEDTUNE_TRAINING_HEARTBEAT_INTERVAL: '500',
    MEDTUNE_TRAINING_SCHEDULE_INTERVAL: '300',
    MEDTUNE_TRAINING_DISPATCH_DEADLINE: '30s',
  });
  procs.push(trainingSvc.proc);
  registrySvc = await startService('registry', nats, mongo, { ...s3Env, MEDTUNE_LOG_LEVEL: 'debug', MEDTUNE_REGISTRY_TRAINING_ADDR: trainingSvc.addr });
  procs.push(registrySvc.proc);
  const worker = await startTrainerWorker({ workerId: 'w-s3', artifactRoot: join(work, 'worker'), trainingAddr: trainingSvc.addr, env: { ...s3Env, MEDTUNE_TRAINER_LOG_LEVEL: 'debug' } });
  procs.push(worker.proc);
  workerAddr = worker.addr;
}, 900_000);

afterAll(async () => {
  store?.close();
  for (const p of procs.reverse()) await p.stop();
  await Promise.all([s3?.stop(), mongo?.cleanup(), nats?.cleanup()]);
  if (work) rmSync(work, { recursive: true, force: true });
});

describe('s3:// artifact root through the services', () => {
  it('trains to the bucket, registers and verifies from it, and generates from the registered URI', async () => {
    const jobs = createClient(training.TrainingServiceClient, trainingSvc.addr, { defaultDeadlineMs: 30_000 });
    const reg = createClient(registry.RegistryServiceClient, registrySvc.addr, { defaultDeadlineMs: 30_000 });
    const worker = createClient(trainer.TrainerServiceClient, workerAddr, { defaultDeadlineMs: 300_000 });
    try {
      const created = await jobs.unary(
        'createJob',
        training.CreateJobRequest.fromPartial({
          idempotencyKey: 's3-pipeline-1',
          datasetDigest: digest,
          baseModel: tinyModel,
          hyperparameters: { maxSteps: 3, loggingSteps: 1, maxSeqLength: 256, gradientAccumulationSteps: 1, learningRate: 1e-2, warmupSteps: 0, saveSteps: 2 },
          lora: { r: 8 },
          exports: { adapter: true, merged16bit: false },
          registerAs: 's3-med',
        }),
      );
      const jobId = created.job!.jobId;
      const job = await waitFor(async () => {
        const j = (await jobs.unary('getJob', { jobId })).job!;
        if (j.state === S.JOB_STATE_FAILED || j.state === S.JOB_STATE_CANCELLED) throw new Error(`job ended ${S[j.state]}: ${j.failure?.message ?? ''}`);
        return j.state === S.JOB_STATE_SUCCEEDED ? j : undefined;
      }, 600_000);
      const adapter = job.artifacts.find((a) => a.kind === common.ArtifactKind.ARTIFACT_KIND_ADAPTER)!;
      expect(adapter.uri).toBe(`s3://${bucket}/medtune/${jobId}/adapter`);
      const objects = (await store.list({ bucket, key: `medtune/${jobId}` })).map((o) => o.key);
      expect(objects).toContain('adapter/.medtune-manifest');
      expect(objects.some((k) => /^checkpoints\/checkpoint-\d+\/\.medtune-manifest$/.test(k))).toBe(true);
      expect(objects.filter((k) => k.includes('.tmp-'))).toEqual([]);

      // Registered from the job's event, verified object by object.
      const version = await waitFor(async () => {
        const v = await reg.unary('getModelVersion', { name: 's3-med', version: 1 }).catch(() => undefined);
        return v?.version?.status === registry.ModelVersionStatus.MODEL_VERSION_STATUS_READY ? v.version : undefined;
      }, 120_000);
      const registered = version.artifacts.find((a) => a.kind === common.ArtifactKind.ARTIFACT_KIND_ADAPTER)!;
      expect(registered.uri).toBe(adapter.uri);
      expect(registered.sha256).toBe(adapter.sha256);

      // What evaluation does with a version: Generate on its artifact's URI.
      const out: trainer.GenerateResponse[] = [];
      const req = trainer.GenerateRequest.fromPartial({
        model: { baseModel: tinyModel, adapterUri: registered.uri },
        prompts: ['你好'],
        params: { maxNewTokens: 4, temperature: 0 },
        batchSize: 1,
      });
      for await (const r of worker.serverStream('generate', req)) {
        out.push(r);
      }
      expect(out).toHaveLength(1);
      expect(out[0]!.completionTokens).toBeGreaterThanOrEqual(1);
    } finally {
      jobs.close();
      reg.close();
      worker.close();
    }
    // Debug-level logs of every process: never the S3 keys.
    for (const p of procs) {
      expect(p.logs()).not.toContain(s3.secretKey);
      expect(p.logs()).not.toContain(s3.accessKey);
    }
  }, 900_000);
});
