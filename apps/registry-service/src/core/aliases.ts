/**
 * Aliases: set / move / delete with compare-and-set, and their history. An alias lives in its
 * model's document; each change is one conditional update of that document that also carries the
 * alias event (whose history record the outbox stores before publishing it).
 */
import { events, registry, SUBJECTS } from '@medtune/contracts';
import { AbortedError, FailedPreconditionError, InvalidArgumentError, NotFoundError, decodePageToken, encodePageToken, pageSize } from '@medtune/kit';
import { statusName, toAliasChange, toVersion } from './convert';
import { checkAliasName, checkModelName, type AliasChangeRecord, type ModelRecord } from './records';
import { pendingEvent, type RegistryDeps } from './registry';

const PAGE = { defaultSize: 50, maxSize: 500 };
const MAX_CAS_ATTEMPTS = 20;

/** Alias use cases. */
export class AliasCore {
  constructor(private readonly d: RegistryDeps) {}

  private async model(name: string): Promise<ModelRecord> {
    const model = await this.d.store.getModel(name);
    if (!model) throw new NotFoundError(`registered model ${JSON.stringify(name)} not found`);
    return model;
  }

  /**
   * Points an alias at a READY version. With expected_version, only if the alias points there
   * now (0: only if unset); otherwise ABORTED and nothing changes.
   */
  async setAlias(req: registry.SetAliasRequest): Promise<registry.AliasChange> {
    checkModelName(req.name);
    checkAliasName(req.alias);
    if (!Number.isInteger(req.version) || req.version < 1) throw new InvalidArgumentError('version', `must be >= 1 (got ${req.version})`);
    let model = await this.model(req.name);
    const target = await this.d.store.getVersion(req.name, req.version);
    if (!target) throw new NotFoundError(`registered model ${req.name} has no version ${req.version}`);
    if (target.status !== registry.ModelVersionStatus.MODEL_VERSION_STATUS_READY) {
      const why = target.statusMessage ? ` (${target.statusMessage})` : '';
      throw new FailedPreconditionError(
        `${req.name} version ${req.version} is ${statusName(target.status)}${why}; only READY versions can hold an alias`,
      );
    }
    for (let attempt = 0; attempt < MAX_CAS_ATTEMPTS; attempt++) {
      const current = model.aliases[req.alias] ?? 0;
      if (req.expectedVersion !== undefined && req.expectedVersion !== current) {
        throw new AbortedError(
          `alias ${req.alias} of ${req.name} points at ${current ? `version ${current}` : 'nothing'}, expected ${req.expectedVersion ? `version ${req.expectedVersion}` : 'nothing'}`,
        );
      }
      const time = this.d.clock();
      const change: AliasChangeRecord = {
        id: this.d.newId('alias'),
        name: req.name,
        alias: req.alias,
        fromVersion: current,
        toVersion: req.version,
        reason: req.reason,
        actor: req.actor,
        time,
      };
      if (current === req.version) return toAliasChange(change); // nothing moves, nothing recorded
      const moved = { ...model, aliases: { ...model.aliases, [req.alias]: req.version } };
      const payload = events.AliasChanged.encode({ change: toAliasChange(change), version: toVersion(target, moved) }).finish();
      const evt = pendingEvent(this.d.newId, SUBJECTS.registryAliasMoved.subject, payload, { aliasChange: change });
      const updated = await this.d.store.casAlias(req.name, req.alias, current, req.version, time, evt);
      if (updated) {
        this.d.cache.invalidate(req.name);
        this.d.log.info({ model: req.name, alias: req.alias, from: current, to: req.version, actor: req.actor }, 'alias moved');
        await this.d.outbox.publish([evt]);
        return toAliasChange(change);
      }
      model = await this.model(req.name); // someone else moved it: look again
    }
    throw new AbortedError(`alias ${req.alias} of ${req.name} keeps changing; retry`);
  }

  /** Deletes an alias, recording history. */
  async deleteAlias(req: registry.DeleteAliasRequest): Promise<registry.AliasChange> {
    checkModelName(req.name);
    checkAliasName(req.alias);
    let model = await this.model(req.name);
    for (let attempt = 0; attempt < MAX_CAS_ATTEMPTS; attempt++) {
      const current = model.aliases[req.alias];
      if (!current) throw new NotFoundError(`registered model ${req.name} has no alias ${JSON.stringify(req.alias)}`);
      const time = this.d.clock();
      const change: AliasChangeRecord = {
        id: this.d.newId('alias'),
        name: req.name,
        alias: req.alias,
        fromVersion: current,
        toVersion: 0,
        reason: req.reason,
        actor: req.actor,
        time,
      };
      const payload = events.AliasChanged.encode({ change: toAliasChange(change) }).finish();
      const evt = pendingEvent(this.d.newId, SUBJECTS.registryAliasDeleted.subject, payload, { aliasChange: change });
      if (await this.d.store.casAlias(req.name, req.alias, current, 0, time, evt)) {
        this.d.cache.invalidate(req.name);
        this.d.log.info({ model: req.name, alias: req.alias, from: current, actor: req.actor }, 'alias deleted');
        await this.d.outbox.publish([evt]);
        return toAliasChange(change);
      }
      model = await this.model(req.name);
    }
    throw new AbortedError(`alias ${req.alias} of ${req.name} keeps changing; retry`);
  }

  /** The history of one alias or of all aliases of a model, newest first. */
  async history(req: registry.ListAliasHistoryRequest): Promise<registry.ListAliasHistoryResponse> {
    checkModelName(req.name);
    if (req.alias) checkAliasName(req.alias);
    // A change is written to the history right after its compare-and-set (by the outbox, before
    // publishing; a crash in between is repaired by the startup sweep).
    await this.model(req.name);
    const limit = pageSize(req.pageSize, PAGE);
    const pos = decodePageToken<{ t: number; id: string }>(req.pageToken);
    if (pos && (typeof pos.t !== 'number' || typeof pos.id !== 'string')) {
      throw new InvalidArgumentError('page_token', 'is not a page token from a previous response');
    }
    const rows = await this.d.store.listAliasChanges({
      name: req.name,
      alias: req.alias,
      before: pos ? { time: new Date(pos.t), id: pos.id } : undefined,
      limit: limit + 1,
    });
    const page = rows.slice(0, limit);
    const last = page[page.length - 1];
    const next = rows.length > limit && last ? encodePageToken({ t: last.time.getTime(), id: last.id }) : '';
    return { changes: page.map(toAliasChange), nextPageToken: next };
  }
}
