/**
 * Liveness and summaries of runs, written behind the hot path:
 *
 * - Heartbeats (metrics stored, JobProgressed events) are noted in memory and written to the run
 *   at most once per `persistIntervalMs`, together with the metric summaries the writer holds.
 *   That keeps ingestion at one insert per run per batch (FerretDB v1 updates cost a read and a
 *   rewrite of the record). GetRun shows the writer's summaries directly; SearchRuns sees the
 *   written ones, at most `persistIntervalMs` old.
 * - A heartbeat on a CRASHED run makes it RUNNING again; the sweep turns an armed RUNNING run
 *   CRASHED once its last heartbeat is older than `crashTimeoutMs`.
 * - At start, runs marked dirty by a previous process (it may have died between storing points
 *   and writing their summaries) get their summaries recomputed from the metric log.
 */
import type { Clock, Logger } from '@medtune/kit';
import { tracking } from '@medtune/contracts';
import type { MetricChunk } from './metrics/types';
import type { DirtyMarks, MetricWriter, RunSummaries } from './metrics/writer';
import type { RunRepo } from './ports';
import { isTerminal, type MetricSummaryRecord } from './records';
import type { RunBook } from './runs';

const { RunStatus } = tracking;

/** Timing of liveness. */
export interface LivenessOptions {
  /** A RUNNING run silent this long turns CRASHED. */
  readonly crashTimeoutMs: number;
  /** Heartbeats and summaries are written to runs this often. */
  readonly persistIntervalMs: number;
  /** The crash sweep runs this often. */
  readonly sweepIntervalMs: number;
  /** Heartbeats / summaries of a run that does not exist are kept this long, then dropped. Default 10 min. */
  readonly orphanTtlMs?: number;
  /**
   * The metric digests (metrics/digest.ts) of a run being written are stored at most this often
   * (they are served from memory meanwhile), and once more when it ends. Default 30 s.
   */
  readonly digestIntervalMs?: number;
}

interface Pending {
  beatAt: number | undefined;
  summaries: MetricSummaryRecord[] | undefined;
  /** Chunks of the log the summaries cover. */
  metricsSeq: number | undefined;
  /** First noted (for the orphan TTL). */
  readonly since: number;
}

/** Dependencies of Liveness. */
export interface LivenessDeps {
  readonly book: RunBook;
  readonly writer: MetricWriter;
  readonly dirty: DirtyMarks;
  readonly runs: Pick<RunRepo, 'list'>;
  readonly clock: Clock;
  readonly log: Logger;
}

/** See the file comment. */
export class Liveness {
  private readonly pending = new Map<string, Pending>();
  /** Entries taken by the persist in progress (still the freshest until their run is saved). */
  private readonly saving = new Map<string, Pending>();
  private readonly lastBeat = new Map<string, number>();
  /** When each run's digests were last stored by this process (ms). */
  private readonly digestStoredAt = new Map<string, number>();
  private timers: NodeJS.Timeout[] = [];
  private persisting: Promise<void> | undefined;
  private sweeping: Promise<void> | undefined;

  constructor(
    private readonly deps: LivenessDeps,
    readonly options: LivenessOptions,
  ) {}

  /** A sign of life of a run (metric stored, progress event, Heartbeat RPC). */
  beat(runId: string): void {
    const now = this.deps.clock().getTime();
    this.lastBeat.set(runId, now);
    this.entry(runId, now).beatAt = now;
  }

  /** The writer stored chunks: they are heartbeats, and their runs' summaries changed. */
  metricsStored(chunks: readonly MetricChunk[], after: ReadonlyMap<string, RunSummaries>): void {
    const now = this.deps.clock().getTime();
    for (const runId of new Set(chunks.map((c) => c.runId))) {
      this.lastBeat.set(runId, now);
      const e = this.entry(runId, now);
      e.beatAt = now;
      const fresh = after.get(runId);
      if (fresh) {
        e.summaries = fresh.summaries;
        e.metricsSeq = fresh.nextSeq;
      }
    }
  }

  /** Last sign of life noted in this process (ms), if any. */
  lastSeen(runId: string): number | undefined {
    return this.lastBeat.get(runId);
  }

