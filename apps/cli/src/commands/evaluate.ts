/** medtune eval run | show | list | compare | sets */
import path from 'node:path';
import { evaluation } from '@medtune/contracts';
import { flag, intOpt, numOpt, str, type CommandSpec } from '../args';
import type { CliContext } from '../context';
import { CliError, EXIT, usage } from '../exit';
import { followEvaluation } from '../follow';
import { renderFields, renderTable } from '../format/table';
import { comparisonText, evalModelName, evalStatusName, evaluationsTable, failureHint, failureText, scoresLine } from '../format/views';
import { parseEvalModel, parseModelRef } from '../refs';

/** Exit 5 for a failed evaluation. */
export function evaluationOutcome(e: evaluation.Evaluation): CliError | undefined {
  if (e.status === evaluation.EvaluationStatus.EVALUATION_STATUS_COMPLETED) return undefined;
  return new CliError(EXIT.FAILED, `evaluation ${e.evaluationId} ${evalStatusName(e.status)}: ${failureText(e.failure)}`, failureHint(e.failure));
}

function evaluationDetails(e: evaluation.Evaluation): string {
  return renderFields([
    ['evaluation', e.evaluationId],
    ['status', evalStatusName(e.status) + (e.failure ? ` — ${failureText(e.failure)}` : '')],
    ['model', evalModelName(e)],
    ['base model', e.registryName ? e.baseModel : undefined],
    ['adapter', e.adapterUri || undefined],
    ['set', `${e.evalSet} (${e.itemsDone}/${e.itemsTotal} items)`],
    ['template', e.templateName],
    ['scores', e.scores ? scoresLine(e.scores) : undefined],
    ['tracking run', e.trackingRunId || undefined],
  ]);
}

