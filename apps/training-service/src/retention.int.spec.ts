// Log retention (core/retention.ts) in the real service (in-process, FerretDB, NATS, gRPC): the
// store holds four jobs with logs — one ended 10 days ago, one 3 days ago, one an hour ago, and
// one that has not ended (queued again after an attempt, its checkpoint needed by the resume),
// last changed 30 days ago. With PROGRESS_RETENTION 24h and LOG_RETENTION 168h the oldest log
// goes whole, the next one loses its progress and metric events only, and neither the recent nor
// the unfinished job loses anything: WatchJob still serves the latter from its last sequence.
import { dataset, training } from '@medtune/contracts';
import { createClient, createIdGenerator, createLogger } from '@medtune/kit';
import { printLogsOnFailure, randomId, testMongo, testNats, waitFor, type TestMongo, type TestNats } from '@medtune/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTraining, type TrainingApp } from './app';
import { loadTrainingConfig } from './config';
import { DEFAULT_EXPERIMENT, DEFAULT_MAX_RETRIES, resolveBackend, resolveExports, resolveHyperparameters, resolveLora } from './core/defaults';
import type { JobEventKind, JobRecord, StoredJobEvent } from './core/model';
import { requestHash } from './core/request-hash';
import { newJobRecord } from './core/transitions';
import { MongoJobEventRepository, MongoJobRepository } from './repo/mongo';
import { serveDatasetVersions, type StandIn } from './testing/stand-ins';

printLogsOnFailure();
const S = training.JobState;
const DIGEST = 'cd'.repeat(32);
const DAY = 86_400_000;
const log = createLogger({ service: 'retention-test', level: 'warn' });
let nats: TestNats;
let mongo: TestMongo;
let datasets: StandIn;

beforeAll(async () => {
  nats = await testNats();
  mongo = await testMongo();
  datasets = await serveDatasetVersions(new Map([[DIGEST, dataset.VersionState.VERSION_STATE_READY]]), log);
});
afterAll(async () => {
  await datasets?.stop();
  await mongo?.cleanup();
  await nats?.cleanup();
});

/** A job whose log is: its 2 creation transitions, then `steps` × (progress, metrics), a checkpoint, and an end transition when `state` is final. */
function job(newId: (p: string) => string, state: training.JobState, changedAt: Date, steps: number): { record: JobRecord; events: StoredJobEvent[] } {
  const request = training.CreateJobRequest.fromPartial({ idempotencyKey: `r-${randomId()}`, datasetDigest: DIGEST, baseModel: '/models/tiny' });
  const spec = {
    hyperparameters: resolveHyperparameters(request.hyperparameters),
    lora: resolveLora(request.lora),
    exports: resolveExports(request.exports),
    backend: resolveBackend(request.backend),
    maxRetries: DEFAULT_MAX_RETRIES,
    experiment: DEFAULT_EXPERIMENT,
  };
  const r = newJobRecord({ jobId: newId('job'), request, spec, requestHash: requestHash(request, spec), datasetDigest: DIGEST, validatedSince: changedAt }, changedAt);
  const jobId = r.job.jobId;
  const kinds: JobEventKind[] = [...Array.from({ length: steps }, () => ['progress', 'metrics'] as JobEventKind[]).flat(), 'checkpoint', ...(state === S.JOB_STATE_QUEUED ? [] : (['state'] as JobEventKind[]))];
  const events: StoredJobEvent[] = [...r.outbox];
  for (const kind of kinds) {
    const seq = events.length + 1;
    events.push({ seq, attempt: 1, workerSeq: kind === 'state' ? 0 : seq, kind, event: training.JobEvent.fromPartial({ jobId, sequence: seq, time: changedAt }) });
  }
  const record: JobRecord = { ...r, outbox: [], job: { ...r.job, state, attempt: 1, lastSequence: events.length, updateTime: changedAt } };
  return { record, events };
}

