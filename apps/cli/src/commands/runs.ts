/** medtune runs metrics | show */
import { tracking } from '@medtune/contracts';
import { intOpt, str, type CommandSpec } from '../args';
import type { CliContext } from '../context';
import { lineChart, sparkline } from '../format/chart';
import { renderFields, renderTable } from '../format/table';
import { formatNumber, formatTime } from '../format/units';

const RUN_STATUS = (s: tracking.RunStatus) => (tracking.RunStatus[s] ?? 'UNKNOWN').replace(/^RUN_STATUS_/, '').toLowerCase();

/** The chart of one metric: title, braille line chart, sparkline and summary. */
export function metricChartText(runId: string, key: string, res: tracking.GetMetricHistoryResponse, width: number, height: number): string {
  const pts = res.points.map((p) => ({ x: p.step, y: p.value }));
  if (pts.length === 0) return `${key} of run ${runId}: no points yet`;
  const ys = pts.map((p) => p.y);
  const first = ys[0]!;
  const last = ys[ys.length - 1]!;
  return [
    `${key} of run ${runId} — ${res.totalPoints} points${res.totalPoints > pts.length ? ` (${pts.length} shown)` : ''}`,
    lineChart(pts, { width, height, xLabel: 'step' }),
    `${sparkline(ys, width)}  first ${formatNumber(first)}  last ${formatNumber(last)}  min ${formatNumber(Math.min(...ys))}  max ${formatNumber(Math.max(...ys))}`,
  ].join('\n');
}

/** The tracking commands. */
export const runsCommands: CommandSpec<CliContext>[] = [
  {
    path: ['runs', 'metrics'],
    summary: 'a metric\'s history as a chart in the terminal (run id = training job id)',
    args: ['<run-id>'],
    options: {
      key: { type: 'string', value: 'KEY', description: 'metric key (default loss)' },
      points: { type: 'string', value: 'N', description: 'points to fetch, downsampled by the service (default: chart width × 2)' },
      height: { type: 'string', value: 'ROWS', description: 'chart height (default 12)' },
    },
    async run(ctx, p) {
      const runId = p.positionals[0]!;
      const key = str(p, 'key') ?? 'loss';
      const width = Math.max(20, Math.min(120, ctx.out.width - 14));
      const res = await ctx.clients.tracking.unary('getMetricHistory', { runId, key, maxPoints: intOpt(p, 'points', { min: 2, max: 10_000 }) ?? width * 2, startStep: 0, endStep: 0 });
      ctx.out.result(tracking.GetMetricHistoryResponse.toJSON(res), () => metricChartText(runId, key, res, width, intOpt(p, 'height', { min: 2, max: 60 }) ?? 12));
    },
  },
  {
    path: ['runs', 'show'],
    summary: 'a run: status, params, tags and a summary of each metric',
    args: ['<run-id>'],
    async run(ctx, p) {
      const { run } = await ctx.clients.tracking.unary('getRun', { runId: p.positionals[0]! });
      const r = run!;
      ctx.out.result(tracking.Run.toJSON(r), () =>
        [
          renderFields([
            ['run', r.runId],
            ['experiment', r.experiment],
            ['name', r.name || undefined],
            ['status', RUN_STATUS(r.status)],
            ['parent', r.parentRunId || undefined],
            ['started', formatTime(r.startTime)],
            ['ended', r.endTime ? formatTime(r.endTime) : undefined],
          ]),
          '',
          renderTable(r.metrics, [
            { header: 'METRIC', value: (m) => m.key },
            { header: 'LAST', value: (m) => formatNumber(m.last), align: 'right' },
            { header: 'MIN', value: (m) => formatNumber(m.min), align: 'right' },
            { header: 'MAX', value: (m) => formatNumber(m.max), align: 'right' },
            { header: 'STEP', value: (m) => String(m.lastStep), align: 'right' },
            { header: 'POINTS', value: (m) => String(m.count), align: 'right' },
          ], '(no metrics)'),
          '',
          renderTable(Object.entries(r.params).sort(), [
            { header: 'PARAM', value: ([k]) => k },
            { header: 'VALUE', value: ([, v]) => v, max: 80 },
          ], '(no params)'),
        ].join('\n'),
      );
    },
  },
];
