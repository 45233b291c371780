/**
 * Request checks that name the offending field ("params[\"lr\"]: ...", "points[3].value: ...").
 * Limits are generous but finite: they keep one request from producing records the store cannot
 * hold (FerretDB refuses NaN and Infinity, and closes the connection on them).
 */
import { InvalidArgumentError, nameProblem } from '@medtune/kit';

/** Run ids become part of storage names: letters, digits and `_ . : -`, at most 128. */
export const RUN_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$/;
/** Longest experiment name. */
export const MAX_EXPERIMENT_NAME = 200;
/** Longest metric, param or tag key. */
export const MAX_KEY = 250;
/** Longest param or tag value. */
export const MAX_VALUE = 8_000;
/** Most points one LogMetrics call may carry. */
export const MAX_POINTS_PER_CALL = 10_000;

// Control characters (C0, DEL, C1) would make keys unreadable in listings and logs.
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;

/** A required run id. */
export function checkRunId(field: string, value: string): string {
  if (!value) throw new InvalidArgumentError(field, 'required');
  if (!RUN_ID_PATTERN.test(value)) {
    throw new InvalidArgumentError(field, `must be 1-128 of letters, digits, '_', '.', ':' or '-', starting with a letter or digit (got ${JSON.stringify(clip(value))})`);
  }
  return value;
}

/** An experiment name: the kit's one name rule (libs/kit/src/names.ts), as the training service checks it. */
export function checkExperimentName(field: string, value: string): string {
  if (!value) throw new InvalidArgumentError(field, 'required');
  if (value.length > MAX_EXPERIMENT_NAME) throw new InvalidArgumentError(field, `at most ${MAX_EXPERIMENT_NAME} characters (got ${value.length})`);
  if (CONTROL.test(value)) throw new InvalidArgumentError(field, 'must not contain control characters');
  const bad = nameProblem(value);
  if (bad) throw new InvalidArgumentError(field, bad);
  return value;
}

/** A metric, param or tag key. */
export function checkKey(field: string, key: string): string {
  if (!key) throw new InvalidArgumentError(field, 'empty key');
  if (key.length > MAX_KEY) throw new InvalidArgumentError(field, `key longer than ${MAX_KEY} characters`);
  if (CONTROL.test(key)) throw new InvalidArgumentError(field, 'key must not contain control characters');
  return key;
}

/** A param or tag value. */
export function checkValue(field: string, value: string): string {
  if (value.length > MAX_VALUE) throw new InvalidArgumentError(field, `value longer than ${MAX_VALUE} characters (got ${value.length})`);
  return value;
}

/** A map of params or tags: every key and value checked, field `<name>["<key>"]`. */
export function checkStringMap(field: string, map: Readonly<Record<string, string>>): Record<string, string> {
  for (const [k, v] of Object.entries(map)) {
    checkKey(`${field}[${JSON.stringify(clip(k))}]`, k);
    checkValue(`${field}[${JSON.stringify(clip(k))}]`, v);
  }
  return { ...map };
}

/** A metric value: finite. */
export function checkMetricValue(field: string, value: number): number {
  if (!Number.isFinite(value)) throw new InvalidArgumentError(field, `must be a finite number (got ${value})`);
  return value;
}

/** A step: a non-negative safe integer. */
export function checkStep(field: string, step: number): number {
  if (!Number.isSafeInteger(step) || step < 0) throw new InvalidArgumentError(field, `must be an integer in [0, 2^53) (got ${step})`);
  return step;
}

/** Shortens a value for an error message. */
export function clip(s: string, max = 60): string {
  return s.length > max ? `${s.slice(0, max)}…` : s;
}
