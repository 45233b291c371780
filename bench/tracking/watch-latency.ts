/**
 * Latency probe of the ingestion benchmark, in a process of its own so the publisher's work does
 * not delay it: one WatchRun stream per run (keys: loss, one point per message) on the tracking
 * service at BENCH_ADDR. A point arrives when the service has written it (the service notifies
 * watchers right after the write returns); its latency is arrival − the time in the message.
 * Prints "watching" once every stream is open; on SIGTERM writes the pairs (message time, latency
 * ms) of every point it saw to BENCH_LATENCY_FILE.
 */
import { setMaxListeners } from 'node:events';
import { writeFileSync } from 'node:fs';
import { tracking } from '@medtune/contracts';
import { createClient } from '@medtune/kit';

const env = process.env;
const runs = (env['BENCH_RUN_IDS'] ?? '').split(',').filter(Boolean);
const client = createClient(tracking.TrackingServiceClient, env['BENCH_ADDR']!, { defaultDeadlineMs: 3_600_000 });
const abort = new AbortController();
setMaxListeners(0, abort.signal); // one signal for every stream
const samples: number[] = [];
let opened = 0;

for (const runId of runs) {
  void (async () => {
    try {
      for await (const m of client.serverStream('watchRun', { runId, keys: ['loss'] }, { signal: abort.signal })) {
        if (m.update?.$case === 'run') {
          if (++opened === runs.length) console.log('watching');
          continue;
        }
        if (m.update?.$case !== 'metrics') continue;
        const now = Date.now();
        for (const p of m.update.metrics.points) if (p.time) samples.push(p.time.getTime(), now - p.time.getTime());
      }
    } catch {
      // cancelled at the end
    }
  })();
}

process.once('SIGTERM', () => {
  abort.abort();
  writeFileSync(env['BENCH_LATENCY_FILE']!, JSON.stringify(samples));
  client.close();
  process.exit(0);
});
