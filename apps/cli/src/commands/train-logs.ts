/**
 * medtune train logs <job> [--follow] [--tail BYTES]
 *
 * A job placed on a Ray cluster: the Ray job's driver log (the trainer's stdout and stderr) of its
 * newest attempt, through the training service's GetJobLogs. A job on registered workers (the
 * training service keeps no log for them): the job's own event log, one line per event, from
 * WatchJob. --follow keeps printing until the job ends.
 */
import { training, trainer } from '@medtune/contracts';
import { flag, intOpt, type CommandSpec } from '../args';
import type { CliContext } from '../context';
import { CliError, EXIT } from '../exit';
import { artifactKindName, backendName, failureText, JOB_TERMINAL, jobStateName } from '../format/views';
import { formatBytes } from '../format/units';

const DAY_MS = 24 * 3_600_000;
const MAX_TAIL = 4 * 1024 * 1024;
const POLL_MS = 2_000;

/** One line of a job event, for people. */
export function eventLine(e: training.JobEvent): string | undefined {
  const at = e.time ? e.time.toISOString() : '';
  const head = `${at} #${e.sequence}`;
  const p = e.payload;
  if (!p) return undefined;
  if (p.$case === 'stateChanged') return `${head} ${jobStateName(p.stateChanged.state)}${p.stateChanged.reason ? ` — ${p.stateChanged.reason}` : ''}`;
  const w = p.workerEvent.payload;
  const attempt = p.workerEvent.attempt ? ` [attempt ${p.workerEvent.attempt}]` : '';
  switch (w?.$case) {
    case 'metrics':
      return `${head}${attempt} step ${w.metrics.step} ${Object.entries(w.metrics.values).map(([k, v]) => `${k}=${Number(v.toPrecision(6))}`).join(' ')}`;
    case 'progress':
      return undefined; // metrics and states say it; progress ticks would drown them
    case 'checkpointSaved':
      return `${head}${attempt} checkpoint at step ${w.checkpointSaved.checkpoint?.step ?? '?'}: ${w.checkpointSaved.checkpoint?.uri ?? ''}`;
    case 'artifactReady':
      return `${head}${attempt} artifact ${artifactKindName(w.artifactReady.kind)} (${formatBytes(w.artifactReady.sizeBytes)}): ${w.artifactReady.uri}`;
    case 'backendSelected':
      return `${head}${attempt} backend ${backendName(w.backendSelected.backend)}${w.backendSelected.reason ? ` — ${w.backendSelected.reason}` : ''}`;
    case 'notice':
      return `${head}${attempt} ${w.notice.level === trainer.NoticeLevel.NOTICE_LEVEL_WARNING ? 'warning' : 'note'}: ${w.notice.message}`;
    case 'stateChanged':
      return `${head}${attempt} worker: ${w.stateChanged.failure ? failureText(w.stateChanged.failure) : 'state changed'}`;
    default:
      return undefined;
  }
}

/** The part of `next` not printed yet, given the text printed so far of the same attempt's log. */
export function unseenPart(printed: string, next: string): string {
  if (next.startsWith(printed)) return next.slice(printed.length);
  // The window moved (a tail): continue after the last stretch printed that it still holds.
  const anchor = printed.slice(-512);
  const at = anchor ? next.lastIndexOf(anchor) : -1;
  return at >= 0 ? next.slice(at + anchor.length) : next;
}

async function rayLogs(ctx: CliContext, jobId: string, tailBytes: number, follow: boolean): Promise<boolean> {
  let res: training.GetJobLogsResponse;
  try {
    res = await ctx.clients.training.unary('getJobLogs', { jobId, tailBytes });
  } catch (err) {
    // The workers executor keeps no log: FAILED_PRECONDITION "… keeps no job logs …".
    if (err instanceof CliError && err.exitCode === EXIT.CONFLICT && /keeps no job logs/.test(err.message)) return false;
    throw err;
  }
  const show = (r: training.GetJobLogsResponse) => {
    if (ctx.out.json) ctx.out.jsonLine(training.GetJobLogsResponse.toJSON(r));
    else ctx.out.note(`${r.source} (attempt ${r.attempt})${r.truncated ? `, last ${formatBytes(Buffer.byteLength(r.text))}` : ''}:`);
  };
  show(res);
  if (!ctx.out.json) ctx.io.stdout.write(res.text);
  if (!follow) return true;
  let printed = res.text;
  let attempt = res.attempt;
  for (;;) {
    const { job } = await ctx.clients.training.unary('getJob', { jobId });
    const ended = !job || JOB_TERMINAL.has(job.state);
    try {
      const next = await ctx.clients.training.unary('getJobLogs', { jobId, tailBytes: MAX_TAIL });
      if (next.attempt !== attempt) {
        attempt = next.attempt;
        printed = '';
        show(next);
      }
      const fresh = unseenPart(printed, next.text);
      if (fresh) {
        if (ctx.out.json) ctx.out.jsonLine({ text: fresh, source: next.source, attempt: next.attempt });
        else ctx.io.stdout.write(fresh);
      }
      printed = next.text;
    } catch (err) {
      // A job whose next attempt is not submitted yet has no log for a moment: keep waiting.
      if (!(err instanceof CliError) || (err.exitCode !== EXIT.CONFLICT && err.exitCode !== EXIT.UNAVAILABLE)) throw err;
    }
    if (ended) return true;
    await ctx.sleep(POLL_MS);
    if (ctx.signal.aborted) return true;
  }
}

async function eventLog(ctx: CliContext, jobId: string, follow: boolean): Promise<void> {
  const { job } = await ctx.clients.training.unary('getJob', { jobId });
  const last = job?.lastSequence ?? 0;
  ctx.out.note(`the job's event log (${last} events so far; the trainer's own log is trainer.log in its job directory on the worker)`);
  if (!follow && last === 0) return;
  const stream = ctx.clients.training.serverStream('watchJob', { jobId, fromSequence: 1 }, { deadlineMs: DAY_MS, signal: ctx.signal });
  for await (const msg of stream) {
    const e = msg.event;
    if (!e) continue;
    if (ctx.out.json) ctx.out.jsonLine({ event: training.JobEvent.toJSON(e) });
    else {
      const line = eventLine(e);
      if (line) ctx.io.stdout.write(`${line}\n`);
    }
    if (!follow && e.sequence >= last) break;
  }
}

/** `medtune train logs`. */
export const trainLogsCommand: CommandSpec<CliContext> = {
  path: ['train', 'logs'],
  summary: "a job's log: the Ray job's log (Ray executor) or the job's event log (workers)",
  args: ['<job-id>'],
  options: {
    follow: { type: 'boolean', short: 'f', description: 'keep printing as the job goes on, until it ends' },
    tail: { type: 'string', value: 'BYTES', description: `only the last BYTES of a Ray job's log (default 64 KiB, at most ${MAX_TAIL})` },
  },
  async run(ctx, p) {
    const jobId = p.positionals[0]!;
    const follow = flag(p, 'follow');
    const tail = intOpt(p, 'tail', { min: 1, max: MAX_TAIL }) ?? 0;
    if (await rayLogs(ctx, jobId, tail, follow)) return;
    await eventLog(ctx, jobId, follow);
  },
};
