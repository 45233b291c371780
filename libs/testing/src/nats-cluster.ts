import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { freePort } from './ports';
import { startProcess, type RunningProcess } from './process';
import { waitFor } from './wait-for';

/** One node of a {@link NatsCluster}. */
export interface NatsNode {
  readonly name: string;
  readonly url: string;
  /** The running nats-server; kill('SIGKILL') crashes the node. */
  readonly process: RunningProcess;
}

/** A nats-server cluster with JetStream on loopback (nats-server's own clustering). */
export interface NatsCluster {
  readonly nodes: readonly NatsNode[];
  /** Every node's client URL, for a client that fails over. */
  readonly urls: string[];
  /** Stops every node and deletes their data. Safe to call twice. */
  stop(): Promise<void>;
}

/**
 * Starts `size` nats-servers (default 3) routed to each other, each with JetStream in a temporary
 * directory, on free ports; resolves once the cluster has a JetStream meta leader (streams and
 * KV buckets with `num_replicas: 3` can be created). Needs `nats-server` on the PATH (tools/infra
 * installs it). Every spec gets its own cluster: nothing is shared with the test run's server.
 */
export async function startNatsCluster(options: { size?: number; nameHint?: string } = {}): Promise<NatsCluster> {
  const size = options.size ?? 3;
  const dir = await mkdtemp(path.join(tmpdir(), `medtune-nats-cluster-${options.nameHint ?? 'c'}-`));
  const ports = await Promise.all(Array.from({ length: size }, async () => ({ client: await freePort(), route: await freePort() })));
  const routes = ports.map((p) => `nats://127.0.0.1:${p.route}`).join(',');
  const nodes: NatsNode[] = [];
  try {
    for (const [i, p] of ports.entries()) {
      const name = `n${i + 1}`;
      const proc = await startProcess({
        cmd: 'nats-server',
        name: `nats-${name}`,
        args: ['-a', '127.0.0.1', '-p', String(p.client), '-n', name, '-js', '-sd', path.join(dir, name), '--cluster_name', 'medtune-test', '--cluster', `nats://127.0.0.1:${p.route}`, '--routes', routes],
        readyWhen: { log: 'Server is ready' },
        readyTimeoutMs: 20_000,
        stopTimeoutMs: 3_000,
      });
      nodes.push({ name, url: `nats://127.0.0.1:${p.client}`, process: proc });
    }
    const urls = nodes.map((n) => n.url);
    const nc = await connect({ servers: urls, name: 'cluster-probe' });
    try {
      // A meta leader is elected once the routes are up: until then JetStream API calls fail.
      await waitFor(async () => {
        const jsm = await jetstreamManager(nc, { timeout: 2_000 });
        return (await jsm.getAccountInfo()).api !== undefined;
      }, 30_000, { message: 'a JetStream meta leader in the cluster', intervalMs: 250 });
    } finally {
      await nc.close();
    }
  } catch (err) {
    await Promise.allSettled(nodes.map((n) => n.process.stop()));
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
  let stopped = false;
  return {
    nodes,
    urls: nodes.map((n) => n.url),
    async stop() {
      if (stopped) return;
      stopped = true;
      await Promise.allSettled(nodes.map((n) => n.process.stop()));
      await rm(dir, { recursive: true, force: true });
    },
  };
}
