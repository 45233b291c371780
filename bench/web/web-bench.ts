/**
 * The dashboard benchmark (issue 19 item 8), against real processes: the tracking service and the
 * dashboard gateway (node + tsx), nats-server and FerretDB (tools/infra/infra.sh, or
 * MEDTUNE_NATS_URL / MEDTUNE_MONGODB_URI), Debian's chromium through playwright-core.
 *
 *  1. Time to first render of a run page whose loss has 100,000 points (BENCH_POINTS): from
 *     navigation start to the first draw of the loss chart with data, in headless chromium, with
 *     the gateway's server-side downsampled history (the page as users get it) against the same
 *     page drawing every raw point (`?points=raw`, fetched in windows the tracking service returns
 *     whole), alternating, BENCH_RENDERS times each. Target < 1 s.
 *     The tracking service is restarted after the points are stored, so the page reads the run as
 *     a finished run is read: from the digest the service stored. Also its own GetMetricHistory,
 *     from the digest and from the points.
 *  2. The gateway's added latency: an open-loop load at each of BENCH_RATES/s (default 50,100,200) for
 *     BENCH_SECONDS of (a) GetRun and GetMetricHistory (500 points of a 1,000-point run) straight
 *     over gRPC and (b) the same through the gateway's HTTP API, latency from each request's
 *     scheduled start. Target: p99 added ≤ 5 ms. Measured before the runs table's runs exist.
 *  3. The runs table with BENCH_RUNS (1,200) runs: first page and next page.
 * Prints min / median / max of every figure and a JSON line at the end.
 */
import { request, Agent } from 'node:http';
import { loadavg } from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { tracking } from '@medtune/contracts';
import { createClient } from '@medtune/kit';
import { freePort, launchChromium, randomId, startProcess, type RunningProcess } from '@medtune/testing';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const env = process.env;
const natsUrl = env['MEDTUNE_NATS_URL'] ?? 'nats://127.0.0.1:4222';
const mongoUri = env['MEDTUNE_MONGODB_URI'] ?? 'mongodb://127.0.0.1:27017';
const POINTS = Number(env['BENCH_POINTS'] ?? 100_000);
const RENDERS = Number(env['BENCH_RENDERS'] ?? 5);
// The target's rate, and a lower one: on a loaded machine 200/s can saturate the service itself.
const RATES = (env['BENCH_RATES'] ?? '50,100,200').split(',').map(Number);
const SECONDS = Number(env['BENCH_SECONDS'] ?? 5);
const LATENCY_POINTS = Number(env['BENCH_LATENCY_POINTS'] ?? 1_000);
const RUNS = Number(env['BENCH_RUNS'] ?? 1_200);
const ROUNDS = Number(env['BENCH_ROUNDS'] ?? 3);
const ns = randomId('bw');

const stats = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return { min: s[0] ?? NaN, median: s[Math.floor((s.length - 1) / 2)] ?? NaN, max: s[s.length - 1] ?? NaN };
};
const q = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))] ?? NaN;
const r2 = (x: number) => Math.round(x * 100) / 100;

function tsxProcess(name: string, main: string, extra: Record<string, string>, readyWhen: Parameters<typeof startProcess>[0]['readyWhen']): Promise<RunningProcess> {
  return startProcess({
    name,
    cmd: process.execPath,
    args: ['--enable-source-maps', '--import', path.join(root, 'node_modules/tsx/dist/loader.mjs'), path.join(root, main)],
    cwd: root,
    env: { TSX_TSCONFIG_PATH: path.join(root, 'tsconfig.json'), MEDTUNE_NATS_URL: natsUrl, MEDTUNE_MONGODB_URI: mongoUri, MEDTUNE_NATS_NAMESPACE: ns, MEDTUNE_LOG_LEVEL: 'warn', ...extra },
    readyWhen,
    readyTimeoutMs: 90_000,
    stopTimeoutMs: 15_000,
  });
}

