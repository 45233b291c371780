// Runs the scheduler load bench (apps/training-service/bench/scheduler-bench.ts) in a child
// process: it composes the training service in-process, so it lives in that app's project and
// no project under bench/ depends on an app. Environment (BENCH_*) passes through.
//   tools/infra/infra.sh up && npx tsx bench/scheduler/run.ts
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../..', import.meta.url));
const r = spawnSync(process.execPath, ['--import', 'tsx', 'apps/training-service/bench/scheduler-bench.ts', ...process.argv.slice(2)], { cwd: root, stdio: 'inherit' });
process.exit(r.status ?? 1);
