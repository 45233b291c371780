/** A model directory's tokenizer files are missing, malformed or inconsistent; `file` says which. */
export class TokenizerLoadError extends Error {
  override readonly name = 'TokenizerLoadError';
  constructor(
    message: string,
    readonly file: string,
    options?: { cause?: unknown },
  ) {
    super(`${file}: ${message}`, options);
  }
}

/** The files are valid but describe a tokenizer this library does not implement exactly. */
export class UnsupportedTokenizerError extends Error {
  override readonly name = 'UnsupportedTokenizerError';
  constructor(
    message: string,
    readonly file: string,
  ) {
    super(`${file}: ${message}`);
  }
}

/** The worker pool failed or was closed while work was pending. */
export class TokenizerPoolError extends Error {
  override readonly name = 'TokenizerPoolError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}
