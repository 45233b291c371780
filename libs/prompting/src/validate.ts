/** Validation of user-registered templates. */
import type { common } from '@medtune/contracts';
import { TemplateError, parseFormat, type Placeholder } from './template';

/** Template names: lowercase letters, digits, '-', '_', '.'; 1..100 characters, starting with a letter or digit. */
export const TEMPLATE_NAME_PATTERN = /^[a-z0-9][a-z0-9._-]{0,99}$/;

function uses(format: string, field: string): Set<Placeholder> {
  const names = new Set<Placeholder>();
  for (const seg of parseFormat(format, field)) if ('field' in seg) names.add(seg.field);
  return names;
}

/**
 * Checks a template a user wants to register and returns it normalised (builtin false, text
 * kept byte for byte). Throws {@link TemplateError} naming the field:
 * - name: must match {@link TEMPLATE_NAME_PATTERN};
 * - inference_format: must parse, use {question}, and use neither {cot} nor {response} (they are
 *   what the model writes);
 * - train_format: must parse and use {question}, {cot} and {response}.
 */
export function validateTemplate(t: common.PromptTemplate): common.PromptTemplate {
  if (!TEMPLATE_NAME_PATTERN.test(t.name)) {
    throw new TemplateError('name', `must be 1..100 of lowercase letters, digits, '-', '_', '.', starting with a letter or digit (got ${JSON.stringify(t.name)})`);
  }
  if (!t.inferenceFormat) throw new TemplateError('inference_format', 'required');
  if (!t.trainFormat) throw new TemplateError('train_format', 'required');
  const inference = uses(t.inferenceFormat, 'inference_format');
  if (!inference.has('question')) throw new TemplateError('inference_format', 'must contain {question}');
  for (const name of ['cot', 'response'] as const) {
    if (inference.has(name)) throw new TemplateError('inference_format', `must not contain {${name}}: the model writes it`);
  }
  const train = uses(t.trainFormat, 'train_format');
  for (const name of ['question', 'cot', 'response'] as const) {
    if (!train.has(name)) throw new TemplateError('train_format', `must contain {${name}}`);
  }
  return {
    name: t.name,
    description: t.description,
    inferenceFormat: t.inferenceFormat,
    trainFormat: t.trainFormat,
    language: t.language,
    builtin: false,
  };
}

/** True when two templates have the same name, text and metadata (builtin ignored). */
export function sameTemplate(a: common.PromptTemplate, b: common.PromptTemplate): boolean {
  return (
    a.name === b.name &&
    a.description === b.description &&
    a.inferenceFormat === b.inferenceFormat &&
    a.trainFormat === b.trainFormat &&
    a.language === b.language
  );
}
