/** Builds the gateway from its config: clients, API, bundled front end, HTTP server. */
import type { AddressInfo } from 'node:net';
import type { Logger } from '@medtune/kit';
import { createApi } from './api';
import { bundleWeb } from './assets';
import { createGatewayClients } from './clients';
import type { DashboardConfig } from './config';
import { createHttpServer } from './http';

/** A running gateway. */
export interface Dashboard {
  /** http://host:port/ it serves. */
  readonly url: string;
  /** Stops accepting, ends open event streams, closes the channels. */
  stop(): Promise<void>;
}

/** Starts the gateway. */
export async function startDashboard(cfg: DashboardConfig, log: Logger): Promise<Dashboard> {
  const clients = createGatewayClients(cfg, log.child({ component: 'grpc' }));
  // A stack with a token (shared or signed) requires one for actions too.
  const authRequired = cfg.authToken !== undefined || cfg.tokenFile !== undefined;
  const api = createApi(clients, { maxHistoryPoints: cfg.maxHistoryPoints, authRequired });
  const assets = await bundleWeb();
  const server = createHttpServer({ api, services: clients.read, assets, log: log.child({ component: 'http' }), secureCookie: cfg.secureCookie }, authRequired);
  const sep = cfg.httpAddr.lastIndexOf(':');
  const host = cfg.httpAddr.slice(0, sep).replace(/^\[|\]$/g, '');
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(Number(cfg.httpAddr.slice(sep + 1)), host, () => resolve());
  });
  const a = server.address() as AddressInfo;
  const url = `http://${a.family === 'IPv6' ? `[${a.address}]` : a.address}:${a.port}/`;
  log.info({ url, authRequired, tls: Boolean(cfg.tlsCa) }, 'dashboard serving');
  return {
    url,
    async stop() {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await closed;
      clients.close();
    },
  };
}
