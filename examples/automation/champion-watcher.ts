/**
 * Keeps a model server pointed at the champion: on medtune.registry.alias.moved for the watched
 * model and alias, writes the new version's artifact URIs (with their sha256) to a JSON file,
 * atomically (temp file + rename), so a server watching that file reloads a complete record.
 *
 *   NATS_URL=nats://127.0.0.1:4222 npx tsx examples/automation/champion-watcher.ts \
 *     --model demo-medical --alias champion --out var/serving/demo-medical.json
 *
 * The file looks like:
 *   { "model": "demo-medical", "alias": "champion", "version": 2,
 *     "artifacts": { "adapter": { "uri": "file:///…/adapter", "sha256": "…" }, "merged_16bit": {…} },
 *     "event": { "id": "…", "time": "…" } }
 * Every matching move is written, a move back (a rollback) included; a redelivered event rewrites
 * the same content, so redelivery is harmless.
 */
import { mkdir, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { common, SUBJECTS, STREAMS, type events } from '@medtune/contracts';
import type { NatsConnection } from '@nats-io/nats-core';
import { subscribe, type Received, type Subscription } from './subscribe';

/** What the file holds. */
export interface ChampionRecord {
  model: string;
  alias: string;
  version: number;
  artifacts: Record<string, { uri: string; sha256: string; sizeBytes: number }>;
  event: { id: string; time: string };
}

/** The record for an alias move, or undefined when it is not about the watched model / alias. */
export function championRecord(e: Received<events.AliasChanged>, watch: { model?: string | undefined; alias: string }): ChampionRecord | undefined {
  const change = e.message.change;
  const version = e.message.version;
  if (!change || !version || change.alias !== watch.alias) return undefined;
  if (watch.model && change.name !== watch.model) return undefined;
  const kind = (k: common.ArtifactKind) => (common.ArtifactKind[k] ?? 'unknown').replace(/^ARTIFACT_KIND_/, '').toLowerCase();
  return {
    model: change.name,
    alias: change.alias,
    version: change.toVersion,
    artifacts: Object.fromEntries(version.artifacts.map((a) => [kind(a.kind), { uri: a.uri, sha256: a.sha256, sizeBytes: a.sizeBytes }])),
    event: { id: e.id, time: e.time },
  };
}

/** Writes JSON atomically: a reader sees the old file or the new one, never half of one. */
export async function writeAtomically(file: string, value: unknown): Promise<void> {
  await mkdir(path.dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  await writeFile(tmp, `${JSON.stringify(value, null, 2)}\n`);
  await rename(tmp, file);
}

/** Options of {@link watchChampion}. */
export interface ChampionWatcherOptions {
  out: string;
  alias?: string;
  /** Only this model (default: any model; then give each model its own `out`). */
  model?: string;
  durable?: string;
  namespace?: { subjectPrefix: string; streamPrefix: string };
  log?: (line: string) => void;
}

/** Starts watching; the file is written for every matching move. */
export function watchChampion(nc: NatsConnection, o: ChampionWatcherOptions): Promise<Subscription> {
  const watch = { model: o.model, alias: o.alias ?? 'champion' };
  return subscribe(nc, {
    stream: STREAMS.registry.name,
    subject: SUBJECTS.registryAliasMoved.subject,
    durable: o.durable ?? `champion-watcher-${(o.model ?? 'all').replace(/[^A-Za-z0-9_-]/g, '_')}-${watch.alias}`,
    codec: SUBJECTS.registryAliasMoved.codec,
    namespace: o.namespace,
    async handle(e) {
      const record = championRecord(e, watch);
      if (!record) return;
      await writeAtomically(o.out, record);
      o.log?.(`${record.model}@${record.alias} → v${record.version}: wrote ${o.out}`);
    },
    onError: (err) => o.log?.(`failed, will retry: ${(err as Error).message}`),
  });
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { out: { type: 'string' }, model: { type: 'string' }, alias: { type: 'string' } } });
  if (!values.out) throw new Error('--out FILE is required');
  const { connect } = await import('@nats-io/transport-node');
  const nc = await connect({ servers: process.env.NATS_URL ?? 'nats://127.0.0.1:4222', user: process.env.NATS_USER, pass: process.env.NATS_PASSWORD, name: 'champion-watcher' });
  const sub = await watchChampion(nc, { out: values.out, model: values.model, alias: values.alias, log: (l) => console.log(l) });
  console.log(`watching ${SUBJECTS.registryAliasMoved.subject} (${values.model ?? 'any model'}@${values.alias ?? 'champion'}) → ${values.out}`);
  const stop = async () => {
    await sub.stop();
    await nc.drain();
  };
  process.once('SIGINT', () => void stop());
  process.once('SIGTERM', () => void stop());
}

if (process.argv[1] && import.meta.url === `file://${path.resolve(process.argv[1])}`) await main();
