import { describe, expect, it } from 'vitest';
import { lineChart, sparkline } from './chart';
import { importProgressLine, progressBar, trainingProgressLine } from './progress';
import { displayWidth, renderTable, truncate } from './table';
import { formatBytes, formatDuration, formatNumber, formatPercent, shortDigest } from './units';

describe('sparkline', () => {
  it('maps the range onto eight levels, lowest to highest', () => {
    expect(sparkline([0, 1, 2, 3, 4, 5, 6, 7])).toBe('▁▂▃▄▅▆▇█');
    expect(sparkline([11.9, 11.8, 11.6, 11.3])).toBe('█▇▄▁');
  });
  it('resamples to the width by bucket means, skips non-finite values, draws flat series in the middle', () => {
    expect(sparkline([0, 0, 10, 10], 2)).toBe('▁█');
    expect(sparkline([1, Number.NaN, 3])).toBe('▁█');
    expect(sparkline([5, 5, 5])).toBe('▄▄▄');
    expect(sparkline([])).toBe('');
  });
});

describe('lineChart', () => {
  const falling = Array.from({ length: 40 }, (_, i) => ({ x: i + 1, y: 12 - i * 0.02 }));

  it('has the asked size, labels max / mid / min on the y axis and the first / last step on the x axis', () => {
    const lines = lineChart(falling, { width: 30, height: 6, xLabel: 'step' }).split('\n');
    expect(lines).toHaveLength(6 + 2);
    expect(lines[0]).toMatch(/^ *12 ┤/);
    expect(lines[5]).toMatch(/^ *11\.22 ┤/);
    expect(lines[6]).toMatch(/└─{30}$/);
    expect(lines[7]).toMatch(/1 +40 {2}step$/);
    for (const l of lines.slice(0, 6)) expect(displayWidth(l.replace(/^ *[\d.]* [┤│]/, ''))).toBeLessThanOrEqual(30);
  });

  it('draws a falling series from the top-left to the bottom-right, with a continuous line', () => {
    const rows = lineChart(falling, { width: 20, height: 5 })
      .split('\n')
      .slice(0, 5)
      .map((l) => [...l.replace(/^ *[\d.]* [┤│]/, '').padEnd(20, '\u2800')]);
    const dotted = (r: number, c: number) => rows[r]![c] !== '\u2800';
    expect(dotted(0, 0)).toBe(true);
    expect(dotted(4, 19)).toBe(true);
    expect(dotted(0, 19)).toBe(false);
    expect(dotted(4, 0)).toBe(false);
    for (let c = 0; c < 20; c++) expect(rows.some((r) => r[c] !== '\u2800')).toBe(true);
  });

  it('handles one point, a flat series and no data', () => {
    expect(lineChart([{ x: 5, y: 2 }], { width: 10, height: 3 })).toMatch(/[\u2801-\u28ff]/);
    expect(lineChart([{ x: 1, y: 3 }, { x: 2, y: 3 }], { width: 10, height: 3 }).split('\n')[0]).toMatch(/3\.5 ┤/);
    expect(lineChart([])).toBe('(no data)');
  });
});

describe('progress', () => {
  it('draws a bar with eighth blocks and a percentage', () => {
    expect(progressBar(0, 10, 10)).toBe('[░░░░░░░░░░]   0%');
    expect(progressBar(5, 10, 10)).toBe('[█████░░░░░]  50%');
    expect(progressBar(1, 16, 10)).toBe('[▋░░░░░░░░░]   6%');
    expect(progressBar(12, 10, 10)).toBe('[██████████] 100%');
    expect(progressBar(3, 0, 4)).toBe('[░░░░]');
  });
  it('shows step, epoch, loss, throughput, eta and state of a training job', () => {
    expect(trainingProgressLine({ step: 20, totalSteps: 40, epoch: 1.5, loss: 11.4213, tokensPerSecond: 312.4, etaSeconds: 31, state: 'running' }, 8)).toBe(
      '[████░░░░]  50%  step 20/40  epoch 1.50  loss 11.4213  312 tok/s  eta 31.0s  running',
    );
    expect(trainingProgressLine({ step: 0, totalSteps: 0, state: 'queued' }, 4)).toBe('[░░░░]  step 0/?  queued');
  });
  it('shows an import\'s phase, rows and bytes', () => {
    expect(importProgressLine('tokenizing', 1204, 3 * 1048576, 12 * 1048576, 4)).toBe('[█░░░]  25%  tokenizing  1,204 rows  3.0 MiB / 12.0 MiB');
  });
});

describe('tables and units', () => {
  it('measures CJK as two columns and aligns tables on display width', () => {
    expect(displayWidth('胸痛ab')).toBe(6);
    expect(truncate('一二三四五', 7)).toBe('一二三…');
    expect(renderTable([{ a: '胸痛', b: '1' }, { a: 'x', b: '10' }], [{ header: 'NAME', value: (r) => r.a }, { header: 'N', value: (r) => r.b, align: 'right' }])).toBe('NAME   N\n胸痛   1\nx     10');
    expect(renderTable([], [{ header: 'A', value: () => '' }], '(none)')).toBe('(none)');
  });
  it('formats durations, sizes, percentages, numbers and digests', () => {
    expect([formatDuration(850), formatDuration(12_400), formatDuration(185_000), formatDuration(3_720_000)]).toEqual(['850ms', '12.4s', '3m05s', '1h02m']);
    expect([formatBytes(512), formatBytes(1536), formatBytes(48.2 * 1048576)]).toEqual(['512 B', '1.50 KiB', '48.2 MiB']);
    expect([formatPercent(0.4), formatPercent(undefined)]).toEqual(['40.0%', '–']);
    expect([formatNumber(11.90341), formatNumber(2e-4), formatNumber(0.0123), formatNumber(3)]).toEqual(['11.903', '2.00e-4', '0.0123', '3']);
    expect(shortDigest('a2238eefe577412850910f50717eede89df9d059bdf801617a9378a2222c035f')).toBe('a2238eefe577');
  });
});
