// Entry of the pool's worker threads. Node 20 does not apply the parent's loader hooks (tsx) to a
// worker's module graph, so a TypeScript entry is loaded here through tsx's require hook. Not its
// ESM hooks: those run on a hooks thread of their own per worker (about 20 MB more each).
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { workerData } from 'node:worker_threads';

const { entry } = workerData;
if (entry.endsWith('.ts')) {
  const { register } = await import('tsx/cjs/api');
  register();
  createRequire(import.meta.url)(fileURLToPath(entry));
} else {
  await import(entry);
}
