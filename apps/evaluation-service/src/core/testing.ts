/**
 * Test support for the evaluation core: the core, runner and automation on the in-memory store,
 * with a scripted worker, an in-memory registry (compare-and-set aliases like the real one) and
 * a recording event sink.
 */
import { common, dataset, registry, subjectSpec, type trainer } from '@medtune/contracts';
import { MEDICAL_O1_EN } from '@medtune/prompting';
import { AbortedError, type Clock, createIdGenerator, FailedPreconditionError, NotFoundError, OutboxRelay } from '@medtune/kit';
import { pino } from 'pino';
import { fileRowReader } from '../files/rows';
import { Automation } from './automation';
import { EvaluationCore } from './evaluations';
import { MemoryEvalStore } from './memory-store';
import { Notifier } from './notifier';
import type { DatasetPort, EventSink, IdleWorker, RegistryPort, WorkerPort } from './ports';
import type { RunRecord } from './records';
import { Runner } from './runner';

/** Records published events, decoded. */
export class RecordingSink implements EventSink {
  readonly published: { subject: string; id: string; message: unknown }[] = [];
  async publish(subject: string, payload: Uint8Array, id: string): Promise<void> {
    this.published.push({ subject, id, message: subjectSpec(subject)!.codec.decode(payload) });
  }
  subjects(): string[] {
    return this.published.map((p) => p.subject);
  }
}

/** How the scripted worker answers one prompt. */
export type Answer = (prompt: string, model: trainer.InferenceModel) => string;

/** A worker whose outputs come from a function; `failNext` makes the next calls throw. */
export class ScriptedWorker implements WorkerPort {
  generateCalls: { prompts: string[]; model: trainer.InferenceModel }[] = [];
  lossCalls: trainer.EvaluateLossRequest[] = [];
  failNext: Error[] = [];
  /** Completions to deliver in the failing call before it throws. */
  failAfter = 0;
  workers: IdleWorker[] = [{ workerId: 'w1', address: 'worker-1:50061' }];
  constructor(public answer: Answer) {}
  async idleWorkers() {
    return this.workers;
  }
  async *generate(_address: string, req: trainer.GenerateRequest): AsyncGenerator<trainer.GenerateResponse> {
    this.generateCalls.push({ prompts: req.prompts, model: req.model! });
    const fail = this.failNext.shift();
    for (const [index, prompt] of req.prompts.entries()) {
      if (fail && index >= this.failAfter) throw fail;
      const text = this.answer(prompt, req.model!);
      // As the real worker: the model's generation_config.json (DeepSeek-R1-Distill's 0.6 / 0.95) when asked for.
      const t = req.useModelGenerationConfig && req.params?.temperature === undefined ? 0.6 : (req.params?.temperature ?? 0);
      const sampling = { sampled: t > 0, temperature: t, topP: t > 0 ? (req.params?.topP ?? 0.95) : 1 };
      yield { index, text, promptTokens: prompt.length, completionTokens: text.length, finishReason: text.includes('</think>') ? 'eos' : 'length', ...sampling };
    }
  }
  async evaluateLoss(_address: string, req: trainer.EvaluateLossRequest) {
    this.lossCalls.push(req);
    return { meanLoss: req.model?.adapterUri ? 1.25 : 2.5, rows: 10, tokens: 1000, rowLosses: [] };
  }
}

/** An in-memory registry with compare-and-set aliases. */
export class FakeRegistry implements RegistryPort {
  models = new Map<string, registry.RegisteredModel>();
  versions = new Map<string, registry.ModelVersion>();
  attached: registry.AttachEvaluationRequest[] = [];
  aliasMoves: registry.SetAliasRequest[] = [];
  /** Runs before each setAlias (to simulate a racing writer). */
  beforeSetAlias?: () => void;

