/**
 * The web dashboard in a real browser (Debian's chromium through playwright-core) against the
 * real stack: deploy/local/stack.sh up with a bearer token (five services, a CPU trainer with the
 * tiny Qwen2, the dashboard gateway), `medtune run` of a short demo recipe, then a second, longer
 * job to watch live. Checked in the page: the run page's loss curve is exactly the tracking
 * service's history; the live curve grows while the job trains; the comparison page shows both
 * answers of an item, <think> apart; a cancel without the token is refused in the page, and goes
 * through once the token is entered. Screenshots go to var/test-output/dashboard-e2e/.
 */
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { evaluation, tracking, training, common } from '@medtune/contracts';
import { createClient } from '@medtune/kit';
import { extractAnswer } from '@medtune/prompting';
import { launchChromium, testMongo, testNats, waitFor, type TestBrowser, type TestMongo, type TestNats } from '@medtune/testing';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repoRoot } from '../support/services';
import { medtune, startStack, type E2eStack } from './stack';

const TOKEN = `dash-${Math.random().toString(36).slice(2)}${Date.now().toString(36)}`;
const MODEL = 'dash-medical';
const OUT = path.join(repoRoot, 'var/test-output/dashboard-e2e');
let nats: TestNats;
let mongo: TestMongo;
let stack: E2eStack | undefined;
let browser: TestBrowser | undefined;
let url: string;
let summary: { dataset: { digest: string }; job: { jobId: string; runId: string }; comparison: { comparisonId: string } };
let trackingClient: ReturnType<typeof createClient<typeof tracking.TrackingServiceClient.service>>;
let trainingClient: ReturnType<typeof createClient<typeof training.TrainingServiceClient.service>>;
let evaluationClient: ReturnType<typeof createClient<typeof evaluation.EvaluationServiceClient.service>>;

beforeAll(async () => {
  mkdirSync(OUT, { recursive: true });
  nats = await testNats();
  mongo = await testMongo();
  const dir = mkdtempSync(path.join(tmpdir(), 'e2e-dashboard-'));
  const pipeline = path.join(dir, 'pipeline.yaml');
  writeFileSync(
    pipeline,
    [
      'version: 1',
      `name: ${MODEL}`,
      `base_model: ${path.join(repoRoot, 'var/models/tiny-qwen2')}`,
      `dataset: { name: dash-medical-zh, path: ${path.join(repoRoot, 'examples/demo/data/train.json')}, eval_ratio: 0.1 }`,
      'training: { backend: hf, precision: fp32, max_seq_length: 512, batch_size: 2, gradient_accumulation_steps: 1, learning_rate: 1.0e-2, warmup_steps: 0, optimizer: adamw_torch, logging_steps: 1, max_steps: 4, experiment: dash, lora: { r: 8, alpha: 16 } }',
      'export: { adapter: true, merged_16bit: false, gguf: false }',
      `evaluation: { set: dash-mcq, set_path: ${path.join(repoRoot, 'examples/demo/data/eval.jsonl')}, set_kind: multiple_choice, max_new_tokens: 24, limit: 4, automation_timeout_s: 120 }`,
      `register: { model: ${MODEL}, metric: accuracy }`,
      '',
    ].join('\n'),
  );
  stack = await startStack(nats, mongo, { MEDTUNE_AUTH_TOKEN: TOKEN });
  url = `http://127.0.0.1:${Number(stack.env['MEDTUNE_STACK_BASE_PORT']) + 19}`;
  const opts = { defaultDeadlineMs: 15_000, authToken: TOKEN };
  trackingClient = createClient(tracking.TrackingServiceClient, stack.addrs['MEDTUNE_TRACKING_ADDR']!, opts);
  trainingClient = createClient(training.TrainingServiceClient, stack.addrs['MEDTUNE_TRAINING_ADDR']!, opts);
  evaluationClient = createClient(evaluation.EvaluationServiceClient, stack.addrs['MEDTUNE_EVALUATION_ADDR']!, opts);
  const run = await medtune(stack, ['run', pipeline, '--json']);
  if (run.code !== 0) throw new Error(`medtune run failed (${run.code}):\n${run.stderr.slice(-4000)}`);
  summary = JSON.parse(run.stdout) as typeof summary;
  browser = await launchChromium();
}, 900_000);

afterAll(async () => {
  await browser?.close();
  for (const c of [trackingClient, trainingClient, evaluationClient]) c?.close();
  if (stack) await stack.down();
  await nats?.cleanup();
  await mongo?.cleanup();
}, 300_000);

/** The page's number format (web/src/http.ts fmt, 4 significant digits). */
const fmtLike = (v: number) => (Number.isInteger(v) ? v.toLocaleString('en') : Math.abs(v) !== 0 && (Math.abs(v) < 1e-3 || Math.abs(v) >= 1e6) ? v.toExponential(2) : v.toPrecision(4));

