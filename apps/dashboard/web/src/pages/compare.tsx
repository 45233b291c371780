/** 2–5 runs overlaid, with the params that differ first (the tracking service's comparison). */
import { useEffect, useState } from 'preact/hooks';
import { Chart } from '../chart';
import { fmt, get } from '../http';
import { ErrorBox } from '../ui';

interface CompareJson {
  runs: { runId: string; name?: string }[];
  params?: { key: string; values: string[]; differs?: boolean }[];
  metrics?: { key: string; summaries: { last?: number; min?: number }[] }[];
  curves: { runId: string; key: string; steps: number[]; values: number[] }[];
}

export function ComparePage({ url }: { url: URL }) {
  const ids = url.searchParams.getAll('run');
  const [key, setKey] = useState(url.searchParams.get('key') ?? 'loss');
  const [smoothing, setSmoothing] = useState(0);
  const [data, setData] = useState<CompareJson>();
  const [error, setError] = useState<unknown>();
  useEffect(() => {
    get<CompareJson>('/compare', { run: ids, key, max_points: 1000 }).then(setData, setError);
  }, [ids.join(','), key]);
  const label = (id: string) => data?.runs.find((r) => r.runId === id)?.name || id;
  return (
    <section>
      <h2>Compare {ids.length} runs</h2>
      <ErrorBox error={error} />
      {data && (
        <>
          <div class="grid">
            <label>
              Metric
              <select value={key} onChange={(e) => setKey((e.target as HTMLSelectElement).value)}>
                {(data.metrics ?? []).map((m) => (
                  <option key={m.key}>{m.key}</option>
                ))}
              </select>
            </label>
            <label>
              Smoothing {smoothing.toFixed(2)}
              <input type="range" min={0} max={0.99} step={0.01} value={smoothing} onInput={(e) => setSmoothing(Number((e.target as HTMLInputElement).value))} />
            </label>
          </div>
          <article>
            <Chart id={`compare-${key}`} title={key} curves={data.curves.map((c) => ({ label: label(c.runId), x: c.steps, y: c.values }))} smoothing={smoothing} />
          </article>
          <h4>Params (differing first)</h4>
          <table class="striped" id="param-diff">
            <thead>
              <tr>
                <th>param</th>
                {data.runs.map((r) => (
                  <th key={r.runId}>
                    <a href={`/runs/${encodeURIComponent(r.runId)}`}>{r.name || r.runId}</a>
                  </th>
                ))}
              </tr>
            </thead>
            <tbody>
              {(data.params ?? []).map((p) => (
                <tr key={p.key} class={p.differs ? 'differs' : ''}>
                  <th>{p.key}</th>
                  {p.values.map((v, i) => (
                    <td key={i} class="mono small">
                      {v || '–'}
                    </td>
                  ))}
                </tr>
              ))}
            </tbody>
          </table>
          <h4>Metrics (last / min)</h4>
          <table class="striped">
            <tbody>
              {(data.metrics ?? []).map((m) => (
                <tr key={m.key}>
                  <th>{m.key}</th>
                  {m.summaries.map((s, i) => (
                    <td key={i}>
                      {fmt(s.last)} / {fmt(s.min)}
                    </td>
                  ))}
                </tr>
              ))}
            </tbody>
          </table>
        </>
      )}
    </section>
  );
}
