/**
 * The registry's MongoDB store (works on FerretDB: no transactions, single-document atomic
 * updates only). Collections:
 *   models         _id = name; aliases as a sub-document; the outbox of model and alias events
 *   versions       _id = "<name>@<version>" (so (name, version) is unique by construction and a
 *                  lookup is by _id); unique idempotencyKey; the outbox of version events
 *   alias_history  _id = change id
 * FerretDB v1 has no projection in findAndModify, so those return whole documents.
 * Tags are stored twice: as pairs (to rebuild the map; keys may hold '.') and as "k\u0001v"
 * strings for $all filters. Artifacts, lineage and policy are stored in their proto-JSON form.
 */
import { Binary, type Collection, type Db, type Document } from 'mongodb';
import { common, registry } from '@medtune/contracts';
import {
  ensureIndexes,
  initialOutbox,
  isDuplicateKeyError,
  type OutboxDoc as BaseOutboxDoc,
  OutboxOwners,
  payloadBytes,
  pushEvent,
} from '@medtune/kit';
import type { AliasHistoryQuery, InsertVersionResult, ModelPatch, ModelQuery, RegistryStore, VersionQuery } from '../core/ports';
import type { AliasChangeRecord, ModelRecord, PendingEvent, VersionRecord } from '../core/records';

interface OutboxDoc extends BaseOutboxDoc {
  aliasChange?: AliasChangeRecord;
}

interface TagPair {
  k: string;
  v: string;
}

interface ModelDoc {
  _id: string;
  description: string;
  tags: TagPair[];
  tagIndex: string[];
  aliases: Record<string, number>;
  latestVersion: number;
  promotionPolicy: unknown;
  createTime: Date;
  updateTime: Date;
  outbox: OutboxDoc[];
  outboxCount: number;
  outboxRev: number;
}

interface VersionDoc {
  _id: string;
  name: string;
  version: number;
  status: number;
  statusMessage: string;
  artifacts: unknown[];
  lineage: unknown;
  evaluationIds: string[];
  tags: TagPair[];
  tagIndex: string[];
  idempotencyKey: string;
  requestHash: string;
  createTime: Date;
  updateTime: Date;
  outbox: OutboxDoc[];
  outboxCount: number;
  outboxRev: number;
}

type HistoryDoc = Omit<AliasChangeRecord, 'id'> & { _id: string };

const SEP = '\u0001';
const PENDING = registry.ModelVersionStatus.MODEL_VERSION_STATUS_PENDING_REGISTRATION;
const READY = registry.ModelVersionStatus.MODEL_VERSION_STATUS_READY;

const tagPairs = (tags: Record<string, string>): TagPair[] => Object.entries(tags).map(([k, v]) => ({ k, v }));
const tagIndex = (tags: Record<string, string>): string[] => Object.entries(tags).map(([k, v]) => k + SEP + v);
const tagsOf = (pairs: TagPair[] | undefined): Record<string, string> => Object.fromEntries((pairs ?? []).map((p) => [p.k, p.v]));
const versionId = (name: string, version: number) => `${name}@${version}`;

function outboxDoc(e: PendingEvent): OutboxDoc {
  return { id: e.id, subject: e.subject, payload: new Binary(e.payload), ...(e.aliasChange ? { aliasChange: e.aliasChange } : {}) };
}

function fromOutbox(o: OutboxDoc): PendingEvent {
  return { id: o.id, subject: o.subject, payload: payloadBytes(o.payload), ...(o.aliasChange ? { aliasChange: o.aliasChange } : {}) };
}

function toModelRecord(d: ModelDoc): ModelRecord {
  return {
    name: d._id,
    description: d.description,
    tags: tagsOf(d.tags),
    aliases: { ...(d.aliases ?? {}) },
    latestVersion: d.latestVersion,
    promotionPolicy: registry.PromotionPolicy.fromJSON(d.promotionPolicy ?? {}),
    createTime: d.createTime,
    updateTime: d.updateTime,
  };
}

function toVersionRecord(d: VersionDoc): VersionRecord {
  return {
    name: d.name,
    version: d.version,
    status: d.status as registry.ModelVersionStatus,
    statusMessage: d.statusMessage,
    artifacts: d.artifacts.map((a) => common.Artifact.fromJSON(a)),
    lineage: registry.ModelLineage.fromJSON(d.lineage ?? {}),
    tags: tagsOf(d.tags),
    idempotencyKey: d.idempotencyKey,
    requestHash: d.requestHash,
    createTime: d.createTime,
    updateTime: d.updateTime,
  };
}

/** Creates the collections' indexes (idempotent; run at startup). */
export async function ensureRegistryIndexes(db: Db): Promise<void> {
  await ensureIndexes(db, {
    models: [{ key: { outboxCount: 1 } }],
    versions: [
      { key: { idempotencyKey: 1 }, unique: true },
      { key: { name: 1, version: -1 } },
      { key: { status: 1 } },
      { key: { outboxCount: 1 } },
    ],
    alias_history: [{ key: { name: 1, time: -1 } }],
  });
}

