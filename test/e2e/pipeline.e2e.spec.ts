/**
 * The whole pipeline through every real service and a real worker: deploy/local/stack.sh starts
 * the five services and a CPU trainer (tiny Qwen2, real tokenizer), and `medtune run` drives the
 * seed recipe (import → base evaluation → a very short training → registration by the registry →
 * evaluation of the new version by the evaluation service). Checked: the events a subscriber sees,
 * in order and with their CloudEvents headers; the registry entry's lineage and its artifacts'
 * checksums, recomputed from the files; the stored comparison; the streams the services provisioned
 * against the AsyncAPI document; a second run reuses everything; `stack.sh down` leaves no process.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { common, evaluation, events as ev, registry, STREAMS, tracking } from '@medtune/contracts';
import { createClient } from '@medtune/kit';
import { collectEvents, testMongo, testNats, type CollectedEvent, type EventCollector, type TestMongo, type TestNats } from '@medtune/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { repoRoot } from '../support/services';
import { medtune, startStack, type E2eStack } from './stack';

const MODEL = 'e2e-medical';
const STEPS = 3;
/** Items of the demo's evaluation set (one JSON object a line). */
const EVAL_ITEMS = readFileSync(path.join(repoRoot, 'examples/demo/data/eval.jsonl'), 'utf8').split('\n').filter((l) => l.trim()).length;
let nats: TestNats;
let mongo: TestMongo;
let stack: E2eStack | undefined;
let collector: EventCollector;
let pipelineFile: string;
let first: { code: number; stdout: string; stderr: string; ms: number };
let summary: {
  dataset: { digest: string; created: boolean; rows: number };
  baseEvaluation: { evaluationId: string };
  job: { jobId: string; state: string; created: boolean; runId: string };
  model: { name: string; version: number; status: string };
  evaluation: { evaluationId: string; startedBy: string };
  comparison: { comparisonId: string };
  alias: { alias: string; version: number; movedToThis: boolean };
  elapsedMs: number;
};

beforeAll(async () => {
  nats = await testNats();
  mongo = await testMongo();
  collector = await collectEvents(nats.nc, [nats.subject('medtune.>')]);
  const dir = mkdtempSync(path.join(tmpdir(), 'e2e-pipeline-'));
  pipelineFile = path.join(dir, 'pipeline.yaml');
  writeFileSync(
    pipelineFile,
    [
      'version: 1',
      `name: ${MODEL}`,
      'description: e2e run of the demo recipe',
      `base_model: ${path.join(repoRoot, 'var/models/tiny-qwen2')}`,
      `dataset: { name: e2e-medical-zh, path: ${path.join(repoRoot, 'examples/demo/data/train.json')}, eval_ratio: 0.1 }`,
      'training:',
      '  backend: hf',
      '  precision: fp32',
      '  max_seq_length: 512',
      '  batch_size: 2',
      '  gradient_accumulation_steps: 1',
      '  learning_rate: 1.0e-2',
      '  warmup_steps: 0',
      '  optimizer: adamw_torch',
      '  logging_steps: 1',
      `  max_steps: ${STEPS}`,
      '  experiment: e2e',
      '  lora: { r: 8, alpha: 16 }',
      'export: { adapter: true, merged_16bit: true, gguf: false }',
      `evaluation: { set: e2e-mcq, set_path: ${path.join(repoRoot, 'examples/demo/data/eval.jsonl')}, set_kind: multiple_choice, max_new_tokens: 32, automation_timeout_s: 120 }`,
      `register: { model: ${MODEL}, metric: accuracy }`,
      '',
    ].join('\n'),
  );
  stack = await startStack(nats, mongo);
  first = await medtune(stack, ['run', pipelineFile, '--json']);
  if (first.code === 0) summary = JSON.parse(first.stdout) as typeof summary;
}, 1_200_000);

afterAll(async () => {
  await collector?.stop();
  if (stack) {
    const out = await stack.down().catch((e: unknown) => String((e as { stderr?: string }).stderr ?? e));
    expect(out).toContain('no process of this stack is left');
  }
  await nats?.cleanup();
  await mongo?.cleanup();
}, 300_000);

const unprefixed = (e: CollectedEvent) => e.subject.slice(nats.subjectPrefix.length);
const opts = { defaultDeadlineMs: 15_000 };

