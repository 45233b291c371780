// Two replicas of every one of the five services (dataset, training, tracking, evaluation,
// registry; main.ts as child processes) against one database and a three-node NATS cluster, with
// the streams and the lease bucket on 3 replicas. An evaluation runs on a stand-in worker that the
// training service places (HoldWorker); the evaluation replica holding the runner lease is killed
// with SIGKILL mid-evaluation. The other replica takes the lease over and resumes the run: it ends
// COMPLETED once, every item is stored once, and run.started / run.completed are in the stream once
// — also after the NATS node the survivor is connected to is killed mid-run as well.
// (The training side of the same shape — the scheduler lease holder and a NATS node killed
// mid-job — is apps/training-service/src/replicas.int.spec.ts.)
import { existsSync } from 'node:fs';
import path from 'node:path';
import { dataset, evaluation, events, registry, STREAMS, tracking, trainer, training } from '@medtune/contracts';
import { createClient, createGrpcServer, createLogger, ensureStreams, natsNamespace, openLeaseBucket, serverStream, unary, UnimplementedError, type KitGrpcServer, type LeaseBucket } from '@medtune/kit';
import { collectEvents, printLogsOnFailure, randomId, startNatsCluster, testMongo, waitFor, type NatsCluster, type TestMongo } from '@medtune/testing';
import { jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repoRoot, startService, type StartedService } from '../support/services';

printLogsOnFailure();
const MEDQA_ZH = path.resolve(repoRoot, '../shared/data/eval/medqa_mcmle_zh_4opt_test.jsonl');
const ITEMS = 32;
const CHUNK = 4;
const St = evaluation.EvaluationStatus;
const log = createLogger({ service: 'five-replicas-test', level: 'warn' });
const ns = randomId();
type Name = 'dataset' | 'training' | 'tracking' | 'registry' | 'evaluation';

let cluster: NatsCluster;
let mongo: TestMongo;
let nc: NatsConnection;
let worker: { address: string; server: KitGrpcServer; prompts: string[] };
let leases: LeaseBucket;
const started: StartedService[] = [];

/** A TrainerService that answers Generate (one completion per prompt, 60 ms each) and nothing else of a job. */
async function standInWorker(): Promise<typeof worker> {
  const server = createGrpcServer({ log });
  const prompts: string[] = [];
  const no = unary(async () => {
    throw new UnimplementedError('the stand-in worker only generates');
  });
  server.add(trainer.TrainerServiceService, {
    startJob: no,
    getJob: no,
    cancelJob: no,
    listCheckpoints: no,
    watchJob: serverStream(async function* () {
      yield* [];
      throw new UnimplementedError('the stand-in worker only generates');
    }),
    generate: serverStream(async function* (req, ctx) {
      for (const [index, prompt] of req.prompts.entries()) {
        await new Promise((r) => setTimeout(r, 60));
        if (ctx.signal.aborted) return;
        prompts.push(prompt);
        yield { index, text: '先想一想。</think>\n答案：D', promptTokens: 100, completionTokens: 12, finishReason: 'eos' };
      }
    }),
    evaluateLoss: no,
    getWorkerInfo: unary(async () => ({ info: workerInfo(`127.0.0.1:${port}`) })),
  });
  const port = await server.start('127.0.0.1:0');
  return { address: `127.0.0.1:${port}`, server, prompts };
}

function workerInfo(address: string): trainer.WorkerInfo {
  return trainer.WorkerInfo.fromPartial({ workerId: 'w-five', address, gpuName: 'cpu', gpuMemoryBytes: 0, busy: false });
}

