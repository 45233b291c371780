/** Progress bars as strings (the caller decides where and how often to draw them). */
import { formatDuration } from './units';

/**
 * "[██████░░░░░░░░░░]  37%" for done/total in `width` cells; unknown total (0) draws an empty
 * bar with no percentage. Eighth-blocks make the bar move smoothly at small widths.
 */
export function progressBar(done: number, total: number, width = 24): string {
  if (!(total > 0)) return `[${'░'.repeat(width)}]`;
  const frac = Math.min(1, Math.max(0, done / total));
  const eighths = Math.round(frac * width * 8);
  const full = Math.floor(eighths / 8);
  const part = eighths % 8;
  const partial = part > 0 ? PARTIALS[part]! : '';
  const rest = width - full - (partial ? 1 : 0);
  return `[${'█'.repeat(full)}${partial}${'░'.repeat(Math.max(0, rest))}] ${String(Math.floor(frac * 100)).padStart(3)}%`;
}

const PARTIALS = ['', '▏', '▎', '▍', '▌', '▋', '▊', '▉'];

/** The fields of a training progress line. */
export interface TrainingProgressView {
  step: number;
  totalSteps: number;
  epoch?: number | undefined;
  etaSeconds?: number | undefined;
  loss?: number | undefined;
  tokensPerSecond?: number | undefined;
  state?: string | undefined;
}

/** "[████░░░░]  50%  step 20/40  epoch 1.50  loss 11.42  312 tok/s  eta 0m31s  running". */
export function trainingProgressLine(v: TrainingProgressView, barWidth = 24): string {
  const parts = [progressBar(v.step, v.totalSteps, barWidth), `step ${v.step}/${v.totalSteps || '?'}`];
  if (v.epoch !== undefined) parts.push(`epoch ${v.epoch.toFixed(2)}`);
  if (v.loss !== undefined && Number.isFinite(v.loss)) parts.push(`loss ${v.loss.toFixed(4)}`);
  if (v.tokensPerSecond) parts.push(`${Math.round(v.tokensPerSecond)} tok/s`);
  if (v.etaSeconds !== undefined && v.etaSeconds > 0 && v.step < v.totalSteps) parts.push(`eta ${formatDuration(v.etaSeconds * 1000)}`);
  if (v.state) parts.push(v.state);
  return parts.join('  ');
}

/** "[███░░░]  12%  reading  1,204 rows  3.1 MiB / 24.0 MiB" for an import. */
export function importProgressLine(phase: string, rowsRead: number, bytesRead: number, totalBytes: number, barWidth = 24): string {
  const mib = (n: number) => `${(n / 1048576).toFixed(1)} MiB`;
  const size = totalBytes > 0 ? `${mib(bytesRead)} / ${mib(totalBytes)}` : mib(bytesRead);
  return `${progressBar(bytesRead, totalBytes, barWidth)}  ${phase || 'reading'}  ${rowsRead.toLocaleString('en-US')} rows  ${size}`;
}
