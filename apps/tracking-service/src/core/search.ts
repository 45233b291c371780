/**
 * SearchRuns: filters on params, tags and metric summaries, an order, and keyset page tokens.
 * Evaluated in the service over the runs the repository returns (FerretDB v1 cannot use an index
 * for these queries anyway, and the comparison rules — numbers when both sides parse as numbers —
 * are not MongoDB's).
 *
 * Rules: a run lacking the param, tag or metric a filter names does not match it (NE included);
 * runs lacking the order key come last in both directions; ties are broken by run id, so pages
 * never repeat or skip a run while the result set is unchanged.
 */
import { createHash } from 'node:crypto';
import { InvalidArgumentError, decodePageToken, encodePageToken, pageSize } from '@medtune/kit';
import { tracking } from '@medtune/contracts';
import type { MetricSummaryRecord, RunRecord } from './records';
import { checkExperimentName, checkKey } from './validate';

const { Comparator, FilterField, RunKind, RunStatus } = tracking;

/** A run with the summaries search looks at. */
export interface SearchableRun {
  readonly run: RunRecord;
  readonly metrics: readonly MetricSummaryRecord[];
}

interface Filter {
  readonly field: tracking.FilterField;
  readonly key: string;
  readonly comparator: tracking.Comparator;
  readonly text: string;
  readonly number: number | undefined;
}

type OrderKind = 'start_time' | 'metric' | 'param';
interface Order {
  readonly kind: OrderKind;
  readonly key: string;
  readonly desc: boolean;
}

/** A checked SearchRunsRequest. */
export interface SearchQuery {
  readonly experiments: readonly string[];
  readonly statuses: readonly tracking.RunStatus[];
  readonly kind: tracking.RunKind;
  readonly filters: readonly Filter[];
  readonly order: Order;
  readonly pageSize: number;
  /** Position after which the page starts. */
  readonly after: SortKey | undefined;
  /** Identifies the query in page tokens (a token is refused with another query). */
  readonly hash: string;
}

/** Where a run sits in the order: missing values last, numbers before strings, then run id. */
interface SortKey {
  readonly missing: boolean;
  readonly v: number | string;
  readonly id: string;
}

/** Parses "2e-4", " 32 " as numbers; anything else (including "") is not one. */
export function asNumber(s: string): number | undefined {
  if (s.trim() === '') return undefined;
  const n = Number(s);
  return Number.isFinite(n) ? n : undefined;
}

/** Checks a request (field-level errors) and decodes its page token. */
export function compileSearch(req: tracking.SearchRunsRequest): SearchQuery {
  req.experiments.forEach((e, i) => checkExperimentName(`experiments[${i}]`, e));
  req.statuses.forEach((s, i) => {
    if (s === RunStatus.RUN_STATUS_UNSPECIFIED || RunStatus[s] === undefined || s === RunStatus.UNRECOGNIZED) {
      throw new InvalidArgumentError(`statuses[${i}]`, `not a run status (got ${s})`);
    }
  });
  if (req.kind === RunKind.UNRECOGNIZED || RunKind[req.kind] === undefined) throw new InvalidArgumentError('kind', `not a run kind (got ${req.kind})`);
  const filters = req.filters.map((f, i) => compileFilter(f, `filters[${i}]`));
  const order = parseOrder(req.orderBy);
  const size = pageSize(req.pageSize, { defaultSize: 50, maxSize: 500 });
  const hash = createHash('sha256')
    .update(JSON.stringify({ e: [...req.experiments].sort(), s: [...req.statuses].sort(), k: req.kind, f: filters, o: order }))
    .digest('hex')
    .slice(0, 16);
  const token = decodePageToken<{ q?: unknown; m?: unknown; v?: unknown; id?: unknown }>(req.pageToken);
  let after: SortKey | undefined;
  if (token) {
    if (token.q !== hash) throw new InvalidArgumentError('page_token', 'belongs to another query (filters, order or experiments changed)');
    if (typeof token.id !== 'string' || typeof token.m !== 'boolean' || (typeof token.v !== 'number' && typeof token.v !== 'string')) {
      throw new InvalidArgumentError('page_token', 'is not a page token from a previous response');
    }
    after = { missing: token.m, v: token.v, id: token.id };
  }
  return { experiments: req.experiments, statuses: req.statuses, kind: req.kind, filters, order, pageSize: size, after, hash };
}

function compileFilter(f: tracking.RunFilter, field: string): Filter {
  if (f.field === FilterField.FILTER_FIELD_UNSPECIFIED || FilterField[f.field] === undefined || f.field === FilterField.UNRECOGNIZED) {
    throw new InvalidArgumentError(`${field}.field`, 'required: PARAM, TAG, METRIC_LAST, METRIC_MIN or METRIC_MAX');
  }
  if (!f.key) throw new InvalidArgumentError(`${field}.key`, 'required');
  checkKey(`${field}.key`, f.key);
  if (f.comparator === Comparator.COMPARATOR_UNSPECIFIED || Comparator[f.comparator] === undefined || f.comparator === Comparator.UNRECOGNIZED) {
    throw new InvalidArgumentError(`${field}.comparator`, 'required: EQ, NE, LT, LE, GT or GE');
  }
  const number = asNumber(f.value);
  const isMetric = f.field !== FilterField.FILTER_FIELD_PARAM && f.field !== FilterField.FILTER_FIELD_TAG;
  if (isMetric && number === undefined) throw new InvalidArgumentError(`${field}.value`, `must be a number for a metric filter (got ${JSON.stringify(f.value)})`);
  return { field: f.field, key: f.key, comparator: f.comparator, text: f.value, number };
}

