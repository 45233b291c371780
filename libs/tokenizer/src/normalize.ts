/**
 * NFC as HF tokenizers computes it. V8's ICU knows 21 canonical compositions (scripts of Unicode
 * 13 and later: Vithkuqi, Tulu-Tigalari, Dives Akuru, Gurung Khema, Kirat Rai) that the
 * normalization tables inside HF tokenizers do not, so for a text holding their first characters
 * ICU would compose what HF leaves apart. Those characters compose with nothing HF knows, so
 * normalizing the text in parts that end right after each of them gives HF's result.
 */

// The first character of each such composition (a starter). Listed by scanning every code point's
// decomposition in ICU and comparing with HF; the exactness test re-checks it.
const HF_UNKNOWN_COMPOSITION_STARTS = new RegExp(
  [0x105d2, 0x105da, 0x11382, 0x11384, 0x1138b, 0x11390, 0x113c2, 0x11935, 0x1611e, 0x16121, 0x16122, 0x16129, 0x16d63, 0x16d67, 0x16d69]
    .map((cp) => `\\u{${cp.toString(16)}}`)
    .join('|'),
  'gu',
);

export function nfc(text: string): string {
  const re = HF_UNKNOWN_COMPOSITION_STARTS;
  re.lastIndex = 0;
  if (!re.test(text)) return text.normalize('NFC');
  re.lastIndex = 0;
  let out = '';
  let start = 0;
  for (let m = re.exec(text); m !== null; m = re.exec(text)) {
    const end = m.index + m[0].length;
    out += text.slice(start, end).normalize('NFC');
    start = end;
  }
  return out + text.slice(start).normalize('NFC');
}
