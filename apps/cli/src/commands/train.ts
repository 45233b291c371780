/** medtune train create | watch | cancel | list | show | logs */
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { common, training } from '@medtune/contracts';
import { flag, intOpt, numOpt, str, type CommandSpec } from '../args';
import type { CliContext } from '../context';
import { CliError, EXIT, usage } from '../exit';
import { followJob } from '../follow';
import { failureHint, failureText, jobDetails, jobsTable, jobStateName } from '../format/views';
import { trainLogsCommand } from './train-logs';

const BACKENDS: Record<string, common.Backend> = { auto: common.Backend.BACKEND_AUTO, unsloth: common.Backend.BACKEND_UNSLOTH, hf: common.Backend.BACKEND_HF };

/** The exit code and message of a finished job: 0 when it succeeded, 5 otherwise. */
export function jobOutcome(job: training.Job): CliError | undefined {
  if (job.state === training.JobState.JOB_STATE_SUCCEEDED) return undefined;
  if (job.state === training.JobState.JOB_STATE_CANCELLED) return new CliError(EXIT.FAILED, `job ${job.jobId} was cancelled`, `its checkpoints: medtune train show ${job.jobId}`);
  return new CliError(EXIT.FAILED, `job ${job.jobId} ${jobStateName(job.state)}: ${failureText(job.failure)}`, failureHint(job.failure));
}

/** Watches a job and prints its end; returns the exit code. */
async function watchAndReport(ctx: CliContext, jobId: string): Promise<number> {
  const job = await followJob(ctx, jobId, ctx.out.json ? { onEvent: (e) => ctx.out.jsonLine({ event: training.JobEvent.toJSON(e) }) } : {});
  if (ctx.out.json) ctx.out.jsonLine({ job: training.Job.toJSON(job) });
  else ctx.out.result(null, () => `${job.jobId} ${jobStateName(job.state)}${job.trackingRunId ? `\nloss curve: medtune runs metrics ${job.trackingRunId}` : ''}`);
  const bad = jobOutcome(job);
  if (bad) throw bad;
  return EXIT.OK;
}

