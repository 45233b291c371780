/**
 * Placement: which waiting demand goes to which free slot. The one placement authority for GPU
 * work: training jobs (the queue) and worker holds (evaluation runs asking for a worker through
 * HoldWorker) are placed here, by the scheduler that holds the `training.scheduler` lease, so two
 * kinds of work never race for one GPU.
 *
 * Pure and transport-free: the scheduler passes the demands in queue order (priority, then age)
 * and the free slots; placement never reorders demands and gives each the smallest free slot that
 * fits (an 8-GPU node is not spent on a 1-GPU job while a 1-GPU node is free).
 */
import type { ExecutionSlot } from './executor';

/** Something that wants a slot: a job attempt or a worker hold. */
export interface Demand<T> {
  readonly item: T;
  /** GPUs it needs on one slot (≥ 1). */
  readonly gpus: number;
  /** Other constraints (memory, backend, refused pairs). */
  fits(slot: ExecutionSlot): boolean;
}

/** One decision. */
export interface Assignment<T> {
  readonly item: T;
  readonly slot: ExecutionSlot;
}

/**
 * Assigns demands in their order, each to the fitting free slot with the fewest GPUs (first one
 * among equals); a demand that fits nothing free is skipped (it waits), later ones still get
 * their chance. Each slot is used at most once.
 */
export function place<T>(demands: Iterable<Demand<T>>, free: readonly ExecutionSlot[]): Assignment<T>[] {
  const left = [...free];
  const out: Assignment<T>[] = [];
  for (const d of demands) {
    if (left.length === 0) break;
    let best = -1;
    for (let i = 0; i < left.length; i++) {
      const s = left[i];
      if (!s || s.gpus < d.gpus || !d.fits(s)) continue;
      if (best < 0 || s.gpus < (left[best]?.gpus ?? Infinity)) best = i;
    }
    if (best < 0) continue;
    const [slot] = left.splice(best, 1);
    if (slot) out.push({ item: d.item, slot });
  }
  return out;
}
