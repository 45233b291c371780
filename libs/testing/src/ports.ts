import { createServer } from 'node:net';

/**
 * A TCP port on 127.0.0.1 that was free a moment ago. Prefer port 0 where the code under test
 * can report the port it bound; use this only for processes that must be told a port up front
 * (another process may take it in between, so retry on EADDRINUSE where that matters).
 */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => {
        if (address && typeof address === 'object') resolve(address.port);
        else reject(new Error(`freePort: unexpected server address ${String(address)}`));
      });
    });
  });
}
