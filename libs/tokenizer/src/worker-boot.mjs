// Entry of the pool's worker threads. Node 20 does not apply the parent's loader hooks (tsx) to a
// worker's own module graph, so a TypeScript entry is loaded through tsx's API, registered here.
import { workerData } from 'node:worker_threads';

const { entry } = workerData;
if (entry.endsWith('.ts')) {
  const { register } = await import('tsx/esm/api');
  register();
}
await import(entry);
