/** Reading a model's output back: the reasoning inside <think>…</think> and the answer after it. */

/** What {@link extractAnswer} found. */
export interface ExtractedAnswer {
  /** Text after `</think>`, trimmed; empty when the reasoning never closed. */
  readonly answer: string;
  /** Text between the opening `<think>` (or the start) and `</think>`, trimmed; all of it when unclosed. */
  readonly reasoning: string;
  /** The reasoning was opened: by a `<think>` in the output, or by a prompt that ends with it. */
  readonly opened: boolean;
  /** A `</think>` closes the reasoning. */
  readonly closed: boolean;
  /**
   * Exactly one reasoning block: opened, closed, no other `<think>` / `</think>` anywhere, and a
   * non-empty reasoning and answer.
   */
  readonly wellFormed: boolean;
}

/** Options of {@link extractAnswer}. */
export interface ExtractAnswerOptions {
  /**
   * When the output contains this marker (the whole decoded sequence, prompt included), only the
   * text after its first occurrence is read, as the seed does with `split("### Response:")[1]`.
   * Default "### Response:"; "" turns it off.
   */
  readonly responseMarker?: string;
  /** The prompt ended with `<think>` (every built-in template does), so the output may start inside it. Default true. */
  readonly promptEndsWithThink?: boolean;
  /** Tokens removed from the end of the output first, e.g. the EOS when special tokens were not skipped. */
  readonly stopTokens?: readonly string[];
}

const OPEN = '<think>';
const CLOSE = '</think>';

/** Splits a generated output into reasoning and answer and says whether its <think> block is well-formed. */
export function extractAnswer(output: string, options: ExtractAnswerOptions = {}): ExtractedAnswer {
  const marker = options.responseMarker ?? '### Response:';
  let text = output;
  if (marker) {
    const at = text.indexOf(marker);
    if (at >= 0) text = text.slice(at + marker.length);
  }
  text = stripStops(text, options.stopTokens ?? []).trimStart();

  let opened = options.promptEndsWithThink ?? true;
  if (text.startsWith(OPEN)) {
    opened = true;
    text = text.slice(OPEN.length);
  }
  const close = text.indexOf(CLOSE);
  if (close < 0) {
    return { answer: '', reasoning: text.trim(), opened, closed: false, wellFormed: false };
  }
  const reasoning = text.slice(0, close).trim();
  const answer = text.slice(close + CLOSE.length).trim();
  const stray = [reasoning, answer].some((part) => part.includes(OPEN) || part.includes(CLOSE));
  return { answer, reasoning, opened, closed: true, wellFormed: opened && !stray && reasoning !== '' && answer !== '' };
}

function stripStops(text: string, stops: readonly string[]): string {
  let out = text.trimEnd();
  for (let changed = true; changed; ) {
    changed = false;
    for (const stop of stops) {
      if (stop && out.endsWith(stop)) {
        out = out.slice(0, -stop.length).trimEnd();
        changed = true;
      }
    }
  }
  return out;
}
