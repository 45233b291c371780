/**
 * Starts a medtune service as a real process (node + tsx's loader) on a free port, isolated by the
 * test's NATS namespace and its own database, and waits for grpc.health.v1 (or, for a TLS server,
 * for its log line).
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { TestMongo } from './mongo';
import type { TestNats } from './nats';
import { freePort } from './ports';
import { startProcess, type RunningProcess } from './process';

/** The repository's root (libs/testing/src/../../..). */
export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

/** A started service. */
export interface StartedService {
  proc: RunningProcess;
  addr: string;
}

const GRPC = { dataset: 'DatasetService', training: 'TrainingService', tracking: 'TrackingService', evaluation: 'EvaluationService', registry: 'RegistryService' } as const;

/** Starts apps/<name>-service with the test's NATS / Mongo and extra env. */
export async function startService(
  name: keyof typeof GRPC,
  // Only the URL and namespace are read: a NATS cluster's node passes { url, id } itself.
  nats: Pick<TestNats, 'url' | 'id'>,
  mongo: Pick<TestMongo, 'uri' | 'dbNameFor'>,
  env: Record<string, string> = {},
  // A TLS server cannot be probed by the plaintext health check: wait for its log line instead.
  opts: { readyLog?: RegExp; readyTimeoutMs?: number } = {},
): Promise<StartedService> {
  const P = name.toUpperCase();
  const addr = `127.0.0.1:${await freePort()}`;
  const proc = await startProcess({
    name: `${name}-service`,
    cmd: process.execPath,
    args: ['--enable-source-maps', '--import', path.join(repoRoot, 'node_modules/tsx/dist/loader.mjs'), path.join(repoRoot, `apps/${name}-service/src/main.ts`)],
    cwd: repoRoot,
    env: {
      TSX_TSCONFIG_PATH: path.join(repoRoot, 'tsconfig.json'),
      MEDTUNE_NATS_URL: nats.url,
      MEDTUNE_NATS_NAMESPACE: nats.id,
      MEDTUNE_MONGODB_URI: mongo.uri,
      MEDTUNE_LOG_LEVEL: 'info',
      [`MEDTUNE_${P}_DB`]: mongo.dbNameFor(name),
      [`MEDTUNE_${P}_GRPC_ADDR`]: addr,
      ...env,
    },
    readyWhen: opts.readyLog ? { log: opts.readyLog } : { grpcHealth: addr, service: `medtune.${name}.v1.${GRPC[name]}` },
    readyTimeoutMs: opts.readyTimeoutMs ?? 60_000,
    stopTimeoutMs: 15_000,
  });
  return { proc, addr };
}

/** The trainer venv's interpreter (tools/python/setup.sh). */
export const trainerPython = path.join(repoRoot, 'python-services/.venv/bin/python');

/**
 * Starts the Python trainer worker (`python -m medtune_trainer`) on a free loopback port with its
 * artifact root; it registers with the training service at `trainingAddr` when given. Waits for
 * its grpc.health.v1.
 */
export async function startTrainerWorker(opts: {
  workerId: string;
  artifactRoot: string;
  trainingAddr?: string;
  /** More environment (S3 settings, log level...). */
  env?: Record<string, string>;
  readyTimeoutMs?: number;
}): Promise<StartedService> {
  const addr = `127.0.0.1:${await freePort()}`;
  const proc = await startProcess({
    cmd: trainerPython,
    args: ['-m', 'medtune_trainer'],
    cwd: repoRoot,
    name: `worker ${opts.workerId}`,
    env: {
      MEDTUNE_TRAINER_GRPC_ADDR: addr,
      MEDTUNE_TRAINER_WORKER_ID: opts.workerId,
      ...(opts.trainingAddr ? { MEDTUNE_TRAINER_TRAINING_ADDR: opts.trainingAddr } : {}),
      MEDTUNE_TRAINER_ARTIFACT_ROOT: opts.artifactRoot,
      MEDTUNE_TRAINER_LOG_LEVEL: 'info',
      ...opts.env,
    },
    readyWhen: { grpcHealth: addr },
    readyTimeoutMs: opts.readyTimeoutMs ?? 120_000,
  });
  return { proc, addr };
}
