/**
 * grpc.health.v1: the serving status of the server ('') and of each service, with Check and
 * Watch handlers over the generated `health` namespace.
 */
import { health } from '@medtune/contracts';
import { NotFoundError } from './errors';
import { serverStream, unary, type ServiceHandlers } from './grpc-handlers';

/** A serving status as the health protocol names it. */
export type ServingStatus = 'UNKNOWN' | 'SERVING' | 'NOT_SERVING' | 'SERVICE_UNKNOWN';

const Status = health.HealthCheckResponse_ServingStatus;
const TO_PROTO: Record<ServingStatus, health.HealthCheckResponse_ServingStatus> = {
  UNKNOWN: Status.UNKNOWN,
  SERVING: Status.SERVING,
  NOT_SERVING: Status.NOT_SERVING,
  SERVICE_UNKNOWN: Status.SERVICE_UNKNOWN,
};

/** The statuses a server reports; changes reach every Watch stream. */
export class HealthState {
  private readonly statuses = new Map<string, ServingStatus>();
  private readonly listeners = new Set<(service: string, status: ServingStatus) => void>();
  private frozen = false;

  /** Sets a service's status ('' = the whole server). Ignored once {@link shutdown} ran: a stopping server stays NOT_SERVING. */
  set(service: string, status: 'SERVING' | 'NOT_SERVING'): void {
    if (this.frozen) return;
    this.update(service, status);
  }

  /** The status of a service, or undefined when it was never set. */
  get(service: string): ServingStatus | undefined {
    return this.statuses.get(service);
  }

  /** Every known service and its status. */
  all(): ReadonlyMap<string, ServingStatus> {
    return new Map(this.statuses);
  }

  /** Calls `listener` on each change; returns the unsubscribe function. */
  onChange(listener: (service: string, status: ServingStatus) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Marks every service (and the server) NOT_SERVING for good: the first step of shutdown. */
  shutdown(): void {
    if (!this.statuses.has('')) this.update('', 'NOT_SERVING');
    for (const service of this.statuses.keys()) this.update(service, 'NOT_SERVING');
    this.frozen = true;
  }

  private update(service: string, status: ServingStatus): void {
    if (this.statuses.get(service) === status) return;
    this.statuses.set(service, status);
    for (const listener of this.listeners) listener(service, status);
  }
}

/** Check and Watch handlers for `health.HealthService`. */
export function healthHandlers(state: HealthState): ServiceHandlers<typeof health.HealthService> {
  return {
    check: unary(async (req) => {
      const status = state.get(req.service);
      if (status === undefined) throw new NotFoundError(`unknown service ${JSON.stringify(req.service)}`);
      return { status: TO_PROTO[status] };
    }),
    // Sends the status now and at each change; ends when the client leaves or the server stops
    // (after the NOT_SERVING of the shutdown has been sent).
    watch: serverStream(async function* (req, ctx) {
      const pending: ServingStatus[] = [state.get(req.service) ?? 'SERVICE_UNKNOWN'];
      let wake: (() => void) | undefined;
      const unsubscribe = state.onChange((service, status) => {
        if (service !== req.service) return;
        pending.push(status);
        wake?.();
      });
      const onAbort = (): void => wake?.();
      ctx.signal.addEventListener('abort', onAbort);
      ctx.stopping.addEventListener('abort', onAbort);
      try {
        for (;;) {
          for (let s = pending.shift(); s !== undefined; s = pending.shift()) yield { status: TO_PROTO[s] };
          if (ctx.signal.aborted || ctx.stopping.aborted) return;
          await new Promise<void>((resolve) => (wake = resolve));
          wake = undefined;
        }
      } finally {
        unsubscribe();
        ctx.signal.removeEventListener('abort', onAbort);
        ctx.stopping.removeEventListener('abort', onAbort);
      }
    }),
  };
}
