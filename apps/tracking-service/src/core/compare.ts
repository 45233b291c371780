/**
 * CompareRuns: params side by side (the ones that differ first, then by key) and metric
 * summaries side by side, in the order the runs were asked for.
 */
import type { tracking } from '@medtune/contracts';
import type { SearchableRun } from './search';

const EMPTY_SUMMARY: tracking.MetricSummary = { key: '', last: 0, min: 0, max: 0, lastStep: 0, count: 0 };

/** Param rows (differing first, then by key) and metric rows (by key, or in the asked order). */
export function compareRuns(runs: readonly SearchableRun[], metricKeys: readonly string[]): { params: tracking.ParamRow[]; metrics: tracking.MetricRow[] } {
  const paramKeys = new Set<string>();
  for (const r of runs) for (const k of Object.keys(r.run.params)) paramKeys.add(k);
  const params = [...paramKeys].map((key) => {
    const values = runs.map((r) => r.run.params[key] ?? '');
    return { key, values, differs: values.some((v) => v !== values[0]) };
  });
  params.sort((a, b) => (a.differs !== b.differs ? (a.differs ? -1 : 1) : a.key < b.key ? -1 : a.key > b.key ? 1 : 0));

  let keys: string[];
  if (metricKeys.length) keys = [...new Set(metricKeys)];
  else {
    const all = new Set<string>();
    for (const r of runs) for (const m of r.metrics) all.add(m.key);
    keys = [...all].sort();
  }
  const metrics = keys.map((key) => ({
    key,
    summaries: runs.map((r) => {
      const m = r.metrics.find((s) => s.key === key);
      return m ? { ...m } : { ...EMPTY_SUMMARY };
    }),
  }));
  return { params, metrics };
}