async function open(pathname: string): Promise<Page> {
  const page = await browser!.context.newPage();
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(url + pathname, { waitUntil: 'domcontentloaded', timeout: 60_000 });
  (page as Page & { errors: string[] }).errors = errors;
  return page;
}
/** Waits until the element's text contains `text`. */
const textOf = (page: Page, selector: string, text: string) =>
  waitFor(async () => ((await page.locator(selector).innerText({ timeout: 5_000 })).includes(text) ? true : undefined), 30_000, { intervalMs: 250, message: `${selector} to show ${text}` });
const shot = (page: Page, name: string) => page.screenshot({ path: path.join(OUT, `${name}.png`), fullPage: true });
/** The points a chart was given (its handle on window.medtuneCharts). */
const chartPoints = (page: Page, id: string) =>
  page.evaluate((key) => {
    const charts = (window as unknown as { medtuneCharts?: Record<string, { curves: { x: number[]; y: number[] }[] }> }).medtuneCharts;
    const h = charts?.[key];
    return h ? { x: [...(h.curves[0]?.x ?? [])], y: [...(h.curves[0]?.y ?? [])] } : undefined;
  }, id);

describe('the dashboard in a real browser', () => {
  it('draws the pipeline run’s loss curve with exactly the tracking service’s points', async () => {
    const runId = summary.job.runId;
    const page = await open(`/runs/${encodeURIComponent(runId)}`);
    await page.waitForSelector('#chart-loss[data-rendered="true"]', { timeout: 60_000 });
    const drawn = await chartPoints(page, 'loss');
    const { points, totalPoints } = await trackingClient.unary('getMetricHistory', { runId, key: 'loss', maxPoints: 1_000, startStep: 0, endStep: 0 });
    expect(totalPoints).toBeGreaterThanOrEqual(4);
    expect(drawn).toEqual({ x: points.map((p) => p.step), y: points.map((p) => p.value) });
    expect(await page.locator('#params').innerText()).toContain('learning_rate');
    await textOf(page, '#state-history', 'succeeded');
    await shot(page, 'run-page');
    // The runs table lists it, with its backend and dataset version.
    const runs = await open('/');
    const row = runs.locator(`tr[data-run="${runId}"]`);
    await row.waitFor({ timeout: 30_000 });
    expect(await row.innerText()).toContain('hf');
    expect(await row.innerText()).toContain(summary.dataset.digest.slice(0, 12));
    await shot(runs, 'runs-table');
    expect([...(page as Page & { errors: string[] }).errors, ...(runs as Page & { errors: string[] }).errors]).toEqual([]);
  });

  it('shows the comparison’s base and fine-tuned answers, reasoning apart from the final answer', async () => {
    const { comparison } = await evaluationClient.unary('getComparison', { comparisonId: summary.comparison.comparisonId });
    const items = await evaluationClient.unary('listItemResults', { evaluationId: comparison!.candidateEvaluationId, pageSize: 100, pageToken: '' });
    const first = items.items.sort((a, b) => a.index - b.index)[0]!;
    const page = await open(`/comparisons/${summary.comparison.comparisonId}`);
    const pair = page.locator(`article.pair[data-index="${first.index}"]`);
    await pair.waitFor({ timeout: 60_000 });
    expect(await pair.innerText()).toContain('base model (before)');
    expect(await pair.innerText()).toContain('fine-tuned (after)');
    expect(await pair.locator('.answer').count()).toBe(2);
    const shown = await pair.locator('.answer').nth(1).locator('.final-answer').innerText();
    const answer = extractAnswer(first.output).answer;
    expect(shown.trim()).toBe(answer || '(no final answer after </think>)');
    expect(await page.locator('#scores').innerText()).toContain('accuracy');
    await shot(page, 'comparison');
  });

  it('grows the live curve while a job trains; refuses a cancel without the token, then cancels with it', async () => {
    const { job } = await trainingClient.unary(
      'createJob',
      training.CreateJobRequest.fromPartial({
        idempotencyKey: `dash-live-${Date.now()}`,
        displayName: 'dash-live',
        datasetDigest: summary.dataset.digest,
        baseModel: path.join(repoRoot, 'var/models/tiny-qwen2'),
        backend: common.Backend.BACKEND_HF,
        experiment: 'dash',
        hyperparameters: { maxSteps: 200, batchSize: 1, gradientAccumulationSteps: 1, learningRate: 1e-3, warmupSteps: 0, loggingSteps: 1, maxSeqLength: 256, optimizer: 'adamw_torch', precision: common.Precision.PRECISION_FP32 },
        lora: { r: 4, alpha: 8 },
        exports: { adapter: false, merged16bit: false, gguf: false },
      }),
    );
    const jobId = job!.jobId;
    const page = await open(`/runs/${encodeURIComponent(jobId)}`);
    // The run exists once the job starts; the page then shows the first points and keeps growing.
    await waitFor(
      async () => {
        if ((await chartPoints(page, 'loss'))?.x.length) return true;
        await page.reload({ waitUntil: 'domcontentloaded' });
        await page.waitForTimeout(2_000);
        return (await chartPoints(page, 'loss'))?.x.length ? true : undefined;
      },
      180_000,
      { intervalMs: 500, message: 'the live job’s first loss point on the page' },
    );
    await textOf(page, '#live-state', 'live');
    const before = (await chartPoints(page, 'loss'))!.x.length;
    await waitFor(async () => (((await chartPoints(page, 'loss'))?.x.length ?? 0) >= before + 2 ? true : undefined), 120_000, { intervalMs: 250, message: 'the live curve to grow by 2 points' });
    const grown = (await chartPoints(page, 'loss'))!;
    const stored = await trackingClient.unary('getMetricHistory', { runId: jobId, key: 'loss', maxPoints: 10_000, startStep: 0, endStep: 0 });
    // Every point drawn live is a stored point (same step, same value).
    const byStep = new Map(stored.points.map((p) => [p.step, p.value]));
    grown.x.forEach((s, i) => expect(byStep.get(s)).toBe(grown.y[i]));
    await shot(page, 'live-run');

    // The summary row follows too: its step and last loss move with the points, and end on the
    // stored last loss.
    const summaryStep = async () => Number((await page.locator('#summary-step').innerText()).split('/')[0]!.replace(/,/g, '').trim());
    const step0 = await summaryStep();
    await waitFor(async () => ((await summaryStep()) > step0 ? true : undefined), 120_000, { intervalMs: 250, message: 'the summary’s step to move' });
    await waitFor(
      async () => {
        const { run } = await trackingClient.unary('getRun', { runId: jobId });
        const last = run!.metrics.find((m) => m.key === 'loss')!;
        const shown = (await page.locator('#summary-loss').innerText()).trim();
        const drawnNow = (await chartPoints(page, 'loss'))!;
        // Same point: the page's last loss is the last drawn one, which tracking has stored.
        return drawnNow.x.at(-1)! <= last.lastStep && shown === fmtLike(drawnNow.y.at(-1)!) ? true : undefined;
      },
      60_000,
      { intervalMs: 250, message: 'the summary’s last loss to be the last drawn point' },
    );
    expect((await page.locator('#summary-state').innerText()).trim()).toBe('running');
    // The job's log panel: this stack's workers executor keeps none and says so (FAILED_PRECONDITION);
    // a Ray-placed job shows the Ray job's driver log there.
    await textOf(page, '#job-log', 'keeps no job logs');

    // A dropped stream resumes from its last event id: no step missing, none twice.
    type Live = { medtuneLive: { events: number; reconnects: number; drop(): void } };
    const events0 = await page.evaluate(() => (window as unknown as Live).medtuneLive.events);
    await page.evaluate(() => (window as unknown as Live).medtuneLive.drop());
    const atDrop = (await chartPoints(page, 'loss'))!.x.length;
    await waitFor(async () => (((await chartPoints(page, 'loss'))?.x.length ?? 0) >= atDrop + 3 ? true : undefined), 120_000, { intervalMs: 250, message: 'the curve to grow after the reconnect' });
    expect(await page.evaluate(() => (window as unknown as Live).medtuneLive.reconnects)).toBe(1);
    expect(await page.evaluate(() => (window as unknown as Live).medtuneLive.events)).toBeGreaterThan(events0);
    const after = (await chartPoints(page, 'loss'))!;
    const storedAfter = await trackingClient.unary('getMetricHistory', { runId: jobId, key: 'loss', maxPoints: 10_000, startStep: 0, endStep: after.x.at(-1)! });
    expect(after.x).toEqual(storedAfter.points.map((p) => p.step));
    expect(after.y).toEqual(storedAfter.points.map((p) => p.value));

    // Without the token: refused in the page, the job keeps running.
    await page.click('#cancel-job');
    const alert = page.locator('#action-error [role=alert]');
    await alert.waitFor({ timeout: 30_000 });
    expect(await alert.getAttribute('data-code')).toBe('UNAUTHENTICATED');
    await shot(page, 'cancel-refused');
    expect((await trainingClient.unary('getJob', { jobId })).job!.state).not.toBe(training.JobState.JOB_STATE_CANCELLED);

    // With the token, entered once in the page (kept in an httpOnly cookie, invisible to scripts).
    await page.fill('input[name=token]', TOKEN);
    await page.click('form.signin button[type=submit]');
    await page.getByText('signed in').waitFor({ timeout: 30_000 });
    expect(await page.evaluate(() => document.cookie)).not.toContain(TOKEN);
    expect(page.url()).not.toContain(TOKEN);
    await page.click('#cancel-job');
    await waitFor(
      async () => {
        const s = (await trainingClient.unary('getJob', { jobId })).job!.state;
        return s === training.JobState.JOB_STATE_CANCEL_REQUESTED || s === training.JobState.JOB_STATE_CANCELLED ? true : undefined;
      },
      60_000,
      { intervalMs: 500, message: 'the job to be cancelled' },
    );
    await shot(page, 'cancelled');
    // Nor in any log line of the stack's parts (the gateway logs paths only; the services redact).
    const logDir = path.join(stack!.varDir, 'log');
    const logs = readdirSync(logDir).filter((f) => f.endsWith('.log'));
    expect(logs).toContain('dashboard.log');
    for (const f of logs) expect(readFileSync(path.join(logDir, f), 'utf8'), f).not.toContain(TOKEN);
  }, 600_000);
});
