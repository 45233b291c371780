/**
 * Splits text on added tokens, as HF's AddedVocabulary does: tokens marked `normalized: false`
 * are found in the raw text, the others in each remaining part once normalized; leftmost match
 * first, the longest token at that position; then lstrip / rstrip widen a match over whitespace
 * and single_word drops a match inside a word.
 */
import type { AddedToken } from './definition';

/** A part of the text: an added token's id, or text to pre-tokenize (already normalized). */
export type Segment = number | string;

// HF uses the Rust regex crate's Unicode \w and \s here.
const WORD_CHAR = /[\p{Alphabetic}\p{M}\p{Nd}\p{Pc}\u200c\u200d]/u;
const WHITESPACE = /\p{White_Space}/u;

const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

class Matcher {
  private readonly re: RegExp | null;
  private readonly byContent: Map<string, AddedToken>;

  constructor(tokens: AddedToken[]) {
    this.byContent = new Map(tokens.map((t) => [t.content, t]));
    // Alternatives longest first: a JS regex takes the first alternative that matches at the
    // leftmost position, which is then the longest (Aho-Corasick LeftmostLongest).
    const alternatives = [...this.byContent.keys()].sort((a, b) => b.length - a.length).map(escape);
    this.re = alternatives.length > 0 ? new RegExp(alternatives.join('|'), 'gu') : null;
  }

  /** Appends the parts of text to out; `plain` maps each non-token part (e.g. to normalize it). */
  split(text: string, out: Segment[], plain: (s: string) => void): void {
    if (this.re === null || text === '') {
      if (text !== '') plain(text);
      return;
    }
    const re = this.re;
    re.lastIndex = 0;
    let done = 0; // end of the last match (after rstrip)
    for (let m = re.exec(text); m !== null; m = re.exec(text)) {
      const token = this.byContent.get(m[0]);
      if (token === undefined) continue; // cannot happen: the regex only matches token contents
      let start = m.index;
      let stop = start + m[0].length;
      if (token.singleWord) {
        const before = start > 0 ? lastChar(text, start) : '';
        const after = charAt(text, stop);
        if (WORD_CHAR.test(before) || WORD_CHAR.test(after)) continue; // searching on after it, as HF does
      }
      if (token.lstrip) {
        while (start > done && WHITESPACE.test(lastChar(text, start))) start -= lastChar(text, start).length;
      }
      if (token.rstrip) {
        while (stop < text.length && WHITESPACE.test(charAt(text, stop))) stop += charAt(text, stop).length;
      }
      if (done < start) plain(text.slice(done, start));
      out.push(token.id);
      done = stop;
      re.lastIndex = Math.max(re.lastIndex, stop);
    }
    if (done < text.length) plain(text.slice(done));
  }
}

/** The character (code point) that starts at index i, or '' at the end. */
function charAt(text: string, i: number): string {
  const cp = text.codePointAt(i);
  return cp === undefined ? '' : String.fromCodePoint(cp);
}

function lastChar(text: string, end: number): string {
  const code = text.charCodeAt(end - 1);
  return end >= 2 && code >= 0xdc00 && code <= 0xdfff ? text.slice(end - 2, end) : text.slice(end - 1, end);
}

export class AddedTokenSplitter {
  private readonly raw: Matcher;
  private readonly normalizedMatcher: Matcher;

  constructor(
    tokens: AddedToken[],
    private readonly normalize: (s: string) => string,
  ) {
    this.raw = new Matcher(tokens.filter((t) => !t.normalized));
    // A normalized token is looked for in its normalized form.
    this.normalizedMatcher = new Matcher(tokens.filter((t) => t.normalized).map((t) => ({ ...t, content: normalize(t.content) })));
  }

  /** The segments of a text, in order. */
  split(text: string): Segment[] {
    const out: Segment[] = [];
    this.raw.split(text, out, (part) => {
      this.normalizedMatcher.split(this.normalize(part), out, (rest) => out.push(rest));
    });
    return out;
  }
}
