/** Calls to the gateway. Errors keep the service's gRPC code and message for the page to show. */

/** An error the gateway returned (a service error passed through). */
export class ApiError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly http: number,
    readonly field?: string,
  ) {
    super(message);
  }
}

/** A body the gateway sent, or its error as an {@link ApiError}. */
export function unwrap<T>(r: { ok: boolean; status: number; body: unknown }, statusText = ''): T {
  const body = r.body as { error?: { code: string; message: string; field?: string } };
  if (!r.ok) throw new ApiError(body.error?.code ?? `HTTP_${r.status}`, body.error?.message ?? statusText, r.status, body.error?.field);
  return body as T;
}

async function parse<T>(res: Response): Promise<T> {
  return unwrap<T>({ ok: res.ok, status: res.status, body: await res.json().catch(() => ({})) }, res.statusText);
}

/** GET /api/... as JSON. */
export async function get<T>(path: string, query: Record<string, string | number | string[] | undefined> = {}): Promise<T> {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) {
    if (v === undefined || v === '') continue;
    for (const x of Array.isArray(v) ? v : [v]) q.append(k, String(x));
  }
  const s = q.toString();
  return parse<T>(await fetch(`/api${path}${s ? `?${s}` : ''}`, { headers: { accept: 'application/json' } }));
}

/** POST / DELETE /api/... with a JSON body. */
export async function send<T>(method: 'POST' | 'DELETE', path: string, body: unknown = {}): Promise<T> {
  return parse<T>(await fetch(`/api${path}`, { method, headers: { 'content-type': 'application/json', accept: 'application/json' }, body: JSON.stringify(body) }));
}

/** Formats numbers the way every table here shows them. */
export function fmt(v: number | undefined | null, digits = 4): string {
  if (v === undefined || v === null || Number.isNaN(v)) return '–';
  if (Number.isInteger(v)) return v.toLocaleString('en');
  const a = Math.abs(v);
  return a !== 0 && (a < 1e-3 || a >= 1e6) ? v.toExponential(2) : v.toPrecision(digits);
}

/** Bytes as KiB / MiB / GiB. */
export function bytes(n: number | undefined): string {
  if (!n) return '–';
  const u = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  let v = n;
  while (v >= 1024 && i < u.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v.toFixed(i ? 1 : 0)} ${u[i]}`;
}

/** Seconds as 1h 2m 3s. */
export function duration(seconds: number | undefined): string {
  if (seconds === undefined || !Number.isFinite(seconds) || seconds < 0) return '–';
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  return h ? `${h}h ${m}m` : m ? `${m}m ${s % 60}s` : `${s}s`;
}

/** An enum name without its prefix, lower case (RUN_STATUS_RUNNING → running). */
export const enumText = (v: string | undefined, prefix: string) => (v ? v.replace(prefix, '').toLowerCase() : '–');