/** See the module comment. */
export class MongoRegistryStore implements RegistryStore {
  private readonly models: Collection<ModelDoc>;
  private readonly versions: Collection<VersionDoc>;
  private readonly history: Collection<HistoryDoc>;
  private readonly owners = new OutboxOwners();

  constructor(db: Db) {
    this.models = db.collection<ModelDoc>('models');
    this.versions = db.collection<VersionDoc>('versions');
    this.history = db.collection<HistoryDoc>('alias_history');
  }

  async insertModel(m: ModelRecord, event: PendingEvent): Promise<boolean> {
    try {
      await this.models.insertOne({
        _id: m.name,
        description: m.description,
        tags: tagPairs(m.tags),
        tagIndex: tagIndex(m.tags),
        aliases: m.aliases,
        latestVersion: m.latestVersion,
        promotionPolicy: registry.PromotionPolicy.toJSON(m.promotionPolicy),
        createTime: m.createTime,
        updateTime: m.updateTime,
        ...(initialOutbox(outboxDoc(event)) as Pick<ModelDoc, 'outbox' | 'outboxCount' | 'outboxRev'>),
      });
      this.owners.note(event.id, this.models as unknown as Collection<Document>, m.name);
      return true;
    } catch (err) {
      if (isDuplicateKeyError(err)) return false;
      throw err;
    }
  }

  async getModel(name: string): Promise<ModelRecord | null> {
    const d = await this.models.findOne({ _id: name }, { projection: { outbox: 0 } });
    return d ? toModelRecord(d) : null;
  }

  async listModels(q: ModelQuery): Promise<ModelRecord[]> {
    const filter: Record<string, unknown> = {};
    const name: Record<string, unknown> = {};
    if (q.afterName) name['$gt'] = q.afterName;
    if (q.namePrefix) name['$regex'] = `^${q.namePrefix.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`;
    if (Object.keys(name).length) filter['_id'] = name;
    const tags = tagIndex(q.tags);
    if (tags.length) filter['tagIndex'] = { $all: tags };
    const docs = await this.models.find(filter, { projection: { outbox: 0 } }).sort({ _id: 1 }).limit(q.limit).toArray();
    return docs.map(toModelRecord);
  }

  async updateModel(name: string, patch: ModelPatch, time: Date): Promise<ModelRecord | null> {
    const current = await this.getModel(name);
    if (!current) return null;
    const set: Record<string, unknown> = { updateTime: time };
    if (patch.description !== undefined) set['description'] = patch.description;
    if (patch.promotionPolicy) set['promotionPolicy'] = registry.PromotionPolicy.toJSON(patch.promotionPolicy);
    if (patch.setTags && Object.keys(patch.setTags).length) {
      // Tags are a small map rewritten whole; concurrent tag edits of one model are last-writer-wins.
      const tags = { ...current.tags, ...patch.setTags };
      set['tags'] = tagPairs(tags);
      set['tagIndex'] = tagIndex(tags);
    }
    const d = await this.models.findOneAndUpdate({ _id: name }, { $set: set }, { returnDocument: 'after' });
    return d ? toModelRecord(d) : null;
  }

  async casAlias(name: string, alias: string, expected: number, to: number, time: Date, event: PendingEvent): Promise<ModelRecord | null> {
    const path = `aliases.${alias}`;
    const filter = { _id: name, [path]: expected ? expected : { $exists: false } };
    const update = {
      ...(to ? { $set: { [path]: to, updateTime: time } } : { $unset: { [path]: '' }, $set: { updateTime: time } }),
      ...pushEvent(outboxDoc(event)),
    };
    const d = await this.models.findOneAndUpdate(filter, update as never, { returnDocument: 'after' });
    if (d) this.owners.note(event.id, this.models as unknown as Collection<Document>, name);
    return d ? toModelRecord(d) : null;
  }

  async raiseLatestVersion(name: string, version: number): Promise<void> {
    await this.models.updateOne({ _id: name, latestVersion: { $lt: version } }, { $set: { latestVersion: version } });
  }

  async findVersionByKey(key: string): Promise<VersionRecord | null> {
    const d = await this.versions.findOne({ idempotencyKey: key }, { projection: { outbox: 0 } });
    return d ? toVersionRecord(d) : null;
  }

  async maxVersion(name: string): Promise<number> {
    const [d] = await this.versions.find({ name }, { projection: { version: 1 } }).sort({ version: -1 }).limit(1).toArray();
    return d?.version ?? 0;
  }

