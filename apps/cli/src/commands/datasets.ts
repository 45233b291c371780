/** medtune datasets import | list | stats | preview | report */
import path from 'node:path';
import { dataset } from '@medtune/contracts';
import { flag, intOpt, numOpt, str, type CommandSpec } from '../args';
import type { CliContext } from '../context';
import { CliError, EXIT, usage } from '../exit';
import { importProgressLine } from '../format/progress';
import { renderTable } from '../format/table';
import { issuesText, versionsTable, versionStats } from '../format/views';
import { shortDigest } from '../format/units';

const PRESETS: Record<string, dataset.MappingPreset> = {
  medical_o1: dataset.MappingPreset.MAPPING_PRESET_MEDICAL_O1,
  alpaca: dataset.MappingPreset.MAPPING_PRESET_ALPACA,
  chat: dataset.MappingPreset.MAPPING_PRESET_CHAT,
};

/**
 * Runs ImportDataset with a progress bar; returns the result. A rejected import throws exit 4
 * with the first row issues and where to see the rest.
 */
export async function importWithProgress(ctx: CliContext, req: dataset.ImportDatasetRequest, indent = ''): Promise<dataset.ImportResult> {
  const live = ctx.out.live(2_000);
  let result: dataset.ImportResult | undefined;
  try {
    for await (const msg of ctx.clients.dataset.serverStream('importDataset', req, { deadlineMs: 6 * 3_600_000, signal: ctx.signal })) {
      const ev = msg.event;
      if (ev?.$case === 'progress') {
        const p = ev.progress;
        live.update(`${indent}${importProgressLine(p.phase, p.rowsRead, p.bytesRead, p.totalBytes, 24)}`);
      } else if (ev?.$case === 'result') result = ev.result;
    }
  } catch (err) {
    // A rejected import sends its report, then ends with FAILED_PRECONDITION: that is invalid
    // input (exit 4, with the rows), not a conflict.
    if (!result?.report?.rejected) throw err;
  } finally {
    live.done();
  }
  if (!result) throw new CliError(EXIT.INTERNAL, 'the dataset service ended the import without a result', 'see its log: deploy/local/stack.sh logs dataset');
  if (result.report?.rejected || !result.version) {
    const r = result.report;
    throw new CliError(
      EXIT.INVALID_INPUT,
      `import rejected: ${r?.rejectionReason || 'invalid rows'}${r ? ` (${r.rowsInvalid} of ${r.rowsTotal} rows invalid${r.rowsDuplicate ? `, ${r.rowsDuplicate} duplicates` : ''})` : ''}\n${issuesText(r)}`,
      r ? `fix the rows listed (all of them: medtune datasets report ${r.reportId}), or keep the valid rows with --skip-invalid (pipeline: dataset.invalid_rows: skip)` : undefined,
    );
  }
  return result;
}

