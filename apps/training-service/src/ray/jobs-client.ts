/**
 * The Ray Jobs REST API (the dashboard's /api/jobs/), as {@link RayJobsApi}: submit, status,
 * list, stop, delete, logs, and the node list (each node's total resources). Plain HTTP with a deadline per call; a connection failure or a 5xx is an
 * UnavailableError (the scheduler retries with backoff), a 4xx other than "exists" / "not found"
 * is an error with Ray's text.
 */
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { InternalError, UnavailableError } from '@medtune/kit';
import type { RayJobInfo, RayJobStatus, RayJobsApi, RayNodeInfo, RaySubmission } from '../core/executors/ray';

/** Options of {@link rayJobsClient}. */
export interface RayJobsClientOptions {
  /** The dashboard's address, e.g. http://127.0.0.1:8265. */
  address: string;
  /** Deadline of one call. Default 10 s. */
  deadlineMs?: number;
}

interface RawJob {
  submission_id?: string | null;
  job_id?: string | null;
  status?: string;
  message?: string | null;
  start_time?: number | null;
  metadata?: Record<string, string> | null;
  driver_node_id?: string | null;
}

const STATUSES: ReadonlySet<string> = new Set(['PENDING', 'RUNNING', 'STOPPED', 'SUCCEEDED', 'FAILED']);

function toInfo(raw: RawJob): RayJobInfo {
  const status = STATUSES.has(raw.status ?? '') ? (raw.status as RayJobStatus) : 'PENDING';
  return {
    submissionId: raw.submission_id ?? raw.job_id ?? '',
    status,
    message: raw.message ?? '',
    startTimeMs: Number(raw.start_time ?? 0),
    metadata: raw.metadata ?? {},
    ...(raw.driver_node_id ? { nodeId: raw.driver_node_id } : {}),
  };
}

/**
 * One HTTP call with node:http(s). Not fetch: undici's fetch always sends `Sec-Fetch-Mode`, and
 * Ray's dashboard refuses POSTs that carry browser headers ("method not allowed for browser traffic").
 */
function httpCall(url: string, method: string, body: string | undefined, deadlineMs: number): Promise<{ status: number; text: string }> {
  const u = new URL(url);
  const request = u.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise((resolvePromise, reject) => {
    const req = request(
      u,
      { method, headers: body === undefined ? {} : { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) }, timeout: deadlineMs },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolvePromise({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`no answer within ${deadlineMs} ms`)));
    req.on('error', reject);
    req.end(body);
  });
}

