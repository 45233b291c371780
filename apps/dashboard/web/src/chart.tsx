/**
 * A uPlot line chart of one or more step series: drag to zoom (the page then asks the gateway for
 * that step range at full resolution), double-click to reset, optional EMA smoothing drawn over
 * the faded raw curve. Each chart registers itself on `window.medtuneCharts[id]` with the points
 * it was given, so a test can compare what is drawn with the tracking service's history.
 */
import { useEffect, useRef } from 'preact/hooks';
import uPlot from 'uplot';

/** One curve. */
export interface Curve {
  readonly label: string;
  readonly x: readonly number[];
  readonly y: readonly number[];
}

/** What tests and the benchmark read back. */
export interface ChartHandle {
  readonly plot: uPlot;
  curves: readonly Curve[];
  /** performance.now() of the first draw with data. */
  firstDrawMs?: number;
}

declare global {
  interface Window {
    medtuneCharts?: Record<string, ChartHandle>;
  }
}

const COMPACT = new Intl.NumberFormat('en', { notation: 'compact', maximumSignificantDigits: 3 });
/** Axis numbers: 1.2M, 0.0042, 3e-5. */
const compact = (v: number) => (v === 0 ? '0' : Math.abs(v) < 1e-3 ? v.toExponential(1) : COMPACT.format(v));

const COLORS = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b'];

/** Exponential moving average with TensorBoard's debiasing (weight 0 = off). */
export function ema(values: readonly number[], weight: number): number[] {
  if (weight <= 0) return values.slice();
  const out: number[] = new Array(values.length);
  let last = 0;
  for (let i = 0; i < values.length; i++) {
    last = last * weight + (1 - weight) * values[i]!;
    out[i] = last / (1 - weight ** (i + 1));
  }
  return out;
}

function toData(curves: readonly Curve[], smoothing: number): uPlot.AlignedData {
  const tables: uPlot.AlignedData[] = curves.map((c) => (smoothing > 0 ? [c.x.slice(), c.y.slice(), ema(c.y, smoothing)] : [c.x.slice(), c.y.slice()]) as unknown as uPlot.AlignedData);
  if (tables.length === 1) return tables[0]!;
  return uPlot.join(tables);
}

function seriesOf(curves: readonly Curve[], smoothing: number): uPlot.Series[] {
  const s: uPlot.Series[] = [{ label: 'step' }];
  curves.forEach((c, i) => {
    const color = COLORS[i % COLORS.length]!;
    if (smoothing > 0) {
      s.push({ label: `${c.label} (raw)`, stroke: `${color}55`, width: 1, spanGaps: true, points: { show: false } });
      s.push({ label: c.label, stroke: color, width: 2, spanGaps: true, points: { show: false } });
    } else s.push({ label: c.label, stroke: color, width: 1.5, spanGaps: true, points: { show: false } });
  });
  return s;
}

/** Props of {@link Chart}. */
export interface ChartProps {
  id: string;
  title: string;
  curves: readonly Curve[];
  smoothing?: number;
  height?: number;
  /** Called with the step range a user dragged over; `undefined` on reset. */
  onZoom?: (range: { min: number; max: number } | undefined) => void;
  yLog?: boolean;
}

