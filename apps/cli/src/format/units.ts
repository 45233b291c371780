/** Small, pure formatters for numbers people read: durations, byte sizes, percentages, losses. */

/** "1h02m", "3m05s", "12.4s", "850ms". */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return '–';
  if (ms < 1_000) return `${Math.round(ms)}ms`;
  if (ms < 60_000) return `${(ms / 1_000).toFixed(1)}s`;
  const s = Math.round(ms / 1_000);
  const h = Math.floor(s / 3_600);
  const m = Math.floor((s % 3_600) / 60);
  const sec = s % 60;
  return h > 0 ? `${h}h${pad2(m)}m` : `${m}m${pad2(sec)}s`;
}

/** "512 B", "1.5 KiB", "2.3 GiB". */
export function formatBytes(n: number): string {
  if (!Number.isFinite(n) || n < 0) return '–';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return i === 0 ? `${v} B` : `${v.toFixed(v < 10 ? 2 : 1)} ${units[i]}`;
}

/** 0.4 → "40.0%"; undefined → "–". */
export function formatPercent(x: number | undefined, digits = 1): string {
  return x === undefined || !Number.isFinite(x) ? '–' : `${(x * 100).toFixed(digits)}%`;
}

/** A metric value with enough significant digits to see it move: 11.9034 → "11.90", 2e-4 → "2.00e-4". */
export function formatNumber(x: number | undefined): string {
  if (x === undefined || !Number.isFinite(x)) return '–';
  if (x === 0) return '0';
  const a = Math.abs(x);
  if (a >= 1e6 || a < 1e-3) return x.toExponential(2).replace('e-', 'e-').replace('e+', 'e');
  if (Number.isInteger(x)) return String(x);
  return a >= 100 ? x.toFixed(1) : a >= 1 ? x.toFixed(3).replace(/0+$/, '').replace(/\.$/, '') : x.toPrecision(3);
}

/** A signed delta: +0.200, -1.5e-3. */
export function formatDelta(x: number | undefined): string {
  if (x === undefined || !Number.isFinite(x)) return '–';
  const s = formatNumber(x);
  return x > 0 ? `+${s}` : s;
}

/** Shortens a content digest for display: the first 12 hex digits (the dataset service accepts that prefix). */
export function shortDigest(digest: string): string {
  return digest.replace(/^sha256:/, '').slice(0, 12);
}

/** "2026-11-28 07:40:01" in UTC from a Date (or "–"). */
export function formatTime(d: Date | undefined): string {
  if (!d || Number.isNaN(d.getTime())) return '–';
  return d.toISOString().replace('T', ' ').replace(/\.\d+Z$/, 'Z');
}

function pad2(n: number): string {
  return n < 10 ? `0${n}` : String(n);
}
