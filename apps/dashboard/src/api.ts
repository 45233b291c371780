/**
 * The dashboard's read model, transport-free: each function calls the services' gRPC APIs and
 * returns plain JSON (the protobuf JSON mapping of the services' own messages, so every field a
 * service adds reaches the page). Nothing is stored here and no rule of a service is repeated:
 * states, downsampling, comparisons and statistics all come from the service that owns them.
 */
import { createHash } from 'node:crypto';
import { dataset, evaluation, registry, tracking, training } from '@medtune/contracts';
import { InvalidArgumentError, NotFoundError } from '@medtune/kit';
import { extractAnswer } from '@medtune/prompting';
import { userAuth, type GatewayClients } from './clients';

/** Columnar curve: cheap to send and what uPlot draws directly. */
export interface Series {
  readonly key: string;
  readonly steps: number[];
  readonly values: number[];
  /** Points stored in the range before the tracking service downsampled it. */
  readonly total: number;
}

/** A search of runs, as the runs table asks for it. */
export interface RunQuery {
  statuses?: string[];
  experiments?: string[];
  /** `param.<key><op><value>`, `tag.<key><op><value>`, `metric.<key><op><value>`; op one of = != < <= > >=. */
  filters?: string[];
  kind?: string;
  orderBy?: string;
  pageSize?: number;
  pageToken?: string;
}

const OPS: Record<string, tracking.Comparator> = {
  '=': tracking.Comparator.COMPARATOR_EQ,
  '!=': tracking.Comparator.COMPARATOR_NE,
  '<': tracking.Comparator.COMPARATOR_LT,
  '<=': tracking.Comparator.COMPARATOR_LE,
  '>': tracking.Comparator.COMPARATOR_GT,
  '>=': tracking.Comparator.COMPARATOR_GE,
};
const FIELDS: Record<string, tracking.FilterField> = {
  param: tracking.FilterField.FILTER_FIELD_PARAM,
  tag: tracking.FilterField.FILTER_FIELD_TAG,
  metric: tracking.FilterField.FILTER_FIELD_METRIC_LAST,
};

/** Parses one filter of the runs table ("param.learning_rate>=1e-3", "tag.team=med"). */
export function parseRunFilter(text: string, index = 0): tracking.RunFilter {
  const m = /^\s*(param|tag|metric)\.([^<>=!\s]+)\s*(<=|>=|!=|=|<|>)\s*(.*?)\s*$/.exec(text);
  if (!m) throw new InvalidArgumentError(`filter[${index}]`, `expected param.<key><op><value>, tag.<key><op><value> or metric.<key><op><value> with op one of = != < <= > >= (got ${JSON.stringify(text)})`);
  return { field: FIELDS[m[1]!]!, key: m[2]!, comparator: OPS[m[3]!]!, value: m[4]! };
}

function enumValue<E extends Record<string, string | number>>(e: E, name: string, prefix: string, field: string): E[keyof E] {
  const full = name.toUpperCase().startsWith(prefix) ? name.toUpperCase() : `${prefix}${name.toUpperCase()}`;
  const v = e[full as keyof E];
  if (typeof v !== 'number' || v === 0) throw new InvalidArgumentError(field, `unknown value ${JSON.stringify(name)}`);
  return v;
}

