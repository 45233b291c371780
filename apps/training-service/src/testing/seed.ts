/**
 * Bulk seeding of a queue for the load bench and the scale spec (setup, not what they measure):
 * valid QUEUED job records made by the code CreateJob uses (resolved spec, request hash,
 * VALIDATING → QUEUED with their event log), stored with the repository's insertMany in batches
 * of 500. Their job.validating / job.queued events are not published: the scheduler must find
 * them by reading the store (the queue index's load or reconcile scan).
 */
import { createIdGenerator } from '@medtune/kit';
import { training } from '@medtune/contracts';
import { randomId } from '@medtune/testing';
import type { Db } from 'mongodb';
import { DEFAULT_EXPERIMENT, DEFAULT_MAX_RETRIES, resolveBackend, resolveExports, resolveHyperparameters, resolveLora } from '../core/defaults';
import { requestHash } from '../core/request-hash';
import { newJobRecord } from '../core/transitions';
import { type ResolvedSpec, validateCreateJob } from '../core/validation';
import { MongoJobEventRepository, MongoJobRepository } from '../repo/mongo';

/**
 * Stores `n` queued jobs on `digest` where the service keeps them on this server (`store`, as
 * connectMongo reports it: on FerretDB in `job_queue`); `priority(i)` gives the i-th job's
 * priority (default 0). Returns their ids in order.
 */
export async function seedQueuedJobs(db: Db, store: 'ferretdb' | 'mongodb', n: number, digest: string, priority: (i: number) => number = () => 0): Promise<string[]> {
  const jobs = new MongoJobRepository(db, { store });
  const log = new MongoJobEventRepository(db);
  const newId = createIdGenerator();
  const ids: string[] = [];
  const base = training.CreateJobRequest.fromPartial({ datasetDigest: digest, baseModel: '/models/tiny', hyperparameters: { maxSteps: 1 } });
  const spec: ResolvedSpec = {
    hyperparameters: resolveHyperparameters(base.hyperparameters),
    lora: resolveLora(base.lora),
    exports: resolveExports(base.exports),
    backend: resolveBackend(base.backend),
    maxRetries: DEFAULT_MAX_RETRIES,
    experiment: DEFAULT_EXPERIMENT,
  };
  for (let i = 0; i < n; i += 500) {
    const batch = Array.from({ length: Math.min(500, n - i) }, (_, k) => {
      const request = { ...base, priority: priority(i + k), idempotencyKey: `seed-${i + k}-${randomId()}` };
      const errors = validateCreateJob(request, spec);
      if (errors.length > 0) throw new Error(`seeded job is not valid: ${JSON.stringify(errors)}`);
      const now = new Date();
      return newJobRecord({ jobId: newId('job'), request, spec, requestHash: requestHash(request, spec), datasetDigest: digest, validatedSince: now }, now);
    });
    await jobs.insertMany(batch.map((r) => ({ ...r, outbox: [] })));
    await log.insertMany(batch.flatMap((r) => r.outbox.map((event) => ({ jobId: r.job.jobId, event }))));
    ids.push(...batch.map((r) => r.job.jobId));
  }
  return ids;
}
