/**
 * Continuous training: when a new version of a watched dataset becomes ready
 * (medtune.dataset.version.ready), start a training job on it through the TrainingService.
 * The job's idempotency key is derived from the dataset digest, so a redelivered event (or two
 * copies of this program) never starts a second job; a training service that is down makes the
 * event come back later (nak), nothing is lost.
 *
 *   NATS_URL=nats://127.0.0.1:4222 MEDTUNE_TRAINING_ADDR=127.0.0.1:50052 \
 *   npx tsx examples/automation/train-on-ready.ts --dataset demo-medical-zh \
 *     --base-model "$PWD/var/models/tiny-qwen2" --register-as demo-medical --max-steps 16
 */
import path from 'node:path';
import { parseArgs } from 'node:util';
import { SUBJECTS, STREAMS, training, type events } from '@medtune/contracts';
import { createClient, DomainError, type KitClient } from '@medtune/kit';
import type { NatsConnection } from '@nats-io/nats-core';
import { subscribe, type Received, type Subscription } from './subscribe';

/** What to train when a version of `dataset` is ready. */
export interface TrainOnReadyRule {
  /** Dataset name to watch. */
  dataset: string;
  baseModel: string;
  /** Registered model to register the result under (empty: do not register). */
  registerAs?: string;
  /** Hyperparameters to set (the rest take the seed's values). */
  hyperparameters?: Partial<training.CreateJobRequest['hyperparameters']>;
  experiment?: string;
}

/** The CreateJob request for a ready version, or undefined when the rule does not apply. */
export function jobRequestFor(e: Received<events.DatasetVersionReady>, rule: TrainOnReadyRule): training.CreateJobRequest | undefined {
  const v = e.message.version;
  if (!v || v.datasetName !== rule.dataset) return undefined;
  return training.CreateJobRequest.fromPartial({
    // One job per dataset version and rule, however often the event arrives.
    idempotencyKey: `train-on-ready/${rule.dataset}/${v.digest}/${rule.registerAs ?? ''}`,
    displayName: `${rule.dataset} ${v.digest.slice(0, 12)} (train-on-ready)`,
    datasetDigest: v.digest,
    baseModel: rule.baseModel,
    registerAs: rule.registerAs ?? '',
    experiment: rule.experiment ?? 'continuous',
    hyperparameters: rule.hyperparameters ?? {},
    // Everything here must be the same for every delivery of the same fact (no event id, no
    // clock): CreateJob answers ALREADY_EXISTS to the same key with another request.
    tags: { trigger: 'dataset.version.ready' },
  });
}

/** Options of {@link trainOnReady}. */
export interface TrainOnReadyOptions {
  rule: TrainOnReadyRule;
  /** host:port of the training service. */
  trainingAddr: string;
  authToken?: string | undefined;
  durable?: string;
  namespace?: { subjectPrefix: string; streamPrefix: string };
  log?: (line: string) => void;
}

/** Starts the automation; stop() ends it and closes the gRPC channel. */
export async function trainOnReady(nc: NatsConnection, o: TrainOnReadyOptions): Promise<Subscription> {
  const client: KitClient<typeof training.TrainingServiceService> = createClient(training.TrainingServiceClient, o.trainingAddr, {
    defaultDeadlineMs: 15_000,
    authToken: o.authToken,
  });
  const sub = await subscribe(nc, {
    stream: STREAMS.dataset.name,
    subject: SUBJECTS.datasetVersionReady.subject,
    durable: o.durable ?? `train-on-ready-${o.rule.dataset.replace(/[^A-Za-z0-9_-]/g, '_')}`,
    codec: SUBJECTS.datasetVersionReady.codec,
    namespace: o.namespace,
    async handle(e) {
      const req = jobRequestFor(e, o.rule);
      if (!req) return;
      try {
        const res = await client.unary('createJob', req);
        o.log?.(`${res.created ? 'started' : 'already started'} job ${res.job?.jobId} on ${req.datasetDigest.slice(0, 12)}`);
      } catch (err) {
        // Only a retryable failure (service down, overloaded) is worth a redelivery; a refusal
        // (invalid request, unknown dataset, key taken) stays a refusal: log it and move on.
        if (err instanceof DomainError && !err.retryable) {
          o.log?.(`skipped ${req.datasetDigest.slice(0, 12)}: the training service refused the job: ${err.message}`);
          return;
        }
        throw err;
      }
    },
    onError: (err) => o.log?.(`CreateJob failed, the event will come back: ${(err as Error).message}`),
    retryDelayMs: 5_000,
  });
  return {
    async stop() {
      await sub.stop();
      client.close();
    },
  };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { dataset: { type: 'string' }, 'base-model': { type: 'string' }, 'register-as': { type: 'string' }, 'max-steps': { type: 'string' } },
  });
  if (!values.dataset || !values['base-model']) throw new Error('--dataset NAME and --base-model DIR are required');
  const { connect } = await import('@nats-io/transport-node');
  const nc = await connect({ servers: process.env.NATS_URL ?? 'nats://127.0.0.1:4222', user: process.env.NATS_USER, pass: process.env.NATS_PASSWORD, name: 'train-on-ready' });
  const sub = await trainOnReady(nc, {
    rule: {
      dataset: values.dataset,
      baseModel: values['base-model'],
      registerAs: values['register-as'],
      hyperparameters: values['max-steps'] ? { maxSteps: Number(values['max-steps']) } : {},
    },
    trainingAddr: process.env.MEDTUNE_TRAINING_ADDR ?? '127.0.0.1:50052',
    authToken: process.env.MEDTUNE_AUTH_TOKEN,
    log: (l) => console.log(l),
  });
  console.log(`watching ${SUBJECTS.datasetVersionReady.subject} for ${values.dataset}`);
  const stop = async () => {
    await sub.stop();
    await nc.drain();
  };
  process.once('SIGINT', () => void stop());
  process.once('SIGTERM', () => void stop());
}

if (process.argv[1] && import.meta.url === `file://${path.resolve(process.argv[1])}`) await main();
