// The Ray executor's waiting rules with a scripted Ray API: a job waiting behind busy GPUs waits
// as long as it takes; only a job no alive node could ever fit fails, and only after the
// configured time counted from when that was first seen.
import { FailedPreconditionError, ResourceExhaustedError } from '@medtune/kit';
import { trainer, training } from '@medtune/contracts';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import type { JobRecord } from '../model';
import { fitsSomeNode, RayExecutor, type RayJobInfo, type RayJobsApi, type RayNodeInfo, type RaySubmission } from './ray';

const node = (gpus: number, alive = true): RayNodeInfo => ({ nodeId: `n${gpus}`, alive, resources: { CPU: 2, GPU: gpus, memory: 16e9 } });
const sub = (gpus: number, extra: Partial<RaySubmission> = {}): RaySubmission => ({ submissionId: 's', entrypoint: 'x', env: {}, metadata: {}, gpus, cpus: 1, resources: {}, ...extra });

describe('fitsSomeNode', () => {
  it('compares the request with each alive node’s total resources', () => {
    expect(fitsSomeNode(sub(1), [node(0), node(1)]).fits).toBe(true);
    expect(fitsSomeNode(sub(2), [node(1), node(1)])).toEqual({ fits: false, why: 'GPU 2 asked, the largest node has 1 (2 alive nodes)' });
    expect(fitsSomeNode(sub(1), [node(4, false)])).toEqual({ fits: false, why: 'the Ray cluster has no alive node' });
    expect(fitsSomeNode(sub(1, { resources: { gpu_memory_gb: 80 } }), [{ nodeId: 'a', alive: true, resources: { CPU: 2, GPU: 1, gpu_memory_gb: 24 } }]).why).toBe('gpu_memory_gb 80 asked, the largest node has 24 (1 alive node)');
    // Each resource exists somewhere, but not together on one node.
    expect(fitsSomeNode(sub(1, { cpus: 8 }), [{ nodeId: 'a', alive: true, resources: { CPU: 8 } }, node(1)]).why).toBe('no single node has all of it (2 alive nodes)');
  });
});

function executor(nodes: RayNodeInfo[], registered: string[] = [], records: Record<string, JobRecord> = {}) {
  let now = 1_000_000;
  const jobs = new Map<string, RayJobInfo>();
  const stopped: string[] = [];
  const submitted: string[] = [];
  const entrypoints: string[] = [];
  const removed: string[] = [];
  const ray: RayJobsApi = {
    submit: async (s) => {
      submitted.push(s.submissionId);
      entrypoints.push(s.entrypoint);
      jobs.set(s.submissionId, { submissionId: s.submissionId, status: 'PENDING', message: '', startTimeMs: now, metadata: s.metadata });
      return true;
    },
    get: async (sid) => jobs.get(sid),
    list: async () => [...jobs.values()],
    stop: async (sid) => {
      stopped.push(sid);
      return true;
    },
    remove: async (sid) => {
      removed.push(sid);
      return jobs.delete(sid);
    },
    logs: async () => '',
    nodes: async () => nodes,
    version: async () => '2.60.0',
  };
  const ex = new RayExecutor({
    ray,
    workers: {
      list: async () =>
        registered.map((id) => ({ workerId: id, info: trainer.WorkerInfo.fromPartial({ workerId: id, address: `127.0.0.1:1${id.length}`, gpuCount: 1 }), registeredAt: new Date(0), lastHeartbeat: new Date(0), lost: false })),
    } as never,
    jobs: { get: async (id) => records[id] },
    workerClients: (() => ({})) as never,
    clock: () => new Date(now),
    log: pino({ level: 'silent' }),
    settings: { python: 'python', registryAddress: '127.0.0.1:1', prefix: 'medtune', maxPending: 4, unsatisfiableAfterMs: 10_000, cpusPerJob: 1, reconcileIntervalMs: 1e9 },
  });
  const start = async (gpus: number) => {
    const slot = (await ex.slots()).find((s) => s.slotId === 'ray-submit-0')!;
    const req = trainer.StartJobRequest.fromPartial({ jobId: `job-${gpus}`, attempt: 1, spec: { hyperparameters: { gpus } } });
    return ex.start(slot, req, { deadlineMs: 1_000 }).then(
      () => undefined,
      (e: unknown) => e as Error,
    );
  };
  const set = (sid: string, status: RayJobInfo['status']) => jobs.set(sid, { ...jobs.get(sid)!, status });
  return { ex, start, stopped, submitted, entrypoints, removed, set, advance: (ms: number) => (now += ms) };
}

