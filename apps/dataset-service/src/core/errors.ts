/** Domain errors of the dataset core beyond the kit's classes. */
import { FailedPreconditionError } from '@medtune/kit';
import type { dataset } from '@medtune/contracts';

/**
 * An import was rejected because of its data (policy REJECT with invalid rows, a file that is not
 * valid JSON / JSONL, no valid rows). Nothing is stored but the report; `result` carries its
 * summary so that adapters can send it before the FAILED_PRECONDITION status.
 */
export class ImportRejectedError extends FailedPreconditionError {
  readonly result: dataset.ImportResult;
  constructor(reason: string, result: dataset.ImportResult) {
    super(`import rejected: ${reason} (report ${result.report?.reportId ?? '?'}; page through it with GetValidationReport)`);
    this.result = result;
  }
}
