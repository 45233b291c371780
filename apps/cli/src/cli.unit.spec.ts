import { readFileSync } from 'node:fs';
import { evaluation, training } from '@medtune/contracts';
import { CancelledError, FailedPreconditionError, InternalError, UnavailableError, InvalidArgumentError, NotFoundError, UnauthenticatedError } from '@medtune/kit';
import { describe, expect, it } from 'vitest';
import { commandUsage, parseCommandLine, renderHelp, splitGlobalFlags } from './args';
import { COMMANDS, runCli } from './cli';
import { CliError, EXIT, explainCallError } from './exit';
import { jobOutcome } from './commands/train';
import { comparisonText } from './format/views';
import type { Io } from './output';
import { parseEvalModel, parseModelRef } from './refs';

function capture(env: Record<string, string> = {}): Io & { out: () => string; err: () => string } {
  let out = '';
  let err = '';
  return { stdout: { write: (s: string) => (out += s) }, stderr: { write: (s: string) => (err += s) }, env, cwd: '/tmp', out: () => out, err: () => err };
}
const parsed = (argv: string[]) => {
  const p = parseCommandLine(argv, COMMANDS);
  if ('help' in p) throw new Error('got help');
  return p;
};

describe('command line', () => {
  it('finds the longest command path, with global flags anywhere', () => {
    const p = parsed(['--json', 'models', 'alias', 'set', 'demo', 'champion', '3', '--expect', '2', '-q']);
    expect(p.command.path).toEqual(['models', 'alias', 'set']);
    expect(p.positionals).toEqual(['demo', 'champion', '3']);
    expect(p.values['expect']).toBe('2');
    expect(p.global).toEqual({ json: true, quiet: true, help: false });
    expect(splitGlobalFlags(['run', '--', '--json']).global.json).toBe(false);
  });

  it('turns every mistake into a usage error (exit 2) naming it', () => {
    const err = (argv: string[]) => {
      try {
        parseCommandLine(argv, COMMANDS);
      } catch (e) {
        expect((e as CliError).exitCode).toBe(EXIT.USAGE);
        return (e as CliError).message;
      }
      throw new Error('no error');
    };
    expect(err(['frob'])).toBe('unknown command: frob');
    expect(err(['models', 'frob'])).toBe('unknown command: medtune models frob');
    expect(err(['train', 'watch'])).toBe('medtune train watch: missing <job-id>');
    expect(err(['train', 'watch', 'a', 'b'])).toBe('medtune train watch: unexpected argument "b"');
    expect(err(['runs', 'metrics', 'r', '--colour'])).toMatch(/^medtune runs metrics: Unknown option '--colour'/);
  });

  it('prints help for nothing, for `help <command>` and for --help', () => {
    expect('help' in parseCommandLine([], COMMANDS)).toBe(true);
    expect(renderHelp(COMMANDS, ['train', 'create'])).toContain('--max-steps N');
    expect(renderHelp(COMMANDS)).toMatch(/exit codes: 0 ok, 1 internal, 2 usage, 3 not found, 4 invalid input, 5 job\/eval failed, 6 unavailable/);
    expect(commandUsage(COMMANDS.find((c) => c.path.join(' ') === 'models resolve')!)).toBe('medtune models resolve <model> [options]');
  });

  it('parses model references', () => {
    expect(parseModelRef('demo@champion')).toEqual({ name: 'demo', selector: { $case: 'alias', alias: 'champion' } });
    expect(parseModelRef('demo@v3')).toEqual({ name: 'demo', selector: { $case: 'version', version: 3 } });
    expect(parseModelRef('demo')).toEqual({ name: 'demo', selector: { $case: 'latest', latest: true } });
    expect(() => parseModelRef('Demo@x')).toThrow(/not a model reference/);
    expect(parseEvalModel('./m', (p) => `/abs/${p}`)).toEqual({ ref: { $case: 'baseModel', baseModel: '/abs/./m' } });
    expect(parseEvalModel('org/model', (p) => p).ref).toEqual({ $case: 'baseModel', baseModel: 'org/model' });
  });
});