beforeAll(async () => {
  cluster = await startNatsCluster({ nameHint: 'five' });
  mongo = await testMongo();
  nc = await connect({ servers: cluster.urls[2], name: 'five-replicas-test' });
  worker = await standInWorker();
  // Provision the 3-replica streams and lease bucket once, before ten processes ask for them at
  // the same time: on a fresh cluster of a loaded machine, creating an R3 stream can outlast the
  // JetStream API's 5 s request timeout. The services then find them and update them in place.
  leases = await waitFor(async () => {
    await ensureStreams(nc, Object.values(STREAMS), { namespace: natsNamespace(ns), replicas: 3, maxAgeMs: 30 * 86_400_000, maxBytes: 1024 ** 3 });
    return openLeaseBucket(nc, { namespace: natsNamespace(ns), replicas: 3 });
  }, 90_000, { message: 'the 3-replica streams and lease bucket', intervalMs: 1_000 });
  return async () => {
    await Promise.allSettled(started.map((s) => s.proc.stop()));
    await worker?.server.shutdown({ graceMs: 200 });
    await nc?.close();
    await mongo?.cleanup();
    await cluster?.stop();
  };
}, 120_000);
afterAll(() => undefined);

/** Env shared by every replica: the cluster (replica r on node r), 3-replica streams and leases, short lease TTL. */
function env(name: Name, r: 0 | 1, peers: Partial<Record<Name, string>>): Record<string, string> {
  const common = {
    MEDTUNE_NATS_URL: cluster.urls[r]!,
    MEDTUNE_NATS_NAMESPACE: ns,
    MEDTUNE_NATS_STREAM_REPLICAS: '3',
    MEDTUNE_LEASE_TTL: '2s',
    MEDTUNE_DATA_ROOTS: path.dirname(MEDQA_ZH),
  };
  switch (name) {
    case 'training':
      return {
        ...common,
        MEDTUNE_TRAINING_DATASET_ADDR: peers.dataset!,
        MEDTUNE_TRAINING_MODEL_CHECK: 'off',
        MEDTUNE_TRAINING_ARTIFACT_ROOT: 'file:///tmp/medtune-test-artifacts',
        MEDTUNE_TRAINING_HEARTBEAT_INTERVAL: '200',
        MEDTUNE_TRAINING_WORKER_LEASE: '5000',
        MEDTUNE_TRAINING_SCHEDULE_INTERVAL: '200',
      };
    case 'registry':
      return { ...common, MEDTUNE_REGISTRY_CONFIRM_JOBS: 'off', MEDTUNE_REGISTRY_OUTBOX_INTERVAL: '500ms' };
    case 'evaluation':
      return {
        ...common,
        MEDTUNE_EVALUATION_REGISTRY_ADDR: peers.registry!,
        MEDTUNE_EVALUATION_DATASET_ADDR: peers.dataset!,
        MEDTUNE_EVALUATION_TRAINING_ADDR: peers.training!,
        MEDTUNE_EVALUATION_CHUNK_SIZE: String(CHUNK),
        MEDTUNE_EVALUATION_POLL: '100ms',
        MEDTUNE_EVALUATION_OUTBOX_INTERVAL: '500ms',
      };
    default:
      return common;
  }
}

/** The payloads stored in `stream` under subjects ending with `suffix` (the stream sees each message id once). */
async function storedFor(jsm: JetStreamManager, stream: string, suffix: string): Promise<Uint8Array[]> {
  const out: Uint8Array[] = [];
  const info = await jsm.streams.info(stream);
  for (let seq = info.state.first_seq; seq <= info.state.last_seq && info.state.messages > 0; seq++) {
    const m = await jsm.streams.getMessage(stream, { seq }).catch(() => null);
    if (m && m.subject.endsWith(suffix)) out.push(m.data);
  }
  return out;
}