/** The training commands. */
export const trainCommands: CommandSpec<CliContext>[] = [
  {
    path: ['train', 'create'],
    summary: 'create a training job on a dataset version (seed hyperparameters unless given)',
    options: {
      dataset: { type: 'string', value: 'DIGEST', description: 'dataset version digest (required)' },
      'base-model': { type: 'string', value: 'DIR|ID', description: 'base model directory on the workers, or hub id (required)' },
      name: { type: 'string', value: 'NAME', description: 'display name' },
      'register-as': { type: 'string', value: 'MODEL', description: 'register the result under this model name when it succeeds' },
      key: { type: 'string', value: 'KEY', description: 'idempotency key (default: a new one); the same key and request return the same job' },
      backend: { type: 'string', value: 'B', description: 'auto (default) | unsloth | hf' },
      'max-steps': { type: 'string', value: 'N', description: 'stop after N optimizer steps' },
      epochs: { type: 'string', value: 'N', description: 'epochs (seed: 3)' },
      lr: { type: 'string', value: 'LR', description: 'learning rate (seed: 2e-4)' },
      'batch-size': { type: 'string', value: 'N', description: 'per-device batch (seed: 2)' },
      'grad-accum': { type: 'string', value: 'N', description: 'gradient accumulation steps (seed: 4)' },
      'max-seq-length': { type: 'string', value: 'N', description: 'max tokens per sequence (seed: 4096)' },
      'lora-r': { type: 'string', value: 'R', description: 'LoRA rank (seed: 32)' },
      'lora-alpha': { type: 'string', value: 'A', description: 'LoRA alpha (seed: 16)' },
      'logging-steps': { type: 'string', value: 'N', description: 'log metrics every N steps (seed: 10)' },
      experiment: { type: 'string', value: 'NAME', description: 'tracking experiment (default "default")' },
      watch: { type: 'boolean', short: 'w', description: 'follow the job until it ends' },
    },
    async run(ctx, p) {
      const digest = str(p, 'dataset');
      const base = str(p, 'base-model');
      if (!digest) throw usage('train create: --dataset DIGEST is required');
      if (!base) throw usage('train create: --base-model is required');
      const backend = str(p, 'backend');
      if (backend !== undefined && !(backend in BACKENDS)) throw usage(`--backend: expected auto, unsloth or hf, got ${JSON.stringify(backend)}`);
      const local = base.startsWith('/') || base.startsWith('./') || base.startsWith('../');
      const req = training.CreateJobRequest.fromPartial({
        idempotencyKey: str(p, 'key') ?? `cli/${randomUUID()}`,
        displayName: str(p, 'name') ?? '',
        datasetDigest: digest,
        baseModel: local ? path.resolve(ctx.io.cwd, base) : base,
        backend: backend ? BACKENDS[backend] : common.Backend.BACKEND_AUTO,
        registerAs: str(p, 'register-as') ?? '',
        experiment: str(p, 'experiment') ?? '',
        hyperparameters: {
          maxSteps: intOpt(p, 'max-steps', { min: 1 }),
          numTrainEpochs: numOpt(p, 'epochs', { min: 0, exclusiveMin: true }),
          learningRate: numOpt(p, 'lr', { min: 0, exclusiveMin: true }),
          batchSize: intOpt(p, 'batch-size', { min: 1 }),
          gradientAccumulationSteps: intOpt(p, 'grad-accum', { min: 1 }),
          maxSeqLength: intOpt(p, 'max-seq-length', { min: 1 }),
          loggingSteps: intOpt(p, 'logging-steps', { min: 1 }),
        },
        lora: { r: intOpt(p, 'lora-r', { min: 1 }), alpha: numOpt(p, 'lora-alpha', { min: 0, exclusiveMin: true }) },
      });
      const res = await ctx.clients.training.unary('createJob', req);
      const job = res.job!;
      if (!flag(p, 'watch')) {
        ctx.out.result(training.CreateJobResponse.toJSON(res), () => `${res.created ? 'created' : 'exists'}: ${job.jobId} (${jobStateName(job.state)})\nfollow it: medtune train watch ${job.jobId}`);
        return;
      }
      ctx.out.note(`${res.created ? 'created' : 'exists'}: ${job.jobId}`);
      return watchAndReport(ctx, job.jobId);
    },
  },
  {
    path: ['train', 'watch'],
    summary: 'follow a job live: states, a progress bar with the loss, checkpoints, artifacts',
    args: ['<job-id>'],
    details: 'Exit code 0 when the job succeeds, 5 when it fails or is cancelled. Ctrl-C stops watching, not the job.',
    run: (ctx, p) => watchAndReport(ctx, p.positionals[0]!),
  },
  {
    path: ['train', 'cancel'],
    summary: 'cancel a job (a running one checkpoints first)',
    args: ['<job-id>'],
    options: { reason: { type: 'string', value: 'TEXT', description: 'why (recorded)' } },
    async run(ctx, p) {
      const res = await ctx.clients.training.unary('cancelJob', { jobId: p.positionals[0]!, reason: str(p, 'reason') ?? 'cancelled with medtune train cancel' });
      ctx.out.result(training.CancelJobResponse.toJSON(res), () => `${res.job?.jobId}: ${jobStateName(res.job?.state ?? 0)}`);
    },
  },
  {
    path: ['train', 'list'],
    summary: 'list jobs, newest first',
    options: {
      state: { type: 'string', multiple: true, value: 'STATE', description: 'only jobs in this state (repeatable): queued, running, succeeded, failed, ...' },
      experiment: { type: 'string', value: 'NAME', description: 'only this experiment' },
      limit: { type: 'string', value: 'N', description: 'at most N jobs (default 50)' },
    },
    async run(ctx, p) {
      const states = ((p.values['state'] as string[] | undefined) ?? []).map((s) => {
        const v = training.JobState[`JOB_STATE_${s.toUpperCase()}` as keyof typeof training.JobState];
        if (typeof v !== 'number' || v === 0) throw usage(`--state: unknown state ${JSON.stringify(s)}`);
        return v;
      });
      const res = await ctx.clients.training.unary('listJobs', training.ListJobsRequest.fromPartial({ states, experiment: str(p, 'experiment') ?? '', pageSize: intOpt(p, 'limit', { min: 1, max: 500 }) ?? 50 }));
      ctx.out.result(training.ListJobsResponse.toJSON(res), () => jobsTable(res.jobs));
    },
  },
  {
    path: ['train', 'show'],
    summary: 'one job in detail: settings, state history, artifacts',
    args: ['<job-id>'],
    async run(ctx, p) {
      const res = await ctx.clients.training.unary('getJob', { jobId: p.positionals[0]! });
      ctx.out.result(training.GetJobResponse.toJSON(res), () => jobDetails(res.job!));
    },
  },
  trainLogsCommand,
];
