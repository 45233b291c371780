/**
 * Metric storage as the core sees it: each run has an append-only log of chunks numbered
 * 0, 1, 2, ... A chunk holds the points one write added to the run, grouped by key. The store's
 * unique (run, seq) is the compare-and-set of appends: a writer appends chunk n only after it
 * has read chunks 0..n-1 and removed every point whose (key, step) they hold, so two writers can
 * never both store the same (run, key, step) — the loser of seq n reloads and retries.
 */

import type { RunDigestData } from './digest';

/** One point as the writer takes it. */
export interface PointInput {
  readonly key: string;
  readonly step: number;
  /** Finite. */
  readonly value: number;
  /** When it was measured, ms since the epoch. */
  readonly time: number;
}

/** The points of one key inside a chunk, as parallel arrays in the order they were stored. */
export interface ChunkSeries {
  readonly key: string;
  readonly steps: number[];
  readonly values: number[];
  readonly times: number[];
}

/**
 * One append to a run's metric log — or, read back from storage, several consecutive appends
 * merged (seq..seqEnd): storage may compact a run's small chunks into one.
 */
export interface MetricChunk {
  readonly runId: string;
  /** 0, 1, 2, ... without gaps. */
  readonly seq: number;
  /** The last append this chunk holds (merged chunks); undefined = seq. */
  readonly seqEnd?: number;
  readonly series: readonly ChunkSeries[];
  /** When it was written, ms since the epoch. */
  readonly storedAt: number;
}

/** Where metric logs live (src/repo: one collection per run on FerretDB). */
export interface MetricLogStore {
  /**
   * The points of a run appended after chunk `afterSeq` (default: all), as chunks in seq order
   * without gaps (a merged chunk read from afterSeq on starts at afterSeq + 1).
   */
  read(runId: string, afterSeq?: number): Promise<MetricChunk[]>;
  /** The highest seq of a run's log, -1 when it has none. */
  lastSeq(runId: string): Promise<number>;
  /**
   * Inserts chunks (of any runs) without overwriting anything; a chunk whose (run, seq) exists is
   * not written and comes back in `conflicts`. Throws on any other failure (then some chunks may
   * be stored and others not: callers reload what they cached).
   */
  append(chunks: readonly MetricChunk[]): Promise<{ conflicts: readonly MetricChunk[] }>;
  /** A run's stored digests (digest.ts), undefined when none is stored. */
  readDigest(runId: string): Promise<RunDigestData | undefined>;
  /**
   * Stores a run's digests unless digests covering as many chunks (nextSeq) or more are stored:
   * a digest is derived from the log, so a later one replaces an earlier one and never the reverse.
   */
  writeDigest(digest: RunDigestData): Promise<void>;
}

/** The last append a chunk holds. */
export function lastSeqOf(chunk: MetricChunk): number {
  return chunk.seqEnd ?? chunk.seq;
}

/** Number of points in a chunk. */
export function pointsIn(chunk: MetricChunk): number {
  let n = 0;
  for (const s of chunk.series) n += s.steps.length;
  return n;
}