/** A Ray Jobs API client for one cluster. */
export function rayJobsClient(opts: RayJobsClientOptions): RayJobsApi {
  const base = opts.address.replace(/\/+$/, '');
  const deadlineMs = opts.deadlineMs ?? 10_000;

  async function call(method: 'GET' | 'POST' | 'DELETE', path: string, body?: unknown): Promise<{ status: number; text: string }> {
    let res: { status: number; text: string };
    try {
      res = await httpCall(`${base}${path}`, method, body === undefined ? undefined : JSON.stringify(body), deadlineMs);
    } catch (err) {
      throw new UnavailableError(`the Ray cluster at ${base} cannot be reached (${method} ${path}): ${(err as Error).message}`, { cause: err });
    }
    const { text } = res;
    if (res.status >= 500 && !/already exists/i.test(text)) {
      throw new UnavailableError(`the Ray cluster at ${base} answered ${res.status} to ${method} ${path}: ${text.slice(0, 300)}`);
    }
    return res;
  }

  function json<T>(text: string, what: string): T {
    try {
      return JSON.parse(text) as T;
    } catch (err) {
      throw new InternalError(`Ray answered ${what} with something that is not JSON: ${text.slice(0, 200)}`, { cause: err });
    }
  }

  return {
    async submit(s: RaySubmission): Promise<boolean> {
      const body = {
        entrypoint: s.entrypoint,
        submission_id: s.submissionId,
        runtime_env: { env_vars: s.env },
        metadata: s.metadata,
        entrypoint_num_gpus: s.gpus,
        entrypoint_num_cpus: s.cpus,
        ...(s.memoryBytes ? { entrypoint_memory: s.memoryBytes } : {}),
        ...(Object.keys(s.resources).length > 0 ? { entrypoint_resources: s.resources } : {}),
      };
      const res = await call('POST', '/api/jobs/', body);
      if (res.status === 200) return true;
      if (/already exists/i.test(res.text)) return false;
      throw new InternalError(`Ray refused the submission ${s.submissionId} (${res.status}): ${res.text.slice(0, 500)}`);
    },
    async get(submissionId: string): Promise<RayJobInfo | undefined> {
      const res = await call('GET', `/api/jobs/${encodeURIComponent(submissionId)}`);
      if (res.status === 404) return undefined;
      if (res.status !== 200) throw new InternalError(`Ray answered ${res.status} for job ${submissionId}: ${res.text.slice(0, 300)}`);
      return toInfo(json<RawJob>(res.text, 'a job status'));
    },
    async list(): Promise<RayJobInfo[]> {
      const res = await call('GET', '/api/jobs/');
      if (res.status !== 200) throw new InternalError(`Ray answered ${res.status} to the job list: ${res.text.slice(0, 300)}`);
      return json<RawJob[]>(res.text, 'the job list').map(toInfo);
    },
    async stop(submissionId: string): Promise<boolean> {
      const res = await call('POST', `/api/jobs/${encodeURIComponent(submissionId)}/stop`);
      if (res.status === 404) return false;
      if (res.status !== 200) throw new InternalError(`Ray answered ${res.status} to stop ${submissionId}: ${res.text.slice(0, 300)}`);
      return Boolean(json<{ stopped?: boolean }>(res.text, 'a stop').stopped);
    },
    async remove(submissionId: string): Promise<boolean> {
      const res = await call('DELETE', `/api/jobs/${encodeURIComponent(submissionId)}`);
      if (res.status === 404) return false;
      if (res.status !== 200) throw new InternalError(`Ray answered ${res.status} to delete ${submissionId}: ${res.text.slice(0, 300)}`);
      return true;
    },
    async logs(submissionId: string): Promise<string> {
      const res = await call('GET', `/api/jobs/${encodeURIComponent(submissionId)}/logs`);
      if (res.status !== 200) throw new InternalError(`Ray answered ${res.status} for the logs of ${submissionId}: ${res.text.slice(0, 300)}`);
      return json<{ logs?: string }>(res.text, 'logs').logs ?? '';
    },
    async nodes(): Promise<RayNodeInfo[]> {
      // Ray's State API (what `ray list nodes` reads): each node's state and total resources under
      // their own names (the dashboard's /nodes view camel-cases custom resource names).
      const res = await call('GET', '/api/v0/nodes?limit=10000&detail=1');
      if (res.status !== 200) throw new UnavailableError(`the Ray dashboard at ${base} answered ${res.status} to the node list: ${res.text.slice(0, 200)}`);
      type Raw = { node_id?: string; state?: string; resources_total?: Record<string, number> };
      const raw = json<{ data?: { result?: { result?: Raw[] } } }>(res.text, 'the node list').data?.result?.result ?? [];
      return raw.map((n) => ({ nodeId: n.node_id ?? '', alive: n.state === 'ALIVE', resources: n.resources_total ?? {} }));
    },
    async version(): Promise<string> {
      const res = await call('GET', '/api/version');
      if (res.status !== 200) throw new UnavailableError(`the Ray dashboard at ${base} answered ${res.status} to /api/version`);
      const v = json<{ ray_version?: string; version?: string }>(res.text, 'the version');
      return v.ray_version ?? v.version ?? 'unknown';
    },
  };
}