describe('job log retention', () => {
  it('the oldest ended log goes, an older one loses its progress only, recent and unfinished jobs keep everything', async () => {
    const db = mongo.dbNameFor('retention');
    const newId = createIdGenerator();
    const now = Date.now();
    const STEPS = 20;
    const old = job(newId, S.JOB_STATE_SUCCEEDED, new Date(now - 10 * DAY), STEPS);
    const older = job(newId, S.JOB_STATE_FAILED, new Date(now - 3 * DAY), STEPS);
    const recent = job(newId, S.JOB_STATE_SUCCEEDED, new Date(now - 3_600_000), STEPS);
    const waiting = job(newId, S.JOB_STATE_QUEUED, new Date(now - 30 * DAY), STEPS); // queued again after attempt 1
    const all = [old, older, recent, waiting];
    // Stored before the service starts (indexes are the service's to create; these collections need none to be written).
    await new MongoJobRepository(mongo.client.db(db)).insertMany(all.map((j) => j.record));
    await new MongoJobEventRepository(mongo.client.db(db)).insertMany(all.flatMap((j) => j.events.map((event) => ({ jobId: j.record.job.jobId, event }))));
    const events = mongo.client.db(db).collection('job_events');
    const count = (j: (typeof all)[number], kind?: JobEventKind) => events.countDocuments({ jobId: j.record.job.jobId, ...(kind ? { kind } : {}) });
    expect(await count(old)).toBe(2 + 2 * STEPS + 2);

    const app: TrainingApp = await startTraining(
      loadTrainingConfig({
        MEDTUNE_TRAINING_GRPC_ADDR: '127.0.0.1:0',
        MEDTUNE_NATS_URL: nats.url,
        MEDTUNE_NATS_NAMESPACE: nats.id,
        MEDTUNE_MONGODB_URI: mongo.uri,
        MEDTUNE_TRAINING_DB: db,
        MEDTUNE_TRAINING_DATASET_ADDR: datasets.address,
        MEDTUNE_TRAINING_ARTIFACT_ROOT: 'file:///tmp/medtune-test-artifacts',
        MEDTUNE_TRAINING_MODEL_CHECK: 'off',
        MEDTUNE_TRAINING_PROGRESS_RETENTION: '24h',
        MEDTUNE_TRAINING_LOG_RETENTION: '168h',
        MEDTUNE_TRAINING_RETENTION_INTERVAL: '100ms',
        MEDTUNE_TRAINING_WATCH_POLL: '100',
        MEDTUNE_LOG_LEVEL: 'warn',
      }),
      log,
    );
    const jobs = createClient(training.TrainingServiceClient, `127.0.0.1:${app.port}`, { defaultDeadlineMs: 15_000 });
    try {
      await waitFor(async () => (await count(old)) === 0 && (await count(older, 'progress')) === 0, 30_000, { message: 'retention prunes', intervalMs: 100 });
      // The oldest ended job: its whole log went, the job stays; WatchJob ends at once.
      expect((await jobs.unary('getJob', { jobId: old.record.job.jobId })).job?.state).toBe(S.JOB_STATE_SUCCEEDED);
      const watch = async (j: (typeof all)[number], from: number) => {
        const seqs: number[] = [];
        for await (const res of jobs.serverStream('watchJob', { jobId: j.record.job.jobId, fromSequence: from }, { deadlineMs: 10_000 })) {
          seqs.push(res.event!.sequence);
          if (j === waiting && seqs.length === j.events.length - from + 1) break; // a job that has not ended streams on
        }
        return seqs;
      };
      expect(await watch(old, 1)).toEqual([]);
      // 3 days ago: transitions and the checkpoint stay, progress and metrics went; WatchJob skips the removed sequences.
      expect(await count(older, 'metrics')).toBe(0);
      expect(await count(older)).toBe(4);
      const olderSeqs = older.events.filter((e) => e.kind !== 'progress' && e.kind !== 'metrics').map((e) => e.seq);
      expect(await watch(older, 1)).toEqual(olderSeqs);
      // Nothing of the recent or the unfinished job went, after more passes too.
      await new Promise((r) => setTimeout(r, 500));
      expect(await count(recent)).toBe(recent.events.length);
      expect(await count(waiting)).toBe(waiting.events.length);
      const last = waiting.events.length;
      expect(await watch(waiting, last - 5)).toEqual(Array.from({ length: 6 }, (_, i) => last - 5 + i));
      expect(await watch(recent, 1)).toEqual(recent.events.map((e) => e.seq));
      const marks = await mongo.client.db(db).collection('retention').find().toArray();
      expect(marks.map((m) => m['_id']).sort()).toEqual(['log', 'progress']);
    } finally {
      jobs.close();
      await app.server.shutdown({ graceMs: 500 });
      await app.stopBackground();
      await app.nc.drain();
      await app.mongo.close();
    }
  }, 120_000);
});
