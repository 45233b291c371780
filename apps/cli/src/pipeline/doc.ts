/** Renders the pipeline file reference (apps/cli/PIPELINE.md) from the schema table. */
import { PIPELINE_SCHEMA, type FieldSchema } from './schema';

function typeOf(f: FieldSchema): string {
  switch (f.kind) {
    case 'string':
      return f.enum ? f.enum.map((e) => `\`${e}\``).join(' \\| ') : f.path ? (f.path === 'model' ? 'path or hub id' : 'path') : 'string';
    case 'int':
      return `integer${range(f.min, f.max)}`;
    case 'number':
      return `number${range(f.min, f.max, f.exclusiveMin, f.exclusiveMax)}`;
    case 'bool':
      return 'boolean';
    case 'list':
      return 'list of strings';
    case 'map':
      return 'map of strings';
    case 'object':
      return 'mapping';
  }
}

function range(min?: number, max?: number, exMin?: boolean, exMax?: boolean): string {
  if (min === undefined && max === undefined) return '';
  if (min !== undefined && max !== undefined) return ` ${exMin ? '(' : '['}${min}, ${max}${exMax ? ')' : ']'}`;
  return min !== undefined ? ` ${exMin ? '>' : '≥'} ${min}` : ` ${exMax ? '<' : '≤'} ${max}`;
}

function defaultOf(f: FieldSchema): string {
  if ('required' in f && f.required) return '**required**';
  if (!('default' in f) || f.default === undefined) return '–';
  const d = f.default;
  if (d === '') return '""';
  return Array.isArray(d) ? d.map((x) => `\`${x}\``).join(', ') : `\`${String(d)}\``;
}

function rows(fields: Readonly<Record<string, FieldSchema>>, prefix: string, out: string[]): void {
  for (const [k, f] of Object.entries(fields)) {
    const p = prefix ? `${prefix}.${k}` : k;
    if (f.kind === 'object') continue;
    out.push(`| \`${p}\` | ${typeOf(f)} | ${defaultOf(f)} | ${f.doc.replace(/\|/g, '\\|')} |`);
  }
}

/** The whole document. */
export function renderPipelineDoc(): string {
  const out: string[] = [
    '# The pipeline file (`medtune run <pipeline.yaml>`)',
    '',
    '<!-- Generated from apps/cli/src/pipeline/schema.ts by `npx tsx apps/cli/scripts/pipeline-doc.ts`; a unit test fails when it is stale. -->',
    '',
    'One YAML file describes the seed script\'s recipe as a platform run: **import** the data → **evaluate the base** model →',
    '**train** (the job carries `register_as`) → the registry **registers** the result when the job succeeds → the evaluation',
    'service **evaluates the new version** against its base and moves the alias when it is better. `medtune run` follows',
    'every step live and prints where to look; every step is idempotent, so running the same file again reuses what exists',
    '(`--fresh` trains anew; `--check` only validates and prints the resolved file).',
    '',
    'Unset fields take the seed\'s values (the defaults below); the services apply the same defaults, and only the fields a',
    'file sets are sent. Strings may use `${VAR}` or `${VAR:-default}` from the environment. Relative paths (starting with',
    '`./` or `../`) are relative to the file. Errors name the field and its line:',
    '',
    '```',
    'error: examples/demo/pipeline.yaml: 2 problems',
    '  line 24:5 training.lora.r: must be >= 1 (got 0)',
    '  line 18:3 training.lr: unknown field (did you mean learning_rate?); known here: …',
    '```',
    '',
    'Examples: [examples/demo/pipeline.yaml](../../examples/demo/pipeline.yaml) (tiny CPU demo),',
    '[examples/seed-14b/pipeline.yaml](../../examples/seed-14b/pipeline.yaml) and [examples/seed-32b/pipeline.yaml](../../examples/seed-32b/pipeline.yaml) (the seed recipe on a GPU).',
    '',
  ];
  out.push('## Top level', '', '| field | type | default | meaning |', '|---|---|---|---|');
  rows(PIPELINE_SCHEMA, '', out);
  const sections = (fields: Readonly<Record<string, FieldSchema>>, prefix: string) => {
    for (const [k, f] of Object.entries(fields)) {
      if (f.kind !== 'object') continue;
      const p = prefix ? `${prefix}.${k}` : k;
      out.push('', `## \`${p}\``, '', f.doc, '', '| field | type | default | meaning |', '|---|---|---|---|');
      rows(f.fields, p, out);
      sections(f.fields, p);
    }
  };
  sections(PIPELINE_SCHEMA, '');
  out.push(
    '',
    '## What `medtune run` does with it',
    '',
    '1. `DatasetService.ImportDataset` (progress bar) → a version digest; `evaluation.set_path` → `EvaluationService.CreateEvalSet`;',
    '   `register.*` → `RegistryService.CreateRegisteredModel` / `UpdateRegisteredModel` with the promotion policy.',
    '2. `evaluation.before` → `StartEvaluation` of `base_model` (idempotency key from the training inputs), followed live.',
    '3. `TrainingService.CreateJob` with an idempotency key made of the dataset digest and every training field the file sets',
    '   (`pipeline/<name>/<hash>`), `register_as = register.model`; `WatchJob` draws the progress bar and the loss.',
    '4. The registry registers the job\'s artifacts on `medtune.training.job.succeeded`; `medtune run` polls',
    '   `ListModelVersions` until the version for this job is READY (every artifact\'s sha256 verified).',
    '5. The evaluation service evaluates the version on `medtune.registry.version.created`; `medtune run` finds that evaluation',
    '   (`ListEvaluations`), or starts it itself after `evaluation.automation_timeout_s`, follows it, prints the stored',
    '   comparison (the seed\'s before / after print) and where the alias points.',
    '',
    'Exit codes: 0 done; 2 bad command line; 3 a file, version or model not found; 4 invalid pipeline or data (every problem',
    'listed); 5 the job, an evaluation or the registration failed (the failure class says whose move it is); 6 a service is',
    'unreachable (the message names it and its address); 7 refused (set `MEDTUNE_AUTH_TOKEN`); 8 conflict; 130 interrupted',
    '(the job keeps running; `medtune train watch <job>` re-attaches).',
    '',
  );
  return out.join('\n');
}