describe('RayExecutor waiting', () => {
  it('a job waiting for a busy GPU stays waiting long past the limit', async () => {
    const t = executor([node(0), node(1), node(1)]);
    for (let i = 0; i < 5; i++) {
      const err = await t.start(1);
      expect(err).toBeInstanceOf(ResourceExhaustedError);
      expect(err!.message).toBe('waiting for 1 GPU on the Ray cluster (submission medtune-job-1-a1)');
      t.advance(60_000);
    }
    expect(t.stopped).toEqual([]);
  });

  it('a job no node can fit is not submitted, and fails FAILED_PRECONDITION after the limit counted from when it was first seen', async () => {
    const t = executor([node(0), node(1), node(1)]);
    const first = await t.start(4);
    expect(first).toBeInstanceOf(ResourceExhaustedError);
    expect(first!.message).toBe('waiting for a Ray node that can fit 4 GPUs: GPU 4 asked, the largest node has 1 (3 alive nodes) (fails after 10 s unless one joins; not submitted yet)');
    t.advance(9_000);
    expect(await t.start(4)).toBeInstanceOf(ResourceExhaustedError);
    t.advance(1_000);
    const failed = await t.start(4);
    expect(failed).toBeInstanceOf(FailedPreconditionError);
    expect(failed!.message).toBe('hyperparameters.gpus: no node of the Ray cluster can run a job of 4 GPUs (GPU 4 asked, the largest node has 1 (3 alive nodes); waited 10 s for one to join; nothing was submitted)');
    expect(t.submitted).toEqual([]);
  });

  it('a submitted job whose nodes all left fails after the limit and its submission is stopped', async () => {
    const nodes = [node(1)];
    const t = executor(nodes);
    expect((await t.start(1))!.message).toBe('waiting for 1 GPU on the Ray cluster (submission medtune-job-1-a1)');
    nodes[0] = node(1, false);
    t.advance(2_000);
    expect((await t.start(1))!.message).toBe('waiting for a Ray node that can fit 1 GPU: the Ray cluster has no alive node (fails after 10 s unless one joins; submission medtune-job-1-a1)');
    t.advance(10_000);
    const failed = await t.start(1);
    expect(failed).toBeInstanceOf(FailedPreconditionError);
    expect(failed!.message).toMatch(/no node of the Ray cluster can run a job of 1 GPU \(the Ray cluster has no alive node; waited 10 s for one to join; submission medtune-job-1-a1 stopped\)$/);
    expect(t.stopped).toEqual(['medtune-job-1-a1']);
  });
});

describe('RayExecutor slots', () => {
  it('submission and Ray trainer slots take training only; other registered workers take worker holds only', async () => {
    const t = executor([node(1)], ['medtune-job-1-a1', 'eval-gpu-worker']);
    const slots = await t.ex.slots();
    expect(slots.map((s) => [s.slotId, s.use])).toEqual([
      ['medtune-job-1-a1', 'jobs'],
      ['eval-gpu-worker', 'holds'],
      ['ray-submit-0', 'jobs'],
      ['ray-submit-1', 'jobs'],
      ['ray-submit-2', 'jobs'],
      ['ray-submit-3', 'jobs'],
    ]);
  });
});

describe('RayExecutor reconcile', () => {
  it('a job cancelled while its Ray job is PENDING: stopped and dropped at once (a drop job kills the unplaced supervisor), then the drop job is deleted', async () => {
    const records: Record<string, JobRecord> = {};
    const t = executor([node(1)], [], records);
    expect((await t.start(1))!.message).toBe('waiting for 1 GPU on the Ray cluster (submission medtune-job-1-a1)');
    records['job-1'] = { job: training.Job.fromPartial({ jobId: 'job-1', state: training.JobState.JOB_STATE_CANCELLED }), rev: 2, requestHash: 'h', queuedAt: new Date(0), workerSeq: 0, outbox: [] };
    await t.ex.reconcile();
    expect(t.stopped).toEqual(['medtune-job-1-a1']);
    expect(t.submitted).toEqual(['medtune-job-1-a1', 'medtune-job-1-a1-drop']);
    expect(t.entrypoints[1]).toMatch(/^python -c '.*ray\.kill\(ray\.get_actor\(T\.format\(job_id=s\), namespace=N\), no_restart=True\).*' medtune-job-1-a1$/s);
    // Asked once: a second reconcile while it is still PENDING submits no second drop.
    await t.ex.reconcile();
    expect(t.submitted).toHaveLength(2);
    expect(t.removed).toEqual([]);
    t.set('medtune-job-1-a1-drop', 'SUCCEEDED');
    t.set('medtune-job-1-a1', 'FAILED');
    await t.ex.reconcile();
    expect(t.removed).toEqual(['medtune-job-1-a1-drop']);
  });

  it('a RUNNING Ray job of a cancelled job is stopped, not dropped', async () => {
    const records: Record<string, JobRecord> = {};
    const t = executor([node(1)], [], records);
    await t.start(1);
    t.set('medtune-job-1-a1', 'RUNNING');
    records['job-1'] = { job: training.Job.fromPartial({ jobId: 'job-1', state: training.JobState.JOB_STATE_CANCELLED }), rev: 2, requestHash: 'h', queuedAt: new Date(0), workerSeq: 0, outbox: [] };
    await t.ex.reconcile();
    expect(t.stopped).toEqual(['medtune-job-1-a1']);
    expect(t.submitted).toEqual(['medtune-job-1-a1']);
  });
});
