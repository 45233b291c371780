/**
 * Free-text answers against a reference: ROUGE-L F1 (js-rouge's LCS, one segment per text like
 * rouge-score's `rougeL`) and SQuAD-style token F1 (bag-of-tokens overlap). Both on the same
 * tokens: lower-cased, punctuation dropped, English articles dropped, each CJK character a token
 * (Chinese has no spaces; character-level is the usual choice for Chinese ROUGE).
 */
import { l as rougeL, n as rougeN } from 'js-rouge';

const CJK = /[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uac00-\ud7af]/u;
const ARTICLES = new Set(['a', 'an', 'the']);

/** The tokens both metrics compare. */
export function metricTokens(text: string): string[] {
  const out: string[] = [];
  const cleaned = text.normalize('NFKC').toLowerCase().replace(/[\p{P}\p{S}]+/gu, ' ');
  for (const word of cleaned.split(/\s+/)) {
    if (!word) continue;
    let buf = '';
    for (const ch of word) {
      if (CJK.test(ch)) {
        if (buf) out.push(buf);
        buf = '';
        out.push(ch);
      } else buf += ch;
    }
    if (buf && !ARTICLES.has(buf)) out.push(buf);
  }
  return out;
}

const tokenizer = (s: string) => metricTokens(s);
const oneSegment = (s: string) => [s];

/** ROUGE-L F1 of an answer against a reference, in [0, 1]; 0 when either has no tokens. */
export function rougeLF1(answer: string, reference: string): number {
  if (metricTokens(answer).length === 0 || metricTokens(reference).length === 0) return 0;
  return rougeL(answer, reference, { tokenizer, segmenter: oneSegment });
}

/** Token F1 (unigram overlap with multiplicity, as SQuAD's), in [0, 1]; 0 when either is empty. */
export function tokenF1(answer: string, reference: string): number {
  if (metricTokens(answer).length === 0 || metricTokens(reference).length === 0) return 0;
  return rougeN(answer, reference, { n: 1, tokenizer });
}
