/**
 * Benchmark (issue 18, item 7): what the Ray path costs per job against the registered-workers
 * path, for the same tiny job, side by side in one run on this machine.
 *
 * Two training services (main.ts as processes, their own databases and NATS namespaces, one
 * dataset version imported by the real dataset service):
 *   workers  EXECUTOR=workers and one registered trainer worker (`python -m medtune_trainer`),
 *            started before the timing: the strongest fair baseline, a warm worker waiting for work
 *   ray      EXECUTOR=ray on a real local Ray cluster (tools/infra/ray-cluster.sh: a head and one
 *            one-GPU worker node): every job is a Ray job whose entrypoint starts the trainer
 * Jobs alternate (workers, ray, workers, ray, ...), one at a time, BENCH_REPS of each. Per job,
 * from the job's own state history (the service's clock):
 *   to running   CreateJob's time → RUNNING (submission-to-running latency)
 *   total        CreateJob's time → SUCCEEDED
 * and per path min / median / max; the per-job overhead is median(ray total) − median(workers total).
 * Target: ≤ 5 s extra per job.
 *
 *   npx tsx bench/ray/overhead.ts                   # BENCH_REPS=3 BENCH_STEPS=4
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { training } from '@medtune/contracts';
import { createClient } from '@medtune/kit';
import { freePort, startProcess, startTrainerWorker, testMongo, testNats, type RunningProcess } from '@medtune/testing';
import { importTinyDataset, python, repoRoot, startRay, tinyModelDir } from '../../test/ray/support';

const S = training.JobState;
const REPS = Number(process.env.BENCH_REPS ?? 3);
const STEPS = Number(process.env.BENCH_STEPS ?? 4);
const RAY_CPUS = process.env.BENCH_RAY_CPUS ?? '2';
const threads = new Set<string>();
/** Paths the services accept: the tiny model's cache (var/), the temp dir, the seed's data. */
const dataRoots = [join(repoRoot, 'var'), tmpdir(), join(repoRoot, '../shared')].join(':');

function infra(args: string[]): Promise<string> {
  return new Promise((ok, fail) => {
    const child = spawn(resolve(repoRoot, 'tools/infra/infra.sh'), args, { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (c: string) => (out += c));
    child.once('close', (code) => (code === 0 ? ok(out) : fail(new Error(`infra.sh ${args.join(' ')} exited ${code}`))));
  });
}
const envValue = (text: string, name: string) => new RegExp(`^export ${name}=(.*)$`, 'm').exec(text)?.[1] ?? '';

const stats = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return { min: s[0]!, median: s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2, max: s.at(-1)! };
};
const fmt = (ms: number) => `${(ms / 1000).toFixed(2)} s`;

