/** Row issues, as the core records them (the gRPC adapter maps them to dataset.v1.RowIssue). */

/** Why a row is invalid (the proto's RowIssueCode without its prefix). */
export type IssueCode =
  | 'MISSING'
  | 'WRONG_TYPE'
  | 'EMPTY'
  | 'INVALID_UTF8'
  | 'OVER_TOKEN_LIMIT'
  | 'DUPLICATE'
  | 'MALFORMED_JSON'
  | 'TOO_LARGE';

/** One problem of one row. */
export interface Issue {
  /** 1-based row number in the file (JSONL line, or array element index + 1); 0 for the file as a whole. */
  readonly row: number;
  /** The column concerned, '' when none. */
  readonly column: string;
  readonly code: IssueCode;
  /** In words, naming the column and what was found. */
  readonly message: string;
  /** True when the row is not kept because of it. */
  readonly fatal: boolean;
  /** For duplicates: the row it repeats. */
  readonly duplicateOfRow?: number;
}

/** A JSON value's type in words, for messages. */
export function typeName(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  return typeof value;
}