const ORDER = /^(start_time|metric\.(.+?)|param\.(.+?))(?:\s+(asc|desc))?$/i;

function parseOrder(orderBy: string | undefined): Order {
  const s = (orderBy ?? '').trim();
  if (!s) return { kind: 'start_time', key: '', desc: true };
  const m = ORDER.exec(s);
  if (!m) throw new InvalidArgumentError('order_by', `must be "start_time", "metric.<key>" or "param.<key>", optionally followed by " asc" or " desc" (got ${JSON.stringify(s)})`);
  const dir = m[4]?.toLowerCase();
  if (m[1]!.toLowerCase() === 'start_time') return { kind: 'start_time', key: '', desc: dir !== 'asc' };
  const kind: OrderKind = m[2] !== undefined ? 'metric' : 'param';
  return { kind, key: (m[2] ?? m[3])!, desc: dir === 'desc' };
}

function compareValues(a: number | string, b: number | string): number {
  if (typeof a === 'number' && typeof b === 'number') return a - b;
  if (typeof a === 'number') return -1; // numbers before strings
  if (typeof b === 'number') return 1;
  return a < b ? -1 : a > b ? 1 : 0;
}

function holds(c: tracking.Comparator, cmp: number): boolean {
  switch (c) {
    case Comparator.COMPARATOR_EQ:
      return cmp === 0;
    case Comparator.COMPARATOR_NE:
      return cmp !== 0;
    case Comparator.COMPARATOR_LT:
      return cmp < 0;
    case Comparator.COMPARATOR_LE:
      return cmp <= 0;
    case Comparator.COMPARATOR_GT:
      return cmp > 0;
    case Comparator.COMPARATOR_GE:
      return cmp >= 0;
    default:
      return false;
  }
}

function metricOf(r: SearchableRun, key: string): MetricSummaryRecord | undefined {
  return r.metrics.find((m) => m.key === key);
}

/** Whether a run passes one filter. */
function matches(r: SearchableRun, f: Filter): boolean {
  switch (f.field) {
    case FilterField.FILTER_FIELD_PARAM: {
      const v = r.run.params[f.key];
      if (v === undefined) return false;
      const n = asNumber(v);
      // Numbers when both sides are numbers ("2e-4" equals "0.0002"), otherwise text.
      return holds(f.comparator, n !== undefined && f.number !== undefined ? n - f.number : compareValues(v, f.text));
    }
    case FilterField.FILTER_FIELD_TAG: {
      const v = r.run.tags[f.key];
      return v !== undefined && holds(f.comparator, compareValues(v, f.text));
    }
    default: {
      const m = metricOf(r, f.key);
      if (!m) return false;
      const v = f.field === FilterField.FILTER_FIELD_METRIC_LAST ? m.last : f.field === FilterField.FILTER_FIELD_METRIC_MIN ? m.min : m.max;
      return holds(f.comparator, v - f.number!);
    }
  }
}

function sortKeyOf(r: SearchableRun, order: Order): SortKey {
  const id = r.run.runId;
  switch (order.kind) {
    case 'start_time':
      return { missing: false, v: (r.run.startTime ?? r.run.createTime).getTime(), id };
    case 'metric': {
      const m = metricOf(r, order.key);
      return m ? { missing: false, v: m.last, id } : { missing: true, v: 0, id };
    }
    case 'param': {
      const p = r.run.params[order.key];
      if (p === undefined) return { missing: true, v: 0, id };
      return { missing: false, v: asNumber(p) ?? p, id };
    }
  }
}

function compareKeys(a: SortKey, b: SortKey, desc: boolean): number {
  if (a.missing !== b.missing) return a.missing ? 1 : -1;
  if (!a.missing) {
    const c = compareValues(a.v, b.v);
    if (c !== 0) return desc ? -c : c;
  }
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

/** Whether a run passes the query's experiment, status, kind and field filters. */
export function runMatches(r: SearchableRun, q: SearchQuery): boolean {
  if (q.experiments.length && !q.experiments.includes(r.run.experiment)) return false;
  if (q.statuses.length && !q.statuses.includes(r.run.status)) return false;
  if (q.kind !== RunKind.RUN_KIND_UNSPECIFIED && r.run.kind !== q.kind) return false;
  return q.filters.every((f) => matches(r, f));
}

/** One page of the matching runs, and the token of the next page ('' at the end). */
export function searchPage(runs: readonly SearchableRun[], q: SearchQuery): { page: SearchableRun[]; nextPageToken: string } {
  const keyed = runs.filter((r) => runMatches(r, q)).map((r) => ({ r, key: sortKeyOf(r, q.order) }));
  keyed.sort((a, b) => compareKeys(a.key, b.key, q.order.desc));
  const rest = q.after ? keyed.filter((k) => compareKeys(k.key, q.after!, q.order.desc) > 0) : keyed;
  const page = rest.slice(0, q.pageSize);
  const last = page[page.length - 1];
  const nextPageToken = rest.length > page.length && last ? encodePageToken({ q: q.hash, m: last.key.missing, v: last.key.v, id: last.key.id }) : '';
  return { page: page.map((k) => k.r), nextPageToken };
}