/** An open-loop load: calls start on schedule whatever the server does; latency from the scheduled start. */
async function openLoop(call: () => Promise<unknown>, rate: number, seconds: number, warmupS = 2): Promise<{ p50: number; p90: number; p99: number; max: number; errors: number; n: number }> {
  const total = Math.round(rate * (warmupS + seconds));
  const warm = Math.round(rate * warmupS);
  const lat: number[] = [];
  let errors = 0;
  const t0 = performance.now() + 5;
  const pending: Promise<void>[] = [];
  for (let i = 0; i < total; i++) {
    const at = t0 + (i * 1_000) / rate;
    const wait = at - performance.now();
    if (wait > 1) await new Promise((r) => setTimeout(r, wait - 0.5));
    pending.push(
      call().then(
        () => {
          if (i >= warm) lat.push(performance.now() - at);
        },
        () => {
          errors++;
        },
      ),
    );
  }
  await Promise.all(pending);
  lat.sort((a, b) => a - b);
  return { p50: r2(q(lat, 0.5)), p90: r2(q(lat, 0.9)), p99: r2(q(lat, 0.99)), max: r2(lat[lat.length - 1] ?? NaN), errors, n: lat.length };
}

const agent = new Agent({ keepAlive: true, maxSockets: 64 });
function httpGet(url: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const req = request(url, { agent }, (res) => {
      res.resume();
      res.on('end', () => (res.statusCode === 200 ? resolve() : reject(new Error(`HTTP ${res.statusCode}`))));
    });
    req.on('error', reject);
    req.end();
  });
}