/** The dashboard API over the services. */
export function createApi(clients: GatewayClients, opts: { maxHistoryPoints: number; authRequired: boolean }) {
  const { read, act } = clients;

  async function jobOf(run: tracking.Run | undefined): Promise<training.Job | undefined> {
    if (!run || run.kind !== tracking.RunKind.RUN_KIND_TRAINING || !run.sourceId) return undefined;
    try {
      return (await read.training.unary('getJob', { jobId: run.sourceId })).job;
    } catch (err) {
      if (err instanceof NotFoundError) return undefined;
      throw err;
    }
  }

  async function history(runId: string, key: string, maxPoints: number, startStep = 0, endStep = 0): Promise<Series> {
    const res = await read.tracking.unary('getMetricHistory', { runId, key, maxPoints: Math.min(maxPoints, opts.maxHistoryPoints), startStep, endStep });
    return { key, steps: res.points.map((p) => p.step), values: res.points.map((p) => p.value), total: res.totalPoints };
  }

  /** Every item result of an evaluation (paged through), keyed by item index. */
  async function allItems(evaluationId: string, limit = 5_000): Promise<Map<number, evaluation.ItemResult>> {
    const out = new Map<number, evaluation.ItemResult>();
    let pageToken = '';
    do {
      const res = await read.evaluation.unary('listItemResults', { evaluationId, pageSize: 500, pageToken });
      for (const it of res.items) out.set(it.index, it);
      pageToken = res.nextPageToken;
    } while (pageToken && out.size < limit);
    return out;
  }

  const split = (output: string) => {
    const a = extractAnswer(output);
    return { thinking: a.reasoning, answer: a.answer, wellFormed: a.wellFormed };
  };

  return {
    /** Whether actions need the user's token. */
    session: (signedIn: boolean) => ({ authRequired: opts.authRequired, signedIn, maxHistoryPoints: opts.maxHistoryPoints }),

    /** Checks a token the user entered by making one cheap authenticated call with it. */
    async checkToken(token: string): Promise<void> {
      if (!token) throw new InvalidArgumentError('token', 'must not be empty');
      await act.training.unary('listJobs', training.ListJobsRequest.fromPartial({ pageSize: 1 }), { metadata: userAuth(token) });
    },

    async listRuns(q: RunQuery) {
      const req = tracking.SearchRunsRequest.fromPartial({
        experiments: q.experiments ?? [],
        statuses: (q.statuses ?? []).map((s) => enumValue(tracking.RunStatus, s, 'RUN_STATUS_', 'status')),
        filters: (q.filters ?? []).map(parseRunFilter),
        kind: q.kind ? enumValue(tracking.RunKind, q.kind, 'RUN_KIND_', 'kind') : tracking.RunKind.RUN_KIND_UNSPECIFIED,
        orderBy: q.orderBy ?? '',
        pageSize: q.pageSize ?? 50,
        pageToken: q.pageToken ?? '',
      });
      const res = await read.tracking.unary('searchRuns', req);
      return { ...(tracking.SearchRunsResponse.toJSON(res) as object), serverTime: new Date().toISOString() };
    },

    async getRun(runId: string) {
      const { run } = await read.tracking.unary('getRun', { runId });
      const job = await jobOf(run);
      return {
        run: run && tracking.Run.toJSON(run),
        job: job && training.Job.toJSON(job),
        serverTime: new Date().toISOString(),
      };
    },

    /**
     * A validator of a run's stored history of `keys` (an HTTP entity tag): the run's status and,
     * per key, the tracking service's summary (count, last step, last value), which change
     * whenever a point of that key is stored. One cheap GetRun instead of reading the history.
     */
    async historyTag(runId: string, keys: string[], query: string): Promise<{ tag: string; summaries: Map<string, tracking.MetricSummary> }> {
      const { run } = await read.tracking.unary('getRun', { runId });
      if (!run) throw new NotFoundError(`run ${runId} not found`);
      const h = createHash('sha256').update(`${run.status}\n${query}\n`);
      const summaries = new Map<string, tracking.MetricSummary>();
      for (const k of keys) {
        const m = run.metrics.find((x) => x.key === k);
        if (m) summaries.set(k, m);
        h.update(`${k}\0${m ? `${m.count}\0${m.lastStep}\0${m.last}` : '-'}\n`);
      }
      return { tag: `W/"${h.digest('base64url').slice(0, 27)}"`, summaries };
    },

    /** Downsampled curves of several keys of a run (zoom asks again with a step range). */
    async getHistory(runId: string, keys: string[], maxPoints: number, startStep = 0, endStep = 0) {
      if (keys.length === 0) throw new InvalidArgumentError('keys', 'name at least one metric key');
      const series = await Promise.all(keys.map((k) => history(runId, k, maxPoints, startStep, endStep)));
      return { runId, series };
    },

    /** 2..5 runs side by side: the tracking service's comparison plus each run's curve of `key`. */
    async compareRuns(runIds: string[], key: string, maxPoints: number) {
      if (runIds.length < 2 || runIds.length > 5) throw new InvalidArgumentError('runs', `compare 2 to 5 runs (got ${runIds.length})`);
      const cmp = await read.tracking.unary('compareRuns', { runIds, metricKeys: [] });
      const curves = await Promise.all(runIds.map((id) => history(id, key, maxPoints).catch(() => ({ key, steps: [], values: [], total: 0 }))));
      return { ...(tracking.CompareRunsResponse.toJSON(cmp) as object), curves: curves.map((c, i) => ({ runId: runIds[i], ...c })) };
    },

    async listJobEvents(jobId: string, fromSequence: number, limit: number) {
      const out: unknown[] = [];
      const ac = new AbortController();
      const idle = setTimeout(() => ac.abort(), 1_500);
      try {
        for await (const r of read.training.serverStream('watchJob', { jobId, fromSequence }, { signal: ac.signal, deadlineMs: 10_000 })) {
          if (r.event) out.push(training.JobEvent.toJSON(r.event));
          idle.refresh();
          if (out.length >= limit) break;
        }
      } catch (err) {
        if (!ac.signal.aborted) throw err;
      } finally {
        clearTimeout(idle);
      }
      return { events: out };
    },

    /**
     * The tail of a job's log as its executor keeps it (with the Ray executor: the Ray job's
     * driver log). An executor that keeps none answers FAILED_PRECONDITION, passed through.
     */
    async getJobLogs(jobId: string, tailBytes: number) {
      const res = await read.training.unary('getJobLogs', { jobId, tailBytes });
      return training.GetJobLogsResponse.toJSON(res);
    },

    async listEvaluations(registryName: string, pageSize: number, pageToken: string) {
      const res = await read.evaluation.unary('listEvaluations', { registryName, evalSet: '', pageSize, pageToken });
      return evaluation.ListEvaluationsResponse.toJSON(res);
    },

    async getEvaluation(evaluationId: string) {
      const { evaluation: e } = await read.evaluation.unary('getEvaluation', { evaluationId });
      return { evaluation: e && evaluation.Evaluation.toJSON(e) };
    },

    async listComparisons(registryName: string, pageSize: number, pageToken: string) {
      const res = await read.evaluation.unary('listComparisons', { registryName, pageSize, pageToken });
      return evaluation.ListComparisonsResponse.toJSON(res);
    },

    /**
     * A stored comparison with every paired item: the question, each side's output split into its
     * <think> reasoning and final answer (the prompting lib's reader), and each side's correctness.
     */
    async getComparison(comparisonId: string) {
      const { comparison: c } = await read.evaluation.unary('getComparison', { comparisonId });
      if (!c) throw new NotFoundError(`comparison ${comparisonId} not found`);
      const [base, cand] = await Promise.all([allItems(c.baselineEvaluationId), allItems(c.candidateEvaluationId)]);
      const indexes = [...new Set([...base.keys(), ...cand.keys()])].sort((a, b) => a - b);
      const items = indexes.map((index) => {
        const b = base.get(index);
        const k = cand.get(index);
        return {
          index,
          question: b?.question ?? k?.question ?? '',
          expected: b?.expected ?? k?.expected ?? '',
          baseline: b && { ...split(b.output), predicted: b.predicted, correct: b.correct, formatOk: b.formatOk, completionTokens: b.completionTokens, finishReason: b.finishReason },
          candidate: k && { ...split(k.output), predicted: k.predicted, correct: k.correct, formatOk: k.formatOk, completionTokens: k.completionTokens, finishReason: k.finishReason },
        };
      });
      // Older comparisons whose evaluations kept no item results still have their stored examples.
      const examples = items.length > 0 ? [] : c.examples.map((e) => ({ ...e, baselineSplit: split(e.baselineOutput), candidateSplit: split(e.candidateOutput) }));
      return { comparison: evaluation.Comparison.toJSON(c), items, examples };
    },

    async listModels(pageSize: number, pageToken: string, namePrefix: string) {
      const res = await read.registry.unary('listRegisteredModels', { tags: {}, pageSize, pageToken, namePrefix });
      return registry.ListRegisteredModelsResponse.toJSON(res);
    },

    /** A model with its versions (newest pages first as the registry orders them) and each alias's history. */
    async getModel(name: string) {
      const { model } = await read.registry.unary('getRegisteredModel', { name });
      if (!model) throw new NotFoundError(`model ${name} not found`);
      const [versions, histories] = await Promise.all([
        read.registry.unary('listModelVersions', { name, statuses: [], tags: {}, pageSize: 200, pageToken: '' }),
        Promise.all(Object.keys(model.aliases).map((alias) => read.registry.unary('listAliasHistory', { name, alias, pageSize: 100, pageToken: '' }).then((r) => ({ alias, changes: r.changes.map((c) => registry.AliasChange.toJSON(c)) })))),
      ]);
      return { model: registry.RegisteredModel.toJSON(model), versions: versions.versions.map((v) => registry.ModelVersion.toJSON(v)), aliasHistory: histories };
    },

    async getModelVersion(name: string, version: number) {
      const { version: v } = await read.registry.unary('getModelVersion', { name, version });
      return { version: v && registry.ModelVersion.toJSON(v) };
    },

    async listDatasets(pageSize: number, pageToken: string) {
      const res = await read.dataset.unary('listDatasets', { pageSize, pageToken });
      return dataset.ListDatasetsResponse.toJSON(res);
    },

    async listDatasetVersions(datasetName: string, pageSize: number, pageToken: string) {
      const res = await read.dataset.unary('listVersions', { datasetName, pageSize, pageToken });
      return dataset.ListVersionsResponse.toJSON(res);
    },

    /**
     * A dataset version with its validation report (issues by row number) and the token count of
     * each training row (up to `maxRows`), which the page bins into a histogram against
     * max_seq_length.
     */
    async getDatasetVersion(digest: string, maxRows: number, fatalOnly: boolean, reportPageToken: string) {
      const got = await read.dataset.unary('getVersion', { digest });
      const v = got.version;
      if (!v) throw new NotFoundError(`dataset version ${digest} not found`);
      const reportId = v.report?.reportId;
      const [report, tokens] = await Promise.all([
        reportId ? read.dataset.unary('getValidationReport', { reportId, fatalOnly, pageSize: 200, pageToken: reportPageToken }) : undefined,
        (async () => {
          const counts: number[] = [];
          for await (const r of read.dataset.serverStream('streamRows', { digest: v.digest, split: dataset.Split.SPLIT_ALL, offset: 0, limit: maxRows }, { deadlineMs: 60_000 })) {
            if (r.row) counts.push(r.row.tokenCount);
          }
          return counts;
        })(),
      ]);
      return {
        version: dataset.DatasetVersion.toJSON(v),
        inUse: got.inUse,
        report: report && dataset.GetValidationReportResponse.toJSON(report),
        tokenCounts: tokens,
      };
    },

    /** Cancels a job with the user's token. */
    async cancelJob(jobId: string, reason: string, token: string | undefined) {
      const res = await act.training.unary('cancelJob', { jobId, reason: reason || 'cancelled from the dashboard' }, { metadata: userAuth(token) });
      return { job: res.job && training.Job.toJSON(res.job) };
    },

    /** Moves an alias with compare-and-set on the version it points at now. */
    async setAlias(name: string, alias: string, version: number, expectedVersion: number | undefined, reason: string, token: string | undefined) {
      if (!reason.trim()) throw new InvalidArgumentError('reason', 'say why the alias moves');
      const req = registry.SetAliasRequest.fromPartial({ name, alias, version, reason, actor: 'dashboard', ...(expectedVersion === undefined ? {} : { expectedVersion }) });
      const res = await act.registry.unary('setAlias', req, { metadata: userAuth(token) });
      return { change: res.change && registry.AliasChange.toJSON(res.change) };
    },
  };
}

/** The dashboard API. */
export type DashboardApi = ReturnType<typeof createApi>;
