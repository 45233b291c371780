/**
 * An in-memory RegistryStore with the same semantics as the Mongo one (unique (name, version) and
 * idempotency key, conditional updates), for unit tests of the core. Records are copied in and out
 * so tests cannot mutate stored state by accident.
 */
import type { registry } from '@medtune/contracts';
import type { AliasHistoryQuery, InsertVersionResult, ModelPatch, ModelQuery, RegistryStore, VersionQuery } from './ports';
import type { AliasChangeRecord, ModelRecord, PendingEvent, VersionRecord } from './records';
import { registry as reg } from '@medtune/contracts';

const copy = <T>(v: T): T => structuredClone(v);
const hasTags = (tags: Record<string, string>, want: Record<string, string>) => Object.entries(want).every(([k, v]) => tags[k] === v);

/** See the module comment. */
export class MemoryRegistryStore implements RegistryStore {
  readonly models = new Map<string, { rec: ModelRecord; outbox: PendingEvent[] }>();
  readonly versions = new Map<string, { rec: VersionRecord; outbox: PendingEvent[] }>();
  readonly history = new Map<string, AliasChangeRecord>();

  private vkey(name: string, version: number) {
    return `${name}\u0000${version}`;
  }

  async insertModel(model: ModelRecord, event: PendingEvent): Promise<boolean> {
    if (this.models.has(model.name)) return false;
    this.models.set(model.name, { rec: copy(model), outbox: [copy(event)] });
    return true;
  }
  async getModel(name: string) {
    const m = this.models.get(name);
    return m ? copy(m.rec) : null;
  }
  async listModels(q: ModelQuery) {
    return [...this.models.values()]
      .map((m) => m.rec)
      .filter((m) => m.name.startsWith(q.namePrefix) && hasTags(m.tags, q.tags) && (!q.afterName || m.name > q.afterName))
      .sort((a, b) => (a.name < b.name ? -1 : 1))
      .slice(0, q.limit)
      .map(copy);
  }
  async updateModel(name: string, patch: ModelPatch, time: Date) {
    const m = this.models.get(name);
    if (!m) return null;
    if (patch.description !== undefined) m.rec.description = patch.description;
    if (patch.setTags) Object.assign(m.rec.tags, patch.setTags);
    if (patch.promotionPolicy) m.rec.promotionPolicy = copy(patch.promotionPolicy);
    m.rec.updateTime = time;
    return copy(m.rec);
  }
  async casAlias(name: string, alias: string, expected: number, to: number, time: Date, event: PendingEvent) {
    const m = this.models.get(name);
    if (!m || (m.rec.aliases[alias] ?? 0) !== expected) return null;
    if (to) m.rec.aliases[alias] = to;
    else delete m.rec.aliases[alias];
    m.rec.updateTime = time;
    m.outbox.push(copy(event));
    return copy(m.rec);
  }
  async raiseLatestVersion(name: string, version: number) {
    const m = this.models.get(name);
    if (m) m.rec.latestVersion = Math.max(m.rec.latestVersion, version);
  }
  async findVersionByKey(key: string) {
    const v = [...this.versions.values()].find((x) => x.rec.idempotencyKey === key);
    return v ? copy(v.rec) : null;
  }
  async maxVersion(name: string) {
    return Math.max(0, ...[...this.versions.values()].filter((v) => v.rec.name === name).map((v) => v.rec.version));
  }
  async insertVersion(version: VersionRecord, event: PendingEvent): Promise<InsertVersionResult> {
    if (this.versions.has(this.vkey(version.name, version.version))) return 'version_taken';
    if ([...this.versions.values()].some((v) => v.rec.idempotencyKey === version.idempotencyKey)) return 'key_taken';
    this.versions.set(this.vkey(version.name, version.version), { rec: copy(version), outbox: [copy(event)] });
    return 'inserted';
  }
  async getVersion(name: string, version: number) {
    const v = this.versions.get(this.vkey(name, version));
    return v ? copy(v.rec) : null;
  }
  async listVersions(q: VersionQuery) {
    return [...this.versions.values()]
      .map((v) => v.rec)
      .filter(
        (v) =>
          v.name === q.name &&
          (q.statuses.length === 0 || q.statuses.includes(v.status)) &&
          hasTags(v.tags, q.tags) &&
          (q.beforeVersion === undefined || v.version < q.beforeVersion),
      )
      .sort((a, b) => b.version - a.version)
      .slice(0, q.limit)
      .map(copy);
  }
  async latestReadyVersion(name: string) {
    const [v] = await this.listVersions({ name, statuses: [reg.ModelVersionStatus.MODEL_VERSION_STATUS_READY], tags: {}, limit: 1 });
    return v ?? null;
  }
  async pendingVersions() {
    return [...this.versions.values()].map((v) => v.rec).filter((v) => v.status === reg.ModelVersionStatus.MODEL_VERSION_STATUS_PENDING_REGISTRATION).map(copy);
  }
  async completeVerification(name: string, version: number, status: registry.ModelVersionStatus, message: string, time: Date, event: PendingEvent) {
    const v = this.versions.get(this.vkey(name, version));
    if (!v || v.rec.status !== reg.ModelVersionStatus.MODEL_VERSION_STATUS_PENDING_REGISTRATION) return null;
    Object.assign(v.rec, { status, statusMessage: message, updateTime: time });
    v.outbox.push(copy(event));
    return copy(v.rec);
  }
  async updateVersionTags(name: string, version: number, set: Record<string, string>, remove: string[], time: Date) {
    const v = this.versions.get(this.vkey(name, version));
    if (!v) return null;
    Object.assign(v.rec.tags, set);
    for (const k of remove) delete v.rec.tags[k];
    v.rec.updateTime = time;
    return copy(v.rec);
  }
  async addEvaluation(name: string, version: number, result: registry.EvaluationResult, time: Date) {
    const v = this.versions.get(this.vkey(name, version));
    if (!v) return null;
    if (!v.rec.lineage.evaluations.some((e) => e.evaluationId === result.evaluationId)) {
      v.rec.lineage.evaluations.push(copy(result));
      v.rec.updateTime = time;
    }
    return copy(v.rec);
  }
  async insertAliasChange(change: AliasChangeRecord) {
    if (!this.history.has(change.id)) this.history.set(change.id, copy(change));
  }
  async listAliasChanges(q: AliasHistoryQuery) {
    return [...this.history.values()]
      .filter((c) => c.name === q.name && (!q.alias || c.alias === q.alias))
      .filter((c) => !q.before || c.time < q.before.time || (c.time.getTime() === q.before.time.getTime() && c.id < q.before.id))
      .sort((a, b) => b.time.getTime() - a.time.getTime() || (a.id < b.id ? 1 : -1))
      .slice(0, q.limit)
      .map(copy);
  }
  async unpublishedEvents() {
    return [...this.models.values(), ...this.versions.values()]
      .flatMap((d) => d.outbox)
      .sort((a, b) => (a.id < b.id ? -1 : 1))
      .map(copy);
  }
  async markPublished(eventId: string) {
    for (const d of [...this.models.values(), ...this.versions.values()]) d.outbox = d.outbox.filter((e) => e.id !== eventId);
  }
}
