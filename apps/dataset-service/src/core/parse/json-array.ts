/**
 * Streaming splitter of one JSON array into its elements. It tracks only what delimits values —
 * strings (with escapes) and a stack of open brackets — so each element's bytes are handed on
 * for JSON.parse without the file ever being held whole: memory is one row, or nothing for a row
 * over the byte limit (its bytes are counted and dropped). A broken structure (a closing bracket
 * that does not match, a missing comma, an early end of file) stops the split with a
 * {@link FileFormatError} giving the byte offset and the row; a row that is delimited but not
 * valid JSON inside is left to the row parser, which reports it by row number.
 */
import { FileFormatError, showByte, type RawRow, type SplitOptions } from './types';

const enum S {
  Before, // expecting '['
  First, // after '[': a value or ']'
  Next, // after ',': a value
  In, // inside a value
  After, // after a value: ',' or ']'
  Done, // after ']': only whitespace
}
const enum M {
  Container,
  String,
  Scalar,
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;
const LBRACE = 0x7b;
const RBRACE = 0x7d;
const LBRACK = 0x5b;
const RBRACK = 0x5d;

function isWs(b: number): boolean {
  return b === 0x20 || b === 0x0a || b === 0x0d || b === 0x09;
}

/** Splits the bytes of a JSON array into its elements. `start` is the file offset of the first chunk. */
export async function* splitJsonArray(chunks: AsyncIterable<Buffer>, options: SplitOptions, start = 0): AsyncGenerator<RawRow> {
  let state = S.Before;
  let mode = M.Container;
  let row = 0;
  let pos = start; // file offset of the current chunk
  const stack: number[] = []; // expected closing bytes
  let inString = false;
  let escaped = false;
  let parts: Buffer[] = [];
  let size = 0;
  let tooLarge = false;
  let rowOffset = 0;

  const fail = (message: string, at: number): never => {
    throw new FileFormatError(message, at, row);
  };

  for await (const chunk of chunks) {
    const n = chunk.length;
    let i = 0;
    let valueStart = 0; // where the current value's bytes start in this chunk
    while (i < n) {
      if (state === S.In) {
        let end = -1; // exclusive end of the value in this chunk, when it ends here
        if (mode === M.Scalar) {
          for (; i < n; i++) {
            const b = chunk[i]!;
            if (b === COMMA || b === RBRACK || isWs(b)) {
              end = i;
              break;
            }
          }
        } else {
          for (; i < n; i++) {
            const b = chunk[i]!;
            if (inString) {
              if (escaped) escaped = false;
              else if (b === BACKSLASH) escaped = true;
              else if (b === QUOTE) {
                inString = false;
                if (mode === M.String) {
                  end = i + 1;
                  break;
                }
              }
            } else if (b === QUOTE) inString = true;
            else if (b === LBRACE) stack.push(RBRACE);
            else if (b === LBRACK) stack.push(RBRACK);
            else if (b === RBRACE || b === RBRACK) {
              const want = stack.pop()!;
              if (want !== b) {
                fail(`malformed JSON in row ${row}: expected ${showByte(want)} but found ${showByte(b)} at byte ${pos + i}`, pos + i);
              }
              if (stack.length === 0) {
                end = i + 1;
                break;
              }
            }
          }
        }
        const piece = chunk.subarray(valueStart, end < 0 ? n : end);
        size += piece.length;
        if (!tooLarge && size > options.maxRowBytes) {
          tooLarge = true;
          parts = [];
        }
        if (!tooLarge) parts.push(piece);
        if (end < 0) break; // the value goes on in the next chunk
        yield tooLarge
          ? { row, offset: rowOffset, size }
          : { row, offset: rowOffset, bytes: parts.length === 1 ? parts[0]! : Buffer.concat(parts, size), size };
        parts = [];
        size = 0;
        tooLarge = false;
        state = S.After;
        i = end;
        continue;
      }

      const b = chunk[i]!;
      if (isWs(b)) {
        i++;
        continue;
      }
      switch (state) {
        case S.Before:
          if (b !== LBRACK) fail(`expected '[' at byte ${pos + i} (a JSON array), found ${showByte(b)}`, pos + i);
          state = S.First;
          i++;
          break;
        case S.After:
          if (b === COMMA) state = S.Next;
          else if (b === RBRACK) state = S.Done;
          else fail(`malformed JSON after row ${row}: expected ',' or ']' at byte ${pos + i}, found ${showByte(b)}`, pos + i);
          i++;
          break;
        case S.Done:
          fail(`unexpected data after the closing ']' at byte ${pos + i}: ${showByte(b)}`, pos + i);
          break;
        default: // First or Next: a value starts here (or the array ends)
          if (b === RBRACK) {
            if (state === S.Next) fail(`malformed JSON: trailing comma before ']' at byte ${pos + i} (after row ${row})`, pos + i);
            state = S.Done;
            i++;
            break;
          }
          if (b === COMMA) fail(`malformed JSON after row ${row}: expected a value at byte ${pos + i}, found ','`, pos + i);
          row += 1;
          rowOffset = pos + i;
          valueStart = i;
          state = S.In;
          // The value's first byte is read again by the scan above (it opens the bracket or string).
          mode = b === LBRACE || b === LBRACK ? M.Container : b === QUOTE ? M.String : M.Scalar;
      }
    }
    pos += n;
  }

  switch (state) {
    case S.Done:
      return;
    case S.Before:
      fail('the file holds no JSON value', pos);
      break;
    case S.In:
      if (mode === M.Scalar) fail(`the file ends at byte ${pos} before the closing ']' (after row ${row}): truncated?`, pos);
      fail(`the file ends at byte ${pos} inside row ${row}, which starts at byte ${rowOffset}: truncated?`, pos);
      break;
    default:
      fail(`the file ends at byte ${pos} before the closing ']' (after row ${row}): truncated?`, pos);
  }
}
