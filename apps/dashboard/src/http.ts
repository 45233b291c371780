/**
 * The gateway's HTTP adapter (node:http): JSON routes over the API, server-sent events over the
 * live feed, the session cookie, and the front end's files. Service errors pass through as
 * `{ error: { code, message, field? } }` with the gRPC status name and an HTTP status from one
 * table. The user's token travels only in a POST body once and then in an httpOnly cookie; it is
 * never put in a URL, a log line or a response.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { status } from '@grpc/grpc-js';
import { DomainError, InvalidArgumentError, NotFoundError, UnauthenticatedError, type Logger } from '@medtune/kit';
import type { DashboardApi } from './api';
import type { Services } from './clients';
import { followRun, parseCursor } from './live';
import type { Asset } from './assets';

/** HTTP status of each gRPC status the services return. */
const HTTP_OF: ReadonlyMap<number, number> = new Map([
  [status.INVALID_ARGUMENT, 400],
  [status.OUT_OF_RANGE, 400],
  [status.UNAUTHENTICATED, 401],
  [status.PERMISSION_DENIED, 403],
  [status.NOT_FOUND, 404],
  [status.ALREADY_EXISTS, 409],
  [status.ABORTED, 409],
  [status.FAILED_PRECONDITION, 412],
  [status.RESOURCE_EXHAUSTED, 429],
  [status.CANCELLED, 499],
  [status.UNIMPLEMENTED, 501],
  [status.UNAVAILABLE, 503],
  [status.DEADLINE_EXCEEDED, 504],
]);

/** The session cookie (httpOnly: page scripts never see the token). */
export const COOKIE = 'medtune_session';

/** The JSON body of an error, and its HTTP status. */
export function errorBody(err: unknown): { http: number; body: { error: { code: string; message: string; field?: string } } } {
  if (err instanceof DomainError) {
    const field = err instanceof InvalidArgumentError && err.field ? { field: err.field } : {};
    return { http: HTTP_OF.get(err.code) ?? 500, body: { error: { code: status[err.code] ?? 'UNKNOWN', message: err.message, ...field } } };
  }
  return { http: 500, body: { error: { code: 'INTERNAL', message: 'internal error in the dashboard gateway (see its log)' } } };
}

/** What the HTTP adapter serves. */
export interface HttpDeps {
  api: DashboardApi;
  services: Pick<Services, 'tracking' | 'training'>;
  assets: ReadonlyMap<string, Asset>;
  log: Logger;
  secureCookie: boolean;
}

type Handler = (req: IncomingMessage, url: URL, params: string[], token: string | undefined) => Promise<unknown>;

const intParam = (url: URL, name: string, dflt: number, min: number, max: number): number => {
  const raw = url.searchParams.get(name);
  if (raw === null || raw === '') return dflt;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min || n > max) throw new InvalidArgumentError(name, `expected an integer in ${min}..${max} (got ${JSON.stringify(raw)})`);
  return n;
};
const list = (url: URL, name: string): string[] =>
  url.searchParams
    .getAll(name)
    .flatMap((v) => v.split(','))
    .map((v) => v.trim())
    .filter(Boolean);

async function jsonBody(req: IncomingMessage): Promise<Record<string, unknown>> {
  if (!(req.headers['content-type'] ?? '').startsWith('application/json')) throw new InvalidArgumentError('content-type', 'send application/json');
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of req as AsyncIterable<Buffer>) {
    size += c.length;
    if (size > 64 * 1024) throw new InvalidArgumentError('body', 'larger than 64 KiB');
    chunks.push(c);
  }
  try {
    const v = JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown;
    if (v && typeof v === 'object' && !Array.isArray(v)) return v as Record<string, unknown>;
  } catch {
    // falls through to the error below
  }
  throw new InvalidArgumentError('body', 'expected a JSON object');
}
const text = (b: Record<string, unknown>, k: string): string => (typeof b[k] === 'string' ? (b[k] as string) : '');
const optInt = (b: Record<string, unknown>, k: string): number | undefined => {
  const v = b[k];
  if (v === undefined || v === null || v === '') return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError(k, `expected a whole number (got ${JSON.stringify(v)})`);
  return n;
};

function cookieToken(req: IncomingMessage): string | undefined {
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const [k, ...v] = part.trim().split('=');
    if (k === COOKIE) return decodeURIComponent(v.join('='));
  }
  return undefined;
}

