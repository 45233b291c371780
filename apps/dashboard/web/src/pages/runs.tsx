/** The runs table: filters by state, experiment, param / tag / metric conditions; paged on the server. */
import { useEffect, useState } from 'preact/hooks';
import { duration, enumText, fmt, get } from '../http';
import { go } from '../router';
import { ErrorBox, type Json } from '../ui';

interface RunJson {
  runId: string;
  name?: string;
  experiment?: string;
  status?: string;
  kind?: string;
  params?: Record<string, string>;
  tags?: Record<string, string>;
  metrics?: { key: string; last?: number; lastStep?: number }[];
  startTime?: string;
  endTime?: string;
  lastHeartbeatTime?: string;
}

const STATUSES = ['running', 'scheduled', 'finished', 'failed', 'killed', 'crashed'];
/** A running run whose last heartbeat is older than this is shown as stale (display only; tracking decides CRASHED). */
const STALE_MS = 60_000;

const metric = (r: RunJson, re: RegExp) => r.metrics?.find((m) => re.test(m.key))?.last;

/** Runs, newest first. */
export function RunsPage({ url }: { url: URL }) {
  const q = url.searchParams;
  const [status, setStatus] = useState(q.getAll('status'));
  const [filters, setFilters] = useState(q.getAll('filter').join('\n'));
  const [experiment, setExperiment] = useState(q.get('experiment') ?? '');
  const [kind, setKind] = useState(q.get('kind') ?? 'training');
  const [tokens, setTokens] = useState<string[]>(['']);
  const [data, setData] = useState<{ runs?: RunJson[]; nextPageToken?: string; serverTime: string } | undefined>();
  const [error, setError] = useState<unknown>();
  const [selected, setSelected] = useState<string[]>([]);
  const [ms, setMs] = useState(0);
  const page = tokens[tokens.length - 1]!;
  const applied = `${status.join(',')}|${filters}|${experiment}|${kind}`;

  useEffect(() => setTokens(['']), [applied]);
  useEffect(() => {
    const t0 = performance.now();
    get<typeof data>('/runs', {
      status,
      filter: filters.split('\n').map((f) => f.trim()).filter(Boolean),
      experiment,
      kind,
      page_size: 50,
      page_token: page,
    })
      .then((d) => {
        setData(d);
        setError(undefined);
        setMs(performance.now() - t0);
      })
      .catch(setError);
  }, [applied, page]);

  const now = data ? Date.parse(data.serverTime) : Date.now();
  const toggle = (id: string) => setSelected((s) => (s.includes(id) ? s.filter((x) => x !== id) : s.length >= 5 ? s : [...s, id]));

  return (
    <section>
      <h2>Runs</h2>
      <form class="grid filters" onSubmit={(e) => e.preventDefault()}>
        <fieldset>
          <legend>State</legend>
          {STATUSES.map((s) => (
            <label key={s}>
              <input type="checkbox" name="status" value={s} checked={status.includes(s)} onChange={() => setStatus((x) => (x.includes(s) ? x.filter((y) => y !== s) : [...x, s]))} /> {s}
            </label>
          ))}
        </fieldset>
        <label>
          Conditions (one a line: <code>param.learning_rate&gt;=1e-3</code>, <code>tag.team=med</code>, <code>metric.loss&lt;2</code>)
          <textarea name="filters" rows={3} value={filters} onChange={(e) => setFilters((e.target as HTMLTextAreaElement).value)} />
        </label>
        <div>
          <label>
            Experiment <input name="experiment" value={experiment} onChange={(e) => setExperiment((e.target as HTMLInputElement).value)} />
          </label>
          <label>
            Kind
            <select name="kind" value={kind} onChange={(e) => setKind((e.target as HTMLSelectElement).value)}>
              <option value="training">training</option>
              <option value="evaluation">evaluation</option>
              <option value="">all</option>
            </select>
          </label>
        </div>
      </form>
      <ErrorBox error={error} />
      <div class="toolbar">
        <button disabled={selected.length < 2} onClick={() => go(`/compare?${selected.map((s) => `run=${encodeURIComponent(s)}`).join('&')}`)}>
          Compare {selected.length || ''} selected
        </button>
        <span class="muted">{data ? `${data.runs?.length ?? 0} runs on this page · ${Math.round(ms)} ms` : 'loading…'}</span>
      </div>
      <figure>
        <table class="striped runs" id="runs-table">
          <thead>
            <tr>
              <th />
              <th>name</th>
              <th>state</th>
              <th>base model</th>
              <th>dataset version</th>
              <th>backend</th>
              <th>duration</th>
              <th>last loss</th>
              <th>tokens/s</th>
            </tr>
          </thead>
          <tbody>
            {(data?.runs ?? []).map((r) => {
              const st = enumText(r.status, 'RUN_STATUS_');
              const hb = r.lastHeartbeatTime ? now - Date.parse(r.lastHeartbeatTime) : undefined;
              const stale = st === 'running' && hb !== undefined && hb > STALE_MS;
              const end = r.endTime ? Date.parse(r.endTime) : now;
              return (
                <tr key={r.runId} data-run={r.runId}>
                  <td>
                    <input type="checkbox" aria-label={`select ${r.runId}`} checked={selected.includes(r.runId)} onChange={() => toggle(r.runId)} />
                  </td>
                  <td>
                    <a href={`/runs/${encodeURIComponent(r.runId)}`}>{r.name || r.runId}</a>
                    <div class="muted small">{r.experiment}</div>
                  </td>
                  <td>
                    <span class={`badge s-${st}`}>{st}</span>
                    {stale && <span class="badge s-crashed" title={`last heartbeat ${duration(hb! / 1000)} ago`}>stale heartbeat</span>}
                  </td>
                  <td class="small">{r.params?.['base_model']?.split('/').pop() ?? '–'}</td>
                  <td class="mono small">
                    {r.params?.['dataset_digest'] ? <a href={`/datasets/${r.params['dataset_digest']}`}>{r.params['dataset_digest'].slice(0, 12)}</a> : '–'}
                  </td>
                  <td>{r.params?.['backend'] ?? '–'}</td>
                  <td>{r.startTime ? duration((end - Date.parse(r.startTime)) / 1000) : '–'}</td>
                  <td>{fmt(metric(r, /^loss$/))}</td>
                  <td>{fmt(metric(r, /tokens_per_s(ec(ond)?)?$|tokens\/s/), 3)}</td>
                </tr>
              );
            })}
          </tbody>
        </table>
      </figure>
      <div class="toolbar">
        <button class="secondary" disabled={tokens.length < 2} onClick={() => setTokens((t) => t.slice(0, -1))}>
          ← Previous
        </button>
        <span>page {tokens.length}</span>
        <button class="secondary" disabled={!data?.nextPageToken} onClick={() => setTokens((t) => [...t, data!.nextPageToken!])}>
          Next →
        </button>
      </div>
    </section>
  );
}

export type { Json };