  /** The freshest summaries known for a run (not yet written, or the writer's), if any. */
  freshSummaries(runId: string): MetricSummaryRecord[] | undefined {
    return this.deps.writer.cachedSummaries(runId) ?? this.pending.get(runId)?.summaries ?? this.saving.get(runId)?.summaries;
  }

  /** Starts the periodic persist and sweep. */
  start(): void {
    this.timers.push(setInterval(() => void this.persist(), this.options.persistIntervalMs));
    this.timers.push(setInterval(() => void this.sweep(), this.options.sweepIntervalMs));
    for (const t of this.timers) t.unref();
  }

  /** Stops the timers and writes what is pending. */
  async stop(): Promise<void> {
    for (const t of this.timers) clearInterval(t);
    this.timers = [];
    await this.sweeping;
    await this.persist();
  }

  /** Writes pending heartbeats and summaries to their runs (one run change each), and retries unpublished run events. */
  persist(): Promise<void> {
    this.persisting ??= this.persistNow().finally(() => (this.persisting = undefined));
    return this.persisting;
  }

  /** Turns silent armed RUNNING runs CRASHED. */
  sweep(): Promise<void> {
    this.sweeping ??= this.sweepNow().finally(() => (this.sweeping = undefined));
    return this.sweeping;
  }

  /** Start of the process: summaries of runs left dirty by a previous process, from their logs. */
  async reconcile(): Promise<void> {
    for (const runId of await this.deps.dirty.list()) {
      try {
        const { summaries, nextSeq } = await this.deps.writer.summariesOf(runId);
        const run = await this.deps.book.update(runId, (r) => {
          r.metrics = summaries;
          r.metricsSeq = nextSeq;
          return true;
        });
        if (!run || isTerminal(run.status)) await this.deps.dirty.clear(runId);
        this.deps.log.info({ runId, keys: summaries.length }, 'metric summaries reconciled from the log');
      } catch (err) {
        this.deps.log.warn({ err, runId }, 'could not reconcile metric summaries; will retry at the next start');
      }
    }
  }

  private entry(runId: string, now: number): Pending {
    let e = this.pending.get(runId);
    if (!e) this.pending.set(runId, (e = { beatAt: undefined, summaries: undefined, metricsSeq: undefined, since: now }));
    return e;
  }

  private async persistNow(): Promise<void> {
    await this.persistPending();
    await this.deps.book.retryOutboxes();
  }

  private async persistPending(): Promise<void> {
    const batch = [...this.pending];
    for (const [runId, p] of batch) this.saving.set(runId, p);
    this.pending.clear();
    const now = this.deps.clock();
    for (const [runId, p] of batch) {
      try {
        const run = await this.deps.book.update(runId, (r) => {
          let changed = false;
          if (p.summaries) {
            r.metrics = p.summaries;
            if (p.metricsSeq !== undefined) r.metricsSeq = Math.max(r.metricsSeq, p.metricsSeq);
            changed = true;
          }
          if (p.beatAt !== undefined) {
            const at = new Date(p.beatAt);
            if (!r.lastHeartbeatTime || r.lastHeartbeatTime < at) {
              r.lastHeartbeatTime = at;
              changed = true;
            }
            if (r.status === RunStatus.RUN_STATUS_CRASHED) {
              changed = this.deps.book.setStatus(r, RunStatus.RUN_STATUS_RUNNING, now) || changed;
            } else if (r.status === RunStatus.RUN_STATUS_RUNNING && !r.heartbeatArmed && r.sourceSeq === 0) {
              // A run no job drives (CreateRun over gRPC) is watched from its first heartbeat on.
              r.heartbeatArmed = true;
              changed = true;
            }
          }
          return changed;
        });
        if (!run) {
          // Metrics may arrive before the job event that creates the run: keep them a while.
          if (now.getTime() - p.since < (this.options.orphanTtlMs ?? 600_000)) this.merge(runId, p);
          else this.deps.log.warn({ runId }, 'heartbeats / summaries of an unknown run dropped');
          continue;
        }
        if (isTerminal(run.status)) this.lastBeat.delete(runId);
        if (p.summaries) await this.storeDigests(runId, isTerminal(run.status), now.getTime());
        if (isTerminal(run.status) && p.summaries) {
          // Its summaries are written: the writer may forget it, the dirty mark can go.
          this.deps.writer.evict(runId);
          this.deps.writer.unmark(runId);
          await this.deps.dirty.clear(runId);
        }
      } catch (err) {
        this.deps.log.warn({ err, runId }, 'could not write heartbeat / summaries; will retry');
        this.merge(runId, p);
      } finally {
        this.saving.delete(runId);
      }
    }
  }

