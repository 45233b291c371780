// `medtune train logs` against a scripted training client: the Ray job's log (and --follow), and
// the job's event log for a job on registered workers. The real Ray path is covered by
// test/ray/ray-executor.int.spec.ts.
import { training, trainer } from '@medtune/contracts';
import { describe, expect, it } from 'vitest';
import type { CliContext } from '../context';
import { CliError, EXIT } from '../exit';
import { Output, type Io } from '../output';
import { trainLogsCommand, unseenPart } from './train-logs';
import { parseCommandLine } from '../args';

const S = training.JobState;

function run(argv: string[], training_: Record<string, unknown>) {
  let out = '';
  let err = '';
  const io: Io = { stdout: { write: (s: string) => (out += s) }, stderr: { write: (s: string) => (err += s) }, env: {}, cwd: '/tmp' };
  const ctx = {
    io,
    out: new Output(io, { json: false, quiet: false }),
    cfg: {},
    clients: { training: training_ },
    signal: new AbortController().signal,
    sleep: async () => undefined,
  } as unknown as CliContext;
  const p = parseCommandLine(['train', 'logs', ...argv], [trainLogsCommand]);
  if ('help' in p) throw new Error('help');
  return trainLogsCommand.run(ctx, p).then(() => ({ out, err }));
}

const job = (state: training.JobState, lastSequence = 0) => ({ job: training.Job.fromPartial({ jobId: 'j1', state, lastSequence }) });

describe('medtune train logs', () => {
  it('prints the Ray job log of the newest attempt, its source on stderr', async () => {
    const r = await run(['j1', '--tail', '100'], {
      unary: async (method: string, req: { tailBytes: number }) => {
        expect(method).toBe('getJobLogs');
        expect(req.tailBytes).toBe(100);
        return { text: 'line 1\nline 2\n', source: 'ray job medtune-j1-a2', attempt: 2, truncated: false };
      },
    });
    expect(r.out).toBe('line 1\nline 2\n');
    expect(r.err).toBe('ray job medtune-j1-a2 (attempt 2):\n');
  });

  it('--follow prints only what is new until the job ends, and a new attempt from its start', async () => {
    const logs = [
      { text: 'a\n', attempt: 1 },
      { text: 'a\nb\n', attempt: 1 },
      { text: 'c\n', attempt: 2 },
      { text: 'c\nd\n', attempt: 2 },
    ];
    const states = [S.JOB_STATE_RUNNING, S.JOB_STATE_RECOVERING, S.JOB_STATE_SUCCEEDED];
    let i = 0;
    const r = await run(['j1', '-f'], {
      unary: async (method: string) => {
        if (method === 'getJob') return job(states.shift() ?? S.JOB_STATE_SUCCEEDED);
        const l = logs[Math.min(i++, logs.length - 1)]!;
        return { ...l, source: `ray job medtune-j1-a${l.attempt}`, truncated: false };
      },
    });
    expect(r.out).toBe('a\nb\nc\nd\n');
    expect(r.err).toBe('ray job medtune-j1-a1 (attempt 1):\nray job medtune-j1-a2 (attempt 2):\n');
  });

  it('a job on registered workers: its event log, one line per event, up to the last event so far', async () => {
    const at = new Date('2026-12-03T10:00:00Z');
    const evts = [
      training.JobEvent.fromPartial({ sequence: 1, time: at, payload: { $case: 'stateChanged', stateChanged: { state: S.JOB_STATE_QUEUED, reason: 'waiting for a worker' } } }),
      training.JobEvent.fromPartial({ sequence: 2, time: at, payload: { $case: 'workerEvent', workerEvent: { attempt: 1, payload: { $case: 'metrics', metrics: { step: 1, values: { loss: 2.5 } } } } } }),
      training.JobEvent.fromPartial({ sequence: 3, time: at, payload: { $case: 'workerEvent', workerEvent: { attempt: 1, payload: { $case: 'notice', notice: { level: trainer.NoticeLevel.NOTICE_LEVEL_WARNING, message: 'slow disk' } } } } }),
      training.JobEvent.fromPartial({ sequence: 4, time: at, payload: { $case: 'stateChanged', stateChanged: { state: S.JOB_STATE_RUNNING } } }),
    ];
    const r = await run(['j1'], {
      unary: async (method: string) => {
        if (method === 'getJobLogs') throw new CliError(EXIT.CONFLICT, 'the workers executor keeps no job logs: read the worker’s own log');
        return job(S.JOB_STATE_RUNNING, 3);
      },
      serverStream: async function* (method: string, req: { fromSequence: number }) {
        expect(method).toBe('watchJob');
        expect(req.fromSequence).toBe(1);
        for (const event of evts) yield { event };
      },
    });
    expect(r.out).toBe(
      ['2026-12-03T10:00:00.000Z #1 queued — waiting for a worker', '2026-12-03T10:00:00.000Z #2 [attempt 1] step 1 loss=2.5', '2026-12-03T10:00:00.000Z #3 [attempt 1] warning: slow disk', ''].join('\n'),
    );
    expect(r.err).toMatch(/event log \(3 events so far/);
  });

  it('other errors are the answer (an unknown job is NOT_FOUND)', async () => {
    const err = await run(['nope'], {
      unary: async () => {
        throw new CliError(EXIT.NOT_FOUND, 'job nope not found');
      },
    }).catch((e: unknown) => e as CliError);
    expect((err as CliError).exitCode).toBe(EXIT.NOT_FOUND);
  });

  it('unseenPart continues after what a moving tail window still holds', () => {
    expect(unseenPart('ab', 'abc')).toBe('c');
    const printed = Array.from({ length: 300 }, (_, i) => `line ${i}\n`).join('');
    expect(unseenPart(printed, `${printed.slice(1000)}line 300\n`)).toBe('line 300\n');
    expect(unseenPart('old', 'other')).toBe('other');
  });
});
