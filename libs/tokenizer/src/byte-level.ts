/**
 * GPT-2 byte-level alphabet: every byte 0..255 is shown as one printable code point, so that
 * byte-level BPE vocabularies can be written as JSON strings. Bytes that are already printable
 * (and not a space) map to themselves; the others take code points 256, 257, ... in byte order.
 */

function buildByteToChar(): string[] {
  const printable = (b: number): boolean => (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff);
  const table: string[] = new Array<string>(256);
  let next = 256;
  for (let b = 0; b < 256; b++) table[b] = String.fromCodePoint(printable(b) ? b : next++);
  return table;
}

/** BYTE_TO_CHAR[b] is the byte-level character of byte b. */
export const BYTE_TO_CHAR: readonly string[] = buildByteToChar();

/** Code point of a byte-level character → its byte (0..255); absent for other characters. */
export const CHAR_TO_BYTE: ReadonlyMap<number, number> = new Map(BYTE_TO_CHAR.map((ch, b) => [ch.codePointAt(0) ?? 0, b]));

/** The byte-level string of some bytes ("Ġ" for a space, ...). */
export function bytesToByteLevel(bytes: Uint8Array): string {
  let s = '';
  for (const b of bytes) s += BYTE_TO_CHAR[b] ?? '';
  return s;
}

/**
 * The bytes a byte-level string stands for, or null when it holds a character outside the
 * alphabet (such a token is not byte-level; HF's ByteLevel decoder then emits its UTF-8 as is).
 */
export function byteLevelToBytes(token: string): Uint8Array | null {
  const out = new Uint8Array(token.length);
  let n = 0;
  for (const ch of token) {
    const b = CHAR_TO_BYTE.get(ch.codePointAt(0) ?? 0);
    if (b === undefined) return null;
    out[n++] = b;
  }
  return out.subarray(0, n);
}
