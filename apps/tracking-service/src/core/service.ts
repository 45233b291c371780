/**
 * The tracking service's core: every RPC of medtune.tracking.v1 as a method over plain messages
 * (WatchRun is in watch.ts, event handling in ingest.ts). No transport here: src/grpc and
 * src/events call these methods.
 */
import { createHash } from 'node:crypto';
import {
  AlreadyExistsError,
  FailedPreconditionError,
  InvalidArgumentError,
  NotFoundError,
  decodePageToken,
  encodePageToken,
  pageSize,
  type Clock,
  type Logger,
} from '@medtune/kit';
import { tracking } from '@medtune/contracts';
import { compareRuns } from './compare';
import { downsample } from './downsample';
import { Liveness, type LivenessOptions } from './liveness';
import { MetricBatcher, type BatcherOptions } from './metrics/batcher';
import { digestsFromData, type RunDigestData, type SeriesDigest } from './metrics/digest';
import { RunMetricState } from './metrics/run-state';
import type { MetricChunk, MetricLogStore, PointInput } from './metrics/types';
import { MetricWriter, type DirtyMarks } from './metrics/writer';
import { RunNotifier } from './notifier';
import type { ExperimentRepo, RunEventPublisher, RunRepo } from './ports';
import { isTerminal, statusName, toExperiment, toRun, type RunRecord } from './records';
import { RunBook } from './runs';
import { compileSearch, searchPage, type SearchableRun } from './search';
import { MAX_POINTS_PER_CALL, checkExperimentName, checkKey, checkMetricValue, checkRunId, checkStep, checkStringMap, clip } from './validate';

const { RunStatus, RunKind } = tracking;

/** Stored digests kept decoded in memory (runs, least recently read go first). */
const STORED_DIGESTS_KEPT = 64;

/** The experiment runs go to when none is named. */
export const DEFAULT_EXPERIMENT = 'default';

/** Everything the core is built from. */
export interface TrackingCoreDeps {
  readonly runs: RunRepo;
  readonly experiments: ExperimentRepo;
  readonly metrics: MetricLogStore;
  readonly dirty: DirtyMarks;
  readonly publisher: RunEventPublisher;
  readonly clock: Clock;
  readonly log: Logger;
  readonly newRunId: () => string;
  /** Batching of metric writes. */
  readonly batch: Pick<BatcherOptions, 'maxPoints' | 'maxDelayMs' | 'onFlush'>;
  readonly liveness: LivenessOptions;
  /** WatchRun re-reads the run at least this often (writes of other processes). */
  readonly watchPollMs: number;
  /** WatchRun ends this long after the run ended (late points still arrive meanwhile). */
  readonly watchEndGraceMs: number;
}

/** The tracking service, transport-free. */
export class TrackingCore {
  readonly notifier = new RunNotifier();
  readonly book: RunBook;
  readonly writer: MetricWriter;
  readonly batcher: MetricBatcher;
  readonly liveness: Liveness;
  /** Stored digests read and decoded, by run (see getMetricHistory). */
  private readonly storedDigests = new Map<string, { nextSeq: number; digests: Map<string, SeriesDigest> }>();

  constructor(readonly deps: TrackingCoreDeps) {
    this.book = new RunBook({ runs: deps.runs, publisher: deps.publisher, notifier: this.notifier, clock: deps.clock, log: deps.log });
    this.writer = new MetricWriter({
      store: deps.metrics,
      dirty: deps.dirty,
      clock: deps.clock,
      log: deps.log.child({ component: 'metric-writer' }),
      onStored: (chunks, after) => {
        this.notifier.metrics(chunks);
        this.liveness.metricsStored(chunks, after);
      },
    });
    this.batcher = new MetricBatcher({ ...deps.batch, write: (items) => this.writer.write(items) });
    this.liveness = new Liveness({ book: this.book, writer: this.writer, dirty: deps.dirty, runs: deps.runs, clock: deps.clock, log: deps.log.child({ component: 'liveness' }) }, deps.liveness);
  }

  /** Before serving: summaries a dead process left unwritten, unpublished events; then the timers. */
  async start(): Promise<void> {
    await this.liveness.reconcile();
    await this.book.retryOutboxes(true);
    this.liveness.start();
  }

  /** Writes queued points, then pending heartbeats and summaries. */
  async stop(): Promise<void> {
    await this.batcher.close();
    await this.liveness.stop();
  }

