/** What the inline boot script (boot.ts) and the app share: the early requests and the curve size. */

/** A response read by the boot script: status and parsed body. */
export interface BootResponse {
  ok: boolean;
  status: number;
  body: unknown;
}

/** The run page's early requests. */
export interface Boot {
  /** The run id as it appears in the page's path (URL-encoded). */
  path: string;
  /** max_points of the loss request. */
  points: number;
  run: Promise<BootResponse>;
  loss: Promise<BootResponse>;
}

declare global {
  interface Window {
    medtuneBoot?: Boot;
  }
}

/** Width of the charts' grid cell (style.css: columns of at least 460 px, 0.75 rem gaps and padding). */
function chartWidth(viewport: number): number {
  const inner = Math.max(320, viewport - 2 * 12);
  const cols = Math.max(1, Math.floor((inner + 12) / (460 + 12)));
  return Math.max(320, Math.floor((inner - 12 * (cols - 1)) / cols) - 16);
}

/**
 * Points per curve asked for: two per pixel column of the chart, between 200 and the gateway's
 * default cap of 2,000. The tracking service's min / max decimation keeps each bucket's lowest
 * and highest value; its buckets are a power of two steps wide (so it can answer from its digest
 * without reading the points), hence one to two buckets per column: nothing visible is lost.
 */
export function curvePoints(viewport: number): number {
  return Math.min(2_000, Math.max(200, 2 * chartWidth(viewport)));
}

/** Takes the boot requests of this run, once (later navigations fetch afresh). */
export function takeBoot(runId: string): Boot | undefined {
  const b = window.medtuneBoot;
  if (!b) return undefined;
  let id: string;
  try {
    id = decodeURIComponent(b.path);
  } catch {
    return undefined;
  }
  if (id !== runId) return undefined;
  window.medtuneBoot = undefined;
  return b;
}
