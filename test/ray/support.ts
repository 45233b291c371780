// Shared set-up of the Ray specs: a real local Ray cluster (tools/infra/ray-cluster.sh: a head and
// worker nodes on loopback, GPUs declared), the tiny Qwen2 model, a dataset version imported by
// the real dataset service, and the training service with EXECUTOR=ray as a process.
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { spawnSync } from 'node:child_process';
import { promisify } from 'node:util';
import { dataset } from '@medtune/contracts';
import { createClient } from '@medtune/kit';
import { freePort, startProcess, trainerPython, type RunningProcess } from '@medtune/testing';

const run = promisify(execFile);
export const repoRoot = resolve(import.meta.dirname, '../..');
export const python = trainerPython;
const sharedDir = resolve(repoRoot, '../shared');
const clusterScript = resolve(repoRoot, 'tools/infra/ray-cluster.sh');

/** The tiny model, built once per version of its builder (cached under var/, as the e2e spec does). */
export function tinyModelDir(): string {
  const builder = ['python-services/trainer/scripts/make_tiny_model.py', 'python-services/trainer/src/medtune_trainer/tiny_model.py'];
  const key = createHash('sha256')
    .update(builder.map((f) => readFileSync(resolve(repoRoot, f))).join('\0'))
    .digest('hex')
    .slice(0, 12);
  const dir = resolve(repoRoot, `var/cache/tiny-qwen2-${key}`);
  if (existsSync(join(dir, 'config.json')) && existsSync(join(dir, 'tokenizer.json'))) return dir;
  const tmp = `${dir}.tmp-${process.pid}`;
  const out = spawnSync(python, ['python-services/trainer/scripts/make_tiny_model.py', '--out', tmp], { cwd: repoRoot, encoding: 'utf8' });
  if (out.status !== 0) throw new Error(`make_tiny_model.py failed:\n${out.stderr}`);
  mkdirSync(resolve(dir, '..'), { recursive: true });
  rmSync(dir, { recursive: true, force: true });
  renameSync(tmp, dir);
  return dir;
}

/** A started local Ray cluster. */
export interface LocalRay {
  readonly dir: string;
  /** The dashboard (Jobs REST API). */
  readonly dashboard: string;
  /** SIGKILLs worker node k's raylet. */
  killNode(k: number): Promise<void>;
  down(): Promise<void>;
  /** A Ray job as the REST API shows it. */
  job(submissionId: string): Promise<{ status: string; driver_node_id?: string | null; message?: string; start_time?: number | null } | undefined>;
  /** A Ray job's driver log ('' when Ray does not know it). */
  logs(submissionId: string): Promise<string>;
  /** Worker node index (its medtune_node_<k> resource) of a Ray node id. */
  nodeIndex(nodeId: string): Promise<number | undefined>;
}

/** Starts a head and `workers` nodes of `gpus` GPUs each; the nodes' environment gets `env`. */
export async function startRay(dir: string, workers: number, gpus: number, env: Record<string, string>): Promise<LocalRay> {
  const { stdout } = await run(clusterScript, ['up', dir, String(workers), String(gpus)], {
    cwd: repoRoot,
    env: { ...process.env, ...env, PATH: `${resolve(repoRoot, 'python-services/.venv/bin')}:${process.env.PATH ?? ''}` },
    timeout: 300_000,
  });
  const dashboard = /RAY_DASHBOARD=(\S+)/.exec(stdout)?.[1];
  if (!dashboard) throw new Error(`ray-cluster.sh up printed no dashboard address:\n${stdout}`);
  const getJson = async <T>(path: string): Promise<T | undefined> => {
    const res = await fetch(`${dashboard}${path}`, { signal: AbortSignal.timeout(15_000) });
    if (res.status === 404) return undefined;
    return (await res.json()) as T;
  };
  return {
    dir,
    dashboard,
    killNode: async (k) => {
      await run(clusterScript, ['kill-node', dir, String(k)], { cwd: repoRoot });
    },
    down: async () => {
      await run(clusterScript, ['down', dir], { cwd: repoRoot, timeout: 60_000 });
    },
    job: (sid) => getJson(`/api/jobs/${encodeURIComponent(sid)}`),
    logs: async (sid) => (await getJson<{ logs?: string }>(`/api/jobs/${encodeURIComponent(sid)}/logs`))?.logs ?? '',
    nodeIndex: async (nodeId) => {
      type Node = { node_id?: string; resources_total?: Record<string, number> };
      const nodes = (await getJson<{ data: { result: { result: Node[] } } }>('/api/v0/nodes?limit=10000&detail=1'))?.data.result.result ?? [];
      const node = nodes.find((n) => n.node_id === nodeId);
      const key = Object.keys(node?.resources_total ?? {}).find((r) => /^medtune_node_\d+$/.test(r));
      return key ? Number(key.slice('medtune_node_'.length)) : undefined;
    },
  };
}

/** Imports 24 short rows of the seed's data through a dataset service process; returns it and the digest. */
export async function importTinyDataset(work: string, tinyModel: string, env: Record<string, string>, db: string): Promise<{ proc: RunningProcess; address: string; digest: string }> {
  type Row = { Question: string; Complex_CoT: string; Response: string };
  const rows = JSON.parse(readFileSync(join(sharedDir, 'data/sft/medical_o1_sft_Chinese_subset916.json'), 'utf8')) as Row[];
  const short = rows.slice(0, 24).map((r) => ({ Question: r.Question.slice(0, 50), Complex_CoT: r.Complex_CoT.slice(0, 50), Response: r.Response.slice(0, 30) }));
  const file = join(work, 'rows.jsonl');
  writeFileSync(file, short.map((r) => JSON.stringify(r)).join('\n') + '\n');
  const port = await freePort();
  const proc = await startProcess({
    cmd: process.execPath,
    args: ['--import', 'tsx', 'apps/dataset-service/src/main.ts'],
    cwd: repoRoot,
    name: 'dataset-service',
    env: { ...env, MEDTUNE_DATASET_GRPC_ADDR: `127.0.0.1:${port}`, MEDTUNE_DATASET_DB: db },
    readyWhen: { grpcHealth: `127.0.0.1:${port}`, service: 'medtune.dataset.v1.DatasetService' },
    readyTimeoutMs: 60_000,
  });
  const ds = createClient(dataset.DatasetServiceClient, `127.0.0.1:${port}`, { defaultDeadlineMs: 90_000 });
  let result: dataset.ImportResult | undefined;
  try {
    for await (const res of ds.serverStream('importDataset', {
      path: file,
      options: dataset.ImportOptions.fromPartial({ datasetName: `ray-${createHash('sha1').update(work).digest('hex').slice(0, 6)}`, tokenizerDir: tinyModel, maxSeqLength: 256, evalRatio: 0.1 }),
    })) {
      if (res.event?.$case === 'result') result = res.event.result;
    }
  } finally {
    ds.close();
  }
  if (!result?.version) throw new Error(`import failed: ${JSON.stringify(result?.report)}`);
  return { proc, address: `127.0.0.1:${port}`, digest: result.version.digest };
}
