// The kit's gRPC server and client against each other over a real socket (port 0): the error
// table across the wire, deadlines, retries, auth, streaming with backpressure and cancellation.
import { setTimeout as sleep } from 'node:timers/promises';
import { dataset } from '@medtune/contracts';
// The kit's own integration specs use the shared test support (the brief's rule); the tag
// constraints forbid type:kit → type:testing for source, and @medtune/testing does not import the
// kit, so there is no cycle. Spec files only.
import { grpcHealthStatus, waitFor } from '@medtune/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  AbortedError,
  AlreadyExistsError,
  CancelledError,
  DeadlineExceededError,
  FailedPreconditionError,
  InternalError,
  InvalidArgumentError,
  NotFoundError,
  OutOfRangeError,
  PermissionDeniedError,
  ResourceExhaustedError,
  UnauthenticatedError,
  UnavailableError,
  clientStream,
  createClient,
  createGrpcServer,
  serverStream,
  unary,
  type DomainError,
  type KitGrpcServer,
} from './index';
import { captureLogs } from './test-logs';

// A slice of a real contract: enough methods of every kind, under the real service name.
const Svc = {
  getDataset: dataset.DatasetServiceService.getDataset,
  streamRows: dataset.DatasetServiceService.streamRows,
  uploadDataset: dataset.DatasetServiceService.uploadDataset,
};
const SvcClient = { service: Svc };

const ERRORS: Record<string, () => DomainError> = {
  invalid: () => new InvalidArgumentError('lora.r', 'must be >= 1 (got 0)'),
  notFound: () => new NotFoundError('dataset "x" not found'),
  exists: () => new AlreadyExistsError('dataset "x" exists'),
  precondition: () => new FailedPreconditionError('version in use'),
  exhausted: () => new ResourceExhaustedError('queue full'),
  unavailable: () => new UnavailableError('worker gone'),
  aborted: () => new AbortedError('conflict'),
  range: () => new OutOfRangeError('step past the end'),
  denied: () => new PermissionDeniedError('no'),
};
function errorFor(key: string | undefined): DomainError {
  const make = ERRORS[key ?? ''];
  if (!make) throw new Error(`no error ${key}`);
  return make();
}

const logs = captureLogs();
const deadlines: (Date | undefined)[] = [];
const attempts = new Map<string, number>();
const uploads: Buffer[] = [];
let produced = 0;
let sawAbort = false;
let streamFinallyRan = false;
let server: KitGrpcServer;
let addr: string;

beforeAll(async () => {
  server = createGrpcServer({ log: logs.log });
  server.add(Svc, {
    getDataset: unary(async ({ name }, ctx) => {
      deadlines.push(ctx.deadline);
      const [cmd, arg, times] = name.split(':');
      attempts.set(name, (attempts.get(name) ?? 0) + 1);
      if (cmd === 'throw') throw errorFor(arg);
      if (cmd === 'bug') throw new Error('mongodb://admin:hunter2@db exploded');
      if (cmd === 'failTimes' && (attempts.get(name) ?? 0) <= Number(times)) throw errorFor(arg);
      if (cmd === 'sleep') {
        await sleep(Number(arg), undefined, { signal: ctx.signal }).catch(() => undefined);
        sawAbort = ctx.signal.aborted;
      }
      return { dataset: undefined };
    }),
    streamRows: serverStream(async function* ({ limit }) {
      produced = 0;
      streamFinallyRan = false;
      try {
        for (let i = 0; i < limit; i++) {
          produced++;
          yield { row: { index: i, text: 'x'.repeat(16_384), prompt: '', question: '', cot: '', response: '', tokenCount: 0, metadataJson: '', sourceRow: i + 1 } };
        }
      } finally {
        streamFinallyRan = true;
      }
    }),
    uploadDataset: clientStream(async (requests) => {
      for await (const r of requests) if (r.part?.$case === 'chunk') uploads.push(r.part.chunk);
      return { result: undefined };
    }),
  });
  addr = `127.0.0.1:${await server.start('127.0.0.1:0')}`;
});
afterAll(() => server?.shutdown({ graceMs: 1_000 }));

const client = (opts: Partial<Parameters<typeof createClient>[2]> = {}) =>
  createClient(SvcClient, addr, { defaultDeadlineMs: 5_000, retry: { baseMs: 1, maxMs: 5 }, ...opts });

