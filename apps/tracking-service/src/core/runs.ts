/**
 * RunBook: every change of a run goes through here — one change of a run at a time (a lock per
 * run id: FerretDB v1 has no atomic conditional update), the record saved whole, its status
 * events written into the record first (outbox) and published after the save, watchers told.
 */
import { AbortedError, NotFoundError, type Clock, type Logger } from '@medtune/kit';
import { tracking } from '@medtune/contracts';
import type { RunNotifier } from './notifier';
import type { RunEventPublisher, RunRepo } from './ports';
import { isTerminal, toRun, type RunOutboxEntry, type RunRecord } from './records';

const { RunStatus } = tracking;

/** Serialises async work per key. */
export class KeyedMutex {
  private readonly tails = new Map<string, Promise<unknown>>();

  async run<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.tails.get(key) ?? Promise.resolve();
    const next = prev.then(fn, fn);
    const tail = next.catch(() => undefined);
    this.tails.set(key, tail);
    try {
      return await next;
    } finally {
      if (this.tails.get(key) === tail) this.tails.delete(key);
    }
  }
}

/** Dependencies of the RunBook. */
export interface RunBookDeps {
  readonly runs: RunRepo;
  readonly publisher: RunEventPublisher;
  readonly notifier: RunNotifier;
  readonly clock: Clock;
  readonly log: Logger;
}

/** See the file comment. */
export class RunBook {
  private readonly lock = new KeyedMutex();
  /** Runs whose outbox could not be published; retried by {@link retryOutboxes}. */
  private readonly unpublished = new Set<string>();
  /** One publishing pass per run at a time; a request during a pass makes it go round again. */
  private readonly publishing = new Map<string, { again: boolean; done: Promise<void> }>();

  constructor(private readonly deps: RunBookDeps) {}

  get(runId: string): Promise<RunRecord | undefined> {
    return this.deps.runs.get(runId);
  }

  /** The run, or NotFoundError. */
  async require(runId: string): Promise<RunRecord> {
    const run = await this.deps.runs.get(runId);
    if (!run) throw new NotFoundError(`run ${runId} not found`);
    return run;
  }

  /**
   * Creates a run unless it exists (then `existing` is called with the stored one under the
   * lock and may change it: return true to save). The `created` event is written with it.
   */
  async createOrUpdate(run: RunRecord, existing: (stored: RunRecord) => boolean): Promise<{ run: RunRecord; created: boolean }> {
    const result = await this.lock.run(run.runId, async () => {
      const stored = await this.deps.runs.get(run.runId);
      if (stored) {
        const before = stored.statusChanges;
        if (!existing(stored)) return { run: stored, created: false, changed: false, statusChanged: false };
        stored.updateTime = this.deps.clock();
        await this.deps.runs.save(stored);
        return { run: stored, created: false, changed: true, statusChanged: stored.statusChanges !== before };
      }
      run.outbox.push({ id: `${run.runId}:created`, kind: 'created', status: run.status, previousStatus: RunStatus.RUN_STATUS_UNSPECIFIED, time: run.createTime });
      if (!(await this.deps.runs.insert(run))) {
        // Another process made it between our read and insert (not in one process: the lock).
        throw new AbortedError(`run ${run.runId} was created concurrently; retry`);
      }
      return { run, created: true, changed: true, statusChanged: true };
    });
    if (result.changed) this.after(result.run, result.statusChanged);
    return { run: result.run, created: result.created };
  }

  /**
   * Changes a run under its lock: `change` mutates the record and returns true to save it (false:
   * nothing to do). Returns the run (as saved, or as found), undefined when there is none.
   */
  async update(runId: string, change: (run: RunRecord) => boolean): Promise<RunRecord | undefined> {
    const result = await this.lock.run(runId, async () => {
      const run = await this.deps.runs.get(runId);
      if (!run) return undefined;
      const before = run.statusChanges;
      if (!change(run)) return { run, saved: false, statusChanged: false };
      run.updateTime = this.deps.clock();
      await this.deps.runs.save(run);
      return { run, saved: true, statusChanged: run.statusChanges !== before };
    });
    if (result?.saved) this.after(result.run, result.statusChanged);
    return result?.run;
  }

  /**
   * Moves a run to a status inside a change: status, end / start time, the status_changed event.
   * Returns false when it already has that status.
   */
  setStatus(run: RunRecord, status: tracking.RunStatus, now: Date): boolean {
    if (run.status === status) return false;
    const previous = run.status;
    run.status = status;
    run.statusChanges++;
    if (isTerminal(status)) run.endTime = now;
    else run.endTime = undefined;
    if (status === RunStatus.RUN_STATUS_RUNNING && !run.startTime) run.startTime = now;
    const entry: RunOutboxEntry = { id: `${run.runId}:status:${run.statusChanges}`, kind: 'status_changed', status, previousStatus: previous, time: now };
    run.outbox.push(entry);
    return true;
  }

  /** Publishes what saved runs still have in their outboxes (startup, and periodically). */
  async retryOutboxes(all = false): Promise<void> {
    const ids = all ? (await this.deps.runs.withOutbox()).map((r) => r.runId) : [...this.unpublished];
    for (const id of ids) await this.publishOutbox(id);
  }

  private after(run: RunRecord, statusChanged: boolean): void {
    if (statusChanged) this.deps.notifier.run(run);
    if (run.outbox.length) void this.publishOutbox(run.runId);
  }

  private publishOutbox(runId: string): Promise<void> {
    const current = this.publishing.get(runId);
    if (current) {
      current.again = true;
      return current.done;
    }
    const pass = { again: false, done: Promise.resolve() };
    pass.done = (async () => {
      try {
        do {
          pass.again = false;
          await this.publishPass(runId);
        } while (pass.again);
      } catch (err) {
        this.deps.log.warn({ err, runId }, 'run events not published; will retry');
        this.unpublished.add(runId);
      } finally {
        this.publishing.delete(runId);
      }
    })();
    this.publishing.set(runId, pass);
    return pass.done;
  }

  /** Publishes a run's outbox in order and removes what was published. */
  private async publishPass(runId: string): Promise<void> {
    const run = await this.deps.runs.get(runId);
    if (!run || !run.outbox.length) {
      this.unpublished.delete(runId);
      return;
    }
    const done: string[] = [];
    for (const entry of run.outbox) {
      try {
        const view = toRun(run);
        await this.deps.publisher.publish(entry, { ...view, status: entry.status, endTime: isTerminal(entry.status) ? (view.endTime ?? entry.time) : undefined });
        done.push(entry.id);
      } catch (err) {
        this.deps.log.warn({ err, runId, event: entry.id }, 'run event not published; will retry');
        this.unpublished.add(runId);
        break;
      }
    }
    if (!done.length) return;
    await this.lock.run(runId, async () => {
      const fresh = await this.deps.runs.get(runId);
      if (!fresh) return;
      fresh.outbox = fresh.outbox.filter((e) => !done.includes(e.id));
      await this.deps.runs.save(fresh);
      if (!fresh.outbox.length) this.unpublished.delete(runId);
    });
  }
}