/** Routes: method + path pattern → handler. */
function routes(deps: HttpDeps, needToken: (token: string | undefined) => void): [string, RegExp, Handler][] {
  const { api } = deps;
  const pageSize = (url: URL) => intParam(url, 'page_size', 50, 1, 500);
  const pageToken = (url: URL) => url.searchParams.get('page_token') ?? '';
  const dec = decodeURIComponent;
  return [
    ['GET', /^\/api\/session$/, async (_r, _u, _p, token) => api.session(token !== undefined)],
    ['GET', /^\/api\/runs$/, async (_r, url) =>
      api.listRuns({ statuses: list(url, 'status'), experiments: list(url, 'experiment'), filters: url.searchParams.getAll('filter').filter(Boolean), kind: url.searchParams.get('kind') ?? '', orderBy: url.searchParams.get('order_by') ?? '', pageSize: pageSize(url), pageToken: pageToken(url) })],
    ['GET', /^\/api\/runs\/([^/]+)$/, async (_r, _u, [id]) => api.getRun(dec(id!))],
    ['GET', /^\/api\/compare$/, async (_r, url) => api.compareRuns(list(url, 'run'), url.searchParams.get('key') || 'loss', intParam(url, 'max_points', 1_000, 2, 10_000))],
    ['GET', /^\/api\/jobs\/([^/]+)\/events$/, async (_r, url, [id]) => api.listJobEvents(dec(id!), intParam(url, 'from_sequence', 0, 0, Number.MAX_SAFE_INTEGER), intParam(url, 'limit', 200, 1, 2_000))],
    ['GET', /^\/api\/jobs\/([^/]+)\/logs$/, async (_r, url, [id]) => api.getJobLogs(dec(id!), intParam(url, 'tail_bytes', 16 * 1024, 1, 1024 * 1024))],
    ['GET', /^\/api\/evaluations$/, async (_r, url) => api.listEvaluations(url.searchParams.get('model') ?? '', pageSize(url), pageToken(url))],
    ['GET', /^\/api\/evaluations\/([^/]+)$/, async (_r, _u, [id]) => api.getEvaluation(dec(id!))],
    ['GET', /^\/api\/comparisons$/, async (_r, url) => api.listComparisons(url.searchParams.get('model') ?? '', pageSize(url), pageToken(url))],
    ['GET', /^\/api\/comparisons\/([^/]+)$/, async (_r, _u, [id]) => api.getComparison(dec(id!))],
    ['GET', /^\/api\/models$/, async (_r, url) => api.listModels(pageSize(url), pageToken(url), url.searchParams.get('prefix') ?? '')],
    ['GET', /^\/api\/models\/([^/]+)$/, async (_r, _u, [name]) => api.getModel(dec(name!))],
    ['GET', /^\/api\/models\/([^/]+)\/versions\/(\d+)$/, async (_r, _u, [name, v]) => api.getModelVersion(dec(name!), Number(v))],
    ['GET', /^\/api\/datasets$/, async (_r, url) => api.listDatasets(pageSize(url), pageToken(url))],
    ['GET', /^\/api\/dataset-versions$/, async (_r, url) => api.listDatasetVersions(url.searchParams.get('dataset') ?? '', pageSize(url), pageToken(url))],
    ['GET', /^\/api\/dataset-versions\/([^/]+)$/, async (_r, url, [d]) =>
      api.getDatasetVersion(dec(d!), intParam(url, 'max_rows', 20_000, 1, 200_000), url.searchParams.get('fatal_only') === 'true', pageToken(url))],
    ['POST', /^\/api\/jobs\/([^/]+)\/cancel$/, async (req, _u, [id], token) => {
      const body = await jsonBody(req);
      needToken(token);
      return api.cancelJob(dec(id!), text(body, 'reason'), token);
    }],
    ['POST', /^\/api\/models\/([^/]+)\/aliases\/([^/]+)$/, async (req, _u, [name, alias], token) => {
      const body = await jsonBody(req);
      needToken(token);
      const version = optInt(body, 'version');
      if (version === undefined || version < 1) throw new InvalidArgumentError('version', 'the version the alias should point at');
      return api.setAlias(dec(name!), dec(alias!), version, optInt(body, 'expectedVersion'), text(body, 'reason'), token);
    }],
  ];
}