describe('domain errors across gRPC', () => {
  it.each(Object.keys(ERRORS))('%s crosses as its status and comes back as its class', async (key) => {
    const c = client({ retry: false });
    const sent = errorFor(key);
    const got = await c.unary('getDataset', { name: `throw:${key}` }).catch((e: unknown) => e);
    expect(got).toBeInstanceOf(sent.constructor);
    expect((got as DomainError).code).toBe(sent.code);
    expect((got as Error).message).toBe(sent.message);
    if (sent instanceof InvalidArgumentError) {
      expect((got as InvalidArgumentError).field).toBe('lora.r');
      expect((got as InvalidArgumentError).reason).toBe('must be >= 1 (got 0)');
    }
    c.close();
  });

  it('an unexpected error is INTERNAL with a generic message; the detail is only in the server log', async () => {
    const c = client();
    const got = await c.unary('getDataset', { name: 'bug' }).catch((e: unknown) => e);
    expect(got).toBeInstanceOf(InternalError);
    expect((got as Error).message).toMatch(/^internal error \(ref [0-9a-f-]+\)$/);
    expect((got as Error).message).not.toContain('hunter2');
    const ref = /ref ([0-9a-f-]+)/.exec((got as Error).message)?.[1];
    expect(logs.lines().find((l) => l.ref === ref && l.level === 'error')).toBeDefined();
    c.close();
  });

  it('each call is logged at debug with method, code and duration', async () => {
    const c = client({ retry: false });
    await c.unary('getDataset', { name: 'throw:notFound' }).catch(() => undefined);
    const line = await waitFor(() => logs.lines().find((l) => l.msg === 'call' && l.code === 'NOT_FOUND'));
    expect(line).toMatchObject({ level: 'debug', method: '/medtune.dataset.v1.DatasetService/GetDataset' });
    expect(typeof line.ms).toBe('number');
    c.close();
  });
});

describe('deadlines', () => {
  it('a call without a deadline is impossible through the client helper', async () => {
    // @ts-expect-error defaultDeadlineMs is required: a client without a default deadline does not compile
    expect(() => createClient(SvcClient, addr, {})).toThrow(TypeError);
    const c = client();
    // @ts-expect-error a null deadline does not compile either
    await expect(c.unary('getDataset', { name: 'x' }, { deadlineMs: null })).rejects.toThrow(/every gRPC call needs a deadline/);
    await expect(c.unary('getDataset', { name: 'x' }, { deadlineMs: Infinity })).rejects.toThrow(TypeError);
    c.close();
  });

  it('the default deadline is applied when a call sets none; a call can set its own', async () => {
    const c = client({ defaultDeadlineMs: 7_000 });
    deadlines.length = 0;
    const t0 = Date.now();
    await c.unary('getDataset', { name: 'ok' });
    await c.unary('getDataset', { name: 'ok' }, { deadlineMs: 20_000 });
    const [d1, d2] = deadlines.map((d) => d?.getTime() ?? NaN);
    expect(Math.abs((d1 ?? NaN) - (t0 + 7_000))).toBeLessThan(1_000);
    expect(Math.abs((d2 ?? NaN) - (t0 + 20_000))).toBeLessThan(1_000);
    c.close();
  });

  it('a call that outlives its deadline fails with DeadlineExceededError and is not retried', async () => {
    const c = client();
    attempts.delete('sleep:2000');
    const got = await c.unary('getDataset', { name: 'sleep:2000' }, { deadlineMs: 200 }).catch((e: unknown) => e);
    expect(got).toBeInstanceOf(DeadlineExceededError);
    expect(attempts.get('sleep:2000')).toBe(1);
    c.close();
  });
});

describe('cancellation', () => {
  it('a caller that aborts cancels the call, and the handler sees it through ctx.signal', async () => {
    const c = client();
    sawAbort = false;
    const abort = new AbortController();
    const name = `sleep:5000:${Math.random()}`;
    const call = c.unary('getDataset', { name }, { signal: abort.signal }).catch((e: unknown) => e);
    await waitFor(() => attempts.get(name) === 1);
    const t0 = Date.now();
    abort.abort();
    expect(await call).toBeInstanceOf(CancelledError);
    await waitFor(() => sawAbort, 2_000, { message: 'handler saw the abort' });
    expect(Date.now() - t0).toBeLessThan(2_000);
    c.close();
  });
});