/** The evaluation commands. */
export const evalCommands: CommandSpec<CliContext>[] = [
  {
    path: ['eval', 'run'],
    summary: 'evaluate a model on a set: a base model (directory / hub id) or name@version / name@alias',
    options: {
      model: { type: 'string', value: 'MODEL', description: 'base model path or hub id, or a registered name@version|alias (required)' },
      set: { type: 'string', value: 'NAME', description: 'evaluation set (default seed-question: the seed\'s test question)' },
      limit: { type: 'string', value: 'N', description: 'at most N items' },
      'max-new-tokens': { type: 'string', value: 'N', description: 'generation budget (seed: 1200)' },
      temperature: { type: 'string', value: 'T', description: '0 = greedy (default)' },
      key: { type: 'string', value: 'KEY', description: 'idempotency key' },
      'no-wait': { type: 'boolean', description: 'return once started' },
    },
    async run(ctx, p) {
      const model = str(p, 'model');
      if (!model) throw usage('eval run: --model is required');
      const req = evaluation.StartEvaluationRequest.fromPartial({
        model: parseEvalModel(model, (x) => path.resolve(ctx.io.cwd, x)),
        evalSet: str(p, 'set') ?? '',
        limit: intOpt(p, 'limit', { min: 0 }) ?? 0,
        generation: { maxNewTokens: intOpt(p, 'max-new-tokens', { min: 1 }), temperature: numOpt(p, 'temperature', { min: 0 }) },
        idempotencyKey: str(p, 'key') ?? '',
      });
      const res = await ctx.clients.evaluation.unary('startEvaluation', req);
      const started = res.evaluation!;
      if (flag(p, 'no-wait')) {
        ctx.out.result(evaluation.StartEvaluationResponse.toJSON(res), () => `${res.created ? 'started' : 'exists'}: ${started.evaluationId}\nfollow it: medtune eval show ${started.evaluationId}`);
        return;
      }
      ctx.out.note(`${res.created ? 'started' : 'exists (cached)'}: ${started.evaluationId} — ${evalModelName(started)} on ${started.evalSet}`);
      const done = await followEvaluation(ctx, started.evaluationId);
      ctx.out.result(evaluation.Evaluation.toJSON(done), () => evaluationDetails(done));
      const bad = evaluationOutcome(done);
      if (bad) throw bad;
    },
  },
  {
    path: ['eval', 'show'],
    summary: 'an evaluation with its scores (and its first answers)',
    args: ['<evaluation-id>'],
    options: { items: { type: 'string', value: 'N', description: 'also print the first N answers (default 0)' } },
    async run(ctx, p) {
      const id = p.positionals[0]!;
      const { evaluation: e } = await ctx.clients.evaluation.unary('getEvaluation', { evaluationId: id });
      const n = intOpt(p, 'items', { min: 0, max: 500 }) ?? 0;
      const items = n > 0 ? (await ctx.clients.evaluation.unary('listItemResults', { evaluationId: id, pageSize: n, pageToken: '' })).items : [];
      ctx.out.result({ evaluation: evaluation.Evaluation.toJSON(e!), items: items.map((i) => evaluation.ItemResult.toJSON(i)) }, () =>
        [evaluationDetails(e!), ...items.map((i) => `\n── item ${i.index}${i.expected ? ` (expected ${i.expected}, got ${i.predicted || '?'}${i.correct ? ' ✓' : ' ✗'})` : ''}\n${i.question}\n→ ${i.output}`)].join('\n'),
      );
    },
  },
  {
    path: ['eval', 'list'],
    summary: 'list evaluations, newest first',
    options: { model: { type: 'string', value: 'NAME', description: 'only runs of this registered model' }, set: { type: 'string', value: 'NAME', description: 'only this set' }, limit: { type: 'string', value: 'N', description: 'at most N (default 50)' } },
    async run(ctx, p) {
      const res = await ctx.clients.evaluation.unary('listEvaluations', { registryName: str(p, 'model') ?? '', evalSet: str(p, 'set') ?? '', pageSize: intOpt(p, 'limit', { min: 1, max: 500 }) ?? 50, pageToken: '' });
      ctx.out.result(evaluation.ListEvaluationsResponse.toJSON(res), () => evaluationsTable(res.evaluations));
    },
  },
  {
    path: ['eval', 'compare'],
    summary: 'the before / after comparison: two evaluation ids, --id of a stored one, or --model name@version',
    args: ['[baseline-id]', '[candidate-id]'],
    options: {
      id: { type: 'string', value: 'ID', description: 'a stored comparison' },
      model: { type: 'string', value: 'NAME@V', description: 'the newest comparison of this registered model version' },
      examples: { type: 'string', value: 'N', description: 'paired answers to print (default 3)' },
    },
    details: 'With two evaluation ids the comparison is computed and stored (idempotent).',
    async run(ctx, p) {
      const id = str(p, 'id');
      const model = str(p, 'model');
      const ids = p.positionals;
      if ([id !== undefined, model !== undefined, ids.length > 0].filter(Boolean).length !== 1 || (ids.length > 0 && ids.length !== 2)) {
        throw usage('eval compare: give <baseline-id> <candidate-id>, or --id ID, or --model NAME@VERSION');
      }
      let c: evaluation.Comparison | undefined;
      if (id) c = (await ctx.clients.evaluation.unary('getComparison', { comparisonId: id })).comparison;
      else if (ids.length === 2) c = (await ctx.clients.evaluation.unary('compareEvaluations', { baselineEvaluationId: ids[0]!, candidateEvaluationId: ids[1]! })).comparison;
      else {
        const ref = parseModelRef(model!);
        const res = await ctx.clients.evaluation.unary('listComparisons', { registryName: ref.name, pageSize: 100, pageToken: '' });
        const wanted = ref.selector?.$case === 'version' ? ref.selector.version : undefined;
        c = res.comparisons.find((x) => wanted === undefined || x.registryVersion === wanted);
        if (!c) throw new CliError(EXIT.NOT_FOUND, `no comparison stored for ${model}`, `list the evaluations: medtune eval list --model ${ref.name}`);
      }
      const examples = intOpt(p, 'examples', { min: 0, max: 20 }) ?? 3;
      ctx.out.result(evaluation.Comparison.toJSON(c!), () => comparisonText(c!, examples, Math.min(ctx.out.width, 120)));
    },
  },
  {
    path: ['eval', 'sets', 'import'],
    summary: 'import an evaluation set from a benchmark file (JSONL, a JSON array, or records keyed by id)',
    args: ['<file>'],
    options: {
      name: { type: 'string', value: 'NAME', description: 'set name (required)' },
      kind: { type: 'string', value: 'KIND', description: 'multiple_choice | free_form | yes_no_maybe (implied by a preset)' },
      preset: { type: 'string', value: 'P', description: 'medqa | medmcqa | pubmedqa | medical_o1 | alpaca | chat (the training imports\' presets)' },
      records: { type: 'string', value: 'PATH', description: '"*" = the values of a top-level object keyed by id; or the dotted path of the list' },
      id: { type: 'string', value: 'PATH', description: 'field holding the item id' },
      question: { type: 'string', value: 'PATH', description: 'question field (dotted path)' },
      options: { type: 'string', value: 'PATH', description: 'options: a list or a letter-keyed object' },
      'option-columns': { type: 'string', value: 'A,B,..', description: 'one column per option, comma-separated (e.g. opa,opb,opc,opd)' },
      answer: { type: 'string', value: 'PATH', description: 'answer field: letter, index, option text, yes/no/maybe, or the reference' },
      'answer-format': { type: 'string', value: 'F', description: 'letter | index0 | index1 | text (default: detect letter or text)' },
      context: { type: 'string', value: 'PATH', description: 'shared context (a string or a list of strings)' },
      category: { type: 'string', value: 'PATH', description: 'category field (per-category scores)' },
      nested: { type: 'string', value: 'PATH', description: 'list of question / answer pairs inside each case record' },
      greedy: { type: 'boolean', description: 'pin greedy decoding for runs on this set' },
      description: { type: 'string', value: 'TEXT', description: 'description' },
      limit: { type: 'string', value: 'N', description: 'at most the first N items' },
    },
    details: 'The file is read by the evaluation service (an absolute path on its host). Every bad item is reported by position and field; nothing is stored then.',
    async run(ctx, p) {
      const name = str(p, 'name');
      if (!name) throw usage('eval sets import: --name is required');
      const pick = <T>(flagName: string, table: Record<string, T>): T | undefined => {
        const v = str(p, flagName);
        if (v === undefined) return undefined;
        const hit = table[v.toLowerCase().replace(/-/g, '_')];
        if (hit === undefined) throw usage(`eval sets import: --${flagName} must be one of ${Object.keys(table).join(', ')} (got ${v})`);
        return hit;
      };
      const K = evaluation.EvalSetKind;
      const P = evaluation.EvalSetPreset;
      const A = evaluation.AnswerFormat;
      const req = evaluation.CreateEvalSetRequest.fromPartial({
        name,
        path: path.resolve(ctx.io.cwd, p.positionals[0]!),
        kind: pick('kind', { multiple_choice: K.EVAL_SET_KIND_MULTIPLE_CHOICE, free_form: K.EVAL_SET_KIND_FREE_FORM, yes_no_maybe: K.EVAL_SET_KIND_YES_NO_MAYBE }) ?? K.EVAL_SET_KIND_UNSPECIFIED,
        description: str(p, 'description') ?? '',
        limit: intOpt(p, 'limit', { min: 0 }) ?? 0,
        pinGreedy: flag(p, 'greedy'),
        mapping: {
          preset: pick('preset', { medqa: P.EVAL_SET_PRESET_MEDQA, medmcqa: P.EVAL_SET_PRESET_MEDMCQA, pubmedqa: P.EVAL_SET_PRESET_PUBMEDQA, medical_o1: P.EVAL_SET_PRESET_MEDICAL_O1, alpaca: P.EVAL_SET_PRESET_ALPACA, chat: P.EVAL_SET_PRESET_CHAT }) ?? P.EVAL_SET_PRESET_UNSPECIFIED,
          records: str(p, 'records') ?? '',
          id: str(p, 'id') ?? '',
          question: str(p, 'question') ?? '',
          options: str(p, 'options') ?? '',
          optionColumns: (str(p, 'option-columns') ?? '').split(',').map((c) => c.trim()).filter(Boolean),
          answer: str(p, 'answer') ?? '',
          answerFormat: pick('answer-format', { letter: A.ANSWER_FORMAT_LETTER, index0: A.ANSWER_FORMAT_INDEX_0, index1: A.ANSWER_FORMAT_INDEX_1, text: A.ANSWER_FORMAT_TEXT }) ?? A.ANSWER_FORMAT_UNSPECIFIED,
          context: str(p, 'context') ?? '',
          category: str(p, 'category') ?? '',
          nested: str(p, 'nested') ?? '',
        },
      });
      const res = await ctx.clients.evaluation.unary('createEvalSet', req);
      const s = res.evalSet!;
      ctx.out.result(evaluation.CreateEvalSetResponse.toJSON(res), () =>
        `${res.created ? 'created' : 'exists (same content)'}: ${s.name} — ${(evaluation.EvalSetKind[s.kind] ?? '').replace(/^EVAL_SET_KIND_/, '').toLowerCase()}, ${s.itemCount} items${s.pinGreedy ? ', greedy' : ''} (sha256 ${s.contentSha256.slice(0, 12)}…)`,
      );
    },
  },
  {
    path: ['eval', 'sets'],
    summary: 'list evaluation sets',
    async run(ctx) {
      const res = await ctx.clients.evaluation.unary('listEvalSets', {});
      ctx.out.result(evaluation.ListEvalSetsResponse.toJSON(res), () =>
        renderTable(res.evalSets, [
          { header: 'SET', value: (s) => s.name },
          { header: 'KIND', value: (s) => (evaluation.EvalSetKind[s.kind] ?? '').replace(/^EVAL_SET_KIND_/, '').toLowerCase() },
          { header: 'ITEMS', value: (s) => String(s.itemCount), align: 'right' },
          { header: 'DESCRIPTION', value: (s) => s.description, max: 60 },
        ]),
      );
    },
  },
];