describe.skipIf(!existsSync(MEDQA_ZH))('two replicas of each of the five services on a three-node NATS cluster', () => {
  it('SIGKILL of the evaluation runner lease holder mid-evaluation: the other replica finishes it once, no item lost or doubled', async () => {
    const svc = {} as Record<Name, [StartedService, StartedService]>;
    const pair = async (name: Name, peers: Partial<Record<Name, string>>) => {
      const reps = (await Promise.all(([0, 1] as const).map((r) => startService(name, { url: cluster.urls[r]!, id: ns }, mongo, env(name, r, peers))))) as [StartedService, StartedService];
      started.push(...reps);
      svc[name] = reps;
    };
    // Dataset first (training checks versions there), then the rest; each replica of a pair on its own NATS node.
    await pair('dataset', {});
    await Promise.all([pair('training', { dataset: svc.dataset[1].addr }), pair('tracking', {}), pair('registry', {})]);
    await pair('evaluation', { registry: svc.registry[0].addr, dataset: svc.dataset[1].addr, training: svc.training[1].addr });

    // Every lease of once-only work has exactly one holder, in the 3-replica bucket.
    const bucket = await (await jetstreamManager(nc)).streams.info(`KV_${ns.toUpperCase()}_medtune_leases`);
    expect(bucket.config.num_replicas).toBe(3);
    const holderPid = async (key: string) => Number((await leases.holder(key))?.owner.split(':')[1] ?? 0);
    const pids = (name: Name) => svc[name].map((s) => s.proc.pid);
    for (const [name, work] of [
      ['training', 'scheduler'],
      ['evaluation', 'runner'],
      ['evaluation', 'automation'],
      ['registry', 'relay'],
    ] as const) {
      const key = `${mongo.dbNameFor(name)}.${work}`;
      const pid = await waitFor(async () => {
        const p = await holderPid(key);
        return pids(name).includes(p) ? p : 0;
      }, 20_000, { message: `a ${name} ${work} lease holder` });
      expect(pids(name)).toContain(pid);
    }

    // Requests are served by any replica: each one of every pair answers a read.
    for (const r of [0, 1] as const) {
      const opts = { defaultDeadlineMs: 15_000 };
      const ds = createClient(dataset.DatasetServiceClient, svc.dataset[r].addr, opts);
      const tr = createClient(training.TrainingServiceClient, svc.training[r].addr, opts);
      const tk = createClient(tracking.TrackingServiceClient, svc.tracking[r].addr, opts);
      const rg = createClient(registry.RegistryServiceClient, svc.registry[r].addr, opts);
      const ev = createClient(evaluation.EvaluationServiceClient, svc.evaluation[r].addr, opts);
      try {
        await ds.unary('listDatasets', dataset.ListDatasetsRequest.fromPartial({}));
        await tr.unary('listJobs', training.ListJobsRequest.fromPartial({}));
        await tk.unary('listExperiments', tracking.ListExperimentsRequest.fromPartial({}));
        await rg.unary('listRegisteredModels', registry.ListRegisteredModelsRequest.fromPartial({}));
        expect((await ev.unary('listEvalSets', {})).evalSets.map((s) => s.name)).toContain('seed-question');
      } finally {
        for (const c of [ds, tr, tk, rg, ev]) c.close();
      }
    }

    // The worker registers with (and beats to) training replica A; the evaluation asks replica B for a hold.
    const workers = createClient(training.WorkerRegistryServiceClient, svc.training[0].addr, { defaultDeadlineMs: 10_000 });
    await workers.unary('registerWorker', { info: workerInfo(worker.address) });
    const beat = setInterval(() => void workers.unary('heartbeat', { info: workerInfo(worker.address) }).catch(() => undefined), 200);
    const collector = await collectEvents(nc, `${ns}.medtune.evaluation.run.*`);
    const evDb = mongo.dbNameFor('evaluation');
    const runnerPid = await holderPid(`${evDb}.runner`);
    const holderIdx = svc.evaluation.findIndex((s) => s.proc.pid === runnerPid);
    const [holder, survivor] = [svc.evaluation[holderIdx]!, svc.evaluation[1 - holderIdx]!];
    // The client talks to the replica that will survive: requests go to any replica.
    const ev = createClient(evaluation.EvaluationServiceClient, survivor.addr, { defaultDeadlineMs: 15_000 });
    try {
      await ev.unary('createEvalSet', { name: 'medqa-zh-r', kind: evaluation.EvalSetKind.EVAL_SET_KIND_MULTIPLE_CHOICE, path: MEDQA_ZH, description: '', limit: ITEMS });
      const res = await ev.unary('startEvaluation', evaluation.StartEvaluationRequest.fromPartial({ model: { ref: { $case: 'baseModel', baseModel: '/models/tiny' } }, evalSet: 'medqa-zh-r', generation: { maxNewTokens: 16 } }));
      const id = res.evaluation!.evaluationId;
      const get = async () => (await ev.unary('getEvaluation', { evaluationId: id })).evaluation!;
      // Kill the runner lease holder once two chunks are stored, in the middle of the third.
      await waitFor(async () => (await get()).itemsDone >= 2 * CHUNK, 60_000, { message: 'two chunks stored', intervalMs: 50 });
      expect((await get()).itemsDone).toBeLessThan(ITEMS);
      holder.proc.kill('SIGKILL');
      expect((await holder.proc.exited).signal).toBe('SIGKILL');
      expect(await waitFor(async () => ((await holderPid(`${evDb}.runner`)) === survivor.proc.pid ? 'survivor' : ''), 20_000, { message: 'the other replica takes the runner lease' })).toBe('survivor');
      // Then the NATS node the survivor is connected to dies too, once it has stored more items.
      const after = (await get()).itemsDone;
      await waitFor(async () => (await get()).itemsDone >= after + CHUNK, 60_000, { message: 'the survivor stores items', intervalMs: 50 });
      expect((await get()).itemsDone).toBeLessThan(ITEMS);
      cluster.nodes[1 - holderIdx]!.process.kill('SIGKILL');
      const done = await waitFor(async () => {
        const e = await get();
        return e.status === St.EVALUATION_STATUS_COMPLETED ? e : undefined;
      }, 90_000, { message: 'the evaluation completes on the survivor' });
      expect(done).toMatchObject({ itemsDone: ITEMS, itemsTotal: ITEMS, scores: { items: ITEMS } });
      const items = await ev.unary('listItemResults', { evaluationId: id, pageSize: 0, pageToken: '' });
      expect(items.items.map((i) => i.index)).toEqual(Array.from({ length: ITEMS }, (_, i) => i));
      const stored = await mongo.client.db(evDb).collection('item_results').countDocuments({ evalId: id });
      expect(stored).toBe(ITEMS);
      // At most the chunk in flight at the kill is generated again.
      expect(worker.prompts.length).toBeGreaterThanOrEqual(ITEMS);
      expect(worker.prompts.length).toBeLessThanOrEqual(ITEMS + CHUNK);
      expect(survivor.proc.logs()).toMatch(/evaluation running/);

      // Once each in the 3-replica stream.
      await collector.waitFor((e) => e.subject.endsWith('run.completed') && events.EvaluationRunChanged.decode(e.data).evaluation?.evaluationId === id, 30_000);
      const stream = `${ns.toUpperCase()}_MEDTUNE_EVALUATION`;
      // The killed node may have led the JetStream meta group: API calls wait for the re-election.
      const jsm = await waitFor(async () => {
        const m = await jetstreamManager(nc, { timeout: 5_000 });
        await m.streams.info(stream);
        return m;
      }, 60_000, { message: 'the JetStream API answers after the node kill', intervalMs: 500 });
      expect((await jsm.streams.info(stream)).config.num_replicas).toBe(3);
      const mine = async (subject: string) => (await storedFor(jsm, stream, subject)).filter((d) => events.EvaluationRunChanged.decode(d).evaluation?.evaluationId === id).length;
      // A publish cut by the node kill (no ack: the collector above may have seen it on the
      // subject while the stream did not store it) is retried by the outbox, under the lease the
      // survivor may first have to win back after JetStream's re-election: wait until it is stored.
      for (const subject of ['medtune.evaluation.run.started', 'medtune.evaluation.run.completed']) {
        await waitFor(async () => (await mine(subject)) >= 1, 60_000, { message: `${subject} stored in the stream`, intervalMs: 500 });
      }
      expect(await mine('medtune.evaluation.run.started')).toBe(1);
      expect(await mine('medtune.evaluation.run.completed')).toBe(1);
      // The hold was given back to the placement authority.
      const listed = (await workers.unary('listWorkers', { includeLost: false })).workers.find((w) => w.info?.workerId === 'w-five');
      expect(listed).toBeDefined();
    } finally {
      clearInterval(beat);
      await collector.stop();
      ev.close();
      workers.close();
    }
  }, 300_000);
});
