/**
 * The module boundaries are enforced, not just declared: ESLint's @nx/enforce-module-boundaries
 * rejects each forbidden import below and accepts the allowed ones. The sources are linted as if
 * they were files of the named projects (lintText with a filePath), so nothing is written.
 *
 * By hand: `npx eslint .` runs the same rule over the whole tree.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ESLint } from 'eslint';
import { beforeAll, describe, expect, it } from 'vitest';

const eslint = new ESLint({ cwd: process.cwd() });

// The rule reads Nx's cached project graph; refresh it so projects added since the last Nx
// command are known (a stale graph would make these checks pass or fail for the wrong reason).
beforeAll(() => {
  execFileSync('npx', ['nx', 'show', 'projects'], { stdio: 'ignore', env: { ...process.env, NX_DAEMON: 'false' } });
}, 120_000);

async function boundaryErrors(filePath: string, source: string): Promise<string[]> {
  const [result] = await eslint.lintText(source, { filePath });
  return (result?.messages ?? []).filter((m) => m.ruleId === '@nx/enforce-module-boundaries').map((m) => m.message);
}

describe('module boundaries', () => {
  it('refuses a lib that imports an app', async () => {
    const errors = await boundaryErrors('libs/prompting/src/violation.ts', "import '../../../apps/dataset-service/src/main';\n");
    expect(errors.join('\n')).toMatch(/Projects cannot be imported by a relative or absolute path/);
  }, 120_000);

  it('refuses an app that imports another app', async () => {
    const errors = await boundaryErrors('apps/training-service/src/violation.ts', "import '../../dataset-service/src/main';\n");
    expect(errors.join('\n')).toMatch(/Projects cannot be imported by a relative or absolute path/);
  }, 120_000);

  it('refuses generated contracts that import anything of ours', async () => {
    const errors = await boundaryErrors('libs/contracts/src/violation.ts', "import { loadTokenizer } from '@medtune/tokenizer';\nexport const x = loadTokenizer;\n");
    expect(errors.join('\n')).toMatch(/type:contracts/);
  }, 120_000);

  it('refuses the kit importing a service-scoped project', async () => {
    const errors = await boundaryErrors('libs/kit/src/violation.ts', "import '../../../apps/registry-service/src/main';\n");
    expect(errors.length).toBeGreaterThan(0);
  }, 120_000);

  it('accepts an app that imports the kit, the contracts and a lib', async () => {
    const source = "import { createLogger } from '@medtune/kit';\nimport { dataset } from '@medtune/contracts';\nimport * as p from '@medtune/prompting';\nexport const x = [createLogger, dataset, p];\n";
    expect(await boundaryErrors('apps/dataset-service/src/allowed.ts', source)).toEqual([]);
  }, 120_000);
});

describe('nx graph', () => {
  it('has edges from apps to libs only: nothing depends on an app, and no lib on an app', () => {
    const file = path.join(mkdtempSync(path.join(tmpdir(), 'graph-')), 'graph.json');
    execFileSync('npx', ['nx', 'graph', `--file=${file}`], { stdio: 'ignore', env: { ...process.env, NX_DAEMON: 'false' } });
    const { graph } = JSON.parse(readFileSync(file, 'utf8')) as {
      graph: { nodes: Record<string, { type: string }>; dependencies: Record<string, { target: string }[]> };
    };
    const edges = Object.entries(graph.dependencies).flatMap(([source, deps]) =>
      deps.filter((d) => d.target in graph.nodes).map((d) => ({ source, target: d.target })),
    );
    expect(edges.length).toBeGreaterThan(10);
    const intoApps = edges.filter((e) => graph.nodes[e.target]!.type !== 'lib');
    expect(intoApps).toEqual([]);
    const appNames = Object.entries(graph.nodes).filter(([, n]) => n.type === 'app').map(([name]) => name);
    expect(appNames).toEqual(expect.arrayContaining(['dataset-service', 'training-service', 'tracking-service', 'evaluation-service', 'registry-service', 'cli']));
  }, 120_000);
});
