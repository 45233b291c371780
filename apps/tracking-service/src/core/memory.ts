/**
 * In-memory implementations of the core's ports, for unit tests (and as executable documentation
 * of what the Mongo repositories must do). Records are copied in and out, as a database would.
 */
import type { tracking } from '@medtune/contracts';
import type { RunDigestData } from './metrics/digest';
import type { MetricChunk, MetricLogStore } from './metrics/types';
import type { DirtyMarks } from './metrics/writer';
import type { ExperimentRepo, RunEventPublisher, RunRepo } from './ports';
import type { ExperimentRecord, RunOutboxEntry, RunRecord } from './records';

function copyRun(r: RunRecord): RunRecord {
  return structuredClone(r);
}

/** Runs in a Map. */
export class MemoryRunRepo implements RunRepo {
  readonly rows = new Map<string, RunRecord>();
  /** Number of saves (tests check the hot path does not write runs). */
  saves = 0;

  async get(runId: string): Promise<RunRecord | undefined> {
    const r = this.rows.get(runId);
    return r && copyRun(r);
  }
  async insert(run: RunRecord): Promise<boolean> {
    if (this.rows.has(run.runId)) return false;
    this.rows.set(run.runId, copyRun(run));
    return true;
  }
  async save(run: RunRecord): Promise<void> {
    this.saves++;
    this.rows.set(run.runId, copyRun(run));
  }
  async list(filter: { experiments?: readonly string[]; statuses?: readonly tracking.RunStatus[] } = {}): Promise<RunRecord[]> {
    return [...this.rows.values()]
      .filter((r) => !filter.experiments?.length || filter.experiments.includes(r.experiment))
      .filter((r) => !filter.statuses?.length || filter.statuses.includes(r.status))
      .map(copyRun);
  }
  async withOutbox(): Promise<RunRecord[]> {
    return [...this.rows.values()].filter((r) => r.outbox.length > 0).map(copyRun);
  }
  async countByExperiment(): Promise<Map<string, number>> {
    const out = new Map<string, number>();
    for (const r of this.rows.values()) out.set(r.experiment, (out.get(r.experiment) ?? 0) + 1);
    return out;
  }
}

/** Experiments in a Map. */
export class MemoryExperimentRepo implements ExperimentRepo {
  readonly rows = new Map<string, ExperimentRecord>();
  async get(name: string): Promise<ExperimentRecord | undefined> {
    return this.rows.get(name);
  }
  async ensure(experiment: ExperimentRecord): Promise<{ experiment: ExperimentRecord; created: boolean }> {
    const found = this.rows.get(experiment.name);
    if (found) return { experiment: found, created: false };
    this.rows.set(experiment.name, { ...experiment });
    return { experiment, created: true };
  }
  async list(afterName: string | undefined, limit: number): Promise<ExperimentRecord[]> {
    return [...this.rows.values()]
      .filter((e) => afterName === undefined || e.name > afterName)
      .sort((a, b) => (a.name < b.name ? -1 : 1))
      .slice(0, limit);
  }
}

/** Metric logs in a Map; `failNext` makes the next append throw (after storing `storeBeforeFailing` chunks). */
export class MemoryMetricLog implements MetricLogStore {
  readonly logs = new Map<string, Map<number, MetricChunk>>();
  readonly digests = new Map<string, RunDigestData>();
  appends = 0;
  reads = 0;
  digestReads = 0;
  failNext: { error: Error; storeBeforeFailing: number } | undefined;

  async read(runId: string, afterSeq = -1): Promise<MetricChunk[]> {
    this.reads++;
    const log = this.logs.get(runId);
    if (!log) return [];
    return [...log.values()].filter((c) => c.seq > afterSeq).sort((a, b) => a.seq - b.seq).map((c) => structuredClone(c));
  }
  async lastSeq(runId: string): Promise<number> {
    const log = this.logs.get(runId);
    return log?.size ? Math.max(...log.keys()) : -1;
  }
  async append(chunks: readonly MetricChunk[]): Promise<{ conflicts: readonly MetricChunk[] }> {
    this.appends++;
    const conflicts: MetricChunk[] = [];
    const fail = this.failNext;
    this.failNext = undefined;
    let stored = 0;
    for (const c of chunks) {
      if (fail && stored >= fail.storeBeforeFailing) throw fail.error;
      let log = this.logs.get(c.runId);
      if (!log) this.logs.set(c.runId, (log = new Map()));
      if (log.has(c.seq)) conflicts.push(c);
      else {
        log.set(c.seq, structuredClone(c));
        stored++;
      }
    }
    if (fail) throw fail.error;
    return { conflicts };
  }
  async readDigest(runId: string): Promise<RunDigestData | undefined> {
    this.digestReads++;
    const d = this.digests.get(runId);
    return d && structuredClone(d);
  }
  async writeDigest(digest: RunDigestData): Promise<void> {
    const cur = this.digests.get(digest.runId);
    if (!cur || cur.nextSeq < digest.nextSeq) this.digests.set(digest.runId, structuredClone(digest));
  }
  /** Appends a chunk as another writer would (tests of the compare-and-set). */
  injectForeign(chunk: MetricChunk): void {
    let log = this.logs.get(chunk.runId);
    if (!log) this.logs.set(chunk.runId, (log = new Map()));
    log.set(chunk.seq, structuredClone(chunk));
  }
  /** Every stored point of a run as "key@step=value" (tests). */
  pointsOf(runId: string): string[] {
    const out: string[] = [];
    for (const c of [...(this.logs.get(runId)?.values() ?? [])]) {
      for (const s of c.series) s.steps.forEach((step, i) => out.push(`${s.key}@${step}=${s.values[i]}`));
    }
    return out.sort();
  }
}

/** Dirty marks in a Set. */
export class MemoryDirtyMarks implements DirtyMarks {
  readonly marks = new Set<string>();
  async mark(runIds: readonly string[]): Promise<void> {
    for (const r of runIds) this.marks.add(r);
  }
  async clear(runId: string): Promise<void> {
    this.marks.delete(runId);
  }
  async list(): Promise<string[]> {
    return [...this.marks];
  }
}

/** Records what would be published; `failing` makes publishes throw. */
export class MemoryRunPublisher implements RunEventPublisher {
  readonly published: { entry: RunOutboxEntry; run: tracking.Run }[] = [];
  failing = false;
  async publish(entry: RunOutboxEntry, run: tracking.Run): Promise<void> {
    if (this.failing) throw new Error('NATS is down');
    // The stream drops a repeated id (Nats-Msg-Id); so does this fake.
    if (this.published.some((p) => p.entry.id === entry.id)) return;
    this.published.push({ entry, run });
  }
}