describe('errors say what to do next', () => {
  const site = { service: 'training', address: '127.0.0.1:50052' };
  it('an unreachable service names itself, its address and how to start the stack (exit 6)', () => {
    const e = explainCallError(new UnavailableError('No connection established. Last error: connect ECONNREFUSED 127.0.0.1:50052'), site);
    expect(e.exitCode).toBe(EXIT.UNAVAILABLE);
    expect(e.message).toBe('cannot reach the training service at 127.0.0.1:50052 — is it running?');
    expect(e.hint).toMatch(/deploy\/local\/stack\.sh up/);
  });
  it('has a test for every documented exit code, and the README documents exactly these', () => {
    const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
    const documented = [...readme.matchAll(/^\| (\d+) \| ([A-Z_]+) \|/gm)].map((m) => [Number(m[1]), m[2]]);
    expect(documented).toEqual(Object.entries(EXIT).map(([k, v]) => [v, k]));
    const cases: [unknown, number][] = [
      [new InternalError('boom'), EXIT.INTERNAL],
      [new NotFoundError('job x not found'), EXIT.NOT_FOUND],
      [new InvalidArgumentError('lora.r', 'must be >= 1'), EXIT.INVALID_INPUT],
      [new UnavailableError('No connection established'), EXIT.UNAVAILABLE],
      [new UnauthenticatedError('missing token'), EXIT.UNAUTHENTICATED],
      [new FailedPreconditionError('stale'), EXIT.CONFLICT],
    ];
    for (const [err, code] of cases) expect(explainCallError(err, site).exitCode, String(err)).toBe(code);
    const job = (state: training.JobState) => training.Job.fromPartial({ jobId: 'job_1', state });
    expect(jobOutcome(job(training.JobState.JOB_STATE_SUCCEEDED))).toBeUndefined();
    expect(jobOutcome(job(training.JobState.JOB_STATE_CANCELLED))!.exitCode).toBe(EXIT.FAILED);
    expect(jobOutcome(job(training.JobState.JOB_STATE_FAILED))!.exitCode).toBe(EXIT.FAILED);
  });

  it('exits 0 for help, 2 for a usage error, 130 for a call cancelled by Ctrl-C', async () => {
    expect(await runCli(['help'], capture())).toBe(EXIT.OK);
    expect(await runCli(['models', 'frob'], capture())).toBe(EXIT.USAGE);
    expect(explainCallError(new CancelledError('the call was cancelled'), site).exitCode).toBe(EXIT.INTERRUPTED);
  });

  it('maps statuses to the documented exit codes and keeps the field of INVALID_ARGUMENT', () => {
    const bad = explainCallError(new InvalidArgumentError('lora.r', 'must be >= 1 (got 0)'), site);
    expect([bad.exitCode, bad.message, bad.field]).toEqual([EXIT.INVALID_INPUT, 'lora.r: must be >= 1 (got 0)', 'lora.r']);
    expect(explainCallError(new NotFoundError('job x not found'), site).exitCode).toBe(EXIT.NOT_FOUND);
    expect(explainCallError(new UnauthenticatedError('missing or invalid bearer token'), site)).toMatchObject({ exitCode: EXIT.UNAUTHENTICATED, hint: expect.stringMatching(/MEDTUNE_AUTH_TOKEN/) });
  });
});

describe('runCli', () => {
  it('prints help and exits 0 for no arguments', async () => {
    const io = capture();
    expect(await runCli([], io)).toBe(EXIT.OK);
    expect(io.out()).toMatch(/^usage: medtune <command>/);
  });
  it('reports a usage error on stderr, as JSON with --json, with exit 2', async () => {
    const io = capture();
    expect(await runCli(['--json', 'models', 'resolve', 'Bad@x'], io)).toBe(EXIT.USAGE);
    expect(JSON.parse(io.err())).toEqual({ error: expect.objectContaining({ exitCode: 2, code: 'USAGE', message: 'not a model reference: "Bad@x"' }) });
    expect(io.out()).toBe('');
  });
  it('names a bad address variable (exit 2) and an unreachable service (exit 6)', async () => {
    const bad = capture({ MEDTUNE_REGISTRY_ADDR: 'nowhere' });
    expect(await runCli(['models', 'list'], bad)).toBe(EXIT.USAGE);
    expect(bad.err()).toMatch(/MEDTUNE_REGISTRY_ADDR: expected host:port/);
    const down = capture({ MEDTUNE_REGISTRY_ADDR: '127.0.0.1:1' });
    expect(await runCli(['models', 'list'], down)).toBe(EXIT.UNAVAILABLE);
    expect(down.err()).toMatch(/cannot reach the registry service at 127\.0\.0\.1:1/);
  });
  it('validates a pipeline with --check (exit 4 and the problems for a bad one)', async () => {
    const io = capture();
    expect(await runCli(['run', '--check', '--json', new URL('../../../examples/demo/pipeline.yaml', import.meta.url).pathname], io)).toBe(EXIT.OK);
    expect(JSON.parse(io.out()).name).toBe('demo-medical');
  });
});

describe('the stored comparison, printed like the seed\'s before / after', () => {
  it('shows scores before and after with deltas, then the paired answers after </think>', () => {
    const c = evaluation.Comparison.fromPartial({
      comparisonId: 'cmp_1', baselineEvaluationId: 'ev_a', candidateEvaluationId: 'ev_b', evalSet: 'demo-mcq-zh', items: 8, registryName: 'demo', registryVersion: 2,
      baseline: { items: 8, accuracy: 0.25, formatCompliance: 0.5, completionTokensP50: 20 },
      candidate: { items: 8, accuracy: 0.5, formatCompliance: 1, completionTokensP50: 18 },
      deltas: { accuracy: 0.25, format_compliance: 0.5, completion_tokens_p50: -2 }, gained: 3, lost: 1, mcnemarPValue: 0.625,
      examples: [{ index: 0, question: '急性心肌梗死最特异的标志物是', baselineOutput: '<think>不知道</think>A', candidateOutput: '<think>肌钙蛋白</think>C', baselineCorrect: false, candidateCorrect: true, baselineFormatOk: true, candidateFormatOk: true }],
    });
    const text = comparisonText(c, 3, 100);
    expect(text).toContain('comparison cmp_1  set demo-mcq-zh  8 items  model demo@2');
    expect(text).toMatch(/accuracy\s+25\.0%\s+50\.0%\s+\+25\.0 pt/);
    expect(text).toMatch(/completion_tokens_p50\s+20\s+18\s+-2/);
    expect(text).toContain('gained 3, lost 1, McNemar p = 0.625');
    expect(text).toContain('before ✗: A');
    expect(text).toContain('after  ✓: C');
  });
});
