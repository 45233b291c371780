/**
 * Cross-replica invalidation of the ResolveModel cache (core/resolve-cache.ts) from the registry's
 * own events: every replica subscribes (core NATS, no durable consumer: only live changes matter)
 * to alias.moved / alias.deleted / version.ready / version.failed, whichever replica wrote them,
 * and forgets the named model's answers. So an alias move made through one replica is seen by the
 * others as soon as its event is published, instead of after a cache lifetime; the lifetime
 * (RESOLVE_CACHE_TTL) only bounds what has no event (tags, attached evaluations) and a missed
 * message. After a reconnect, when messages may have been missed, the whole cache is dropped.
 */
import { events, SUBJECTS } from '@medtune/contracts';
import type { Logger, NatsNamespace } from '@medtune/kit';
import type { NatsConnection } from '@nats-io/nats-core';
import type { ResolveCache } from '../core/resolve-cache';

/** Subscribes; returns a stop function. */
export function startCacheInvalidation(nc: NatsConnection, o: { cache: ResolveCache; namespace: NatsNamespace; log: Logger }): () => Promise<void> {
  const names: Record<string, (data: Uint8Array) => string | undefined> = {
    [SUBJECTS.registryAliasMoved.subject]: (d) => events.AliasChanged.decode(d).change?.name,
    [SUBJECTS.registryAliasDeleted.subject]: (d) => events.AliasChanged.decode(d).change?.name,
    [SUBJECTS.registryVersionReady.subject]: (d) => events.ModelVersionChanged.decode(d).version?.name,
    [SUBJECTS.registryVersionFailed.subject]: (d) => events.ModelVersionChanged.decode(d).version?.name,
  };
  const subs = Object.entries(names).map(([subject, nameOf]) =>
    nc.subscribe(o.namespace.subjectPrefix + subject, {
      callback: (err, msg) => {
        if (err) return;
        try {
          const name = nameOf(msg.data);
          if (name) o.cache.invalidate(name);
        } catch (e) {
          o.log.warn({ err: e, subject: msg.subject }, 'undecodable registry event; dropping the whole resolve cache');
          o.cache.clear();
        }
      },
    }),
  );
  const watching = (async () => {
    for await (const s of nc.status()) if (s.type === 'reconnect') o.cache.clear();
  })().catch(() => undefined);
  return async () => {
    for (const s of subs) s.unsubscribe();
    void watching;
  };
}
