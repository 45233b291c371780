/** Builds a validation report while an import runs: counts in memory, issues flushed in batches. */
import { dataset } from '@medtune/contracts';
import type { Issue, IssueCode } from './issues';
import type { ReportRepo, ReportSummary } from './ports';

/** How many issues a summary shows. */
export const FIRST_ISSUES = 20;

/** The proto enum name of an issue code, as issues_by_code keys it. */
export function codeName(code: IssueCode): string {
  return `ROW_ISSUE_CODE_${code}`;
}

/** Counts and issues of one import. */
export class ReportBuilder {
  rowsTotal = 0;
  rowsValid = 0;
  rowsInvalid = 0;
  rowsDuplicate = 0;
  rowsOverLimit = 0;
  private readonly byCode = new Map<string, number>();
  private first: Issue[] = [];
  private buffer: Issue[] = [];
  private seq = 0;

  constructor(
    private readonly repo: ReportRepo,
    readonly reportId: string,
    private readonly flushEvery = 500,
  ) {}

  /** Records issues of one row; `invalid` counts the row as invalid. */
  add(issues: readonly Issue[], invalid: boolean): void {
    if (invalid) this.rowsInvalid++;
    for (const issue of issues) {
      const name = codeName(issue.code);
      this.byCode.set(name, (this.byCode.get(name) ?? 0) + 1);
      if (issue.code === 'DUPLICATE') this.rowsDuplicate++;
      if (issue.code === 'OVER_TOKEN_LIMIT') this.rowsOverLimit++;
      this.keepFirst(issue);
      this.buffer.push(issue);
    }
  }

  /** Writes buffered issues once there are enough of them (or all of them with `force`). */
  async flush(force = false): Promise<void> {
    if (this.buffer.length === 0 || (!force && this.buffer.length < this.flushEvery)) return;
    const issues = this.buffer;
    this.buffer = [];
    const firstSeq = this.seq;
    this.seq += issues.length;
    await this.repo.addIssues(this.reportId, issues, firstSeq);
  }

  /** The first issue that made a row invalid (not a dropped duplicate), for messages. */
  firstInvalid(): Issue | undefined {
    return this.first.find((i) => i.fatal && i.code !== 'DUPLICATE');
  }

  /** The summary as it stands. */
  summary(rejected: boolean, rejectionReason: string): ReportSummary {
    return {
      rowsTotal: this.rowsTotal,
      rowsValid: this.rowsValid,
      rowsInvalid: this.rowsInvalid,
      rowsDuplicate: this.rowsDuplicate,
      rowsOverLimit: this.rowsOverLimit,
      issuesByCode: Object.fromEntries(this.byCode),
      firstIssues: this.first.map(toProtoIssue),
      rejected,
      rejectionReason,
    };
  }

  // Issues arrive nearly in row order (token-limit ones a batch late): keep the lowest rows.
  private keepFirst(issue: Issue): void {
    if (this.first.length >= FIRST_ISSUES && issue.row >= this.first[this.first.length - 1]!.row) return;
    let at = this.first.length;
    while (at > 0 && this.first[at - 1]!.row > issue.row) at--;
    this.first.splice(at, 0, issue);
    if (this.first.length > FIRST_ISSUES) this.first.pop();
  }
}

/** A core issue as the proto's RowIssue (the code as its enum number). */
export function toProtoIssue(i: Issue): ReportSummary['firstIssues'][number] {
  return {
    row: i.row,
    column: i.column,
    code: issueCodeNumber(i.code),
    message: i.message,
    fatal: i.fatal,
    duplicateOfRow: i.duplicateOfRow ?? 0,
  };
}

/** The proto enum value of an issue code. */
export function issueCodeNumber(code: IssueCode): dataset.RowIssueCode {
  return dataset.RowIssueCode[codeName(code) as keyof typeof dataset.RowIssueCode];
}