const lease = String(process.pid);
await infra(['up', '--lease', lease]);
const infraEnv = await infra(['env']);
const natsUrl = envValue(infraEnv, 'NATS_URL');
const mongoUri = envValue(infraEnv, 'MONGODB_URI');
const work = mkdtempSync(join(tmpdir(), 'medtune-bench-ray-'));
mkdirSync(join(work, 'artifacts'));
const procs: RunningProcess[] = [];
let ray: Awaited<ReturnType<typeof startRay>> | undefined;
const cleanups: (() => Promise<void>)[] = [];
try {
  const tiny = tinyModelDir();
  const natsW = await testNats({ url: natsUrl });
  const natsR = await testNats({ url: natsUrl });
  const mongo = await testMongo({ uri: mongoUri });
  cleanups.push(natsW.cleanup, natsR.cleanup, mongo.cleanup);
  const base = (nats: typeof natsW) => ({ MEDTUNE_NATS_URL: natsUrl, MEDTUNE_NATS_NAMESPACE: nats.id, MEDTUNE_MONGODB_URI: mongoUri, MEDTUNE_LOG_LEVEL: 'warn', MEDTUNE_DATA_ROOTS: dataRoots });
  const artifacts = join(work, 'artifacts');
  const [cluster, ds] = await Promise.all([
    startRay(join(work, 'ray'), 1, 1, { MEDTUNE_TRAINER_ARTIFACT_ROOT: artifacts, MEDTUNE_TRAINER_LOG_LEVEL: 'warning' }),
    importTinyDataset(work, tiny, base(natsW), mongo.dbNameFor('dataset')),
  ]);
  ray = cluster;
  procs.push(ds.proc);

  const service = async (name: string, nats: typeof natsW, extra: Record<string, string>) => {
    const port = await freePort();
    const proc = await startProcess({
      cmd: process.execPath,
      args: ['--import', 'tsx', 'apps/training-service/src/main.ts'],
      cwd: repoRoot,
      name,
      env: {
        ...base(nats),
        MEDTUNE_TRAINING_GRPC_ADDR: `127.0.0.1:${port}`,
        MEDTUNE_TRAINING_DB: mongo.dbNameFor(name),
        MEDTUNE_TRAINING_DATASET_ADDR: ds.address,
        MEDTUNE_TRAINING_ARTIFACT_ROOT: pathToFileURL(artifacts).href,
        MEDTUNE_TRAINING_HEARTBEAT_INTERVAL: '500',
        MEDTUNE_TRAINING_SCHEDULE_INTERVAL: '300',
        // Both paths: StartJob on a loaded machine can take seconds.
        MEDTUNE_TRAINING_DISPATCH_DEADLINE: '30000',
        ...extra,
      },
      readyWhen: { grpcHealth: `127.0.0.1:${port}`, service: 'medtune.training.v1.TrainingService' },
      readyTimeoutMs: 60_000,
    });
    procs.push(proc);
    return { port, client: createClient(training.TrainingServiceClient, `127.0.0.1:${port}`, { defaultDeadlineMs: 20_000 }) };
  };
  const workersSvc = await service('training-workers', natsW, { MEDTUNE_TRAINING_EXECUTOR: 'workers' });
  // The Ray job asks for as many CPUs as the registered worker computes with (the node's 2; Ray
  // sets the entrypoint's OMP_NUM_THREADS from this request): BENCH_RAY_CPUS, default 2.
  const raySvc = await service('training-ray', natsR, { MEDTUNE_TRAINING_EXECUTOR: 'ray', MEDTUNE_TRAINING_RAY_ADDRESS: cluster.dashboard, MEDTUNE_TRAINING_RAY_PYTHON: python, MEDTUNE_TRAINING_RAY_CPUS_PER_JOB: RAY_CPUS });
  procs.push(
    (await startTrainerWorker({ workerId: 'bench-worker', artifactRoot: artifacts, trainingAddr: `127.0.0.1:${workersSvc.port}`, env: { MEDTUNE_TRAINER_LOG_LEVEL: 'warning' } })).proc,
  );

  type Phases = Record<string, number>;
  const runJob = async (client: typeof workersSvc.client, key: string, onRay = false) => {
    const req = training.CreateJobRequest.fromPartial({
      idempotencyKey: key,
      datasetDigest: ds.digest,
      baseModel: tiny,
      hyperparameters: { maxSteps: STEPS, loggingSteps: 1, maxSeqLength: 256, gradientAccumulationSteps: 1, learningRate: 1e-2, warmupSteps: 0 },
      lora: { r: 8 },
      exports: { adapter: true, merged16bit: false },
    });
    const jobId = (await client.unary('createJob', req)).job!.jobId;
    for (const deadline = Date.now() + 300_000; ; ) {
      const job = (await client.unary('getJob', { jobId })).job!;
      if (job.state === S.JOB_STATE_SUCCEEDED) {
        const at = (s: training.JobState) => job.history.find((h) => h.state === s)!.time!.getTime();
        const created = job.createTime!.getTime();
        // Where the time went, phase by phase (ms): the service's history, and on Ray the
        // submission's acceptance and the entrypoint's own marks (ray_job.py `phase P at MS`).
        const phases: Phases = {};
        if (onRay) {
          const sid = `medtune-${jobId}-a1`;
          const info = await cluster.job(sid);
          const log = await cluster.logs(sid);
          const marks = Object.fromEntries([...log.matchAll(/ray_job: phase (\S+) at (\d+)/g)].map((m) => [m[1]!, Number(m[2])]));
          for (const m of log.matchAll(/ray_job: (torch threads .*)/g)) threads.add(m[1]!);
          if (/warm start: child/.test(log)) threads.add('warm start (forked from the node\'s warm server)');
          else if (/warm start: starting/.test(log)) threads.add('one started the warm server');
          const submitted = Number(info?.start_time ?? 0);
          if (submitted && marks.process && marks.listening && marks['start-job']) {
            phases['CreateJob → Ray accepted the submission'] = submitted - created;
            phases['→ entrypoint process started (placement, supervisor, shell, python)'] = marks.process - submitted;
            phases['→ trainer listening (imports, gRPC server)'] = marks.listening - marks.process;
            if (marks.registering) phases['→ libraries imported, registering (torch, transformers, peft, trl)'] = marks.registering - marks.listening;
            phases['→ StartJob accepted (register, schedule, dispatch, StartJob checks)'] = marks['start-job'] - (marks.registering ?? marks.listening);
            phases['→ RUNNING (StartJob checks, model load)'] = at(S.JOB_STATE_RUNNING) - marks['start-job'];
          }
        } else {
          phases['CreateJob → STARTING (dispatch)'] = at(S.JOB_STATE_STARTING) - created;
          phases['→ RUNNING (StartJob checks, model load)'] = at(S.JOB_STATE_RUNNING) - at(S.JOB_STATE_STARTING);
        }
        phases['RUNNING → SUCCEEDED'] = at(S.JOB_STATE_SUCCEEDED) - at(S.JOB_STATE_RUNNING);
        return { toRunning: at(S.JOB_STATE_RUNNING) - created, total: at(S.JOB_STATE_SUCCEEDED) - created, phases };
      }
      if (job.state === S.JOB_STATE_FAILED || job.state === S.JOB_STATE_CANCELLED) throw new Error(`${key} ended ${S[job.state]}: ${job.failure?.message}`);
      if (Date.now() > deadline) throw new Error(`${key} still ${S[job.state]} after 300 s`);
      await new Promise((r) => setTimeout(r, 100));
    }
  };

  // One untimed job on each path first (the model files and the tokenizer land in the page cache).
  await runJob(workersSvc.client, 'warm-w');
  await runJob(raySvc.client, 'warm-r');
  type Result = { toRunning: number; total: number; phases: Phases };
  const results = { workers: [] as Result[], ray: [] as Result[] };
  const loads: number[] = [];
  for (let i = 0; i < REPS; i++) {
    loads.push(loadavg()[0]!);
    results.workers.push(await runJob(workersSvc.client, `w-${i}`));
    results.ray.push(await runJob(raySvc.client, `r-${i}`, true));
    console.error(`rep ${i + 1}/${REPS}: workers ${fmt(results.workers[i]!.total)}, ray ${fmt(results.ray[i]!.total)}`);
  }
  loads.push(loadavg()[0]!);
  console.log(`\nbench/ray: ${REPS} jobs per path, ${STEPS} steps each (tiny Qwen2, CPU); ${cpus().length} cores, load average (1 min) ${Math.min(...loads).toFixed(1)}–${Math.max(...loads).toFixed(1)}\n`);
  console.log('| path | to running min / median / max | total min / median / max |');
  console.log('|---|---|---|');
  for (const [name, rs] of Object.entries(results)) {
    const r = stats(rs.map((x) => x.toRunning));
    const t = stats(rs.map((x) => x.total));
    console.log(`| ${name} | ${fmt(r.min)} / ${fmt(r.median)} / ${fmt(r.max)} | ${fmt(t.min)} / ${fmt(t.median)} / ${fmt(t.max)} |`);
  }
  for (const [name, rs] of Object.entries(results)) {
    console.log(`\n${name}: where the time goes, median (min–max) over the timed jobs`);
    for (const phase of Object.keys(rs[0]?.phases ?? {})) {
      const p = stats(rs.map((x) => x.phases[phase] ?? 0));
      console.log(`  ${phase}: ${fmt(p.median)} (${fmt(p.min)}–${fmt(p.max)})`);
    }
  }
  const extra = stats(results.ray.map((x) => x.total)).median - stats(results.workers.map((x) => x.total)).median;
  const extraRunning = stats(results.ray.map((x) => x.toRunning)).median - stats(results.workers.map((x) => x.toRunning)).median;
  console.log(`\nray: the job asks for ${RAY_CPUS} CPUs; its entrypoints said: ${[...threads].join('; ') || '(nothing)'}`);
  console.log(`\nper-job overhead of the Ray path (median total, ray − workers): ${fmt(extra)} (to running: ${fmt(extraRunning)}); target ≤ 5 s: ${extra <= 5_000 ? 'met' : 'NOT met'}`);
  workersSvc.client.close();
  raySvc.client.close();
} finally {
  for (const p of procs.reverse()) await p.stop().catch(() => undefined);
  await ray?.down().catch(() => undefined);
  for (const c of cleanups) await c().catch(() => undefined);
  await infra(['release', lease]).catch(() => undefined);
  rmSync(work, { recursive: true, force: true });
}
