/**
 * Accumulates metric points from many callers (NATS messages, LogMetrics calls) for at most
 * `maxDelayMs` or until `maxPoints`, then hands them to the writer in one write; each caller's
 * promise settles after that write, so a consumer acks its messages only once they are stored.
 * One write runs at a time; what arrives meanwhile forms the next batch.
 */
import type { WriteItem, WriteOutcome } from './writer';

interface Pending {
  readonly item: WriteItem;
  /** When it was queued (Date.now()). */
  readonly at: number;
  readonly resolve: (o: WriteOutcome) => void;
  readonly reject: (err: unknown) => void;
}

/** Limits of a batch. */
export interface BatcherOptions {
  /** Flush when this many points wait. */
  readonly maxPoints: number;
  /** Flush when the oldest waiting point has waited this long. */
  readonly maxDelayMs: number;
  /** The write (MetricWriter.write). */
  readonly write: (items: readonly WriteItem[]) => Promise<WriteOutcome[]>;
  /** Called after each write with its size and duration (metrics for logs and the benchmark). */
  readonly onFlush?: (info: { items: number; points: number; ms: number; error?: unknown }) => void;
}

/** See the file comment. */
export class MetricBatcher {
  private queue: Pending[] = [];
  private queuedPoints = 0;
  private timer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> | undefined;
  private closed = false;

  constructor(private readonly options: BatcherOptions) {}

  /** Queues one caller's points; resolves with what happened to them once written. */
  submit(item: WriteItem): Promise<WriteOutcome> {
    if (this.closed) return Promise.reject(new Error('metric batcher is closed'));
    if (item.points.length === 0) return Promise.resolve({ stored: 0, duplicates: 0 });
    return new Promise<WriteOutcome>((resolve, reject) => {
      this.queue.push({ item, at: Date.now(), resolve, reject });
      this.queuedPoints += item.points.length;
      this.schedule();
    });
  }

  /** Points waiting for a write. */
  get waiting(): number {
    return this.queuedPoints;
  }

  /** Writes everything queued (now), and waits for it. */
  async drain(): Promise<void> {
    while (this.queue.length || this.flushing) {
      if (this.flushing) await this.flushing;
      else this.flushNow();
    }
  }

  /** Refuses new points, writes what is queued. */
  async close(): Promise<void> {
    this.closed = true;
    await this.drain();
  }

  private schedule(): void {
    if (this.flushing || this.queue.length === 0) return;
    const due = this.queue[0]!.at + this.options.maxDelayMs - Date.now();
    if (this.queuedPoints >= this.options.maxPoints || due <= 0) {
      this.flushNow();
    } else if (!this.timer) {
      this.timer = setTimeout(() => {
        this.timer = undefined;
        this.schedule();
      }, due);
    }
  }

  private flushNow(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    // Whole callers only, up to maxPoints (at least one caller).
    let points = 0;
    let n = 0;
    while (n < this.queue.length && (n === 0 || points + this.queue[n]!.item.points.length <= this.options.maxPoints)) {
      points += this.queue[n]!.item.points.length;
      n++;
    }
    const batch = this.queue.slice(0, n);
    this.queue = this.queue.slice(n);
    this.queuedPoints -= points;
    const started = performance.now();
    this.flushing = this.options
      .write(batch.map((p) => p.item))
      .then(
        (outcomes) => {
          this.options.onFlush?.({ items: batch.length, points, ms: performance.now() - started });
          batch.forEach((p, i) => p.resolve(outcomes[i]!));
        },
        (err: unknown) => {
          this.options.onFlush?.({ items: batch.length, points, ms: performance.now() - started, error: err });
          for (const p of batch) p.reject(err);
        },
      )
      .finally(() => {
        this.flushing = undefined;
        this.schedule();
      });
  }
}
