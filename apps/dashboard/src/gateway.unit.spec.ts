/**
 * The gateway's transport-free parts: run filters, the live cursor, the error table, and the live
 * feed's resume (catch-up from the history, then the watch, nothing missed and nothing twice)
 * over in-memory service stand-ins. The real services and a real browser: test/e2e/dashboard.e2e.spec.ts.
 */
import { mkdtempSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { tracking, training } from '@medtune/contracts';
import { InvalidArgumentError, NotFoundError, UnauthenticatedError } from '@medtune/kit';
import { describe, expect, it } from 'vitest';
import { parseRunFilter } from './api';
import { readCredential } from './clients';
import { errorBody } from './http';
import { followRun, formatCursor, parseCursor, type LiveMessage } from './live';

describe('run filters', () => {
  it('reads param, tag and metric conditions', () => {
    expect(parseRunFilter('param.learning_rate>=1e-3')).toEqual({ field: tracking.FilterField.FILTER_FIELD_PARAM, key: 'learning_rate', comparator: tracking.Comparator.COMPARATOR_GE, value: '1e-3' });
    expect(parseRunFilter(' tag.team = med ')).toMatchObject({ field: tracking.FilterField.FILTER_FIELD_TAG, key: 'team', comparator: tracking.Comparator.COMPARATOR_EQ, value: 'med' });
    expect(parseRunFilter('metric.system/cpu_percent!=3')).toMatchObject({ key: 'system/cpu_percent', comparator: tracking.Comparator.COMPARATOR_NE });
  });
  it('refuses anything else, naming the filter', () => {
    const err = (() => {
      try {
        parseRunFilter('lr>1', 2);
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(InvalidArgumentError);
    expect((err as InvalidArgumentError).field).toBe('filter[2]');
  });
});

describe('the live cursor', () => {
  it('round-trips keys with any characters', () => {
    const c = { jobSequence: 12, steps: new Map([['loss', 40], ['system/gpu_memory_reserved_bytes', 39], ['a&b=c', 1]]) };
    expect(parseCursor(formatCursor(c))).toEqual(c);
  });
  it('starts from nothing on garbage', () => {
    expect(parseCursor('j=-1&m.loss=x')).toEqual({ jobSequence: 0, steps: new Map() });
    expect(parseCursor(undefined)).toEqual({ jobSequence: 0, steps: new Map() });
  });
});

describe('errors passed through', () => {
  it('keeps the code and the message, with an HTTP status from the table', () => {
    expect(errorBody(new NotFoundError('run x not found'))).toEqual({ http: 404, body: { error: { code: 'NOT_FOUND', message: 'run x not found' } } });
    expect(errorBody(new InvalidArgumentError('version', 'must be >= 1'))).toEqual({ http: 400, body: { error: { code: 'INVALID_ARGUMENT', message: 'version: must be >= 1', field: 'version' } } });
    expect(errorBody(new UnauthenticatedError('no token')).http).toBe(401);
  });
  it('says nothing of an unexpected error', () => {
    const { http, body } = errorBody(new Error('secret detail'));
    expect(http).toBe(500);
    expect(body.error.message).not.toContain('secret');
  });
});

/** A tracking service with stored points and a watch that delivers `live` batches. */
function fakes(stored: tracking.MetricPoint[], live: tracking.MetricPoint[][], jobEvents: training.JobEvent[]) {
  const run = tracking.Run.fromPartial({
    runId: 'job_1',
    sourceId: 'job_1',
    kind: tracking.RunKind.RUN_KIND_TRAINING,
    metrics: [{ key: 'loss', lastStep: Math.max(...stored.map((p) => p.step)), count: stored.length }],
  });
  const historyCalls: { startStep: number }[] = [];
  const watchJobCalls: { fromSequence: number }[] = [];
  return {
    historyCalls,
    watchJobCalls,
    services: {
      tracking: {
        async *serverStream() {
          yield { update: { $case: 'run' as const, run } };
          for (const points of live) yield { update: { $case: 'metrics' as const, metrics: { points } } };
        },
        async unary(_m: string, req: { key: string; startStep: number }) {
          historyCalls.push({ startStep: req.startStep });
          return { points: stored.filter((p) => p.key === req.key && p.step >= req.startStep), totalPoints: stored.length };
        },
      },
      training: {
        async *serverStream(_m: string, req: { fromSequence: number }) {
          watchJobCalls.push({ fromSequence: req.fromSequence });
          for (const e of jobEvents) if (e.sequence >= req.fromSequence) yield { event: e };
        },
      },
    } as unknown as Parameters<typeof followRun>[0],
  };
}

const pt = (step: number, value = step / 10) => tracking.MetricPoint.fromPartial({ key: 'loss', step, value });

describe('the live feed', () => {
  it('resumes after the cursor: catch-up from the history, then the watch, each point once', async () => {
    // Stored: steps 1..5. The watch (opened before the catch-up read) repeats 5 and brings 6, 7.
    const f = fakes([1, 2, 3, 4, 5].map((s) => pt(s)), [[pt(5), pt(6)], [pt(7)]], [training.JobEvent.fromPartial({ jobId: 'job_1', sequence: 3 }), training.JobEvent.fromPartial({ jobId: 'job_1', sequence: 4 })]);
    const got: LiveMessage[] = [];
    await followRun(f.services, 'job_1', parseCursor('j=3&m.loss=3'), (m) => got.push(m), new AbortController().signal);
    const steps = got.filter((m) => m.type === 'points').flatMap((m) => (m.data as { points: { step: number }[] }).points.map((p) => p.step));
    expect(steps).toEqual([4, 5, 6, 7]);
    expect(f.historyCalls).toEqual([{ startStep: 4 }]);
    expect(f.watchJobCalls).toEqual([{ fromSequence: 4 }]);
    expect(got.filter((m) => m.type === 'job').map((m) => (m.data as { sequence: number }).sequence)).toEqual([4]);
    expect(got.at(-1)?.type).toBe('end');
    expect(parseCursor(got.at(-1)!.cursor)).toEqual({ jobSequence: 4, steps: new Map([['loss', 7]]) });
  });

  it('sends everything to a client that has nothing', async () => {
    const f = fakes([pt(1), pt(2)], [], []);
    const got: LiveMessage[] = [];
    await followRun(f.services, 'job_1', parseCursor(''), (m) => got.push(m), new AbortController().signal);
    expect(got.map((m) => m.type)).toEqual(['run', 'points', 'end']);
    expect(f.historyCalls).toEqual([{ startStep: 0 }]);
  });
});

describe('the gateway’s read credential', () => {
  it('prefers the token file, re-reads it when it changes (at most once a minute), else the shared token', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'dash-cred-'));
    const file = path.join(dir, 'dashboard.token');
    writeFileSync(file, 'first-token\n');
    let now = 0;
    const cred = readCredential({ authToken: 'shared', tokenFile: file }, () => now) as () => string;
    expect(cred()).toBe('first-token');
    writeFileSync(file, 'second-token\n');
    utimesSync(file, new Date(), new Date(Date.now() + 5_000));
    expect(cred()).toBe('first-token');
    now = 61_000;
    expect(cred()).toBe('second-token');
    expect(readCredential({ authToken: 'shared' })).toBe('shared');
    writeFileSync(file, '  \n');
    expect(() => readCredential({ authToken: undefined, tokenFile: file })).toThrow(/token file .* is empty/);
  });
});