const procs: RunningProcess[] = [];
const loadStart = loadavg();
console.log(`load average at start: ${loadStart.map((x) => x.toFixed(2)).join(' ')}`);
try {
  const trackingAddr = `127.0.0.1:${await freePort()}`;
  const httpPort = await freePort();
  const startTracking = () =>
    tsxProcess('tracking-service', 'apps/tracking-service/src/main.ts', { MEDTUNE_TRACKING_GRPC_ADDR: trackingAddr, MEDTUNE_TRACKING_DB: `${ns}_tracking` }, { grpcHealth: trackingAddr, service: 'medtune.tracking.v1.TrackingService' });
  let trackingProc = await startTracking();
  procs.push(trackingProc);
  procs.push(
    await tsxProcess(
      'dashboard',
      'apps/dashboard/src/main.ts',
      // The raw baseline fetches windows of this many points; the downsampled page asks for 1,000.
      { MEDTUNE_DASHBOARD_HTTP_ADDR: `127.0.0.1:${httpPort}`, MEDTUNE_DASHBOARD_TRACKING_ADDR: trackingAddr, MEDTUNE_DASHBOARD_MAX_HISTORY_POINTS: '10000' },
      { check: async () => (await fetch(`http://127.0.0.1:${httpPort}/healthz`)).ok },
    ),
  );
  const base = `http://127.0.0.1:${httpPort}`;
  const client = createClient(tracking.TrackingServiceClient, trackingAddr, { defaultDeadlineMs: 30_000 });
  const runId = `bench-web-${ns}`;
  await client.unary('createRun', tracking.CreateRunRequest.fromPartial({ runId, experiment: 'bench-web', name: 'bench 100k', kind: tracking.RunKind.RUN_KIND_OTHER, status: tracking.RunStatus.RUN_STATUS_FINISHED }));
  const tLog = performance.now();
  const BATCH = 5_000;
  for (let s = 0; s < POINTS; s += BATCH) {
    const points = Array.from({ length: Math.min(BATCH, POINTS - s) }, (_, i) => {
      const step = s + i + 1;
      return { key: 'loss', step, value: 2 + 8 * Math.exp(-step / (POINTS / 5)) + 0.3 * Math.sin(step / 37) + 0.2 * ((step * 7919) % 101) / 101, time: new Date() };
    });
    await client.unary('logMetrics', { runId, points });
  }
  console.log(`stored ${POINTS.toLocaleString('en')} loss points in ${Math.round(performance.now() - tLog)} ms`);
  // A run read after the process that stored it is gone (the usual case for a finished run): its
  // history comes from the digest the tracking service stored, not from the writer's memory.
  await trackingProc.stop();
  trackingProc = await startTracking();
  procs[0] = trackingProc;

  // 1. Time to first render.
  const browser = await launchChromium();
  /** Where a load's time went (ms from navigation start, read from the page's performance timeline). */
  type Phases = Record<'html' | 'css' | 'js' | 'appStart' | 'runData' | 'lossData' | 'firstData' | 'chartInit' | 'firstDraw', number> & { lossBytes: number };
  const render = async (pathname: string, cold = false) => {
    const page = await browser.context.newPage();
    if (cold) {
      // A first visit: nothing of the bundle or the stylesheet in the browser's cache.
      const cdp = await browser.context.newCDPSession(page);
      await cdp.send('Network.clearBrowserCache');
      await cdp.detach();
    }
    await page.goto(base + pathname, { waitUntil: 'commit' });
    await page.waitForSelector('#chart-loss[data-rendered="true"]', { timeout: 120_000 });
    // A string, not a function: tsx's name-keeping helpers do not exist in the page.
    const r = await page.evaluate(String.raw`(() => {
      const h = window.medtuneCharts.loss;
      const nav = performance.getEntriesByType('navigation')[0];
      const res = performance.getEntriesByType('resource');
      const find = (re) => res.find((e) => re.test(e.name));
      const mark = (name) => (performance.getEntriesByName(name)[0] || { startTime: NaN }).startTime;
      const loss = res.find((e) => e.name.includes('/history') && e.name.includes('key=loss'));
      return {
        ms: h.firstDrawMs,
        points: h.curves[0].x.length,
        phases: {
          html: nav.responseEnd,
          css: (find(/\/assets\/.*\.css$/) || { responseEnd: NaN }).responseEnd,
          js: (find(/\/assets\/.*\.js$/) || { responseEnd: NaN }).responseEnd,
          appStart: mark('medtune:app-start'),
          runData: (find(/\/api\/runs\/[^/?]+$/) || { responseEnd: NaN }).responseEnd,
          lossData: loss ? loss.responseEnd : NaN,
          firstData: mark('medtune:first-data'),
          chartInit: mark('medtune:chart-init:loss'),
          firstDraw: h.firstDrawMs,
          lossBytes: loss ? loss.encodedBodySize : NaN,
        },
      };
    })()`);
    await page.close();
    return r as { ms: number; points: number; phases: Phases };
  };
  const pagePath = `/runs/${encodeURIComponent(runId)}`;
  await render(pagePath); // warm: the gateway's channel, the browser's cache of the bundle
  const down: number[] = [];
  const cold: number[] = [];
  const raw: number[] = [];
  const phases: Phases[] = [];
  const coldPhases: Phases[] = [];
  let drawn = { down: 0, raw: 0 };
  for (let i = 0; i < RENDERS; i++) {
    const a = await render(pagePath);
    const c = await render(pagePath, true);
    const b = await render(`${pagePath}?points=raw`);
    down.push(a.ms);
    cold.push(c.ms);
    raw.push(b.ms);
    phases.push(a.phases);
    coldPhases.push(c.phases);
    drawn = { down: a.points, raw: b.points };
  }
  await browser.close();
  if (drawn.raw !== POINTS) throw new Error(`the raw page drew ${drawn.raw} points, expected ${POINTS}`);
  const fr = { downsampled: stats(down), downsampledCold: stats(cold), raw: stats(raw) };
  const medians = (rows: Phases[]) => Object.fromEntries(Object.keys(rows[0] ?? {}).map((k) => [k, r2(stats(rows.map((p) => p[k as keyof Phases])).median)]));
  const phaseMedians = { revisit: medians(phases), firstVisit: medians(coldPhases) };
  // What the tracking service itself takes to read and downsample the 100,000 points (the floor
  // of a first visit's loss request).
  // The whole history comes from the digest; start_step 1 (the first stored step, so the same
  // points) makes it a range request, which reads and downsamples every point: the old path.
  const directReads: number[] = [];
  const directRawReads: number[] = [];
  for (let i = 0; i < RENDERS; i++) {
    let t = performance.now();
    const viaDigest = await client.unary('getMetricHistory', { runId, key: 'loss', maxPoints: drawn.down, startStep: 0, endStep: 0 });
    directReads.push(performance.now() - t);
    t = performance.now();
    const viaPoints = await client.unary('getMetricHistory', { runId, key: 'loss', maxPoints: drawn.down, startStep: 1, endStep: 0 });
    directRawReads.push(performance.now() - t);
    if (JSON.stringify(viaDigest) !== JSON.stringify(viaPoints)) throw new Error('the digest and the points give different histories');
  }
  const trackingRead = stats(directReads);
  const trackingReadPoints = stats(directRawReads);
  console.log(`\nfirst render of the run page, ${POINTS.toLocaleString('en')} loss points, ${RENDERS} loads each (ms from navigation start):`);
  console.log(`  downsampled by the server, revisit (${drawn.down} points drawn; the history revalidated, 304): min ${r2(fr.downsampled.min)}  median ${r2(fr.downsampled.median)}  max ${r2(fr.downsampled.max)}   target < 1000`);
  console.log(`  the same, first visit (browser cache cleared):          min ${r2(fr.downsampledCold.min)}  median ${r2(fr.downsampledCold.median)}  max ${r2(fr.downsampledCold.max)}`);
  console.log(`  raw baseline (${drawn.raw} points drawn):              min ${r2(fr.raw.min)}  median ${r2(fr.raw.median)}  max ${r2(fr.raw.max)}`);
  console.log(`  where a downsampled load's time goes (median ms from navigation start; lossBytes = the loss body as first sent):`);
  for (const [k, m] of Object.entries(phaseMedians)) console.log(`    ${k.padEnd(10)} ${Object.entries(m).map(([n, v]) => `${n} ${v}`).join('  ')}`);
  console.log(`  the tracking service's own GetMetricHistory of the 100,000 points (direct gRPC), from its stored digest: min ${r2(trackingRead.min)}  median ${r2(trackingRead.median)}  max ${r2(trackingRead.max)} ms`);
  console.log(`  the same answer read from the points (a range request, start_step 1):   min ${r2(trackingReadPoints.min)}  median ${r2(trackingReadPoints.median)}  max ${r2(trackingReadPoints.max)} ms`);

  // 2. The gateway's added latency, on a run of LATENCY_POINTS points (its history from the
  // digest, like the big run's; the small run keeps FerretDB's share of each call small, so the
  // difference is the gateway's).
  const small = `bench-web-small-${ns}`;
  await client.unary('createRun', tracking.CreateRunRequest.fromPartial({ runId: small, experiment: 'bench-web', name: 'bench small', kind: tracking.RunKind.RUN_KIND_OTHER, status: tracking.RunStatus.RUN_STATUS_FINISHED }));
  await client.unary('logMetrics', { runId: small, points: Array.from({ length: LATENCY_POINTS }, (_, i) => ({ key: 'loss', step: i + 1, value: 10 / (i + 1), time: new Date() })) });
  const direct = {
    history: () => client.unary('getMetricHistory', { runId: small, key: 'loss', maxPoints: 500, startStep: 0, endStep: 0 }),
    run: () => client.unary('getRun', { runId: small }),
  };
  const via = {
    history: () => httpGet(`${base}/api/runs/${encodeURIComponent(small)}/history?key=loss&max_points=500`),
    run: () => httpGet(`${base}/api/runs/${encodeURIComponent(small)}`),
  };
  type Lat = Awaited<ReturnType<typeof openLoop>>;
  const lat: Record<string, Record<string, { direct: Lat[]; gateway: Lat[] }>> = {};
  const addedP99: Record<string, Record<string, ReturnType<typeof stats>>> = {};
  for (const rate of RATES) {
    lat[rate] = {};
    addedP99[rate] = {};
    for (const call of ['run', 'history'] as const) {
      const r = (lat[rate][call] = { direct: [] as Lat[], gateway: [] as Lat[] });
      for (let round = 0; round < ROUNDS; round++) {
        r.direct.push(await openLoop(direct[call], rate, SECONDS));
        r.gateway.push(await openLoop(via[call], rate, SECONDS));
      }
    }
    console.log(`\nlatency at ${rate}/s open loop, ${SECONDS} s per round, ${ROUNDS} rounds, direct and gateway alternating (ms from scheduled start):`);
    for (const [call, r] of Object.entries(lat[rate])) {
      for (const side of ['direct', 'gateway'] as const) {
        const rows = r[side];
        console.log(`  ${call.padEnd(8)} ${side.padEnd(8)} p50 ${rows.map((x) => x.p50).join(' / ')}  p90 ${rows.map((x) => x.p90).join(' / ')}  p99 ${rows.map((x) => x.p99).join(' / ')}  max ${rows.map((x) => x.max).join(' / ')}  errors ${rows.map((x) => x.errors).join(' / ')}`);
      }
      const added = r.gateway.map((g, i) => r2(g.p99 - r.direct[i]!.p99));
      const a = stats(added);
      addedP99[rate][call] = a;
      console.log(`  ${call.padEnd(8)} added p99 per round: ${added.join(' / ')} ms; min ${a.min}  median ${a.median}  max ${a.max}   target <= 5 at 200/s`);
    }
    console.log(`  load average now: ${loadavg().map((x) => x.toFixed(2)).join(' ')}`);
  }

  // 3. The runs table (after the latency rounds: FerretDB reads the whole runs collection for a
  // GetRun, so 1,200 runs would make the direct calls, not the gateway, the figure above).
  const browser2 = await launchChromium();
  // The runs table with RUNS training runs: first page, and the next page (server-side paging).
  const tRuns = performance.now();
  for (let i = 0; i < RUNS; i += 20) {
    await Promise.all(
      Array.from({ length: Math.min(20, RUNS - i) }, (_, j) =>
        client.unary(
          'createRun',
          tracking.CreateRunRequest.fromPartial({
            runId: `bench-web-run-${ns}-${i + j}`,
            experiment: `bench-web-${ns}`,
            name: `run ${i + j}`,
            kind: tracking.RunKind.RUN_KIND_TRAINING,
            params: { base_model: 'tiny-qwen2', backend: 'hf', learning_rate: String(1e-4 * (1 + ((i + j) % 10))) },
            status: tracking.RunStatus.RUN_STATUS_FINISHED,
          }),
        ),
      ),
    );
  }
  console.log(`created ${RUNS.toLocaleString('en')} runs in ${Math.round(performance.now() - tRuns)} ms`);
  const tableFirst: number[] = [];
  const tableNext: number[] = [];
  for (let i = 0; i < RENDERS; i++) {
    const page = await browser2.context.newPage();
    await page.goto(`${base}/?experiment=bench-web-${ns}`, { waitUntil: 'commit' });
    await page.waitForFunction(() => document.querySelectorAll('#runs-table tr[data-run]').length === 50, undefined, { timeout: 60_000, polling: 'raf' });
    tableFirst.push(await page.evaluate(() => performance.now()));
    const firstId = await page.locator('#runs-table tr[data-run]').first().getAttribute('data-run');
    const t0 = await page.evaluate(() => performance.now());
    await page.click('text=Next →');
    await page.waitForFunction((id) => document.querySelector('#runs-table tr[data-run]')?.getAttribute('data-run') !== id, firstId, { timeout: 60_000, polling: 'raf' });
    tableNext.push((await page.evaluate(() => performance.now())) - t0);
    await page.close();
  }
  const table = { first: stats(tableFirst), next: stats(tableNext) };
  await browser2.close();
  console.log(`runs table, ${RUNS.toLocaleString('en')} runs in the experiment, 50 a page: first page min ${r2(table.first.min)}  median ${r2(table.first.median)}  max ${r2(table.first.max)} ms from navigation; next page min ${r2(table.next.min)}  median ${r2(table.next.median)}  max ${r2(table.next.max)} ms`);
  client.close();
  console.log(`\n${JSON.stringify({ points: POINTS, latencyPoints: LATENCY_POINTS, rates: RATES, firstRenderMs: fr, phases: phaseMedians, trackingReadMs: trackingRead, trackingReadPointsMs: trackingReadPoints, runsTable: table, latency: lat, addedP99, load: { start: loadStart, end: loadavg() } })}`);
} finally {
  for (const p of procs.reverse()) await p.stop().catch(() => undefined);
}