  // The run's digests from the writer, when it ended or they were last stored long enough ago.
  private async storeDigests(runId: string, ended: boolean, now: number): Promise<void> {
    const last = this.digestStoredAt.get(runId);
    if (!ended && last !== undefined && now - last < (this.options.digestIntervalMs ?? 30_000)) return;
    if (!ended && last === undefined) {
      // The first interval starts now: a short run is stored once, when it ends.
      this.digestStoredAt.set(runId, now);
      return;
    }
    const data = this.deps.writer.cachedDigestData(runId);
    if (ended) this.digestStoredAt.delete(runId);
    if (!data) return;
    try {
      await this.deps.writer.storeDigests(data);
      if (!ended) this.digestStoredAt.set(runId, now);
    } catch (err) {
      // Readers then read the points (and store the digests they rebuild from them).
      this.deps.log.warn({ err, runId }, 'could not store metric digests');
    }
  }

  // Puts an entry back, keeping anything newer noted meanwhile.
  private merge(runId: string, p: Pending): void {
    const cur = this.pending.get(runId);
    if (!cur) {
      this.pending.set(runId, p);
      return;
    }
    cur.beatAt = Math.max(cur.beatAt ?? 0, p.beatAt ?? 0) || undefined;
    cur.summaries ??= p.summaries;
    cur.metricsSeq ??= p.metricsSeq;
  }

  /**
   * Queues the writer's summaries of a run for the next persist (a run that just ended: once they
   * are written, the writer forgets the run and its dirty mark goes).
   */
  settle(runId: string): void {
    const summaries = this.deps.writer.cachedSummaries(runId);
    if (!summaries) return;
    const e = this.entry(runId, this.deps.clock().getTime());
    e.summaries = summaries;
    e.metricsSeq = this.deps.writer.cachedNextSeq(runId) ?? e.metricsSeq;
  }

  private async sweepNow(): Promise<void> {
    const now = this.deps.clock();
    const cutoff = now.getTime() - this.options.crashTimeoutMs;
    const lastOf = (r: { runId: string; lastHeartbeatTime?: Date | undefined; startTime?: Date | undefined; createTime: Date }): number =>
      Math.max(r.lastHeartbeatTime?.getTime() ?? (r.startTime ?? r.createTime).getTime(), this.lastBeat.get(r.runId) ?? 0);
    let running;
    try {
      running = await this.deps.runs.list({ statuses: [RunStatus.RUN_STATUS_RUNNING] });
    } catch (err) {
      this.deps.log.warn({ err }, 'crash sweep could not list runs');
      return;
    }
    // Signs of life of runs that are not running any more are not needed.
    const runningIds = new Set(running.map((r) => r.runId));
    for (const [runId, at] of this.lastBeat) if (!runningIds.has(runId) && at < cutoff) this.lastBeat.delete(runId);
    for (const candidate of running) {
      if (!candidate.heartbeatArmed || lastOf(candidate) >= cutoff) continue;
      try {
        await this.deps.book.update(candidate.runId, (r) => {
          if (r.status !== RunStatus.RUN_STATUS_RUNNING || !r.heartbeatArmed) return false;
          const last = lastOf(r);
          if (last >= cutoff) return false;
          this.deps.log.warn({ runId: r.runId, silentMs: now.getTime() - last }, 'run crashed: no heartbeat');
          return this.deps.book.setStatus(r, RunStatus.RUN_STATUS_CRASHED, now);
        });
      } catch (err) {
        this.deps.log.warn({ err, runId: candidate.runId }, 'crash sweep could not update a run');
      }
    }
  }
}