  async insertVersion(v: VersionRecord, event: PendingEvent): Promise<InsertVersionResult> {
    try {
      await this.versions.insertOne({
        _id: versionId(v.name, v.version),
        name: v.name,
        version: v.version,
        status: v.status,
        statusMessage: v.statusMessage,
        artifacts: v.artifacts.map((a) => common.Artifact.toJSON(a)),
        lineage: registry.ModelLineage.toJSON(v.lineage),
        evaluationIds: v.lineage.evaluations.map((e) => e.evaluationId),
        tags: tagPairs(v.tags),
        tagIndex: tagIndex(v.tags),
        idempotencyKey: v.idempotencyKey,
        requestHash: v.requestHash,
        createTime: v.createTime,
        updateTime: v.updateTime,
        ...(initialOutbox(outboxDoc(event)) as Pick<VersionDoc, 'outbox' | 'outboxCount' | 'outboxRev'>),
      });
      this.owners.note(event.id, this.versions as unknown as Collection<Document>, versionId(v.name, v.version));
      return 'inserted';
    } catch (err) {
      if (!isDuplicateKeyError(err)) throw err;
      return (await this.findVersionByKey(v.idempotencyKey)) ? 'key_taken' : 'version_taken';
    }
  }

  async getVersion(name: string, version: number): Promise<VersionRecord | null> {
    const d = await this.versions.findOne({ _id: versionId(name, version) }, { projection: { outbox: 0 } });
    return d ? toVersionRecord(d) : null;
  }

  async listVersions(q: VersionQuery): Promise<VersionRecord[]> {
    const filter: Record<string, unknown> = { name: q.name };
    if (q.statuses.length) filter['status'] = { $in: q.statuses };
    if (q.beforeVersion !== undefined) filter['version'] = { $lt: q.beforeVersion };
    const tags = tagIndex(q.tags);
    if (tags.length) filter['tagIndex'] = { $all: tags };
    const docs = await this.versions.find(filter, { projection: { outbox: 0 } }).sort({ version: -1 }).limit(q.limit).toArray();
    return docs.map(toVersionRecord);
  }

  async latestReadyVersion(name: string): Promise<VersionRecord | null> {
    const [d] = await this.versions.find({ name, status: READY }, { projection: { outbox: 0 } }).sort({ version: -1 }).limit(1).toArray();
    return d ? toVersionRecord(d) : null;
  }

  async pendingVersions(): Promise<VersionRecord[]> {
    const docs = await this.versions.find({ status: PENDING }, { projection: { outbox: 0 } }).sort({ createTime: 1 }).toArray();
    return docs.map(toVersionRecord);
  }

  async completeVerification(name: string, version: number, status: registry.ModelVersionStatus, message: string, time: Date, event: PendingEvent) {
    const d = await this.versions.findOneAndUpdate(
      { _id: versionId(name, version), status: PENDING },
      { $set: { status, statusMessage: message, updateTime: time }, ...pushEvent(outboxDoc(event)) } as never,
      { returnDocument: 'after' },
    );
    if (d) this.owners.note(event.id, this.versions as unknown as Collection<Document>, versionId(name, version));
    return d ? toVersionRecord(d) : null;
  }

  async updateVersionTags(name: string, version: number, set: Record<string, string>, remove: string[], time: Date) {
    const current = await this.getVersion(name, version);
    if (!current) return null;
    const tags = { ...current.tags, ...set };
    for (const k of remove) delete tags[k];
    const d = await this.versions.findOneAndUpdate(
      { _id: versionId(name, version) },
      { $set: { tags: tagPairs(tags), tagIndex: tagIndex(tags), updateTime: time } },
      { returnDocument: 'after' },
    );
    return d ? toVersionRecord(d) : null;
  }

  async addEvaluation(name: string, version: number, result: registry.EvaluationResult, time: Date) {
    const id = versionId(name, version);
    // evaluationIds makes the append idempotent in one conditional update.
    await this.versions.updateOne(
      { _id: id, evaluationIds: { $ne: result.evaluationId } },
      {
        $push: { 'lineage.evaluations': registry.EvaluationResult.toJSON(result), evaluationIds: result.evaluationId } as never,
        $set: { updateTime: time },
      },
    );
    return this.getVersion(name, version);
  }

  async insertAliasChange(c: AliasChangeRecord): Promise<void> {
    try {
      const { id, ...rest } = c;
      await this.history.insertOne({ _id: id, ...rest });
    } catch (err) {
      if (!isDuplicateKeyError(err)) throw err;
    }
  }

  async listAliasChanges(q: AliasHistoryQuery): Promise<AliasChangeRecord[]> {
    const filter: Record<string, unknown> = { name: q.name };
    if (q.alias) filter['alias'] = q.alias;
    if (q.before) {
      filter['$or'] = [{ time: { $lt: q.before.time } }, { time: q.before.time, _id: { $lt: q.before.id } }];
    }
    const docs = await this.history.find(filter).sort({ time: -1, _id: -1 }).limit(q.limit).toArray();
    return docs.map(({ _id, ...rest }) => ({ id: _id, ...rest }));
  }

  private outboxCollections(): Collection<Document>[] {
    return [this.models as unknown as Collection<Document>, this.versions as unknown as Collection<Document>];
  }

  async unpublishedEvents(): Promise<PendingEvent[]> {
    return (await this.owners.pending(this.outboxCollections())).map((o) => fromOutbox(o as OutboxDoc));
  }

  async markPublished(eventId: string): Promise<void> {
    await this.owners.remove(eventId, this.outboxCollections());
  }
}
