import { training } from '@medtune/contracts';
import { describe, expect, it } from 'vitest';
import type { JobRecord } from './model';
import { QueueIndex } from './queue-index';

const S = training.JobState;

function rec(jobId: string, o: { rev?: number; state?: training.JobState; priority?: number; queuedAt?: number; occupies?: string; dispatch?: boolean; seq?: number } = {}): JobRecord {
  return {
    job: training.Job.fromPartial({ jobId, state: o.state ?? S.JOB_STATE_QUEUED, priority: o.priority ?? 0, lastSequence: o.seq ?? o.rev ?? 1 }),
    rev: o.rev ?? 1,
    requestHash: 'h',
    queuedAt: new Date(o.queuedAt ?? 1_000),
    workerSeq: 0,
    outbox: [],
    ...(o.occupies ? { occupies: o.occupies } : {}),
    ...(o.dispatch && o.occupies ? { dispatch: { workerId: o.occupies, address: 'x:1', attempt: 1, resumeFrom: '' } } : {}),
  };
}

const ids = (index: QueueIndex): string[] => index.waiting().map((e) => e.jobId);

describe('QueueIndex', () => {
  it('orders the queue by priority (highest first), then queue time, then id', () => {
    const index = new QueueIndex();
    index.load([rec('c', { queuedAt: 3 }), rec('a', { queuedAt: 3 }), rec('old', { queuedAt: 1 }), rec('urgent', { priority: 5, queuedAt: 9 }), rec('low', { priority: -1, queuedAt: 0 })], index.mark());
    expect(index.loaded).toBe(true);
    expect(ids(index)).toEqual(['urgent', 'old', 'a', 'c', 'low']);
    expect(index.waiting(2).map((e) => e.jobId)).toEqual(['urgent', 'old']);
  });

  it('follows a job through dispatch, the worker and its end; an older record never replaces a newer one', () => {
    const index = new QueueIndex();
    index.load([rec('j1', { queuedAt: 1 }), rec('j2', { queuedAt: 2 })], index.mark());
    // Dispatch recorded: leaves the queue, holds w1.
    expect(index.apply(rec('j1', { rev: 2, occupies: 'w1', dispatch: true }))).toBe(true);
    expect(ids(index)).toEqual(['j2']);
    expect(index.occupying(['w1', 'w2']).map((e) => [e.jobId, e.dispatching])).toEqual([['j1', true]]);
    // Accepted: RUNNING on w1.
    index.apply(rec('j1', { rev: 3, state: S.JOB_STATE_RUNNING, occupies: 'w1' }));
    expect(index.onWorker()).toEqual(['j1']);
    // A late read of revision 2 (an event's refresh that raced our write) changes nothing.
    expect(index.apply(rec('j1', { rev: 2, occupies: 'w1', dispatch: true }))).toBe(false);
    expect(index.get('j1')?.state).toBe(S.JOB_STATE_RUNNING);
    // Ended: gone, and an older record cannot bring it back.
    index.apply(rec('j1', { rev: 4, state: S.JOB_STATE_SUCCEEDED, seq: 9 }));
    expect(index.get('j1')).toBeUndefined();
    expect(index.occupying(['w1'])).toEqual([]);
    expect(index.apply(rec('j1', { rev: 3, state: S.JOB_STATE_RUNNING, occupies: 'w1' }))).toBe(false);
    expect(index.knows('j1', 9)).toBe(true);
    expect(index.knows('j1', 10)).toBe(false);
    // A recovering job keeps its place in the queue (its queue time).
    index.apply(rec('j0', { queuedAt: 0, state: S.JOB_STATE_RECOVERING, rev: 7 }));
    expect(ids(index)).toEqual(['j0', 'j2']);
    // A priority change moves it.
    index.apply(rec('j2', { rev: 2, priority: 3, queuedAt: 2 }));
    expect(ids(index)).toEqual(['j2', 'j0']);
    expect(index.size).toBe(2);
  });

  it('events it has seen are not read again', () => {
    const index = new QueueIndex();
    index.load([rec('j1', { rev: 3, seq: 5 })], index.mark());
    expect(index.knows('j1', 5)).toBe(true);
    expect(index.knows('j1', 6)).toBe(false);
    expect(index.knows('unknown', 1)).toBe(false);
  });

  it('the reconcile scan repairs drift but keeps what changed while it scanned', () => {
    const index = new QueueIndex();
    index.load([rec('kept'), rec('cancelled-elsewhere'), rec('stale', { rev: 1 })], index.mark());
    const mark = index.mark();
    // While the scan runs, this process dispatches `fresh` (created after the scan read).
    index.apply(rec('fresh', { rev: 2, occupies: 'w1', dispatch: true }));
    // The scan: `cancelled-elsewhere` ended (its event was missed), `missed` was queued by another
    // replica (event missed), `stale` moved on to revision 3, `fresh` is not in it yet.
    const changed = index.reconcile([rec('kept'), rec('missed', { queuedAt: 0 }), rec('stale', { rev: 3, priority: 9 })], mark);
    expect(changed).toBe(3);
    expect(ids(index)).toEqual(['stale', 'missed', 'kept']);
    expect(index.get('cancelled-elsewhere')).toBeUndefined();
    expect(index.get('fresh')?.occupies).toBe('w1');
    // A scan that returns an older revision than the index holds changes nothing.
    expect(index.reconcile([rec('kept'), rec('missed', { queuedAt: 0 }), rec('stale', { rev: 2 }), rec('fresh', { rev: 2, occupies: 'w1', dispatch: true })], index.mark())).toBe(0);
    expect(index.get('stale')?.priority).toBe(9);
  });

  it('clear() forgets everything (the lease went elsewhere) until the next load', () => {
    const index = new QueueIndex();
    index.load([rec('a')], index.mark());
    index.clear();
    expect(index.loaded).toBe(false);
    expect(index.size).toBe(0);
  });

  it('keeps 10,000 queued jobs in order and serves a page without sorting', () => {
    const index = new QueueIndex();
    const records = Array.from({ length: 10_000 }, (_, i) => rec(`job-${String(i).padStart(5, '0')}`, { priority: i % 3, queuedAt: 10_000 - i }));
    const t0 = performance.now();
    index.load(records, index.mark());
    const loadMs = performance.now() - t0;
    const page = index.waiting(100);
    expect(page).toHaveLength(100);
    for (let i = 1; i < page.length; i++) {
      const a = page[i - 1]!;
      const b = page[i]!;
      expect(a.priority > b.priority || (a.priority === b.priority && a.queuedAt <= b.queuedAt)).toBe(true);
    }
    // Generous bound for a loaded machine: sorted inserts, not a scan per page.
    expect(loadMs).toBeLessThan(5_000);
  });
});
