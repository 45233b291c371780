/**
 * A run: its curves (server-side downsampled; zoom asks for the dragged step range again, at full
 * resolution), smoothing, progress and ETA, params, the job's state history and its live event
 * tail, all updated live from the gateway's event stream (which resumes after a reconnect).
 */
import { useContext, useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { curvePoints, takeBoot } from '../boot-shared';
import { Chart, type Curve } from '../chart';
import { ApiError, duration, enumText, fmt, get, send, unwrap } from '../http';
import { ErrorBox, KeyValues, SessionContext, type Json } from '../ui';

interface SeriesJson {
  key: string;
  steps: number[];
  values: number[];
  total: number;
}
interface MetricSummary {
  key: string;
  last?: number;
  lastStep?: number;
  count?: number;
}
interface RunJson {
  runId: string;
  name?: string;
  status?: string;
  experiment?: string;
  sourceId?: string;
  params?: Record<string, string>;
  tags?: Record<string, string>;
  metrics?: MetricSummary[];
  startTime?: string;
  endTime?: string;
  lastHeartbeatTime?: string;
}
interface JobJson {
  jobId: string;
  state?: string;
  history?: { state: string; time: string; reason?: string }[];
  progress?: { step?: number; totalSteps?: number; etaSeconds?: number; tokensPerSecond?: number; epoch?: number };
  failure?: Json;
  workerId?: string;
  attempt?: number;
  lastSequence?: number;
}
interface JobEventJson {
  sequence?: number;
  time?: string;
  stateChanged?: { state: string; reason?: string };
  workerEvent?: Json & { progress?: JobJson['progress'] };
}

/** The curves shown, in order, when the run has them. */
const CHARTS: { key: RegExp; title: string; log?: boolean }[] = [
  { key: /^loss$/, title: 'loss' },
  { key: /^eval_loss$/, title: 'eval loss' },
  { key: /^learning_rate$/, title: 'learning rate' },
  { key: /^grad_norm$/, title: 'gradient norm' },
  { key: /^tokens_per_second$/, title: 'tokens / s' },
  { key: /gpu_memory/, title: 'GPU memory (bytes)' },
  { key: /^system\/rss_bytes$/, title: 'worker memory (bytes)' },
];
/** Points per curve for this window (two per pixel column of a chart). */
const POINTS = curvePoints(window.innerWidth);
const TERMINAL_JOB = new Set(['JOB_STATE_SUCCEEDED', 'JOB_STATE_FAILED', 'JOB_STATE_CANCELLED']);

interface JobLogJson {
  text?: string;
  source?: string;
  attempt?: number;
  truncated?: boolean;
  error?: unknown;
}

/** Per key, the summary that has seen the later step (a run snapshot may trail the live points). */
function mergeSummaries(mine: MetricSummary[] | undefined, theirs: MetricSummary[] | undefined): MetricSummary[] {
  const out = new Map<string, MetricSummary>();
  for (const m of [...(theirs ?? []), ...(mine ?? [])]) {
    const cur = out.get(m.key);
    if (!cur || (m.lastStep ?? 0) > (cur.lastStep ?? 0)) out.set(m.key, m);
  }
  return [...out.values()];
}

/** The live stream's test hook: drops the connection and resumes from the last event id. */
export interface LiveHandle {
  drop(): void;
  /** Events received, reconnects made. */
  readonly events: number;
  readonly reconnects: number;
}
declare global {
  interface Window {
    medtuneLive?: LiveHandle;
  }
}

type Curves = Record<string, { steps: number[]; values: number[]; total: number; zoomed?: boolean }>;

function describe(e: JobEventJson): string {
  if (e.stateChanged) return `state → ${enumText(e.stateChanged.state, 'JOB_STATE_')}${e.stateChanged.reason ? `: ${e.stateChanged.reason}` : ''}`;
  const w = e.workerEvent ?? {};
  const [kind, v] = Object.entries(w).find(([k]) => !['jobId', 'sequence', 'time', 'attempt'].includes(k)) ?? ['event', {}];
  if (kind === 'progress') {
    const p = v as JobJson['progress'];
    return `progress: step ${p?.step ?? 0}/${p?.totalSteps ?? '?'}, ${fmt(p?.tokensPerSecond, 3)} tokens/s`;
  }
  if (kind === 'metrics') return `metrics at step ${(v as { step?: number }).step ?? 0}: ${Object.entries((v as { values?: Record<string, number> }).values ?? {}).map(([k, x]) => `${k}=${fmt(x)}`).join(' ')}`;
  if (kind === 'notice') return `notice: ${(v as { message?: string }).message ?? JSON.stringify(v)}`;
  return `${kind}: ${JSON.stringify(v).slice(0, 200)}`;
}

/**
 * Every stored point, without downsampling (`?points=raw`): step windows small enough that the
 * tracking service returns them whole. Slow for long runs; the benchmark's baseline.
 */
async function rawHistory(runId: string, metrics: MetricSummary[], keys: string[]): Promise<{ series: SeriesJson[] }> {
  // The gateway's cap on points per call: a window of that many steps comes back whole.
  const { maxHistoryPoints: window } = await get<{ maxHistoryPoints: number }>('/session');
  const series = await Promise.all(
    keys.map(async (key) => {
      const last = metrics.find((m) => m.key === key)?.lastStep ?? 0;
      const starts: number[] = [];
      for (let start = 0; start <= last; start += window) starts.push(start);
      const parts = await Promise.all(starts.map((start) => get<{ series: SeriesJson[] }>(`/runs/${encodeURIComponent(runId)}/history`, { key, max_points: window, start_step: start, end_step: start + window - 1 })));
      const out: SeriesJson = { key, steps: [], values: [], total: 0 };
      for (const h of parts) {
        const s = h.series[0]!;
        for (let i = 0; i < s.steps.length; i++) {
          out.steps.push(s.steps[i]!);
          out.values.push(s.values[i]!);
        }
        out.total += s.total;
      }
      return out;
    }),
  );
  return { series };
}

/** A run's page. */
export function RunPage({ runId, raw = false }: { runId: string; raw?: boolean }) {
  const [run, setRun] = useState<RunJson>();
  const [job, setJob] = useState<JobJson>();
  const [curves, setCurves] = useState<Curves>({});
  const [events, setEvents] = useState<JobEventJson[]>([]);
  const [error, setError] = useState<unknown>();
  const [actionError, setActionError] = useState<unknown>();
  const [smoothing, setSmoothing] = useState(0);
  const [live, setLive] = useState<'connecting' | 'live' | 'reconnecting' | 'ended'>('connecting');
  const [log, setLog] = useState<JobLogJson>();
  const { session } = useContext(SessionContext);
  const loaded = useRef(false);

  const keys = useMemo(() => {
    const all = (run?.metrics ?? []).map((m) => m.key);
    return CHARTS.flatMap((c) => all.filter((k) => c.key.test(k)).map((k) => ({ key: k, title: c.title })));
  }, [run?.metrics?.map((m) => m.key).join(',')]);

  // First load: the run, its job, and the downsampled curves; then the live stream from there.
  useEffect(() => {
    let es: EventSource | undefined;
    let closed = false;
    loaded.current = false;
    const boot = raw ? undefined : takeBoot(runId);
    const points = boot?.points ?? POINTS;
    (async () => {
      const historyOf = (keys: string[]) => get<{ series: SeriesJson[] }>(`/runs/${encodeURIComponent(runId)}/history`, { key: keys, max_points: points });
      // The loss curve is asked for together with the run (every training run has one), so the
      // first chart does not wait for the run's round trip; the other curves follow. On a first
      // visit the HTML's boot script has already sent both requests.
      const [r, loss] = await Promise.all([
        boot ? boot.run.then((b) => unwrap<{ run: RunJson; job?: JobJson }>(b)) : get<{ run: RunJson; job?: JobJson }>(`/runs/${encodeURIComponent(runId)}`),
        raw ? undefined : (boot ? boot.loss.then((b) => unwrap<{ series: SeriesJson[] }>(b)) : historyOf(['loss'])).catch(() => undefined),
      ]);
      performance.mark('medtune:first-data');
      const c: Curves = {};
      for (const s of loss?.series ?? []) if (s.steps.length) c[s.key] = { steps: s.steps, values: s.values, total: s.total };
      setRun(r.run);
      setJob(r.job);
      setCurves({ ...c });
      // The secondary curves after the first chart has had its frame.
      await new Promise((res) => requestAnimationFrame(() => setTimeout(res, 0)));
      const wanted = (r.run.metrics ?? []).map((m) => m.key).filter((k) => CHARTS.some((ch) => ch.key.test(k)) && !c[k]);
      const h = !wanted.length ? { series: [] } : raw ? await rawHistory(runId, r.run.metrics ?? [], wanted) : await historyOf(wanted);
      for (const s of h.series) c[s.key] = { steps: s.steps, values: s.values, total: s.total };
      for (const s of [...(loss?.series ?? []), ...h.series]) if (!c[s.key]) c[s.key] = { steps: s.steps, values: s.values, total: s.total };
      setCurves({ ...c });
      loaded.current = true;
      if (closed) return;
      // The cursor: the last step we have of each key; the stream sends what comes after. After a
      // drop the browser sends the last event id (Last-Event-ID), which is the same cursor, moved on.
      const cursor = new URLSearchParams({ j: '0' });
      for (const [key, s] of Object.entries(c)) if (s.steps.length) cursor.set(`m.${key}`, String(s.steps[s.steps.length - 1]));
      let lastId = cursor.toString();
      let events = 0;
      let reconnects = 0;
      const onPoints = (m: MessageEvent) => {
        const { points } = JSON.parse(m.data as string) as { points: { key: string; step: number; value: number }[] };
        setCurves((old) => {
          const next: Curves = { ...old };
          for (const p of points) {
            const cur = next[p.key] ?? { steps: [], values: [], total: 0 };
            if (cur.zoomed) continue;
            const copy = next[p.key] === old[p.key] ? { steps: cur.steps.slice(), values: cur.values.slice(), total: cur.total } : cur;
            copy.steps.push(p.step);
            copy.values.push(p.value);
            copy.total += 1;
            next[p.key] = copy;
          }
          return next;
        });
        // The summaries (last value, step, count) follow the points as they come.
        setRun((old) => {
          if (!old) return old;
          const metrics = [...(old.metrics ?? [])];
          for (const p of points) {
            const i = metrics.findIndex((x) => x.key === p.key);
            const cur = i >= 0 ? metrics[i]! : { key: p.key, count: 0 };
            if ((cur.lastStep ?? -1) >= p.step) continue;
            const next = { ...cur, last: p.value, lastStep: p.step, count: (cur.count ?? 0) + 1 };
            if (i >= 0) metrics[i] = next;
            else metrics.push(next);
          }
          return { ...old, metrics };
        });
      };
      const onJob = (m: MessageEvent) => {
        const e = JSON.parse(m.data as string) as JobEventJson;
        setEvents((old) => [...old.slice(-199), e]);
        // Events the first GetJob already folded into the job (its lastSequence) only go to the tail.
        setJob((j) => {
          if (!j || (e.sequence ?? 0) <= (j.lastSequence ?? 0)) return j;
          const next: JobJson = { ...j, lastSequence: e.sequence ?? 0 };
          const sc = e.stateChanged;
          if (sc) Object.assign(next, { state: sc.state, history: [...(j.history ?? []), { state: sc.state, time: e.time ?? '', reason: sc.reason }] });
          if (e.workerEvent?.progress) next.progress = e.workerEvent.progress;
          return next;
        });
      };
      const connect = () => {
        const source = new EventSource(`/api/runs/${encodeURIComponent(runId)}/live?after=${encodeURIComponent(lastId)}`);
        es = source;
        const track = (f: (m: MessageEvent) => void) => (m: Event) => {
          const me = m as MessageEvent;
          if (me.lastEventId) lastId = me.lastEventId;
          events++;
          f(me);
        };
        source.onopen = () => setLive('live');
        source.onerror = () => setLive((s) => (s === 'ended' ? s : 'reconnecting'));
        source.addEventListener('run', track((m) => setRun((old) => ({ ...(JSON.parse(m.data as string) as RunJson), metrics: mergeSummaries(old?.metrics, (JSON.parse(m.data as string) as RunJson).metrics) }))));
        source.addEventListener('points', track(onPoints));
        source.addEventListener('job', track(onJob));
        source.addEventListener('end', () => {
          setLive('ended');
          source.close();
        });
        source.addEventListener('failure', (m) => {
          setError(new Error((JSON.parse((m as MessageEvent).data as string) as { error: { message: string } }).error.message));
          source.close();
        });
      };
      connect();
      window.medtuneLive = {
        drop() {
          es?.close();
          reconnects++;
          setLive('reconnecting');
          if (!closed) connect();
        },
        get events() {
          return events;
        },
        get reconnects() {
          return reconnects;
        },
      };
    })().catch(setError);
    return () => {
      closed = true;
      es?.close();
      window.medtuneLive = undefined;
    };
  }, [runId, raw]);

  // The job's log as its executor keeps it (the Ray job's driver log under Ray), after the first
  // chart, and again every few seconds while the job runs. An executor that keeps no logs says so.
  const jobId = job?.jobId;
  const jobState = job?.state;
  useEffect(() => {
    if (!jobId) return;
    let stop = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const load = () =>
      get<JobLogJson>(`/jobs/${encodeURIComponent(jobId)}/logs`, { tail_bytes: 16 * 1024 })
        .then((l) => {
          if (stop) return;
          setLog(l);
          if (!TERMINAL_JOB.has(jobState ?? '')) timer = setTimeout(load, 3_000);
        })
        .catch((err: unknown) => {
          if (stop) return;
          setLog({ error: err });
          // FAILED_PRECONDITION: this executor keeps no logs; asking again will not change that.
          if (!(err instanceof ApiError && err.code === 'FAILED_PRECONDITION') && !TERMINAL_JOB.has(jobState ?? '')) timer = setTimeout(load, 5_000);
        });
    timer = setTimeout(load, 300);
    return () => {
      stop = true;
      clearTimeout(timer);
    };
  }, [jobId, jobState]);

  const zoom = (key: string) => (range: { min: number; max: number } | undefined) => {
    get<{ series: SeriesJson[] }>(`/runs/${encodeURIComponent(runId)}/history`, { key, max_points: POINTS, start_step: range ? Math.max(0, range.min) : 0, end_step: range ? Math.max(1, range.max) : 0 })
      .then((h) => setCurves((c) => ({ ...c, [key]: { steps: h.series[0]!.steps, values: h.series[0]!.values, total: h.series[0]!.total, zoomed: !!range } })))
      .catch(setError);
  };

  const cancel = () => {
    if (!job) return;
    send<{ job: JobJson }>('POST', `/jobs/${encodeURIComponent(job.jobId)}/cancel`, { reason: 'cancelled from the dashboard' })
      .then((r) => {
        setActionError(undefined);
        setJob((j) => ({ ...j, ...r.job }));
      })
      .catch(setActionError);
  };

  const p = job?.progress;
  const pct = p?.totalSteps ? Math.min(100, (100 * (p.step ?? 0)) / p.totalSteps) : undefined;
  const state = job ? enumText(job.state, 'JOB_STATE_') : enumText(run?.status, 'RUN_STATUS_');
  const terminal = ['succeeded', 'failed', 'cancelled'].includes(state);
  const loss = run?.metrics?.find((m) => m.key === 'loss');

  return (
    <section>
      <ErrorBox error={error} />
      {run && (
        <>
          <hgroup>
            <h2 id="run-title">{run.name || run.runId}</h2>
            <p>
              <span class={`badge s-${enumText(run.status, 'RUN_STATUS_')}`} id="run-status">
                {enumText(run.status, 'RUN_STATUS_')}
              </span>{' '}
              {job && (
                <span class="badge" id="job-state">
                  job {state}
                </span>
              )}{' '}
              <span class={`live live-${live}`} id="live-state">
                {live}
              </span>{' '}
              <span class="muted mono small">{run.runId}</span>
            </p>
          </hgroup>
          {job && (
            <div class="progress-row">
              <progress id="progress" value={p?.step ?? 0} max={p?.totalSteps || 1} />
              <span id="progress-text">
                step {p?.step ?? 0} / {p?.totalSteps ?? '?'} {pct !== undefined && `(${pct.toFixed(0)} %)`} · ETA {terminal ? '–' : duration(p?.etaSeconds)} · {fmt(p?.tokensPerSecond, 3)} tokens/s
              </span>
              {!terminal && (
                <button class="secondary" id="cancel-job" onClick={cancel} title={session.authRequired && !session.signedIn ? 'needs the stack token: sign in first' : ''}>
                  Cancel job
                </button>
              )}
            </div>
          )}
          <table class="kv summary" id="run-summary">
            <tbody>
              <tr>
                <th>state</th>
                <td id="summary-state">{state}</td>
                <th>step</th>
                <td id="summary-step">
                  {Math.max(p?.step ?? 0, loss?.lastStep ?? 0).toLocaleString('en')}
                  {p?.totalSteps ? ` / ${p.totalSteps.toLocaleString('en')}` : ''}
                </td>
                <th>last loss</th>
                <td id="summary-loss">{fmt(loss?.last)}</td>
                <th>tokens / s</th>
                <td id="summary-tps">{fmt(p?.tokensPerSecond, 3)}</td>
                <th>ETA</th>
                <td id="summary-eta">{terminal ? '–' : duration(p?.etaSeconds)}</td>
              </tr>
            </tbody>
          </table>
          <div id="action-error">
            <ErrorBox error={actionError} />
          </div>
          <label class="smoothing">
            Smoothing {smoothing.toFixed(2)}
            <input type="range" min={0} max={0.99} step={0.01} value={smoothing} onInput={(e) => setSmoothing(Number((e.target as HTMLInputElement).value))} />
          </label>
          <div class="charts">
            {keys.map(({ key, title }) => {
              const c = curves[key];
              const curve: Curve[] = c ? [{ label: key, x: c.steps, y: c.values }] : [];
              return (
                <article key={key} class="chart-card">
                  {c ? <Chart id={key} title={`${title}${c.zoomed ? ' (zoomed)' : ''}`} curves={curve} smoothing={smoothing} onZoom={zoom(key)} /> : <p class="muted">loading {key}…</p>}
                  <small class="muted">
                    {c ? `${c.steps.length.toLocaleString('en')} of ${c.total.toLocaleString('en')} points drawn` : ''} · drag to zoom, double-click to reset
                  </small>
                </article>
              );
            })}
            {keys.length === 0 && <p class="muted">no metrics yet</p>}
          </div>
          <div class="grid">
            <article>
              <h4>Params</h4>
              <KeyValues values={run.params} id="params" />
              <h4>Tags</h4>
              <KeyValues values={run.tags} />
            </article>
            <article>
              <h4>Metric summaries</h4>
              <table class="kv">
                <tbody>
                  {(run.metrics ?? []).map((m) => (
                    <tr key={m.key}>
                      <th>{m.key}</th>
                      <td>
                        last {fmt(m.last)} at step {m.lastStep ?? 0} ({m.count ?? 0} points)
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
              {job && (
                <>
                  <h4>State history</h4>
                  <table class="kv" id="state-history">
                    <tbody>
                      {(job.history ?? []).map((h, i) => (
                        <tr key={i}>
                          <th>{enumText(h.state, 'JOB_STATE_')}</th>
                          <td>
                            {h.time ? new Date(h.time).toLocaleTimeString() : ''} {h.reason}
                          </td>
                        </tr>
                      ))}
                    </tbody>
                  </table>
                </>
              )}
            </article>
          </div>
          {job && (
            <article id="job-log">
              <h4>
                Job log{' '}
                {log?.source && (
                  <small class="muted mono">
                    {log.source} · attempt {log.attempt ?? 0}
                    {log.truncated ? ' · last 16 KiB' : ''}
                  </small>
                )}
              </h4>
              {!log && <p class="muted">loading…</p>}
              {log?.error instanceof ApiError && log.error.code === 'FAILED_PRECONDITION' ? (
                <p class="muted" id="job-log-none" data-code="FAILED_PRECONDITION">
                  {log.error.message}
                </p>
              ) : log?.error ? (
                <ErrorBox error={log.error} />
              ) : null}
              {log?.text !== undefined && <pre class="log mono small" id="job-log-text">{log.text || '(empty)'}</pre>}
            </article>
          )}
          {job && (
            <article>
              <h4>Live event tail</h4>
              <ol class="events mono small" id="event-tail">
                {events.slice(-50).map((e) => (
                  <li key={e.sequence}>
                    #{e.sequence} {e.time ? new Date(e.time).toLocaleTimeString() : ''} {describe(e)}
                  </li>
                ))}
              </ol>
            </article>
          )}
        </>
      )}
    </section>
  );
}