  // ---- experiments ----

  async createExperiment(req: tracking.CreateExperimentRequest): Promise<tracking.CreateExperimentResponse> {
    const name = checkExperimentName('name', req.name);
    if (req.description.length > 2_000) throw new InvalidArgumentError('description', `at most 2000 characters (got ${req.description.length})`);
    const { experiment, created } = await this.deps.experiments.ensure({ name, description: req.description, createTime: this.deps.clock() });
    const counts = await this.deps.runs.countByExperiment();
    return { experiment: toExperiment(experiment, counts.get(name) ?? 0), created };
  }

  async getExperiment(req: tracking.GetExperimentRequest): Promise<tracking.GetExperimentResponse> {
    const name = checkExperimentName('name', req.name);
    const experiment = await this.deps.experiments.get(name);
    if (!experiment) throw new NotFoundError(`experiment ${JSON.stringify(name)} not found`);
    const counts = await this.deps.runs.countByExperiment();
    return { experiment: toExperiment(experiment, counts.get(name) ?? 0) };
  }

  async listExperiments(req: tracking.ListExperimentsRequest): Promise<tracking.ListExperimentsResponse> {
    const size = pageSize(req.pageSize, { defaultSize: 50, maxSize: 500 });
    const token = decodePageToken<{ after?: unknown }>(req.pageToken);
    if (token && typeof token.after !== 'string') throw new InvalidArgumentError('page_token', 'is not a page token from a previous response');
    const page = await this.deps.experiments.list(token?.after as string | undefined, size + 1);
    const counts = await this.deps.runs.countByExperiment();
    const shown = page.slice(0, size);
    const last = shown[shown.length - 1];
    return {
      experiments: shown.map((e) => toExperiment(e, counts.get(e.name) ?? 0)),
      nextPageToken: page.length > size && last ? encodePageToken({ after: last.name }) : '',
    };
  }

  // ---- runs ----

  async createRun(req: tracking.CreateRunRequest): Promise<tracking.CreateRunResponse> {
    const runId = req.runId ? checkRunId('run_id', req.runId) : this.deps.newRunId();
    const experiment = req.experiment ? checkExperimentName('experiment', req.experiment) : DEFAULT_EXPERIMENT;
    if (req.name.length > 500) throw new InvalidArgumentError('name', `at most 500 characters (got ${req.name.length})`);
    if (RunKind[req.kind] === undefined || req.kind === RunKind.UNRECOGNIZED) throw new InvalidArgumentError('kind', `not a run kind (got ${req.kind})`);
    const params = checkStringMap('params', req.params);
    const tags = checkStringMap('tags', req.tags);
    const parentRunId = req.parentRunId ? checkRunId('parent_run_id', req.parentRunId) : '';
    if (req.sourceId.length > 200) throw new InvalidArgumentError('source_id', `at most 200 characters (got ${req.sourceId.length})`);
    const status = req.status || RunStatus.RUN_STATUS_RUNNING;
    if (RunStatus[status] === undefined || status === RunStatus.UNRECOGNIZED || status === RunStatus.RUN_STATUS_CRASHED) {
      throw new InvalidArgumentError('status', `must be SCHEDULED, RUNNING, FINISHED, FAILED or KILLED (got ${statusName(status)})`);
    }
    const kind = req.kind || RunKind.RUN_KIND_OTHER;
    const hash = createHash('sha256')
      .update(JSON.stringify([experiment, req.name, kind, sortedEntries(params), sortedEntries(tags), parentRunId, req.sourceId, status]))
      .digest('hex');
    const now = this.deps.clock();
    await this.deps.experiments.ensure({ name: experiment, description: '', createTime: now });
    const record = newRunRecord({ runId, experiment, name: req.name, kind, status, params, tags, parentRunId, sourceId: req.sourceId, now, createRequestHash: hash });
    const { run, created } = await this.book.createOrUpdate(record, (stored) => {
      if (stored.createRequestHash !== hash) throw new AlreadyExistsError(`run ${runId} exists with other settings`);
      return false;
    });
    return { run: this.view(run), created };
  }

  async getRun(req: tracking.GetRunRequest): Promise<tracking.GetRunResponse> {
    const run = await this.book.require(checkRunId('run_id', req.runId));
    return { run: this.view(run) };
  }