/** The dataset commands. */
export const datasetCommands: CommandSpec<CliContext>[] = [
  {
    path: ['datasets', 'import'],
    summary: 'import a JSON / JSONL file as a dataset version (validated, formatted, tokenized, split)',
    args: ['<path>'],
    options: {
      name: { type: 'string', value: 'NAME', description: 'dataset name (required)' },
      tokenizer: { type: 'string', value: 'DIR', description: 'base model directory whose tokenizer counts tokens (required)' },
      template: { type: 'string', value: 'NAME', description: 'prompt template (default medical-o1-zh, the seed\'s)' },
      preset: { type: 'string', value: 'PRESET', description: 'medical_o1 (default) | alpaca | chat' },
      question: { type: 'string', value: 'COL', description: 'question column (default Question)' },
      cot: { type: 'string', value: 'COL', description: 'chain-of-thought column (default Complex_CoT)' },
      response: { type: 'string', value: 'COL', description: 'answer column (default Response)' },
      'max-seq-length': { type: 'string', value: 'N', description: 'report rows longer than this (default 4096)' },
      'eval-ratio': { type: 'string', value: 'R', description: 'held-out share, 0..0.5 (default 0.02)' },
      'split-seed': { type: 'string', value: 'N', description: 'split seed (default 8137)' },
      'skip-invalid': { type: 'boolean', description: 'keep the valid rows instead of rejecting the file' },
      'keep-duplicates': { type: 'boolean', description: 'keep duplicate rows (reported either way)' },
    },
    details: 'The path is read by the dataset service (on one host: the same filesystem). Importing the same content with the same settings again returns the existing version.\nexample: medtune datasets import examples/demo/data/train.json --name demo-medical-zh --tokenizer var/models/tiny-qwen2',
    async run(ctx, p) {
      const name = str(p, 'name');
      const tokenizer = str(p, 'tokenizer');
      if (!name) throw usage('datasets import: --name is required');
      if (!tokenizer) throw usage('datasets import: --tokenizer is required (the base model directory)');
      const preset = str(p, 'preset');
      if (preset !== undefined && !(preset in PRESETS)) throw usage(`--preset: expected one of ${Object.keys(PRESETS).join(', ')}, got ${JSON.stringify(preset)}`);
      const req = dataset.ImportDatasetRequest.fromPartial({
        path: path.resolve(ctx.io.cwd, p.positionals[0]!),
        options: {
          datasetName: name,
          tokenizerDir: path.resolve(ctx.io.cwd, tokenizer),
          templateName: str(p, 'template') ?? '',
          mapping: { preset: preset ? PRESETS[preset] : 0, question: str(p, 'question') ?? '', cot: str(p, 'cot') ?? '', response: str(p, 'response') ?? '' },
          maxSeqLength: intOpt(p, 'max-seq-length', { min: 1 }),
          evalRatio: numOpt(p, 'eval-ratio', { min: 0, max: 0.5 }),
          splitSeed: intOpt(p, 'split-seed', { min: 0 }),
          invalidRowPolicy: flag(p, 'skip-invalid') ? dataset.InvalidRowPolicy.INVALID_ROW_POLICY_SKIP_INVALID : dataset.InvalidRowPolicy.INVALID_ROW_POLICY_REJECT,
          duplicatePolicy: flag(p, 'keep-duplicates') ? dataset.DuplicatePolicy.DUPLICATE_POLICY_KEEP_AND_REPORT : dataset.DuplicatePolicy.DUPLICATE_POLICY_DROP_AND_REPORT,
        },
      });
      const result = await importWithProgress(ctx, req);
      const v = result.version!;
      ctx.out.result(dataset.ImportResult.toJSON(result), () =>
        [
          `${result.created ? 'imported' : 'already stored'}: ${v.datasetName}@${shortDigest(v.digest)}`,
          result.nameAdded ? `(the same content was stored as ${result.existingDatasetName}; it is now also listed as ${name})` : '',
          versionStats(v),
          issuesText(result.report),
        ]
          .filter(Boolean)
          .join('\n'),
      );
    },
  },
  {
    path: ['datasets', 'list'],
    summary: 'list dataset versions, newest first',
    options: {
      name: { type: 'string', value: 'NAME', description: 'only this dataset' },
      limit: { type: 'string', value: 'N', description: 'at most N versions (default 50)' },
    },
    async run(ctx, p) {
      const res = await ctx.clients.dataset.unary('listVersions', { datasetName: str(p, 'name') ?? '', pageSize: intOpt(p, 'limit', { min: 1, max: 500 }) ?? 50, pageToken: '' });
      ctx.out.result(dataset.ListVersionsResponse.toJSON(res), () => versionsTable(res.versions));
    },
  },
  {
    path: ['datasets', 'stats'],
    summary: 'token statistics, split and validation summary of a version',
    args: ['<digest>'],
    async run(ctx, p) {
      const res = await ctx.clients.dataset.unary('getVersion', { digest: p.positionals[0]! });
      ctx.out.result(dataset.GetVersionResponse.toJSON(res), () => `${versionStats(res.version!)}${res.inUse ? '\nin use by a training job that has not ended' : ''}`);
    },
  },
  {
    path: ['datasets', 'preview'],
    summary: 'rows of a version (or of a file before importing it) rendered through the template',
    args: ['[digest]'],
    options: {
      file: { type: 'string', value: 'PATH', description: 'preview a file instead of a stored version' },
      tokenizer: { type: 'string', value: 'DIR', description: 'tokenizer directory (with --file)' },
      template: { type: 'string', value: 'NAME', description: 'template (default: the version\'s, or medical-o1-zh)' },
      offset: { type: 'string', value: 'N', description: 'first row, 0-based' },
      limit: { type: 'string', value: 'N', description: 'rows to show, 1..50 (default 1)' },
    },
    async run(ctx, p) {
      const file = str(p, 'file');
      const digest = p.positionals[0];
      if (!file === !digest) throw usage('datasets preview: give a version digest or --file PATH (one of them)');
      if (file && !str(p, 'tokenizer')) throw usage('datasets preview: --file needs --tokenizer DIR');
      const res = await ctx.clients.dataset.unary(
        'previewFormatted',
        dataset.PreviewFormattedRequest.fromPartial({
          source: file ? { $case: 'path', path: path.resolve(ctx.io.cwd, file) } : { $case: 'digest', digest: digest! },
          tokenizerDir: file ? path.resolve(ctx.io.cwd, str(p, 'tokenizer')!) : '',
          templateName: str(p, 'template') ?? '',
          offset: intOpt(p, 'offset', { min: 0 }) ?? 0,
          limit: intOpt(p, 'limit', { min: 1, max: 50 }) ?? 1,
        }),
      );
      ctx.out.result(dataset.PreviewFormattedResponse.toJSON(res), () =>
        res.rows.map((r) => `── row ${r.index} (${r.tokenCount} tokens, template ${res.template?.name ?? '?'})\n${r.text}`).join('\n\n'),
      );
    },
  },
  {
    path: ['datasets', 'report'],
    summary: 'every issue of an import\'s validation report',
    args: ['<report-id>'],
    options: { 'fatal-only': { type: 'boolean', description: 'only issues that made rows invalid' }, limit: { type: 'string', value: 'N', description: 'issues per page (default 100)' } },
    async run(ctx, p) {
      const res = await ctx.clients.dataset.unary('getValidationReport', { reportId: p.positionals[0]!, fatalOnly: flag(p, 'fatal-only'), pageSize: intOpt(p, 'limit', { min: 1, max: 1000 }) ?? 100, pageToken: '' });
      ctx.out.result(dataset.GetValidationReportResponse.toJSON(res), () =>
        renderTable(res.issues, [
          { header: 'ROW', value: (i) => String(i.row), align: 'right' },
          { header: 'COLUMN', value: (i) => i.column || '–' },
          { header: 'ISSUE', value: (i) => (dataset.RowIssueCode[i.code] ?? '').replace(/^ROW_ISSUE_CODE_/, '').toLowerCase() },
          { header: 'FATAL', value: (i) => (i.fatal ? 'yes' : 'no') },
          { header: 'MESSAGE', value: (i) => i.message, max: 80 },
        ], '(no issues)'),
      );
    },
  },
];