describe('retries', () => {
  it.each(['unavailable', 'exhausted', 'aborted'])('%s is retried with backoff until it succeeds', async (key) => {
    const c = client();
    const name = `failTimes:${key}:2:${Math.random()}`;
    await expect(c.unary('getDataset', { name })).resolves.toEqual({ dataset: undefined });
    expect(attempts.get(name)).toBe(3);
    c.close();
  });

  it.each(['notFound', 'invalid', 'precondition', 'exists', 'denied'])('%s is never retried', async (key) => {
    const c = client();
    const name = `failTimes:${key}:2:${Math.random()}`;
    await expect(c.unary('getDataset', { name })).rejects.toBeInstanceOf(errorFor(key).constructor);
    expect(attempts.get(name)).toBe(1);
    c.close();
  });

  it('gives up after maxAttempts with the last error', async () => {
    const c = client({ retry: { maxAttempts: 2, baseMs: 1 } });
    const name = `failTimes:unavailable:5:${Math.random()}`;
    await expect(c.unary('getDataset', { name })).rejects.toBeInstanceOf(UnavailableError);
    expect(attempts.get(name)).toBe(2);
    c.close();
  });
});

describe('streams', () => {
  it('a server stream respects backpressure and delivers everything in order', async () => {
    const c = client({ defaultDeadlineMs: 30_000 });
    const total = 1_000; // 1000 × 16 KiB = 16 MiB
    const it = c.serverStream('streamRows', { digest: 'd', split: 0, offset: 0, limit: total })[Symbol.asyncIterator]();
    const first = await it.next();
    expect(first.value?.row?.index).toBe(0);
    await sleep(300); // a slow reader: the generator must not run ahead to the end
    expect(produced).toBeLessThan(total / 2);
    let last = 0;
    for (let n = await it.next(); !n.done; n = await it.next()) {
      expect(n.value.row?.index).toBe(last + 1);
      last = n.value.row?.index ?? -1;
    }
    expect(last).toBe(total - 1);
    c.close();
  });

  it('breaking out of a server stream cancels it and the server generator is returned', async () => {
    const c = client({ defaultDeadlineMs: 30_000 });
    let n = 0;
    for await (const _ of c.serverStream('streamRows', { digest: 'd', split: 0, offset: 0, limit: 100_000 })) if (++n === 5) break;
    await waitFor(() => streamFinallyRan, 5_000, { message: 'generator finally' });
    expect(produced).toBeLessThan(100_000);
    c.close();
  });

  it('a client stream delivers every request in order', async () => {
    const c = client();
    uploads.length = 0;
    const chunks = Array.from({ length: 50 }, (_, i) => Buffer.alloc(64 * 1024, i));
    async function* parts() {
      for (const chunk of chunks) yield { part: { $case: 'chunk' as const, chunk } };
    }
    await c.clientStream('uploadDataset', parts());
    expect(uploads.map((b) => b[0])).toEqual(chunks.map((b) => b[0]));
    c.close();
  });
});

describe('bearer-token auth', () => {
  let secured: KitGrpcServer;
  let securedAddr: string;
  const token = 's3cr3t-t0ken';
  const secLogs = captureLogs();

  beforeAll(async () => {
    secured = createGrpcServer({ log: secLogs.log, authToken: token });
    secured.add(Svc, {
      getDataset: unary(async () => ({ dataset: undefined })),
      streamRows: serverStream(async function* () {
        yield* [];
      }),
      uploadDataset: clientStream(async () => ({ result: undefined })),
    });
    securedAddr = `127.0.0.1:${await secured.start('127.0.0.1:0')}`;
  });
  afterAll(() => secured?.shutdown({ graceMs: 500 }));

  it('refuses calls without the token or with a wrong one, accepts the right one; health stays open', async () => {
    const none = createClient(SvcClient, securedAddr, { defaultDeadlineMs: 2_000 });
    const wrong = createClient(SvcClient, securedAddr, { defaultDeadlineMs: 2_000, authToken: 'nope' });
    const right = createClient(SvcClient, securedAddr, { defaultDeadlineMs: 2_000, authToken: token });
    await expect(none.unary('getDataset', { name: 'x' })).rejects.toBeInstanceOf(UnauthenticatedError);
    await expect(wrong.unary('getDataset', { name: 'x' })).rejects.toBeInstanceOf(UnauthenticatedError);
    await expect(wrong.serverStream('streamRows', { digest: '', split: 0, offset: 0, limit: 0 })[Symbol.asyncIterator]().next()).rejects.toBeInstanceOf(UnauthenticatedError);
    await expect(right.unary('getDataset', { name: 'x' })).resolves.toEqual({ dataset: undefined });
    expect(await grpcHealthStatus(securedAddr)).toBe('SERVING');
    expect(await grpcHealthStatus(securedAddr, 'medtune.dataset.v1.DatasetService')).toBe('SERVING');
    expect(secLogs.text()).not.toContain(token);
    for (const c of [none, wrong, right]) c.close();
  });
});