  async updateRunStatus(req: tracking.UpdateRunStatusRequest): Promise<tracking.UpdateRunStatusResponse> {
    const runId = checkRunId('run_id', req.runId);
    const status = req.status;
    if (status === RunStatus.RUN_STATUS_UNSPECIFIED || RunStatus[status] === undefined || status === RunStatus.UNRECOGNIZED) {
      throw new InvalidArgumentError('status', `required: SCHEDULED, RUNNING, FINISHED, FAILED, KILLED or CRASHED (got ${status})`);
    }
    const now = this.deps.clock();
    const run = await this.book.update(runId, (r) => {
      if (r.status === status) return false;
      if (isTerminal(r.status)) {
        throw new FailedPreconditionError(`run ${runId} is ${statusName(r.status)}: a finished run cannot become ${statusName(status)}`);
      }
      if (status === RunStatus.RUN_STATUS_SCHEDULED) {
        throw new FailedPreconditionError(`run ${runId} is ${statusName(r.status)}: it cannot go back to SCHEDULED`);
      }
      if (isTerminal(status)) r.heartbeatArmed = false;
      return this.book.setStatus(r, status, now);
    });
    if (!run) throw new NotFoundError(`run ${runId} not found`);
    if (isTerminal(run.status)) this.liveness.settle(runId);
    return { run: this.view(run) };
  }

  async logParams(req: tracking.LogParamsRequest): Promise<tracking.LogParamsResponse> {
    const runId = checkRunId('run_id', req.runId);
    const params = checkStringMap('params', req.params);
    const written: string[] = [];
    const run = await this.book.update(runId, (r) => {
      const conflicts = Object.entries(params).filter(([k, v]) => r.params[k] !== undefined && r.params[k] !== v);
      if (conflicts.length) {
        const list = conflicts
          .slice(0, 5)
          .map(([k, v]) => `${JSON.stringify(k)} is ${JSON.stringify(clip(r.params[k]!))}, refused ${JSON.stringify(clip(v))}`)
          .join('; ');
        throw new FailedPreconditionError(`params are written once: ${list}${conflicts.length > 5 ? ` (and ${conflicts.length - 5} more)` : ''}; nothing was written`);
      }
      for (const [k, v] of Object.entries(params)) {
        if (r.params[k] === undefined) {
          r.params[k] = v;
          written.push(k);
        }
      }
      return written.length > 0;
    });
    if (!run) throw new NotFoundError(`run ${runId} not found`);
    return { written: written.sort() };
  }

  async setTags(req: tracking.SetTagsRequest): Promise<tracking.SetTagsResponse> {
    const runId = checkRunId('run_id', req.runId);
    const set = checkStringMap('set', req.set);
    req.remove.forEach((k, i) => {
      checkKey(`remove[${i}]`, k);
      if (set[k] !== undefined) throw new InvalidArgumentError(`remove[${i}]`, `${JSON.stringify(clip(k))} is also in set`);
    });
    const run = await this.book.update(runId, (r) => {
      let changed = false;
      for (const [k, v] of Object.entries(set)) {
        if (r.tags[k] !== v) {
          r.tags[k] = v;
          changed = true;
        }
      }
      for (const k of req.remove) {
        if (k in r.tags) {
          delete r.tags[k];
          changed = true;
        }
      }
      return changed;
    });
    if (!run) throw new NotFoundError(`run ${runId} not found`);
    return { tags: { ...run.tags } };
  }

  async logMetrics(req: tracking.LogMetricsRequest): Promise<tracking.LogMetricsResponse> {
    const runId = checkRunId('run_id', req.runId);
    if (req.points.length > MAX_POINTS_PER_CALL) throw new InvalidArgumentError('points', `at most ${MAX_POINTS_PER_CALL} per call (got ${req.points.length})`);
    const now = this.deps.clock().getTime();
    const points: PointInput[] = req.points.map((p, i) => ({
      key: checkKey(`points[${i}].key`, p.key),
      step: checkStep(`points[${i}].step`, p.step),
      value: checkMetricValue(`points[${i}].value`, p.value),
      time: p.time ? p.time.getTime() : now,
    }));
    await this.book.require(runId);
    const outcome = await this.batcher.submit({ runId, points });
    return { stored: outcome.stored, duplicates: outcome.duplicates };
  }

