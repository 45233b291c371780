/**
 * Worker holds: GPU work that is not a training job (evaluation runs) asks the training service
 * for a worker (HoldWorker) instead of picking one itself, so the one scheduler places both kinds
 * of work and they never race for a GPU.
 *
 * Any replica serves HoldWorker / ReleaseWorker (they insert, renew or release a hold document);
 * only the scheduler (the `training.scheduler` lease holder) grants waiting holds and expires
 * lapsed ones, inside its pass, so a grant and a job dispatch are decided by one process.
 */
import { type Clock, InvalidArgumentError } from '@medtune/kit';
import { training } from '@medtune/contracts';
import type { Logger } from 'pino';
import type { ExecutionSlot } from './executor';
import { place } from './placement';
import type { HoldPlacer } from './scheduler';

const H = training.HoldState;
const DEFAULT_TTL_MS = 30_000;

/** A hold as stored. */
export interface HoldRecord {
  holdId: string;
  holder: string;
  state: training.HoldState;
  gpus: number;
  minGpuMemoryBytes: number;
  ttlMs: number;
  /** Queue order of waiting holds. */
  requestedAt: Date;
  /** Last HoldWorker call: the hold lapses at renewedAt + ttlMs. */
  renewedAt: Date;
  workerId?: string;
  address?: string;
}

/** Hold documents. */
export interface HoldRepository {
  get(holdId: string): Promise<HoldRecord | undefined>;
  /** Creates or replaces the whole hold. */
  put(record: HoldRecord): Promise<void>;
  /** Sets renewedAt (and ttlMs) of an existing hold. */
  renew(holdId: string, at: Date, ttlMs: number): Promise<void>;
  /** Sets RELEASED. */
  release(holdId: string): Promise<void>;
  /** WAITING → GRANTED on a worker; false when it was no longer waiting. */
  grant(holdId: string, workerId: string, address: string): Promise<boolean>;
  /** Holds in these states, oldest request first. */
  inStates(states: readonly training.HoldState[]): Promise<HoldRecord[]>;
}

/** The public view of a hold. */
export function holdView(r: HoldRecord): training.WorkerHold {
  return {
    holdId: r.holdId,
    holder: r.holder,
    state: r.state,
    workerId: r.workerId ?? '',
    address: r.address ?? '',
    expireTime: new Date(r.renewedAt.getTime() + r.ttlMs),
  };
}

/** Dependencies of {@link WorkerHolds}. */
export interface WorkerHoldsDeps {
  holds: HoldRepository;
  clock: Clock;
  log: Logger;
  /** A hold was queued or given back: run a scheduling pass. */
  onChanged?: () => void;
}

/** HoldWorker / ReleaseWorker, and the scheduler's side of holds ({@link HoldPlacer}). */
export class WorkerHolds implements HoldPlacer {
  constructor(private readonly deps: WorkerHoldsDeps) {}

  /** HoldWorker. */
  async hold(req: training.HoldWorkerRequest): Promise<training.WorkerHold> {
    const errors: string[] = [];
    if (!req.holdId) errors.push('hold_id: is required');
    if (!req.holder) errors.push('holder: is required');
    if (req.ttlMs !== 0 && (req.ttlMs < 1_000 || req.ttlMs > 600_000)) errors.push(`ttl_ms: must be 1000..600000 (got ${req.ttlMs})`);
    if (errors.length > 0) throw new InvalidArgumentError(errors.map((e) => e.split(':')[0]).join(','), errors.join('; '));
    const now = this.deps.clock();
    const ttlMs = req.ttlMs || DEFAULT_TTL_MS;
    const current = await this.deps.holds.get(req.holdId);
    if (current && current.state !== H.HOLD_STATE_RELEASED && !this.lapsed(current, now)) {
      await this.deps.holds.renew(req.holdId, now, ttlMs);
      return holdView({ ...current, renewedAt: now, ttlMs });
    }
    const record: HoldRecord = {
      holdId: req.holdId,
      holder: req.holder,
      state: H.HOLD_STATE_WAITING,
      gpus: Math.max(1, req.gpus),
      minGpuMemoryBytes: Number(req.minGpuMemoryBytes),
      ttlMs,
      requestedAt: now,
      renewedAt: now,
    };
    await this.deps.holds.put(record);
    this.deps.log.info({ holdId: record.holdId, holder: record.holder, gpus: record.gpus }, 'worker hold queued');
    this.deps.onChanged?.();
    return holdView(record);
  }

  /** ReleaseWorker. */
  async release(holdId: string): Promise<training.WorkerHold | undefined> {
    if (!holdId) throw new InvalidArgumentError('hold_id', 'is required');
    const current = await this.deps.holds.get(holdId);
    if (!current) return undefined;
    await this.deps.holds.release(holdId);
    if (current.state === H.HOLD_STATE_GRANTED) this.deps.log.info({ holdId, workerId: current.workerId }, 'worker hold released');
    this.deps.onChanged?.();
    return holdView({ ...current, state: H.HOLD_STATE_RELEASED });
  }

  /** Workers held now; lapsed grants are released on the way (scheduler only). */
  async occupied(): Promise<string[]> {
    const now = this.deps.clock();
    const out: string[] = [];
    for (const h of await this.deps.holds.inStates([H.HOLD_STATE_GRANTED])) {
      if (this.lapsed(h, now)) {
        this.deps.log.warn({ holdId: h.holdId, workerId: h.workerId }, 'worker hold lapsed (not renewed); the worker is free again');
        await this.deps.holds.release(h.holdId);
        continue;
      }
      if (h.workerId) out.push(h.workerId);
    }
    return out;
  }

  /** Grants waiting holds, oldest first, on free slots (scheduler only); returns the slots used. */
  async place(free: readonly ExecutionSlot[]): Promise<string[]> {
    const now = this.deps.clock();
    const waiting = (await this.deps.holds.inStates([H.HOLD_STATE_WAITING])).filter((h) => !this.lapsed(h, now));
    if (waiting.length === 0) return [];
    const demands = waiting.map((h) => ({
      item: h,
      gpus: h.gpus,
      fits: (s: ExecutionSlot) => h.minGpuMemoryBytes <= 0 || s.info.gpuMemoryBytes >= h.minGpuMemoryBytes,
    }));
    const used: string[] = [];
    for (const a of place(demands, free)) {
      if (!(await this.deps.holds.grant(a.item.holdId, a.slot.slotId, a.slot.address))) continue;
      this.deps.log.info({ holdId: a.item.holdId, holder: a.item.holder, workerId: a.slot.slotId }, 'worker hold granted');
      used.push(a.slot.slotId);
    }
    return used;
  }

  private lapsed(h: HoldRecord, now: Date): boolean {
    return h.renewedAt.getTime() + h.ttlMs < now.getTime();
  }
}
