/** medtune run <pipeline.yaml> | medtune status */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { flag, type CommandSpec } from '../args';
import { GRPC_SERVICE, SERVICE_NAMES } from '../config';
import type { CliContext } from '../context';
import { CliError, EXIT } from '../exit';
import { renderTable } from '../format/table';
import { healthCheck } from '../health';
import { runPipeline } from '../pipeline/run';
import { parsePipeline } from '../pipeline/spec';

/** Reads and validates a pipeline file (exit 3 when missing, 4 when invalid). */
export async function loadPipelineFile(ctx: CliContext, file: string) {
  const abs = path.resolve(ctx.io.cwd, file);
  const text = await readFile(abs, 'utf8').catch((err: NodeJS.ErrnoException) => {
    throw new CliError(err.code === 'ENOENT' ? EXIT.NOT_FOUND : EXIT.INVALID_INPUT, `cannot read the pipeline ${abs}: ${err.message}`, 'examples: examples/demo/pipeline.yaml, examples/seed-14b/pipeline.yaml');
  });
  return parsePipeline(text, abs, ctx.io.env);
}

/** The pipeline and status commands. */
export const runCommands: CommandSpec<CliContext>[] = [
  {
    path: ['run'],
    summary: 'run a pipeline: import → evaluate the base → train → register → evaluate the result',
    args: ['<pipeline.yaml>'],
    options: {
      fresh: { type: 'boolean', description: 'train again even if this exact job exists (a second run otherwise reuses every step)' },
      check: { type: 'boolean', description: 'only validate the file and print the resolved pipeline' },
    },
    details: 'The file format: apps/cli/PIPELINE.md. Example: medtune run examples/demo/pipeline.yaml\nExit codes: 0 done, 4 invalid file or data, 5 the job / an evaluation / the registration failed, 6 a service is unreachable.',
    async run(ctx, p) {
      const loaded = await loadPipelineFile(ctx, p.positionals[0]!);
      if (flag(p, 'check')) {
        ctx.out.result(loaded.spec, () => `${loaded.file}: valid\n${JSON.stringify(loaded.spec, null, 2)}`);
        return;
      }
      await runPipeline(ctx, loaded, { fresh: flag(p, 'fresh') });
    },
  },
  {
    path: ['status'],
    summary: 'health of every service (grpc.health.v1)',
    async run(ctx) {
      const rows = await Promise.all(
        SERVICE_NAMES.map(async (name) => ({ name, address: ctx.cfg[name], status: await healthCheck(ctx.cfg[name], GRPC_SERVICE[name], 2_000, ctx.cfg.tlsCa ? { caFile: ctx.cfg.tlsCa, certFile: ctx.cfg.tlsClientCert, keyFile: ctx.cfg.tlsClientKey } : undefined).catch((e: Error) => (/No connection|ECONNREFUSED/.test(e.message) ? 'unreachable' : `error: ${e.message.replace(/^\d+ [A-Z_]+: /, '').slice(0, 60)}`)) })),
      );
      ctx.out.result(rows, () =>
        renderTable(rows, [
          { header: 'SERVICE', value: (r) => r.name },
          { header: 'ADDRESS', value: (r) => r.address },
          { header: 'STATUS', value: (r) => (r.status === 'SERVING' ? ctx.out.paint(r.status, 'green') : ctx.out.paint(r.status, 'red')) },
        ]),
      );
      if (rows.some((r) => r.status !== 'SERVING')) {
        throw new CliError(EXIT.UNAVAILABLE, 'some services are not serving', 'start the stack with deploy/local/stack.sh up');
      }
    },
  },
];
