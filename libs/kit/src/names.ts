/**
 * The one character set for names that become parts of paths, NATS subjects, storage keys or
 * metric/tag keys anywhere in medtune (experiments, tag keys, model and dataset names, …), and
 * the rule for free-text labels shown to people (display names, tag values). Checked at the API,
 * so that `../../etc/passwd` or `a.*.>` never reaches a path join, a subject or a key.
 *
 * - name: 1..128 of letters, digits, '.', '_', '-'; starts with a letter or digit; never '..'.
 *   (Model and dataset names are the lowercase subset of at most 100: {@link MODEL_NAME}.)
 * - label: any text without control characters, '/' or '\'; no leading or trailing space.
 */

/** A name: letters, digits, '.', '_', '-', starting with a letter or digit, 1..128 characters. */
export const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;
/** Model and dataset names: the lowercase subset of {@link NAME}, 1..100 characters. */
export const MODEL_NAME = /^[a-z0-9][a-z0-9._-]{0,99}$/;
/** The rule of {@link NAME} in words, for error messages and docs. */
export const NAME_RULE = "1-128 letters, digits, '.', '_' or '-', starting with a letter or digit, without '..'";
/** The rule of {@link MODEL_NAME} in words. */
export const MODEL_NAME_RULE = "1-100 lowercase letters, digits, '.', '_' or '-', starting with a letter or digit, without '..'";

// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;

/** Why `value` is not a name under `pattern` (undefined when it is one). */
export function nameProblem(value: string, pattern: RegExp = NAME, rule: string = NAME_RULE): string | undefined {
  if (!pattern.test(value) || value.includes('..')) return `must be ${rule} (got ${JSON.stringify(value)})`;
  return undefined;
}

/** Why `value` is not an acceptable label of at most `max` characters (undefined when it is one). */
export function labelProblem(value: string, max: number): string | undefined {
  if (value.length > max) return `must be at most ${max} characters (got ${value.length})`;
  if (CONTROL.test(value)) return `must not contain control characters (got ${JSON.stringify(value)})`;
  if (/[/\\]/.test(value)) return `must not contain '/' or '\\' (got ${JSON.stringify(value)})`;
  if (value.trim() !== value) return 'must not start or end with whitespace';
  return undefined;
}