  addVersion(name: string, version: number, o: { baseModel?: string; datasetDigest?: string; policy?: Partial<registry.PromotionPolicy> } = {}) {
    if (!this.models.has(name)) this.models.set(name, registry.RegisteredModel.fromPartial({ name, promotionPolicy: o.policy ?? {} }));
    const v = registry.ModelVersion.fromPartial({
      name,
      version,
      status: registry.ModelVersionStatus.MODEL_VERSION_STATUS_READY,
      artifacts: [{ kind: common.ArtifactKind.ARTIFACT_KIND_ADAPTER, uri: `file:///artifacts/${name}/${version}/adapter` }],
      lineage: { baseModel: o.baseModel ?? '/models/tiny', datasetDigest: o.datasetDigest ?? '', trackingRunId: `job_${version}` },
    });
    this.versions.set(`${name}@${version}`, v);
    return v;
  }
  async resolve(ref: common.RegistryModelRef) {
    const m = this.models.get(ref.name);
    if (!m) throw new NotFoundError(`registered model ${JSON.stringify(ref.name)} not found`);
    const n = ref.selector?.$case === 'version' ? ref.selector.version : ref.selector?.$case === 'alias' ? m.aliases[ref.selector.alias] : Math.max(...[...this.versions.values()].filter((v) => v.name === ref.name).map((v) => v.version));
    const v = this.versions.get(`${ref.name}@${n}`);
    if (!v) throw new NotFoundError(`no such version of ${ref.name}`);
    return v;
  }
  async getModel(name: string) {
    const m = this.models.get(name);
    if (!m) throw new NotFoundError(`registered model ${name} not found`);
    return structuredClone(m);
  }
  async getVersion(name: string, version: number) {
    return this.resolve({ name, selector: { $case: 'version', version } });
  }
  async setAlias(req: registry.SetAliasRequest) {
    this.beforeSetAlias?.();
    const m = this.models.get(req.name)!;
    const cur = m.aliases[req.alias] ?? 0;
    if (req.expectedVersion !== undefined && req.expectedVersion !== cur) throw new AbortedError(`alias ${req.alias} points at ${cur}, expected ${req.expectedVersion}`);
    const v = this.versions.get(`${req.name}@${req.version}`);
    if (!v || v.status !== registry.ModelVersionStatus.MODEL_VERSION_STATUS_READY) throw new FailedPreconditionError('not READY');
    m.aliases[req.alias] = req.version;
    this.aliasMoves.push(req);
    return registry.AliasChange.fromPartial({ name: req.name, alias: req.alias, fromVersion: cur, toVersion: req.version });
  }
  async attachEvaluation(req: registry.AttachEvaluationRequest) {
    if (!this.attached.some((a) => a.result?.evaluationId === req.result?.evaluationId)) this.attached.push(req);
  }
}

/** A dataset port with a fixed source address and no templates beyond the built-in ones. */
export const fakeDataset: DatasetPort = {
  async getTemplate(name) {
    throw new NotFoundError(`template ${name} not found`);
  },
  async getVersion(digest) {
    if (digest !== 'sha256:d') throw new NotFoundError(`dataset version ${digest} not found`);
    // The version a model was trained on carries its template: the English one here.
    return dataset.DatasetVersion.fromPartial({ digest, lineage: { template: MEDICAL_O1_EN } });
  },
  sourceFor(digest) {
    return { address: 'dataset:50051', versionDigest: digest, authToken: '' };
  },
};

/** Wires everything on the in-memory store. */
export function testEvaluation(answer: Answer, o: { clock?: Clock } = {}) {
  const store = new MemoryEvalStore();
  const sink = new RecordingSink();
  const log = pino({ level: 'silent' });
  const clock = o.clock ?? (() => new Date());
  const newId = createIdGenerator(clock);
  const outbox = new OutboxRelay(store, sink, log);
  const notifier = new Notifier();
  const worker = new ScriptedWorker(answer);
  const reg = new FakeRegistry();
  // The core, runner and automation wake each other; the holder breaks the construction cycle.
  const wake: { runner?: Runner; automation?: Automation } = {};
  const core = new EvaluationCore({
    store,
    outbox,
    notifier,
    readRows: fileRowReader(),
    registry: reg,
    dataset: fakeDataset,
    clock,
    newId,
    log,
    onRunCreated: () => wake.runner?.kick(),
  });
  const runner = new Runner({
    store,
    outbox,
    notifier,
    workers: worker,
    dataset: fakeDataset,
    clock,
    newId,
    log,
    chunkSize: 2,
    pollMs: 20,
    backoffMs: [10],
    onRunEnded: (_r: RunRecord) => wake.automation?.kick(),
  });
  const automation = new Automation({ store, outbox, registry: reg, core, clock, newId, log, pollMs: 20, backoffMs: [10], generation: { maxNewTokens: 64 } });
  Object.assign(wake, { runner, automation });
  return { store, sink, core, runner, automation, worker, registry: reg };
}