/** A line chart of step series. */
export function Chart({ id, title, curves, smoothing = 0, height = 220, onZoom, yLog }: ChartProps) {
  const box = useRef<HTMLDivElement>(null);
  const handle = useRef<ChartHandle | null>(null);
  const zoomRef = useRef(onZoom);
  zoomRef.current = onZoom;
  const shape = `${curves.length}:${smoothing > 0}:${curves.map((c) => c.label).join('|')}`;

  useEffect(() => {
    const el = box.current!;
    const h: { current?: ChartHandle } = {};
    let userZoom = false;
    const opts: uPlot.Options = {
      title,
      width: Math.max(320, el.clientWidth || 600),
      height,
      series: seriesOf(curves, smoothing),
      scales: { x: { time: false }, y: yLog ? { distr: 3 } : {} },
      axes: [{ label: 'step' }, { size: 64, values: (_u, splits) => splits.map(compact) }],
      cursor: { drag: { x: true, y: false, setScale: true } },
      legend: { live: true },
      hooks: {
        draw: [
          (u) => {
            if (h.current && h.current.firstDrawMs === undefined && u.data[0].length > 0) {
              h.current.firstDrawMs = performance.now();
              el.dataset['rendered'] = 'true';
            }
          },
        ],
        setSelect: [() => (userZoom = true)],
        setScale: [
          (u, key) => {
            if (key !== 'x' || !userZoom) return;
            userZoom = false;
            const min = u.scales['x']?.min;
            const max = u.scales['x']?.max;
            if (min != null && max != null) zoomRef.current?.({ min: Math.floor(min), max: Math.ceil(max) });
          },
        ],
      },
    };
    performance.mark(`medtune:chart-init:${id}`);
    const plot = new uPlot(opts, toData(curves, smoothing), el);
    h.current = { plot, curves };
    handle.current = h.current;
    (window.medtuneCharts ??= {})[id] = h.current;
    const onDbl = () => zoomRef.current?.(undefined);
    el.addEventListener('dblclick', onDbl);
    const ro = new ResizeObserver(() => plot.setSize({ width: Math.max(320, el.clientWidth), height }));
    ro.observe(el);
    return () => {
      ro.disconnect();
      el.removeEventListener('dblclick', onDbl);
      plot.destroy();
      const charts = window.medtuneCharts;
      if (charts && charts[id] === h.current) delete charts[id];
    };
    // Rebuilt only when the shape changes; new data goes through setData below.
  }, [shape, id, height, yLog]);

  useEffect(() => {
    const h = handle.current;
    if (!h) return;
    h.curves = curves;
    h.plot.setData(toData(curves, smoothing));
  }, [curves, smoothing]);

  return <div class="chart" id={`chart-${id}`} ref={box} data-points={curves.reduce((n, c) => n + c.x.length, 0)} />;
}

/** A histogram as bars (uPlot's bars path), with an optional vertical marker (e.g. max_seq_length). */
export function Histogram({ id, title, edges, counts, marker, markerLabel }: { id: string; title: string; edges: number[]; counts: number[]; marker?: number; markerLabel?: string }) {
  const box = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const el = box.current!;
    const bars = uPlot.paths.bars!({ size: [0.9, 100], align: 1 });
    const data = [edges.slice(0, counts.length), counts, edges.slice(0, counts.length).map(() => null)] as unknown as uPlot.AlignedData;
    const plot = new uPlot(
      {
        title,
        width: Math.max(320, el.clientWidth || 600),
        height: 220,
        scales: { x: { time: false } },
        axes: [{ label: 'tokens per row' }, { label: 'rows' }],
        series: [{ label: 'tokens ≥' }, { label: 'rows', fill: '#1f77b455', stroke: '#1f77b4', paths: bars, points: { show: false } }, { label: markerLabel ?? '', show: false }],
        hooks: {
          draw: [
            (u) => {
              el.dataset['rendered'] = 'true';
              if (marker === undefined) return;
              const x = u.valToPos(marker, 'x', true);
              const ctx = u.ctx;
              ctx.save();
              ctx.strokeStyle = '#d62728';
              ctx.setLineDash([6, 4]);
              ctx.lineWidth = 2;
              ctx.beginPath();
              ctx.moveTo(x, u.bbox.top);
              ctx.lineTo(x, u.bbox.top + u.bbox.height);
              ctx.stroke();
              ctx.fillStyle = '#d62728';
              ctx.fillText(markerLabel ?? String(marker), x + 4, u.bbox.top + 12);
              ctx.restore();
            },
          ],
        },
      },
      data,
      el,
    );
    if (marker !== undefined) plot.setScale('x', { min: Math.min(edges[0] ?? 0, marker), max: Math.max(edges[counts.length] ?? marker, marker * 1.05) });
    return () => plot.destroy();
  }, [id, title, edges, counts, marker, markerLabel]);
  return <div class="chart" id={`chart-${id}`} ref={box} />;
}