  async heartbeat(req: tracking.HeartbeatRequest): Promise<tracking.HeartbeatResponse> {
    const runId = checkRunId('run_id', req.runId);
    const now = this.deps.clock();
    this.liveness.beat(runId);
    const run = await this.book.update(runId, (r) => {
      r.lastHeartbeatTime = now;
      if (r.status === RunStatus.RUN_STATUS_CRASHED) this.book.setStatus(r, RunStatus.RUN_STATUS_RUNNING, now);
      else if (r.status === RunStatus.RUN_STATUS_RUNNING && r.sourceSeq === 0) r.heartbeatArmed = true;
      return true;
    });
    if (!run) throw new NotFoundError(`run ${runId} not found`);
    return { status: run.status };
  }

  /**
   * A key's history, downsampled to max_points. The whole history (start_step and end_step 0)
   * comes from the run's digest (metrics/digest.ts: the same answer as downsampling the points,
   * without reading them) when one covers the chunks the run record knows of: the writer's, for
   * runs this process writes, else the stored one; otherwise, and for step ranges (zoom), from
   * the points themselves — after which a missing or stale stored digest is rebuilt from them.
   */
  async getMetricHistory(req: tracking.GetMetricHistoryRequest): Promise<tracking.GetMetricHistoryResponse> {
    const runId = checkRunId('run_id', req.runId);
    const key = checkKey('key', req.key);
    const maxPoints = req.maxPoints || 500;
    if (maxPoints < 2 || maxPoints > 10_000) throw new InvalidArgumentError('max_points', `must be 2..10000 (got ${maxPoints})`);
    if (req.endStep !== 0 && req.endStep < req.startStep) {
      throw new InvalidArgumentError('end_step', `must be >= start_step (${req.startStep}) or 0 for no limit (got ${req.endStep})`);
    }
    const run = await this.book.require(runId);
    const whole = req.startStep === 0 && req.endStep === 0;
    let digestStale = false;
    if (whole) {
      const fromDigest = await this.historyFromDigest(run, key, maxPoints);
      if (fromDigest === 'stale') digestStale = true;
      else if (fromDigest) return fromDigest;
    }
    const end = req.endStep === 0 ? Infinity : req.endStep;
    const points: { step: number; value: number; time: number }[] = [];
    const chunks = await this.deps.metrics.read(runId);
    for (const chunk of chunks) {
      for (const s of chunk.series) {
        if (s.key !== key) continue;
        for (let i = 0; i < s.steps.length; i++) {
          const step = s.steps[i]!;
          if (step >= req.startStep && step <= end) points.push({ step, value: s.values[i]!, time: s.times[i]! });
        }
      }
    }
    if (digestStale) this.rebuildDigest(runId, chunks);
    points.sort((a, b) => a.step - b.step);
    return historyResponse(key, downsample(points, maxPoints), points.length);
  }

  /** The whole history from a digest; 'stale' when no digest covers the run; undefined when the digest cannot answer this. */
  private async historyFromDigest(run: RunRecord, key: string, maxPoints: number): Promise<tracking.GetMetricHistoryResponse | 'stale' | undefined> {
    let digest: SeriesDigest | undefined;
    const cached = this.writer.cachedDigest(run.runId, key);
    const decoded = this.storedDigests.get(run.runId);
    if (cached && cached.nextSeq >= run.metricsSeq) digest = cached.digest;
    else if (decoded && decoded.nextSeq >= run.metricsSeq) {
      // Decoded earlier and still covering what the run record knows (a stored one is only ever newer).
      this.storedDigests.delete(run.runId);
      this.storedDigests.set(run.runId, decoded);
      digest = decoded.digests.get(key);
    } else {
      let stored: RunDigestData | undefined;
      try {
        stored = await this.deps.metrics.readDigest(run.runId);
      } catch (err) {
        this.deps.log.warn({ err, runId: run.runId }, 'metric digest unreadable; reading the points');
        return 'stale';
      }
      if (!stored || stored.nextSeq < run.metricsSeq) return 'stale';
      let digests: Map<string, SeriesDigest>;
      try {
        digests = digestsFromData(stored);
      } catch (err) {
        this.deps.log.warn({ err, runId: run.runId }, 'stored metric digest is damaged; reading the points');
        return 'stale';
      }
      this.storedDigests.set(run.runId, { nextSeq: stored.nextSeq, digests });
      for (const old of this.storedDigests.keys()) {
        if (this.storedDigests.size <= STORED_DIGESTS_KEPT) break;
        this.storedDigests.delete(old);
      }
      digest = digests.get(key);
    }
    if (!digest) return historyResponse(key, [], 0);
    const points = digest.downsampled(maxPoints);
    return points && historyResponse(key, points, digest.count);
  }

