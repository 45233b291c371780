import { jetstream, jetstreamManager, type JetStreamClient, type JetStreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { testServerUrls } from './context';
import { randomId } from './ids';

/**
 * A NATS connection with names of its own. Specs share one nats-server, so a spec (and the
 * services it starts) must put `subjectPrefix` in front of every subject and `streamPrefix` in
 * front of every stream name; cleanup() deletes every stream that carries the spec's id.
 */
export interface TestNats {
  /** Connected client; drained by cleanup(). */
  readonly nc: NatsConnection;
  readonly js: JetStreamClient;
  readonly jsm: JetStreamManager;
  /** The server URL, to hand to a service under test. */
  readonly url: string;
  /** This spec's random id (`t<hex>`), unique per call of testNats(). */
  readonly id: string;
  /** `<id>.`: put in front of subjects, e.g. `t3fa9c01b2e.medtune.dataset.version.ready`. */
  readonly subjectPrefix: string;
  /** `<ID>_`: put in front of stream (and KV bucket) names, e.g. `T3FA9C01B2E_DATASET`. */
  readonly streamPrefix: string;
  /** `subjectPrefix + subject`. */
  subject(subject: string): string;
  /** `streamPrefix + name`. */
  streamName(name: string): string;
  /** Deletes this spec's streams (with their consumers) and drains the connection. Safe to call twice. */
  cleanup(): Promise<void>;
}

/** Options of {@link testNats}. */
export interface TestNatsOptions {
  /** Server URL; default: the test run's (see global-setup.ts). */
  url?: string;
}

/**
 * Connects to the test run's NATS with a fresh random id for subjects and streams.
 * Use it as `beforeAll(async () => { nats = await testNats(); return nats.cleanup; })`.
 */
export async function testNats(options: TestNatsOptions = {}): Promise<TestNats> {
  const url = options.url ?? testServerUrls().natsUrl;
  const nc = await connect({ servers: url, name: 'medtune-test', timeout: 5_000 });
  const jsm = await jetstreamManager(nc);
  const id = randomId();
  const streamPrefix = `${id.toUpperCase()}_`;
  const subjectPrefix = `${id}.`;
  let closed = false;
  return {
    nc,
    js: jetstream(nc),
    jsm,
    url,
    id,
    subjectPrefix,
    streamPrefix,
    subject: (subject) => subjectPrefix + subject,
    streamName: (name) => streamPrefix + name,
    async cleanup(): Promise<void> {
      if (closed) return;
      closed = true;
      try {
        await deleteStreamsOf(jsm, id);
      } finally {
        await nc.drain();
      }
    },
  };
}

/** Deletes the streams whose name contains `id` (KV_<id>..., <ID>_...) or whose subjects start with `<id>.`. */
async function deleteStreamsOf(jsm: JetStreamManager, id: string): Promise<void> {
  const upper = id.toUpperCase();
  const doomed: string[] = [];
  for await (const info of jsm.streams.list()) {
    const name = info.config.name;
    if (name.toUpperCase().includes(upper) || info.config.subjects?.some((s) => s.startsWith(`${id}.`))) doomed.push(name);
  }
  for (const name of doomed) await jsm.streams.delete(name);
}
