/**
 * Evaluations: the stored comparisons and evaluations, and one comparison's before / after: the
 * question, the base and the fine-tuned answer with the <think> part apart from the final answer,
 * per-item correctness with gained / lost filters, and the scores as the evaluation service
 * computed them (accuracy, format compliance, eval loss, lengths, McNemar, intervals).
 */
import { useEffect, useState } from 'preact/hooks';
import { enumText, fmt, get } from '../http';
import { ErrorBox, type Json } from '../ui';

interface ComparisonJson {
  comparisonId: string;
  baselineEvaluationId: string;
  candidateEvaluationId: string;
  evalSet?: string;
  items?: number;
  baseline?: Json;
  candidate?: Json;
  deltas?: Record<string, number>;
  gained?: number;
  lost?: number;
  mcnemarPValue?: number;
  registryName?: string;
  registryVersion?: number;
  createTime?: string;
  [k: string]: unknown;
}
interface Side {
  thinking: string;
  answer: string;
  wellFormed: boolean;
  predicted?: string;
  correct?: boolean;
  formatOk?: boolean;
  completionTokens?: number;
  finishReason?: string;
}
interface Item {
  index: number;
  question: string;
  expected: string;
  baseline?: Side;
  candidate?: Side;
}

export function EvaluationsPage() {
  const [cmp, setCmp] = useState<{ comparisons?: ComparisonJson[] }>();
  const [evals, setEvals] = useState<{ evaluations?: Json[] }>();
  const [error, setError] = useState<unknown>();
  useEffect(() => {
    get<typeof cmp>('/comparisons', { page_size: 100 }).then(setCmp, setError);
    get<typeof evals>('/evaluations', { page_size: 100 }).then(setEvals, setError);
  }, []);
  return (
    <section>
      <h2>Evaluations</h2>
      <ErrorBox error={error} />
      <h4>Before / after comparisons</h4>
      <table class="striped" id="comparisons">
        <thead>
          <tr>
            <th>model</th>
            <th>set</th>
            <th>items</th>
            <th>gained / lost</th>
            <th>McNemar p</th>
            <th>created</th>
          </tr>
        </thead>
        <tbody>
          {(cmp?.comparisons ?? []).map((c) => (
            <tr key={c.comparisonId}>
              <td>
                <a href={`/comparisons/${c.comparisonId}`}>{c.registryName ? `${c.registryName}@${c.registryVersion}` : c.comparisonId}</a>
              </td>
              <td>{c.evalSet}</td>
              <td>{c.items}</td>
              <td>
                +{c.gained ?? 0} / −{c.lost ?? 0}
              </td>
              <td>{fmt(c.mcnemarPValue, 3)}</td>
              <td>{c.createTime ? new Date(c.createTime).toLocaleString() : ''}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <h4>Evaluations</h4>
      <table class="striped">
        <thead>
          <tr>
            <th>id</th>
            <th>model</th>
            <th>set</th>
            <th>status</th>
            <th>accuracy</th>
            <th>format</th>
          </tr>
        </thead>
        <tbody>
          {(evals?.evaluations ?? []).map((e) => {
            const s = (e['scores'] ?? {}) as Json;
            return (
              <tr key={String(e['evaluationId'])}>
                <td class="mono small">{String(e['evaluationId'])}</td>
                <td>{e['registryName'] ? `${String(e['registryName'])}@${String(e['registryVersion'])}` : String(e['baseModel'] ?? '').split('/').pop()}</td>
                <td>{String(e['evalSet'] ?? '')}</td>
                <td>{enumText(e['status'] as string, 'EVALUATION_STATUS_')}</td>
                <td>{fmt(s['accuracy'] as number, 3)}</td>
                <td>{fmt(s['formatCompliance'] as number, 3)}</td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </section>
  );
}

/**
 * Score fields that are plain numbers in the protobuf (JSON leaves out their zeros, so they are
 * shown as 0 when absent); optional ones (accuracy, eval loss) stay "–" when not measured.
 */
const ZERO_DEFAULT = ['items', 'formatCompliance', 'completionTokensP50', 'completionTokensP90', 'completionTokensP99', 'truncatedShare', 'unparsedAnswers'];
const ORDER = ['items', 'accuracy', 'accuracyCi', 'formatCompliance', 'formatComplianceCi', 'evalLoss', 'rougeL', 'rougeLCi', 'tokenF1', 'tokenF1Ci', 'completionTokensP50', 'completionTokensP90', 'completionTokensP99', 'truncatedShare', 'unparsedAnswers'];

/** A score value: a number, or a 95 % interval { low, high, method }. */
function showScore(v: unknown): string {
  if (typeof v === 'number') return fmt(v, 4);
  if (v && typeof v === 'object' && ('low' in v || 'high' in v)) {
    const i = v as { low?: number; high?: number; method?: string };
    return `[${fmt(i.low ?? 0, 3)}, ${fmt(i.high ?? 0, 3)}]${i.method ? ` ${i.method}` : ''}`;
  }
  return v === undefined ? '–' : typeof v === 'object' ? JSON.stringify(v) : String(v);
}

/** Per-category scores, when the set has categories. */
function Categories({ c }: { c: ComparisonJson }) {
  type Cat = { category: string; items?: number; accuracy?: number; accuracyCi?: unknown; formatCompliance?: number };
  const cats = (side: Json | undefined) => ((side?.['byCategory'] as { categories?: Cat[] } | undefined)?.categories ?? []);
  const base = cats(c.baseline);
  const cand = cats(c.candidate);
  if (!base.length && !cand.length) return null;
  const names = [...new Set([...base, ...cand].map((x) => x.category))];
  return (
    <table class="striped small" id="categories">
      <thead>
        <tr>
          <th>category</th>
          <th>items</th>
          <th>accuracy before</th>
          <th>accuracy after</th>
        </tr>
      </thead>
      <tbody>
        {names.map((n) => {
          const b = base.find((x) => x.category === n);
          const k = cand.find((x) => x.category === n);
          return (
            <tr key={n}>
              <th>{n}</th>
              <td>{k?.items ?? b?.items ?? 0}</td>
              <td>
                {showScore(b?.accuracy)} {b?.accuracyCi ? showScore(b.accuracyCi) : ''}
              </td>
              <td>
                {showScore(k?.accuracy)} {k?.accuracyCi ? showScore(k.accuracyCi) : ''}
              </td>
            </tr>
          );
        })}
      </tbody>
    </table>
  );
}

/** The scores of both sides: every field the service sends (intervals included), known ones first. */
function ScoresTable({ c }: { c: ComparisonJson }) {
  const present = [...new Set([...Object.keys(c.baseline ?? {}), ...Object.keys(c.candidate ?? {})])].filter((k) => k !== 'byCategory');
  const keys = [...new Set([...ORDER.filter((k) => present.includes(k) || ZERO_DEFAULT.includes(k)), ...present])];
  const val = (side: Json | undefined, k: string) => side?.[k] ?? (ZERO_DEFAULT.includes(k) ? 0 : undefined);
  const show = showScore;
  return (
    <table class="striped" id="scores">
      <thead>
        <tr>
          <th>score</th>
          <th>base (before)</th>
          <th>fine-tuned (after)</th>
          <th>Δ</th>
        </tr>
      </thead>
      <tbody>
        {keys.map((k) => (
          <tr key={k}>
            <th>{k}</th>
            <td>{show(val(c.baseline, k))}</td>
            <td>{show(val(c.candidate, k))}</td>
            <td>{c.deltas?.[k] !== undefined ? fmt(c.deltas[k], 3) : ''}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function Answer({ side, title }: { side: Side | undefined; title: string }) {
  if (!side) return <div class="answer muted">no result</div>;
  return (
    <div class={`answer ${side.correct ? 'correct' : 'wrong'}`}>
      <h6>
        {title} <span class={`badge ${side.correct ? 's-finished' : 's-failed'}`}>{side.correct ? 'correct' : 'wrong'}</span> {side.formatOk ? <span class="badge">format ok</span> : <span class="badge s-crashed">format broken</span>}{' '}
        <span class="muted small">
          {side.completionTokens} tokens{side.finishReason ? `, ${side.finishReason}` : ''}
          {side.predicted ? `, picked ${side.predicted}` : ''}
        </span>
      </h6>
      <details>
        <summary>&lt;think&gt; reasoning ({side.thinking.length} chars)</summary>
        <pre class="thinking">{side.thinking || '(empty)'}</pre>
      </details>
      <p class="final-answer">{side.answer || <em class="muted">(no final answer after &lt;/think&gt;)</em>}</p>
    </div>
  );
}

const FILTERS: Record<string, (i: Item) => boolean> = {
  all: () => true,
  gained: (i) => !i.baseline?.correct && !!i.candidate?.correct,
  lost: (i) => !!i.baseline?.correct && !i.candidate?.correct,
  'both right': (i) => !!i.baseline?.correct && !!i.candidate?.correct,
  'both wrong': (i) => !i.baseline?.correct && !i.candidate?.correct,
};

export function ComparisonPage({ id }: { id: string }) {
  const [data, setData] = useState<{ comparison: ComparisonJson; items: Item[] }>();
  const [error, setError] = useState<unknown>();
  const [filter, setFilter] = useState('all');
  useEffect(() => {
    get<typeof data>(`/comparisons/${encodeURIComponent(id)}`).then(setData, setError);
  }, [id]);
  if (!data) return <ErrorBox error={error} />;
  const c = data.comparison;
  const shown = data.items.filter(FILTERS[filter]!);
  const extra = Object.entries(c).filter(([k, v]) => !['baseline', 'candidate', 'deltas', 'examples', 'createTime'].includes(k) && v !== null && typeof v === 'object');
  return (
    <section>
      <h2>
        Before / after: {c.registryName ? `${c.registryName}@${c.registryVersion}` : c.comparisonId}
      </h2>
      <p>
        {c.items} items of <strong>{c.evalSet}</strong> · gained <strong id="gained">{c.gained ?? 0}</strong> · lost <strong id="lost">{c.lost ?? 0}</strong> · McNemar p = <strong>{fmt(c.mcnemarPValue, 3)}</strong>
        {c['formatMcnemarPValue'] !== undefined && (
          <>
            {' '}
            · format: gained {String(c['formatGained'] ?? 0)}, lost {String(c['formatLost'] ?? 0)}, McNemar p = {fmt(c['formatMcnemarPValue'] as number, 3)}
          </>
        )}
      </p>
      <ScoresTable c={c} />
      <Categories c={c} />
      {extra.map(([k, v]) => (
        <p key={k} class="small">
          <strong>{k}</strong>: <span class="mono">{JSON.stringify(v)}</span>
        </p>
      ))}
      <div class="toolbar" role="group">
        {Object.keys(FILTERS).map((f) => (
          <button key={f} class={f === filter ? '' : 'outline'} data-filter={f} onClick={() => setFilter(f)}>
            {f} ({data.items.filter(FILTERS[f]!).length})
          </button>
        ))}
      </div>
      {shown.map((it) => (
        <article key={it.index} class="pair" data-index={it.index}>
          <header>
            <strong>#{it.index}</strong> {it.question}
            {it.expected && <span class="muted"> · expected {it.expected}</span>}
          </header>
          <div class="grid">
            <Answer side={it.baseline} title="base model (before)" />
            <Answer side={it.candidate} title="fine-tuned (after)" />
          </div>
        </article>
      ))}
    </section>
  );
}
