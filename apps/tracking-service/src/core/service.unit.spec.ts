import { describe, expect, it, vi } from 'vitest';
import { AlreadyExistsError, FailedPreconditionError, InvalidArgumentError, NotFoundError } from '@medtune/kit';
import { tracking } from '@medtune/contracts';
import { coreHarness } from './testing';

const { RunStatus, RunKind, FilterField, Comparator } = tracking;

const createReq = (o: Partial<tracking.CreateRunRequest> = {}): tracking.CreateRunRequest => ({
  runId: '',
  experiment: '',
  name: '',
  kind: RunKind.RUN_KIND_UNSPECIFIED,
  params: {},
  tags: {},
  parentRunId: '',
  sourceId: '',
  status: RunStatus.RUN_STATUS_UNSPECIFIED,
  ...o,
});
const point = (key: string, step: number, value: number): tracking.MetricPoint => ({ key, step, value, time: undefined });

async function fieldOf(p: Promise<unknown>): Promise<string> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(InvalidArgumentError);
  return (err as InvalidArgumentError).field;
}

describe('runs and experiments', () => {
  it('CreateRun fills defaults, is idempotent by run_id, and refuses the id with other settings', async () => {
    const { core, publisher } = coreHarness();
    const first = await core.createRun(createReq({ runId: 'r1', name: 'first', params: { lr: '2e-4' } }));
    expect(first.created).toBe(true);
    expect(first.run).toMatchObject({ runId: 'r1', experiment: 'default', status: RunStatus.RUN_STATUS_RUNNING, kind: RunKind.RUN_KIND_OTHER, params: { lr: '2e-4' } });
    expect(first.run!.startTime).toBeInstanceOf(Date);
    const again = await core.createRun(createReq({ runId: 'r1', name: 'first', params: { lr: '2e-4' } }));
    expect(again.created).toBe(false);
    await expect(core.createRun(createReq({ runId: 'r1', name: 'first', params: { lr: '1e-3' } }))).rejects.toBeInstanceOf(AlreadyExistsError);
    expect((await core.createRun(createReq())).run!.runId).toBe('run_1');
    await vi.waitFor(() => expect(publisher.published.map((p) => p.entry.id)).toEqual(['r1:created', 'run_1:created']));
    expect((await core.getExperiment({ name: 'default' })).experiment).toMatchObject({ name: 'default', runCount: 2 });
  });

  it('names the bad field', async () => {
    const { core } = coreHarness();
    expect(await fieldOf(core.createRun(createReq({ runId: 'bad id' })))).toBe('run_id');
    expect(await fieldOf(core.createRun(createReq({ experiment: 'x'.repeat(201) })))).toBe('experiment');
    expect(await fieldOf(core.createRun(createReq({ params: { '': 'v' } })))).toBe('params[""]');
    expect(await fieldOf(core.createRun(createReq({ status: RunStatus.RUN_STATUS_CRASHED })))).toBe('status');
    expect(await fieldOf(core.getRun({ runId: '' }))).toBe('run_id');
    await expect(core.getRun({ runId: 'nope' })).rejects.toBeInstanceOf(NotFoundError);
    expect(await fieldOf(core.createExperiment({ name: '', description: '' }))).toBe('name');
    // Names that look like paths follow the kit's one name rule (issue 13).
    expect(await fieldOf(core.createExperiment({ name: '../../etc/passwd', description: '' }))).toBe('name');
  });

  it('params are written once: the same value is accepted, another refused with nothing written', async () => {
    const { core } = coreHarness();
    await core.createRun(createReq({ runId: 'r', params: { lr: '2e-4' } }));
    expect(await core.logParams({ runId: 'r', params: { lr: '2e-4', r: '32' } })).toEqual({ written: ['r'] });
    const err = await core.logParams({ runId: 'r', params: { lr: '1e-3', alpha: '16' } }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(FailedPreconditionError);
    expect(String((err as Error).message)).toContain('"lr" is "2e-4", refused "1e-3"');
    expect((await core.getRun({ runId: 'r' })).run!.params).toEqual({ lr: '2e-4', r: '32' });
    await expect(core.logParams({ runId: 'ghost', params: { a: 'b' } })).rejects.toBeInstanceOf(NotFoundError);
  });

  it('sets and removes tags; a key in both lists is refused', async () => {
    const { core } = coreHarness();
    await core.createRun(createReq({ runId: 'r', tags: { a: '1', b: '2' } }));
    expect(await core.setTags({ runId: 'r', set: { c: '3', a: 'x' }, remove: ['b'] })).toEqual({ tags: { a: 'x', c: '3' } });
    expect(await fieldOf(core.setTags({ runId: 'r', set: { a: '1' }, remove: ['a'] }))).toBe('remove[0]');
  });

  it('status: a finished run cannot run again or change its ending; each change publishes status_changed', async () => {
    const { core, publisher } = coreHarness();
    await core.createRun(createReq({ runId: 'r', status: RunStatus.RUN_STATUS_SCHEDULED }));
    expect((await core.updateRunStatus({ runId: 'r', status: RunStatus.RUN_STATUS_RUNNING })).run!.startTime).toBeInstanceOf(Date);
    const done = await core.updateRunStatus({ runId: 'r', status: RunStatus.RUN_STATUS_FINISHED });
    expect(done.run!.endTime).toBeInstanceOf(Date);
    expect((await core.updateRunStatus({ runId: 'r', status: RunStatus.RUN_STATUS_FINISHED })).run!.status).toBe(RunStatus.RUN_STATUS_FINISHED);
    await expect(core.updateRunStatus({ runId: 'r', status: RunStatus.RUN_STATUS_RUNNING })).rejects.toBeInstanceOf(FailedPreconditionError);
    await expect(core.updateRunStatus({ runId: 'r', status: RunStatus.RUN_STATUS_FAILED })).rejects.toBeInstanceOf(FailedPreconditionError);
    expect(await fieldOf(core.updateRunStatus({ runId: 'r', status: RunStatus.RUN_STATUS_UNSPECIFIED }))).toBe('status');
    await vi.waitFor(() =>
      expect(publisher.published.map((p) => [p.entry.id, p.run.status, p.entry.previousStatus])).toEqual([
        ['r:created', RunStatus.RUN_STATUS_SCHEDULED, RunStatus.RUN_STATUS_UNSPECIFIED],
        ['r:status:1', RunStatus.RUN_STATUS_RUNNING, RunStatus.RUN_STATUS_SCHEDULED],
        ['r:status:2', RunStatus.RUN_STATUS_FINISHED, RunStatus.RUN_STATUS_RUNNING],
      ]),
    );
  });

  it('keeps unpublished events in the run and publishes them once NATS is back', async () => {
    const { core, publisher, runs } = coreHarness();
    publisher.failing = true;
    await core.createRun(createReq({ runId: 'r' }));
    await core.updateRunStatus({ runId: 'r', status: RunStatus.RUN_STATUS_KILLED });
    await vi.waitFor(async () => expect((await runs.get('r'))!.outbox.map((e) => e.id)).toEqual(['r:created', 'r:status:1']));
    publisher.failing = false;
    await core.book.retryOutboxes();
    expect(publisher.published.map((p) => p.entry.id)).toEqual(['r:created', 'r:status:1']);
    expect((await runs.get('r'))!.outbox).toEqual([]);
  });

  it('lists experiments by name with page tokens and run counts', async () => {
    const { core } = coreHarness();
    for (const name of ['c', 'a', 'b']) await core.createExperiment({ name, description: `exp ${name}` });
    expect((await core.createExperiment({ name: 'a', description: 'other' })).created).toBe(false);
    await core.createRun(createReq({ experiment: 'b' }));
    const p1 = await core.listExperiments({ pageSize: 2, pageToken: '' });
    expect(p1.experiments.map((e) => [e.name, e.runCount])).toEqual([
      ['a', 0],
      ['b', 1],
    ]);
    const p2 = await core.listExperiments({ pageSize: 2, pageToken: p1.nextPageToken });
    expect(p2.experiments.map((e) => e.name)).toEqual(['c']);
    expect(p2.nextPageToken).toBe('');
    expect(await fieldOf(core.listExperiments({ pageSize: 2, pageToken: 'garbage!' }))).toBe('page_token');
  });
});

describe('metrics over the API', () => {
  it('LogMetrics stores points once, GetRun shows fresh summaries, bad points are refused by field', async () => {
    const { core } = coreHarness();
    await core.createRun(createReq({ runId: 'r' }));
    expect(await core.logMetrics({ runId: 'r', points: [point('loss', 1, 2.5), point('loss', 2, 1.5), point('system/cpu_percent', 1, 50)] })).toEqual({ stored: 3, duplicates: 0 });
    expect(await core.logMetrics({ runId: 'r', points: [point('loss', 2, 9), point('loss', 3, 1)] })).toEqual({ stored: 1, duplicates: 1 });
    const run = (await core.getRun({ runId: 'r' })).run!;
    expect(run.metrics).toEqual([
      { key: 'loss', last: 1, min: 1, max: 2.5, lastStep: 3, count: 3 },
      { key: 'system/cpu_percent', last: 50, min: 50, max: 50, lastStep: 1, count: 1 },
    ]);
    expect(await fieldOf(core.logMetrics({ runId: 'r', points: [point('loss', 4, 1), point('loss', 5, NaN)] }))).toBe('points[1].value');
    expect(await fieldOf(core.logMetrics({ runId: 'r', points: [point('', 4, 1)] }))).toBe('points[0].key');
    expect(await fieldOf(core.logMetrics({ runId: 'r', points: [point('loss', -1, 1)] }))).toBe('points[0].step');
    await expect(core.logMetrics({ runId: 'ghost', points: [point('loss', 1, 1)] })).rejects.toBeInstanceOf(NotFoundError);
  });

  it('GetMetricHistory returns the range, downsampled on the server, with the total before downsampling', async () => {
    const { core } = coreHarness();
    await core.createRun(createReq({ runId: 'r' }));
    const points = Array.from({ length: 2_000 }, (_, i) => point('loss', i, i === 1_234 ? 100 : 1 / (i + 1)));
    await core.logMetrics({ runId: 'r', points });
    const all = await core.getMetricHistory({ runId: 'r', key: 'loss', maxPoints: 0, startStep: 0, endStep: 0 });
    expect(all.totalPoints).toBe(2_000);
    expect(all.points.length).toBeLessThanOrEqual(500);
    expect(all.points[0]!.step).toBe(0);
    expect(all.points[all.points.length - 1]!.step).toBe(1_999);
    expect(all.points.some((p) => p.step === 1_234 && p.value === 100)).toBe(true);
    const range = await core.getMetricHistory({ runId: 'r', key: 'loss', maxPoints: 10_000, startStep: 100, endStep: 109 });
    expect(range.points.map((p) => p.step)).toEqual([100, 101, 102, 103, 104, 105, 106, 107, 108, 109]);
    expect((await core.getMetricHistory({ runId: 'r', key: 'nope', maxPoints: 10, startStep: 0, endStep: 0 })).totalPoints).toBe(0);
    expect(await fieldOf(core.getMetricHistory({ runId: 'r', key: 'loss', maxPoints: 1, startStep: 0, endStep: 0 }))).toBe('max_points');
    expect(await fieldOf(core.getMetricHistory({ runId: 'r', key: 'loss', maxPoints: 10, startStep: 5, endStep: 4 }))).toBe('end_step');
    expect(await fieldOf(core.getMetricHistory({ runId: 'r', key: '', maxPoints: 10, startStep: 0, endStep: 0 }))).toBe('key');
  });
});

describe('SearchRuns and CompareRuns', () => {
  async function seeded() {
    const h = coreHarness();
    const { core } = h;
    const mk = async (runId: string, experiment: string, params: Record<string, string>, tags: Record<string, string>, loss: number[]) => {
      await core.createRun(createReq({ runId, experiment, params, tags }));
      await core.logMetrics({ runId, points: loss.map((v, i) => point('loss', i, v)) });
      h.advance(1_000); // distinct start times
    };
    await mk('a', 'e1', { lr: '2e-4', r: '32' }, { stage: 'champion' }, [3, 2, 1]);
    await mk('b', 'e1', { lr: '0.0002', r: '16' }, { stage: 'dev' }, [3, 2.5]);
    await mk('c', 'e2', { lr: '1e-3', r: '32' }, {}, [4, 0.5]);
    await mk('d', 'e2', { lr: 'auto' }, { stage: 'dev' }, []);
    return h;
  }
  const f = (field: tracking.FilterField, key: string, comparator: tracking.Comparator, value: string): tracking.RunFilter => ({ field, key, comparator, value });
  const search = (o: Partial<tracking.SearchRunsRequest>): tracking.SearchRunsRequest => ({ experiments: [], statuses: [], filters: [], orderBy: '', pageSize: 0, pageToken: '', kind: 0, ...o });

  it('filters params as numbers when both sides are numbers, tags as text, metrics by summary', async () => {
    const { core } = await seeded();
    const ids = async (req: tracking.SearchRunsRequest) => (await core.searchRuns(req)).runs.map((r) => r.runId).sort();
    expect(await ids(search({ filters: [f(FilterField.FILTER_FIELD_PARAM, 'lr', Comparator.COMPARATOR_EQ, '2e-4')] }))).toEqual(['a', 'b']);
    // The contract's rule: "auto" is not a number, so it is compared as text ("auto" > "0.0005").
    expect(await ids(search({ filters: [f(FilterField.FILTER_FIELD_PARAM, 'lr', Comparator.COMPARATOR_GT, '0.0005')] }))).toEqual(['c', 'd']);
    expect(await ids(search({ filters: [f(FilterField.FILTER_FIELD_PARAM, 'lr', Comparator.COMPARATOR_LT, '0.0005')] }))).toEqual(['a', 'b']);
    expect(await ids(search({ filters: [f(FilterField.FILTER_FIELD_PARAM, 'lr', Comparator.COMPARATOR_EQ, 'auto')] }))).toEqual(['d']);
    expect(await ids(search({ filters: [f(FilterField.FILTER_FIELD_TAG, 'stage', Comparator.COMPARATOR_NE, 'dev')] }))).toEqual(['a']);
    expect(await ids(search({ filters: [f(FilterField.FILTER_FIELD_METRIC_LAST, 'loss', Comparator.COMPARATOR_LT, '2')] }))).toEqual(['a', 'c']);
    expect(await ids(search({ filters: [f(FilterField.FILTER_FIELD_METRIC_MAX, 'loss', Comparator.COMPARATOR_GE, '4')] }))).toEqual(['c']);
    expect(await ids(search({ experiments: ['e1'], filters: [f(FilterField.FILTER_FIELD_PARAM, 'r', Comparator.COMPARATOR_EQ, '32')] }))).toEqual(['a']);
  });

  it('orders by metric / param / start time and pages without repeats; tokens are tied to their query', async () => {
    const { core } = await seeded();
    const byLoss = await core.searchRuns(search({ orderBy: 'metric.loss asc', pageSize: 2 }));
    expect(byLoss.runs.map((r) => r.runId)).toEqual(['c', 'a']);
    const rest = await core.searchRuns(search({ orderBy: 'metric.loss asc', pageSize: 2, pageToken: byLoss.nextPageToken }));
    expect(rest.runs.map((r) => r.runId)).toEqual(['b', 'd']); // d has no loss: last
    expect(rest.nextPageToken).toBe('');
    expect((await core.searchRuns(search({}))).runs.map((r) => r.runId)).toEqual(['d', 'c', 'b', 'a']);
    expect((await core.searchRuns(search({ orderBy: 'param.lr desc' }))).runs.map((r) => r.runId)).toEqual(['d', 'c', 'a', 'b']);
    expect(await fieldOf(core.searchRuns(search({ orderBy: 'metric.loss desc', pageToken: byLoss.nextPageToken })))).toBe('page_token');
    expect(await fieldOf(core.searchRuns(search({ orderBy: 'loss' })))).toBe('order_by');
    expect(await fieldOf(core.searchRuns(search({ filters: [f(FilterField.FILTER_FIELD_UNSPECIFIED, 'x', Comparator.COMPARATOR_EQ, '1')] })))).toBe('filters[0].field');
    expect(await fieldOf(core.searchRuns(search({ filters: [f(FilterField.FILTER_FIELD_PARAM, 'x', 0, '1')] })))).toBe('filters[0].comparator');
    expect(await fieldOf(core.searchRuns(search({ filters: [f(FilterField.FILTER_FIELD_METRIC_MIN, 'loss', Comparator.COMPARATOR_LT, 'low')] })))).toBe('filters[0].value');
    expect(await fieldOf(core.searchRuns(search({ statuses: [0] })))).toBe('statuses[0]');
  });

  it('compares runs: differing params first, absent values empty, summaries in run order', async () => {
    const { core } = await seeded();
    const cmp = await core.compareRuns({ runIds: ['b', 'a', 'd'], metricKeys: [] });
    expect(cmp.runs.map((r) => r.runId)).toEqual(['b', 'a', 'd']);
    expect(cmp.params).toEqual([
      { key: 'lr', values: ['0.0002', '2e-4', 'auto'], differs: true },
      { key: 'r', values: ['16', '32', ''], differs: true },
    ]);
    expect(cmp.metrics).toHaveLength(1);
    expect(cmp.metrics[0]!.summaries.map((s) => [s.key, s.last, s.count])).toEqual([
      ['loss', 2.5, 2],
      ['loss', 1, 3],
      ['', 0, 0],
    ]);
    expect(await fieldOf(core.compareRuns({ runIds: ['a'], metricKeys: [] }))).toBe('run_ids');
    expect(await fieldOf(core.compareRuns({ runIds: ['a', 'a'], metricKeys: [] }))).toBe('run_ids[1]');
    await expect(core.compareRuns({ runIds: ['a', 'zz'], metricKeys: [] })).rejects.toBeInstanceOf(NotFoundError);
  });
});
