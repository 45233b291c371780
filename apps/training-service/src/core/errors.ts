/**
 * The one domain error of this service that the kit does not have: INVALID_ARGUMENT naming every
 * bad field of a request at once. It is an InvalidArgumentError, so the kit's status table maps it;
 * its field (the `medtune-field` metadata) lists the fields comma-separated, and its message reads
 * "lora.r: must be >= 1 (got 0); hyperparameters.learning_rate: must be > 0 (got -1)".
 */
import { InvalidArgumentError } from '@medtune/kit';
import { type FieldError, formatFieldErrors } from './validation';

/** INVALID_ARGUMENT with every field error of a request. */
export class FieldErrorsError extends InvalidArgumentError {
  readonly errors: readonly FieldError[];

  constructor(errors: readonly FieldError[]) {
    const fields = [...new Set(errors.map((e) => e.field))].join(',');
    super(fields, errors.length === 1 && errors[0] ? errors[0].message : formatFieldErrors(errors));
    this.message = formatFieldErrors(errors);
    this.errors = errors;
  }
}