  /** Stores the digests of a run rebuilt from its whole log (behind the answer; a failure is logged). */
  private rebuildDigest(runId: string, chunks: readonly MetricChunk[]): void {
    void (async () => {
      await this.deps.metrics.writeDigest(RunMetricState.fromChunks(runId, chunks).digestData());
    })().catch((err: unknown) => this.deps.log.warn({ err, runId }, 'could not store the metric digest rebuilt from the log'));
  }

  async searchRuns(req: tracking.SearchRunsRequest): Promise<tracking.SearchRunsResponse> {
    const q = compileSearch(req);
    const runs = await this.deps.runs.list({ experiments: q.experiments, statuses: q.statuses });
    const { page, nextPageToken } = searchPage(runs.map((r) => this.searchable(r)), q);
    return { runs: page.map((s) => toRun(s.run, s.metrics)), nextPageToken };
  }

  async compareRuns(req: tracking.CompareRunsRequest): Promise<tracking.CompareRunsResponse> {
    if (req.runIds.length < 2 || req.runIds.length > 20) throw new InvalidArgumentError('run_ids', `2 to 20 runs (got ${req.runIds.length})`);
    req.runIds.forEach((id, i) => {
      checkRunId(`run_ids[${i}]`, id);
      if (req.runIds.indexOf(id) !== i) throw new InvalidArgumentError(`run_ids[${i}]`, `${id} is listed twice`);
    });
    req.metricKeys.forEach((k, i) => checkKey(`metric_keys[${i}]`, k));
    const runs = await Promise.all(req.runIds.map((id) => this.book.require(id)));
    const searchable = runs.map((r) => this.searchable(r));
    const { params, metrics } = compareRuns(searchable, req.metricKeys);
    return { runs: searchable.map((s) => toRun(s.run, s.metrics)), params, metrics };
  }

  /** The proto view of a run with the freshest summaries this process knows. */
  view(run: RunRecord): tracking.Run {
    return toRun(run, this.liveness.freshSummaries(run.runId) ?? run.metrics);
  }

  private searchable(run: RunRecord): SearchableRun {
    return { run, metrics: this.liveness.freshSummaries(run.runId) ?? run.metrics };
  }
}

/** The fields of a new run; the rest take their initial values. */
export interface NewRun {
  runId: string;
  experiment: string;
  name: string;
  kind: tracking.RunKind;
  status: tracking.RunStatus;
  params: Record<string, string>;
  tags: Record<string, string>;
  parentRunId: string;
  sourceId: string;
  now: Date;
  createRequestHash?: string;
  sourceSeq?: number;
  heartbeatArmed?: boolean;
}

/** A run record as created (start time when it starts RUNNING, end time when created ended). */
export function newRunRecord(n: NewRun): RunRecord {
  return {
    runId: n.runId,
    experiment: n.experiment,
    name: n.name,
    kind: n.kind,
    status: n.status,
    params: n.params,
    tags: n.tags,
    parentRunId: n.parentRunId,
    sourceId: n.sourceId,
    createTime: n.now,
    startTime: n.status === RunStatus.RUN_STATUS_SCHEDULED ? undefined : n.now,
    endTime: isTerminal(n.status) ? n.now : undefined,
    lastHeartbeatTime: n.heartbeatArmed ? n.now : undefined,
    heartbeatArmed: n.heartbeatArmed ?? false,
    sourceSeq: n.sourceSeq ?? 0,
    statusChanges: 0,
    metrics: [],
    metricsSeq: 0,
    outbox: [],
    createRequestHash: n.createRequestHash ?? '',
    updateTime: n.now,
  };
}

function historyResponse(key: string, points: readonly { step: number; value: number; time: number }[], total: number): tracking.GetMetricHistoryResponse {
  return { points: points.map((p) => ({ key, step: p.step, value: p.value, time: new Date(p.time) })), totalPoints: total };
}

function sortedEntries(m: Record<string, string>): [string, string][] {
  return Object.entries(m).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}
