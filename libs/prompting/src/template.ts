/**
 * Template syntax and rendering. A format string holds literal text and the placeholders
 * `{question}`, `{cot}` and `{response}`; `{{` and `}}` stand for literal braces. Rendering is a
 * single pass over the parsed format: substituted values are never scanned again, so a question
 * that contains "{cot}" or stray braces comes out as written.
 */
import type { common } from '@medtune/contracts';

/** The placeholders a template may use. */
export const PLACEHOLDERS = ['question', 'cot', 'response'] as const;

/** One placeholder name. */
export type Placeholder = (typeof PLACEHOLDERS)[number];

/** A parsed format: literal text and placeholders, in order. */
export type Segment = { readonly text: string } | { readonly field: Placeholder };

/** A format string that does not parse, or a template that lacks what it needs. */
export class TemplateError extends Error {
  override readonly name = 'TemplateError';
  /** The template field concerned: "inference_format", "train_format" or "name". */
  readonly field: string;
  constructor(field: string, message: string) {
    super(`${field}: ${message}`);
    this.field = field;
  }
}

const PLACEHOLDER_SET: ReadonlySet<string> = new Set(PLACEHOLDERS);

/**
 * Parses a format string. Throws {@link TemplateError} (naming `field` and the character
 * position) on an unknown placeholder or an unmatched brace.
 */
export function parseFormat(format: string, field = 'format'): Segment[] {
  const segments: Segment[] = [];
  let text = '';
  let i = 0;
  while (i < format.length) {
    const ch = format.charAt(i);
    if (ch === '{' && format[i + 1] === '{') {
      text += '{';
      i += 2;
    } else if (ch === '}' && format[i + 1] === '}') {
      text += '}';
      i += 2;
    } else if (ch === '{') {
      const close = format.indexOf('}', i + 1);
      const name = close < 0 ? '' : format.slice(i + 1, close);
      if (close < 0 || name.includes('{')) {
        throw new TemplateError(field, `unmatched '{' at position ${i}; write '{{' for a literal brace`);
      }
      if (!PLACEHOLDER_SET.has(name)) {
        throw new TemplateError(field, `unknown placeholder {${name}} at position ${i}; known: {question}, {cot}, {response} ('{{' for a literal brace)`);
      }
      if (text) segments.push({ text });
      text = '';
      segments.push({ field: name as Placeholder });
      i = close + 1;
    } else if (ch === '}') {
      throw new TemplateError(field, `unmatched '}' at position ${i}; write '}}' for a literal brace`);
    } else {
      text += ch;
      i += 1;
    }
  }
  if (text) segments.push({ text });
  return segments;
}

// Parsed formats by string: templates are few and rendered many times (every row of an import).
const cache = new Map<string, Segment[]>();
const CACHE_LIMIT = 256;

function compiled(format: string, field: string): Segment[] {
  let segments = cache.get(format);
  if (!segments) {
    segments = parseFormat(format, field);
    if (cache.size >= CACHE_LIMIT) cache.clear();
    cache.set(format, segments);
  }
  return segments;
}

/** Values for the placeholders; a missing one renders as the empty string. */
export type TemplateValues = Partial<Record<Placeholder, string>>;

/** Renders a format string with the values, in one pass. */
export function renderFormat(format: string, values: TemplateValues, field = 'format'): string {
  let out = '';
  for (const seg of compiled(format, field)) out += 'text' in seg ? seg.text : (values[seg.field] ?? '');
  return out;
}

/** The placeholders a format uses (each once, in order of first use). */
export function placeholdersOf(format: string, field = 'format'): Placeholder[] {
  const seen: Placeholder[] = [];
  for (const seg of parseFormat(format, field)) if ('field' in seg && !seen.includes(seg.field)) seen.push(seg.field);
  return seen;
}

/** The prompt a model continues at inference: the inference format with the question. */
export function renderInference(template: Pick<common.PromptTemplate, 'inferenceFormat'>, question: string): string {
  return renderFormat(template.inferenceFormat, { question }, 'inference_format');
}

/** The training text: the train format with question, chain of thought and answer, then the EOS token. */
export function renderTraining(
  template: Pick<common.PromptTemplate, 'trainFormat'>,
  question: string,
  cot: string,
  response: string,
  eos: string,
): string {
  return renderFormat(template.trainFormat, { question, cot, response }, 'train_format') + eos;
}
