/** Registered models, their versions and aliases (with history, and a compare-and-set move), a version's lineage and artifacts. */
import { useContext, useEffect, useState } from 'preact/hooks';
import { bytes, enumText, fmt, get, send } from '../http';
import { Copy, ErrorBox, KeyValues, SessionContext, type Json } from '../ui';

interface ModelJson {
  name: string;
  description?: string;
  aliases?: Record<string, number>;
  latestVersion?: number;
  updateTime?: string;
}
interface Artifact {
  kind?: string;
  uri?: string;
  sha256?: string;
  sizeBytes?: number;
}
interface VersionJson {
  name: string;
  version: number;
  status?: string;
  aliases?: string[];
  artifacts?: Artifact[];
  lineage?: { baseModel?: string; datasetDigest?: string; trainingJobId?: string; trackingRunId?: string; templateName?: string; backend?: string; evaluations?: { evaluationId: string; evalSet?: string; metrics?: Record<string, number> }[]; hyperparameters?: Json; lora?: Json };
  createTime?: string;
}

export function ModelsPage() {
  const [data, setData] = useState<{ models?: ModelJson[] }>();
  const [error, setError] = useState<unknown>();
  useEffect(() => void get<typeof data>('/models', { page_size: 200 }).then(setData, setError), []);
  return (
    <section>
      <h2>Models</h2>
      <ErrorBox error={error} />
      <table class="striped" id="models">
        <thead>
          <tr>
            <th>name</th>
            <th>latest</th>
            <th>aliases</th>
            <th>updated</th>
          </tr>
        </thead>
        <tbody>
          {(data?.models ?? []).map((m) => (
            <tr key={m.name}>
              <td>
                <a href={`/models/${encodeURIComponent(m.name)}`}>{m.name}</a>
              </td>
              <td>v{m.latestVersion ?? 0}</td>
              <td>
                {Object.entries(m.aliases ?? {}).map(([a, v]) => (
                  <span key={a} class="badge">
                    {a} → v{v}
                  </span>
                ))}
              </td>
              <td>{m.updateTime ? new Date(m.updateTime).toLocaleString() : ''}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}

function MoveAlias({ name, aliases, versions, onMoved }: { name: string; aliases: Record<string, number>; versions: number[]; onMoved: () => void }) {
  const { session } = useContext(SessionContext);
  const [alias, setAlias] = useState(Object.keys(aliases)[0] ?? 'champion');
  const [version, setVersion] = useState(versions[0] ?? 1);
  const [reason, setReason] = useState('');
  const [error, setError] = useState<unknown>();
  const [done, setDone] = useState<Json>();
  return (
    <form
      id="move-alias"
      onSubmit={(e) => {
        e.preventDefault();
        // Compare-and-set: the move only happens if the alias still points where this page saw it.
        send<{ change: Json }>('POST', `/models/${encodeURIComponent(name)}/aliases/${encodeURIComponent(alias)}`, { version, expectedVersion: aliases[alias] ?? 0, reason })
          .then((r) => {
            setDone(r.change);
            setError(undefined);
            onMoved();
          })
          .catch(setError);
      }}
    >
      <fieldset class="grid">
        <label>
          Alias <input name="alias" value={alias} onInput={(e) => setAlias((e.target as HTMLInputElement).value)} />
        </label>
        <label>
          To version
          <select name="version" value={version} onChange={(e) => setVersion(Number((e.target as HTMLSelectElement).value))}>
            {versions.map((v) => (
              <option key={v} value={v}>
                v{v}
              </option>
            ))}
          </select>
        </label>
        <label>
          Reason <input name="reason" required value={reason} onInput={(e) => setReason((e.target as HTMLInputElement).value)} />
        </label>
      </fieldset>
      <button type="submit">Move alias (now v{aliases[alias] ?? '–'})</button> {session.authRequired && !session.signedIn && <small class="muted">needs the stack token: sign in above</small>}
      <ErrorBox error={error} />
      {done && <p class="ok">moved: {JSON.stringify(done)}</p>}
    </form>
  );
}

export function ModelPage({ name }: { name: string }) {
  const [data, setData] = useState<{ model: ModelJson; versions: VersionJson[]; aliasHistory: { alias: string; changes: Json[] }[] }>();
  const [error, setError] = useState<unknown>();
  const [tick, setTick] = useState(0);
  useEffect(() => void get<typeof data>(`/models/${encodeURIComponent(name)}`).then(setData, setError), [name, tick]);
  if (!data) return <ErrorBox error={error} />;
  return (
    <section>
      <h2>{data.model.name}</h2>
      <p class="muted">{data.model.description}</p>
      <h4>Versions</h4>
      <table class="striped" id="versions">
        <thead>
          <tr>
            <th>version</th>
            <th>status</th>
            <th>aliases</th>
            <th>artifacts</th>
            <th>evaluations</th>
            <th>created</th>
          </tr>
        </thead>
        <tbody>
          {data.versions.map((v) => (
            <tr key={v.version}>
              <td>
                <a href={`/models/${encodeURIComponent(name)}/versions/${v.version}`}>v{v.version}</a>
              </td>
              <td>{enumText(v.status, 'MODEL_VERSION_STATUS_')}</td>
              <td>{(v.aliases ?? []).join(', ')}</td>
              <td>{(v.artifacts ?? []).map((a) => enumText(a.kind, 'ARTIFACT_KIND_')).join(', ')}</td>
              <td>
                {(v.lineage?.evaluations ?? []).map((e) => (
                  <div key={e.evaluationId} class="small">
                    {e.evalSet}: {Object.entries(e.metrics ?? {}).map(([k, x]) => `${k} ${fmt(x, 3)}`).join(', ')}
                  </div>
                ))}
              </td>
              <td>{v.createTime ? new Date(v.createTime).toLocaleString() : ''}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <h4>Alias history</h4>
      {data.aliasHistory.map((h) => (
        <div key={h.alias}>
          <h6>{h.alias}</h6>
          <table class="striped small">
            <tbody>
              {h.changes.map((c, i) => (
                <tr key={i}>
                  <td>{c['time'] ? new Date(String(c['time'])).toLocaleString() : ''}</td>
                  <td>
                    v{String(c['fromVersion'] ?? '–')} → v{String(c['toVersion'] ?? '–')}
                  </td>
                  <td>{String(c['reason'] ?? '')}</td>
                  <td class="muted">{String(c['actor'] ?? '')}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ))}
      <h4>Move an alias</h4>
      <MoveAlias name={name} aliases={data.model.aliases ?? {}} versions={data.versions.map((v) => v.version)} onMoved={() => setTick((t) => t + 1)} />
    </section>
  );
}

/** The lineage as a graph: dataset version → job → run → evaluations → this version (SVG boxes and arrows). */
function Lineage({ v }: { v: VersionJson }) {
  const l = v.lineage ?? {};
  const nodes: { label: string; value: string; href?: string }[] = [
    { label: 'base model', value: (l.baseModel ?? '–').split('/').pop()! },
    { label: 'dataset version', value: (l.datasetDigest ?? '–').slice(0, 12), ...(l.datasetDigest ? { href: `/datasets/${l.datasetDigest}` } : {}) },
    { label: 'training job', value: l.trainingJobId ?? '–', ...(l.trackingRunId ? { href: `/runs/${encodeURIComponent(l.trackingRunId)}` } : {}) },
    { label: 'tracking run', value: l.trackingRunId ?? '–', ...(l.trackingRunId ? { href: `/runs/${encodeURIComponent(l.trackingRunId)}` } : {}) },
  ];
  const evals = l.evaluations ?? [];
  const W = 170;
  const H = 54;
  const gap = 40;
  const evX = nodes.length * (W + gap);
  const verX = evX + W + gap;
  const rows = Math.max(1, evals.length);
  const height = rows * (H + 16) + 20;
  const midY = height / 2 - H / 2;
  const box = (x: number, y: number, label: string, value: string, href?: string, cls = '') => (
    <g class={`node ${cls}`} key={`${label}${y}`}>
      <rect x={x} y={y} width={W} height={H} rx={8} />
      <text x={x + 10} y={y + 20} class="node-label">
        {label}
      </text>
      {href ? (
        <a href={href}>
          <text x={x + 10} y={y + 40} class="node-value link">
            {value.length > 22 ? `${value.slice(0, 21)}…` : value}
          </text>
        </a>
      ) : (
        <text x={x + 10} y={y + 40} class="node-value">
          {value.length > 22 ? `${value.slice(0, 21)}…` : value}
        </text>
      )}
    </g>
  );
  const arrow = (x1: number, y1: number, x2: number, y2: number, k: string) => <line key={k} x1={x1} y1={y1} x2={x2} y2={y2} class="edge" marker-end="url(#arrow)" />;
  return (
    <svg id="lineage" width={verX + W + 10} height={height} class="lineage">
      <defs>
        <marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse">
          <path d="M 0 0 L 10 5 L 0 10 z" />
        </marker>
      </defs>
      {nodes.map((n, i) => box(i * (W + gap), midY, n.label, n.value, n.href))}
      {nodes.slice(1).map((_, i) => arrow(i * (W + gap) + W, midY + H / 2, (i + 1) * (W + gap), midY + H / 2, `a${i}`))}
      {evals.map((e, i) => {
        const y = 10 + i * (H + 16);
        return [
          arrow((nodes.length - 1) * (W + gap) + W, midY + H / 2, evX, y + H / 2, `e${i}`),
          box(evX, y, `evaluation ${e.evalSet ?? ''}`, Object.entries(e.metrics ?? {}).map(([k, x]) => `${k} ${fmt(x, 3)}`).join(' ') || e.evaluationId),
          arrow(evX + W, y + H / 2, verX, midY + H / 2, `v${i}`),
        ];
      })}
      {evals.length === 0 && arrow((nodes.length - 1) * (W + gap) + W, midY + H / 2, verX, midY + H / 2, 'direct')}
      {box(verX, midY, 'model version', `${v.name}@${v.version}`, undefined, 'version')}
    </svg>
  );
}

export function VersionPage({ name, version }: { name: string; version: number }) {
  const [data, setData] = useState<{ version: VersionJson }>();
  const [error, setError] = useState<unknown>();
  useEffect(() => void get<typeof data>(`/models/${encodeURIComponent(name)}/versions/${version}`).then(setData, setError), [name, version]);
  if (!data) return <ErrorBox error={error} />;
  const v = data.version;
  return (
    <section>
      <h2>
        <a href={`/models/${encodeURIComponent(name)}`}>{name}</a> v{v.version} <span class="badge">{enumText(v.status, 'MODEL_VERSION_STATUS_')}</span> {(v.aliases ?? []).map((a) => <span key={a} class="badge s-finished">{a}</span>)}
      </h2>
      <h4>Lineage</h4>
      <div class="scroll">
        <Lineage v={v} />
      </div>
      <h4>Artifacts</h4>
      <table class="striped" id="artifacts">
        <thead>
          <tr>
            <th>kind</th>
            <th>size</th>
            <th>sha256</th>
            <th>URI</th>
          </tr>
        </thead>
        <tbody>
          {(v.artifacts ?? []).map((a, i) => (
            <tr key={i}>
              <td>{enumText(a.kind, 'ARTIFACT_KIND_')}</td>
              <td>{bytes(a.sizeBytes)}</td>
              <td class="mono small">
                {a.sha256?.slice(0, 16)}… <Copy value={a.sha256 ?? ''} />
              </td>
              <td class="mono small">
                {a.uri} <Copy value={a.uri ?? ''} />
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      <div class="grid">
        <article>
          <h4>Hyperparameters</h4>
          <KeyValues values={v.lineage?.hyperparameters} />
        </article>
        <article>
          <h4>LoRA</h4>
          <KeyValues values={v.lineage?.lora} />
        </article>
      </div>
    </section>
  );
}
