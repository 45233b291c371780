/**
 * Terminal charts of a metric's history: a one-line sparkline and a braille line chart with
 * axes. Pure functions of the points, so they are unit-tested byte for byte.
 */
import { formatNumber } from './units';

/** One point of a series. */
export interface SeriesPoint {
  x: number;
  y: number;
}

const SPARKS = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];

/**
 * A sparkline of `values`, resampled to at most `width` characters (each character shows the
 * mean of its bucket). Non-finite values are skipped. Flat series draw at the middle height.
 */
export function sparkline(values: readonly number[], width = values.length): string {
  const finite = values.filter((v) => Number.isFinite(v));
  if (finite.length === 0 || width < 1) return '';
  const buckets = resample(finite, Math.min(width, finite.length));
  const lo = Math.min(...buckets);
  const hi = Math.max(...buckets);
  return buckets.map((v) => SPARKS[hi === lo ? 3 : Math.round(((v - lo) / (hi - lo)) * (SPARKS.length - 1))]).join('');
}

/** Options of {@link lineChart}. */
export interface LineChartOptions {
  /** Plot area width in terminal columns (each holds 2 braille dots). Default 60. */
  width?: number;
  /** Plot area height in terminal rows (each holds 4 braille dots). Default 10. */
  height?: number;
  /** Label under the x axis, e.g. "step". */
  xLabel?: string;
}

/**
 * A line chart drawn with braille dots: consecutive points joined by straight segments, the
 * y axis labelled with the max, the middle and the min, the x axis with the first and last x.
 * Returns the lines (no trailing newline). Fewer than one finite point gives "(no data)".
 */
export function lineChart(points: readonly SeriesPoint[], options: LineChartOptions = {}): string {
  const width = Math.max(4, options.width ?? 60);
  const height = Math.max(2, options.height ?? 10);
  const pts = points.filter((p) => Number.isFinite(p.x) && Number.isFinite(p.y));
  if (pts.length === 0) return '(no data)';
  const xs = pts.map((p) => p.x);
  const ys = pts.map((p) => p.y);
  const [x0, x1] = [Math.min(...xs), Math.max(...xs)];
  let [y0, y1] = [Math.min(...ys), Math.max(...ys)];
  if (y0 === y1) [y0, y1] = [y0 - 0.5, y1 + 0.5];

  const dotsW = width * 2;
  const dotsH = height * 4;
  const grid: number[][] = Array.from({ length: height }, () => new Array<number>(width).fill(0));
  const toDot = (p: SeriesPoint): [number, number] => [
    x1 === x0 ? 0 : Math.round(((p.x - x0) / (x1 - x0)) * (dotsW - 1)),
    Math.round(((y1 - p.y) / (y1 - y0)) * (dotsH - 1)),
  ];
  const set = (dx: number, dy: number) => {
    const row = grid[Math.floor(dy / 4)]!;
    const col = Math.floor(dx / 2);
    row[col] = row[col]! | BRAILLE_BITS[dx % 2]![dy % 4]!;
  };
  let prev: [number, number] | undefined;
  for (const p of pts) {
    const d = toDot(p);
    if (prev) for (const [dx, dy] of segment(prev, d)) set(dx, dy);
    else set(d[0], d[1]);
    prev = d;
  }

  const labels = [formatNumber(y1), formatNumber((y0 + y1) / 2), formatNumber(y0)];
  const lw = Math.max(...labels.map((l) => l.length));
  const mid = Math.floor((height - 1) / 2);
  const lines = grid.map((row, i) => {
    const label = i === 0 ? labels[0]! : i === height - 1 ? labels[2]! : i === mid ? labels[1]! : '';
    const tick = label ? '┤' : '│';
    return `${label.padStart(lw)} ${tick}${row.map((bits) => String.fromCodePoint(0x2800 + bits)).join('')}`.trimEnd();
  });
  const first = formatNumber(x0);
  const last = formatNumber(x1);
  const gap = Math.max(1, width - first.length - last.length);
  lines.push(`${' '.repeat(lw)} └${'─'.repeat(width)}`);
  lines.push(`${' '.repeat(lw)}  ${first}${' '.repeat(gap)}${x1 === x0 ? '' : last}${options.xLabel ? `  ${options.xLabel}` : ''}`.trimEnd());
  return lines.join('\n');
}

// Braille dot bits by [column][row] inside one 2×4 cell.
const BRAILLE_BITS = [
  [0x01, 0x02, 0x04, 0x40],
  [0x08, 0x10, 0x20, 0x80],
];

/** The dots of a straight segment between two dot positions, both ends included (Bresenham). */
function* segment([ax, ay]: [number, number], [bx, by]: [number, number]): Generator<[number, number]> {
  const dx = Math.abs(bx - ax);
  const dy = -Math.abs(by - ay);
  const sx = ax < bx ? 1 : -1;
  const sy = ay < by ? 1 : -1;
  let err = dx + dy;
  let [x, y] = [ax, ay];
  for (;;) {
    yield [x, y];
    if (x === bx && y === by) return;
    const e2 = 2 * err;
    if (e2 >= dy) {
      err += dy;
      x += sx;
    }
    if (e2 <= dx) {
      err += dx;
      y += sy;
    }
  }
}

/** Means of `n` equal buckets of `values` (n <= values.length). */
function resample(values: readonly number[], n: number): number[] {
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const from = Math.floor((i * values.length) / n);
    const to = Math.max(from + 1, Math.floor(((i + 1) * values.length) / n));
    const slice = values.slice(from, to);
    out.push(slice.reduce((a, b) => a + b, 0) / slice.length);
  }
  return out;
}
