/** Datasets, their versions, and one version's validation report and token-length histogram against max_seq_length. */
import { useEffect, useMemo, useState } from 'preact/hooks';
import { Histogram } from '../chart';
import { fmt, get } from '../http';
import { ErrorBox, KeyValues, type Json } from '../ui';

export function DatasetsPage() {
  const [data, setData] = useState<{ versions?: Json[] }>();
  const [error, setError] = useState<unknown>();
  useEffect(() => void get<typeof data>('/dataset-versions', { page_size: 200 }).then(setData, setError), []);
  return (
    <section>
      <h2>Dataset versions</h2>
      <ErrorBox error={error} />
      <table class="striped" id="dataset-versions">
        <thead>
          <tr>
            <th>dataset</th>
            <th>digest</th>
            <th>rows (train / eval)</th>
            <th>tokens p50 / p99 / max</th>
            <th>max_seq_length</th>
            <th>created</th>
          </tr>
        </thead>
        <tbody>
          {(data?.versions ?? []).map((v) => {
            const t = (v['tokenStats'] ?? {}) as Json;
            return (
              <tr key={String(v['digest'])}>
                <td>{String(v['datasetName'])}</td>
                <td class="mono small">
                  <a href={`/datasets/${String(v['digest'])}`}>{String(v['digest']).slice(0, 16)}</a>
                </td>
                <td>
                  {fmt(v['rowCount'] as number)} ({fmt(v['trainRows'] as number)} / {fmt(v['evalRows'] as number)})
                </td>
                <td>
                  {fmt(t['p50'] as number)} / {fmt(t['p99'] as number)} / {fmt(t['max'] as number)}
                </td>
                <td>{fmt(v['maxSeqLength'] as number)}</td>
                <td>{v['createTime'] ? new Date(String(v['createTime'])).toLocaleString() : ''}</td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </section>
  );
}

/** Equal-width bins over [min, max(max, limit)]. */
function bins(counts: number[], limit: number, n = 40): { edges: number[]; hist: number[] } {
  if (!counts.length) return { edges: [0, 1], hist: [0] };
  let lo = Infinity;
  let hi = -Infinity;
  for (const c of counts) {
    lo = Math.min(lo, c);
    hi = Math.max(hi, c);
  }
  hi = Math.max(hi, limit) + 1;
  const w = Math.max(1, Math.ceil((hi - lo) / n));
  const hist = new Array<number>(Math.ceil((hi - lo) / w)).fill(0);
  for (const c of counts) hist[Math.min(hist.length - 1, Math.floor((c - lo) / w))]! += 1;
  return { edges: Array.from({ length: hist.length + 1 }, (_, i) => lo + i * w), hist };
}

export function DatasetVersionPage({ digest }: { digest: string }) {
  const [data, setData] = useState<{ version: Json; inUse: boolean; report?: { summary?: Json; issues?: Json[] }; tokenCounts: number[] }>();
  const [error, setError] = useState<unknown>();
  const [fatalOnly, setFatalOnly] = useState(false);
  useEffect(() => void get<typeof data>(`/dataset-versions/${encodeURIComponent(digest)}`, { fatal_only: String(fatalOnly) }).then(setData, setError), [digest, fatalOnly]);
  const limit = Number(data?.version['maxSeqLength'] ?? 0);
  const h = useMemo(() => bins(data?.tokenCounts ?? [], limit), [data, limit]);
  if (!data) return <ErrorBox error={error} />;
  const v = data.version;
  const over = data.tokenCounts.filter((c) => limit && c > limit).length;
  return (
    <section>
      <h2>
        {String(v['datasetName'])} <span class="mono small">{String(v['digest']).slice(0, 16)}</span> {data.inUse && <span class="badge s-running">in use by a job</span>}
      </h2>
      <div class="grid">
        <article>
          <h4>Token statistics</h4>
          <KeyValues values={v['tokenStats'] as Json} />
        </article>
        <article>
          <h4>Validation summary</h4>
          <KeyValues values={{ rowsTotal: 0, rowsValid: 0, rowsInvalid: 0, rowsDuplicate: 0, rowsOverLimit: 0, ...((data.report?.summary ?? v['report'] ?? {}) as Json), firstIssues: undefined }} />
        </article>
      </div>
      <article>
        <Histogram id="token-lengths" title={`token length of ${data.tokenCounts.length.toLocaleString('en')} rows (${over} over max_seq_length ${limit})`} edges={h.edges} counts={h.hist} marker={limit || undefined} markerLabel={`max_seq_length ${limit}`} />
      </article>
      <h4>Issues by row</h4>
      <label>
        <input type="checkbox" checked={fatalOnly} onChange={() => setFatalOnly((f) => !f)} /> only rows that were rejected
      </label>
      <table class="striped" id="issues">
        <thead>
          <tr>
            <th>row</th>
            <th>column</th>
            <th>code</th>
            <th>message</th>
            <th>fatal</th>
          </tr>
        </thead>
        <tbody>
          {(data.report?.issues ?? []).map((i, k) => (
            <tr key={k}>
              <td>{String(i['row'] ?? '')}</td>
              <td>{String(i['column'] ?? '')}</td>
              <td class="small">{String(i['code'] ?? '').replace('ROW_ISSUE_CODE_', '').toLowerCase()}</td>
              <td>{String(i['message'] ?? '')}</td>
              <td>{i['fatal'] ? 'yes' : 'warning'}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {(data.report?.issues ?? []).length === 0 && <p class="muted">no issues</p>}
    </section>
  );
}