describe('medtune run examples-style pipeline, end to end', () => {
  it('succeeds and says where to look', () => {
    expect(first.code, first.stderr.slice(-4000)).toBe(0);
    expect(summary.job.state).toBe('succeeded');
    expect(summary.model).toMatchObject({ name: MODEL, version: 1, status: 'ready' });
    expect(summary.dataset).toMatchObject({ rows: 36, created: true });
    expect(first.stderr).toMatch(/\[1\/5\] import[\s\S]*\[2\/5\] evaluate the base model[\s\S]*\[3\/5\] train[\s\S]*loss \d+\.\d+[\s\S]*\[4\/5\] registration[\s\S]*\[5\/5\] evaluation/);
    console.log(`e2e: first medtune run took ${(first.ms / 1000).toFixed(1)} s`);
  });

  it('a subscriber sees the facts in order, each with its CloudEvents headers', async () => {
    const s = (x: string) => nats.subject(x);
    const jobId = summary.job.jobId;
    const forJob = (subject: string) => (e: CollectedEvent) => e.subject === s(subject) && ev.JobStateChanged.decode(e.data).job?.jobId === jobId;
    await collector.waitForSequence(
      [
        s('medtune.dataset.version.ready'),
        forJob('medtune.training.job.queued'),
        forJob('medtune.training.job.running'),
        s('medtune.training.metrics.logged'),
        forJob('medtune.training.job.succeeded'),
        s('medtune.registry.version.created'),
        s('medtune.registry.version.ready'),
        (e) => e.subject === s('medtune.evaluation.run.completed') && ev.EvaluationRunChanged.decode(e.data).evaluation?.registryName === MODEL,
        s('medtune.evaluation.comparison.created'),
        s('medtune.evaluation.promotion.decided'),
      ],
      60_000,
    );
    for (const e of collector.events) {
      const subject = unprefixed(e);
      const domain = subject.split('.')[1];
      expect(e.headers['ce-type'], subject).toBe(subject);
      expect(e.headers['ce-specversion']).toBe('1.0');
      expect(e.headers['ce-source']).toBe(`medtune/${domain}-service`);
      expect(e.headers['Nats-Msg-Id']).toBe(e.headers['ce-id']);
      expect(Date.parse(e.headers['ce-time'] ?? '')).not.toBeNaN();
    }
    // one metrics event per logged step, steps 1..STEPS, each exactly once
    const steps = collector.events.filter((e) => unprefixed(e) === 'medtune.training.metrics.logged').map((e) => ev.MetricsLogged.decode(e.data)).filter((m) => m.jobId === jobId).map((m) => m.step);
    expect([...new Set(steps)].sort((a, b) => a - b)).toEqual(Array.from({ length: STEPS }, (_, i) => i + 1));
    // each job transition published once
    const transitions = collector.events.filter((e) => unprefixed(e).startsWith('medtune.training.job.') && unprefixed(e) !== 'medtune.training.job.progressed').map((e) => e.headers['ce-id']);
    expect(new Set(transitions).size).toBe(transitions.length);
  });

  it('the registry entry has the run\'s lineage and artifacts whose checksums match the files', async () => {
    const reg = createClient(registry.RegistryServiceClient, stack!.addrs.MEDTUNE_REGISTRY_ADDR!, opts);
    try {
      const { version } = await reg.unary('getModelVersion', { name: MODEL, version: 1 });
      const v = version!;
      expect(v.status).toBe(registry.ModelVersionStatus.MODEL_VERSION_STATUS_READY);
      expect(v.lineage).toMatchObject({
        baseModel: path.join(repoRoot, 'var/models/tiny-qwen2'),
        datasetDigest: summary.dataset.digest,
        trainingJobId: summary.job.jobId,
        backend: common.Backend.BACKEND_HF,
        templateName: 'medical-o1-zh',
      });
      expect(v.lineage?.hyperparameters).toMatchObject({ maxSteps: STEPS, learningRate: 0.01, batchSize: 2 });
      expect(v.lineage?.lora).toMatchObject({ r: 8, alpha: 16 });
      expect(v.lineage?.evaluations.map((e) => e.evaluationId)).toContain(summary.evaluation.evaluationId);
      expect(v.artifacts.map((a) => a.kind).sort()).toEqual([common.ArtifactKind.ARTIFACT_KIND_ADAPTER, common.ArtifactKind.ARTIFACT_KIND_MERGED_16BIT]);
      for (const a of v.artifacts) {
        const root = fileURLToPath(a.uri);
        const files = listFiles(root);
        expect(files.map((f) => f.rel)).toEqual(a.files.map((f) => f.path).sort());
        const manifest = files.map((f) => `${sha256(readFileSync(path.join(root, f.rel)))}  ${f.rel}\n`).join('');
        expect(sha256(Buffer.from(manifest)), `${a.uri}`).toBe(a.sha256);
        expect(files.reduce((n, f) => n + f.size, 0)).toBe(a.sizeBytes);
      }
      expect(v.artifacts.find((a) => a.kind === common.ArtifactKind.ARTIFACT_KIND_ADAPTER)?.files.map((f) => f.path)).toEqual(expect.arrayContaining(['adapter_config.json', 'adapter_model.safetensors']));
    } finally {
      reg.close();
    }
  });

  it('the before / after comparison is stored, paired on the same items, and the alias decision is consistent with it', async () => {
    const evals = createClient(evaluation.EvaluationServiceClient, stack!.addrs.MEDTUNE_EVALUATION_ADDR!, opts);
    try {
      const { comparison } = await evals.unary('getComparison', { comparisonId: summary.comparison.comparisonId });
      const c = comparison!;
      expect(c).toMatchObject({ evalSet: 'e2e-mcq', items: EVAL_ITEMS, registryName: MODEL, registryVersion: 1, candidateEvaluationId: summary.evaluation.evaluationId });
      expect(c.baseline?.accuracy).toBeDefined();
      expect(c.candidate?.accuracy).toBeDefined();
      expect(c.deltas['accuracy']).toBeCloseTo(c.candidate!.accuracy! - c.baseline!.accuracy!, 9);
      expect(c.examples.length).toBeGreaterThan(0);
      const base = (await evals.unary('getEvaluation', { evaluationId: c.baselineEvaluationId })).evaluation!;
      expect(base.model?.ref).toEqual({ $case: 'baseModel', baseModel: path.join(repoRoot, 'var/models/tiny-qwen2') });
      const decided = collector.events.filter((e) => unprefixed(e) === 'medtune.evaluation.promotion.decided').map((e) => ev.PromotionDecided.decode(e.data));
      expect(decided).toHaveLength(1);
      expect(decided[0]).toMatchObject({ name: MODEL, version: 1, alias: 'champion' });
      expect(summary.alias.movedToThis).toBe(decided[0]!.promoted);
    } finally {
      evals.close();
    }
    // `medtune eval compare` prints it like the seed's before / after
    const printed = await medtune(stack!, ['eval', 'compare', '--id', summary.comparison.comparisonId]);
    expect(printed.code).toBe(0);
    expect(printed.stdout).toMatch(/accuracy[\s\S]*── item \d+[\s\S]*before[\s\S]*after/);
  });

  it('tracking holds every logged loss, and `medtune runs metrics` charts it', async () => {
    const tr = createClient(tracking.TrackingServiceClient, stack!.addrs.MEDTUNE_TRACKING_ADDR!, opts);
    try {
      const h = await tr.unary('getMetricHistory', { runId: summary.job.runId, key: 'loss', maxPoints: 100, startStep: 0, endStep: 0 });
      expect(h.points.map((p) => p.step)).toEqual(Array.from({ length: STEPS }, (_, i) => i + 1));
    } finally {
      tr.close();
    }
    const chart = await medtune(stack!, ['runs', 'metrics', summary.job.runId, '--key', 'loss']);
    expect(chart.code, chart.stderr).toBe(0);
    expect(chart.stdout).toMatch(/loss of run \S+ — 3 points[\s\S]*┤[\s\S]*└─+[\s\S]*step/);
  });

  it('the streams the services provisioned are the ones the AsyncAPI document describes', async () => {
    const doc = parse(readFileSync(path.join(repoRoot, 'docs/asyncapi/asyncapi.yaml'), 'utf8')) as { 'x-medtune-streams': { name: string; subjects: string[] }[] };
    const provisioned = new Map<string, string[]>();
    for await (const si of nats.jsm.streams.list()) {
      if (si.config.name.startsWith(nats.streamPrefix)) provisioned.set(si.config.name.slice(nats.streamPrefix.length), si.config.subjects.map((x) => x.slice(nats.subjectPrefix.length)));
    }
    expect(Object.fromEntries([...provisioned].sort())).toEqual(Object.fromEntries(doc['x-medtune-streams'].map((s) => [s.name, s.subjects]).sort()));
    expect([...provisioned.keys()].sort()).toEqual(Object.values(STREAMS).map((s) => s.name).sort());
  });

  it('a second run reuses the dataset version, the job, the version and the evaluations, and is fast', async () => {
    const again = await medtune(stack!, ['run', pipelineFile, '--json']);
    expect(again.code, again.stderr.slice(-3000)).toBe(0);
    const s2 = JSON.parse(again.stdout) as typeof summary;
    expect(s2.dataset).toMatchObject({ digest: summary.dataset.digest, created: false });
    expect(s2.job).toMatchObject({ jobId: summary.job.jobId, created: false });
    expect(s2.model.version).toBe(1);
    expect(s2.evaluation.evaluationId).toBe(summary.evaluation.evaluationId);
    expect(s2.comparison.comparisonId).toBe(summary.comparison.comparisonId);
    console.log(`e2e: second medtune run took ${(again.ms / 1000).toFixed(1)} s (first ${(first.ms / 1000).toFixed(1)} s)`);
    expect(again.ms).toBeLessThan(Math.max(45_000, first.ms / 3));
  }, 300_000);

  it('the demo pipeline itself (examples/demo/pipeline.yaml) learns the format: compliance 0 % → ≥ 75 %, eval loss −≥ 40 %', async () => {
    // Its own base model (what deploy/local/demo.sh builds), under the stack's directory.
    const modelDir = path.join(stack!.varDir, 'models', 'tiny-qwen2-demo-h128-x8');
    await promisify(execFile)(path.join(repoRoot, 'python-services/.venv/bin/python'), [path.join(repoRoot, 'python-services/trainer/scripts/make_tiny_model.py'), '--out', modelDir, '--layers', '2', '--hidden', '128', '--output-scale', '8'], { timeout: 300_000 });
    const demoDir = path.join(repoRoot, 'examples/demo');
    const spec = parse(readFileSync(path.join(demoDir, 'pipeline.yaml'), 'utf8')) as Record<string, Record<string, unknown>>;
    const demoFile = path.join(path.dirname(pipelineFile), 'demo.yaml');
    const demo = {
      ...spec,
      base_model: modelDir,
      dataset: { ...spec['dataset'], path: path.join(demoDir, String(spec['dataset']!['path'])) },
      evaluation: { ...spec['evaluation'], set_path: path.join(demoDir, String(spec['evaluation']!['set_path'])) },
    };
    writeFileSync(demoFile, stringify(demo));
    const r = await medtune(stack!, ['run', demoFile, '--json'], 1_200_000);
    expect(r.code, r.stderr.slice(-3000)).toBe(0);
    const s = JSON.parse(r.stdout) as typeof summary;
    console.log(`e2e: the demo pipeline took ${(r.ms / 1000).toFixed(1)} s`);
    const evals = createClient(evaluation.EvaluationServiceClient, stack!.addrs.MEDTUNE_EVALUATION_ADDR!, opts);
    try {
      const c = (await evals.unary('getComparison', { comparisonId: s.comparison.comparisonId })).comparison!;
      expect(c.baseline?.formatCompliance).toBe(0);
      expect(c.candidate?.formatCompliance).toBeGreaterThanOrEqual(0.75);
      const [before, after] = [c.baseline?.evalLoss, c.candidate?.evalLoss];
      expect(before).toBeGreaterThan(0);
      expect(after! / before!).toBeLessThanOrEqual(0.6);
    } finally {
      evals.close();
    }
  }, 1_500_000);
});

function sha256(b: Buffer): string {
  return createHash('sha256').update(b).digest('hex');
}

function listFiles(root: string, rel = ''): { rel: string; size: number }[] {
  return readdirSync(path.join(root, rel))
    .flatMap((name) => {
      const r = rel ? `${rel}/${name}` : name;
      const st = statSync(path.join(root, r));
      return st.isDirectory() ? listFiles(root, r) : [{ rel: r, size: st.size }];
    })
    .sort((a, b) => (a.rel < b.rel ? -1 : a.rel > b.rel ? 1 : 0));
}