/** Creates the HTTP server (not yet listening). */
export function createHttpServer(deps: HttpDeps, authRequired: boolean): Server {
  const { log } = deps;
  const needToken = (token: string | undefined) => {
    if (authRequired && !token) throw new UnauthenticatedError('this stack requires its bearer token for actions: sign in with it first (the token is kept in an httpOnly cookie)');
  };
  const table = routes(deps, needToken);
  const cookie = (value: string, maxAge: number) =>
    `${COOKIE}=${encodeURIComponent(value)}; HttpOnly; SameSite=Strict; Path=/api; Max-Age=${maxAge}${deps.secureCookie ? '; Secure' : ''}`;

  const send = (res: ServerResponse, http: number, body: unknown, headers: Record<string, string> = {}) => {
    const json = JSON.stringify(body);
    res.writeHead(http, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store', 'content-length': Buffer.byteLength(json), ...headers });
    res.end(json);
  };

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://dashboard.invalid');
    const token = cookieToken(req);
    const t0 = performance.now();
    try {
      if (req.method === 'GET' && url.pathname === '/healthz') return send(res, 200, { status: 'SERVING' });
      if (url.pathname === '/api/session' && req.method === 'POST') {
        const body = await jsonBody(req);
        const t = text(body, 'token');
        await deps.api.checkToken(t);
        return send(res, 200, deps.api.session(true), { 'set-cookie': cookie(t, 12 * 3600) });
      }
      if (url.pathname === '/api/session' && req.method === 'DELETE') return send(res, 200, deps.api.session(false), { 'set-cookie': cookie('', 0) });
      const history = /^\/api\/runs\/([^/]+)\/history$/.exec(url.pathname);
      if (history && req.method === 'GET') return await historyRoute(req, res, decodeURIComponent(history[1]!), url);
      const live = /^\/api\/runs\/([^/]+)\/live$/.exec(url.pathname);
      if (live && req.method === 'GET') return await sse(req, res, decodeURIComponent(live[1]!), url);
      for (const [method, re, h] of table) {
        const m = re.exec(url.pathname);
        if (m && req.method === method) return send(res, 200, await h(req, url, m.slice(1), token));
      }
      if (url.pathname.startsWith('/api/')) throw new NotFoundError(`no route ${req.method} ${url.pathname}`);
      return asset(res, url.pathname);
    } catch (err) {
      const { http, body } = errorBody(err);
      // The path only, never the query or headers: nothing the user sent lands in a log.
      if (http >= 500) log.warn({ err, path: url.pathname, code: body.error.code }, 'request failed');
      else log.debug({ path: url.pathname, code: body.error.code }, 'request refused');
      if (!res.headersSent) send(res, http, body);
      else res.end();
    } finally {
      log.trace({ path: url.pathname, ms: performance.now() - t0 }, 'request');
    }
  };

  /**
   * A run's curves, with HTTP revalidation: a whole-range response carries an entity tag computed
   * from the run's metric summaries (GetRun, asked in parallel with the history); a browser that
   * has this history sends it back and gets 304 after one GetRun, without the history being read
   * again. The tag is attached only when the body matches the summaries it was computed from
   * (every stored point, ending at the summary's last step), so a point stored between the two
   * reads leaves the response untagged rather than cached under the wrong state.
   */
  const historyRoute = async (req: IncomingMessage, res: ServerResponse, runId: string, url: URL) => {
    const keys = list(url, 'key');
    const maxPoints = intParam(url, 'max_points', 1_000, 2, 10_000);
    const start = intParam(url, 'start_step', 0, 0, Number.MAX_SAFE_INTEGER);
    const end = intParam(url, 'end_step', 0, 0, Number.MAX_SAFE_INTEGER);
    if (keys.length === 0) throw new InvalidArgumentError('keys', 'name at least one metric key');
    const whole = start === 0 && end === 0;
    const query = `${maxPoints}`;
    const conditional = whole ? req.headers['if-none-match'] : undefined;
    if (conditional) {
      const { tag } = await deps.api.historyTag(runId, keys, query);
      if (conditional === tag) {
        res.writeHead(304, { etag: tag, 'cache-control': 'private, no-cache' });
        return res.end();
      }
    }
    const [body, tagged] = await Promise.all([deps.api.getHistory(runId, keys, maxPoints, start, end), whole ? deps.api.historyTag(runId, keys, query) : undefined]);
    const consistent =
      tagged !== undefined &&
      body.series.every((s) => {
        const m = tagged.summaries.get(s.key);
        return m ? s.total === m.count && s.steps.at(-1) === m.lastStep : s.total === 0;
      });
    return send(res, 200, body, consistent ? { etag: tagged.tag, 'cache-control': 'private, no-cache' } : {});
  };

  const asset = (res: ServerResponse, path: string) => {
    // Client-side routes (/runs/…, /models/…) all get the page; files get themselves.
    const a = deps.assets.get(path) ?? (path.includes('.') ? undefined : deps.assets.get('/index.html'));
    if (!a) return send(res, 404, { error: { code: 'NOT_FOUND', message: `no file ${path}` } });
    res.writeHead(200, { 'content-type': a.type, 'content-length': a.body.length, 'cache-control': a.immutable ? 'public, max-age=31536000, immutable' : 'no-cache' });
    res.end(a.body);
  };

  /** Server-sent events of a run; the browser's EventSource resumes with Last-Event-ID. */
  const sse = async (req: IncomingMessage, res: ServerResponse, runId: string, url: URL) => {
    const ac = new AbortController();
    req.on('close', () => ac.abort());
    const from = parseCursor((req.headers['last-event-id'] as string | undefined) ?? url.searchParams.get('after'));
    let started = false;
    const start = () => {
      if (started) return;
      started = true;
      res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-store', connection: 'keep-alive', 'x-accel-buffering': 'no' });
      res.write('retry: 1000\n\n');
    };
    const ping = setInterval(() => started && res.write(': ping\n\n'), 15_000);
    try {
      await followRun(
        deps.services,
        runId,
        from,
        (m) => {
          start();
          res.write(`id: ${m.cursor}\nevent: ${m.type}\ndata: ${JSON.stringify(m.data)}\n\n`);
        },
        ac.signal,
      );
      res.end();
    } catch (err) {
      if (!started) throw err;
      const { body } = errorBody(err);
      res.write(`event: failure\ndata: ${JSON.stringify(body)}\n\n`);
      res.end();
    } finally {
      clearInterval(ping);
    }
  };

  return createServer((req, res) => void handle(req, res));
}
