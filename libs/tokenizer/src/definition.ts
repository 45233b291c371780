/**
 * What a model directory says about its tokenizer, parsed and checked but not yet compiled into
 * lookup tables (see compile.ts). Reading the files is in model-dir.ts.
 */

/** A token matched as a whole string before pre-tokenization (HF `AddedToken`). */
export interface AddedToken {
  id: number;
  content: string;
  /** Special tokens can be skipped when decoding. */
  special: boolean;
  /** Matched in the normalized text (true) or in the raw text (false). */
  normalized: boolean;
  /** Swallows the whitespace on its left / right. */
  lstrip: boolean;
  rstrip: boolean;
  /** Only matched when not inside a word. */
  singleWord: boolean;
}

/** Everything that decides the token ids of a text. */
export interface TokenizerDefinition {
  /** Byte-level token string → id. */
  vocab: Map<string, number>;
  /** Merge rules in rank order, as id triples: left, right, merged (rank = index / 3). */
  merges: Int32Array;
  /** Where the vocabulary and merges came from, for error messages. */
  modelFile: string;
  addedTokens: AddedToken[];
  /** Whether the text is NFC-normalized (Qwen2) before pre-tokenization. */
  nfc: boolean;
  /** Ids the post-processor puts around a single sequence (e.g. a BOS), when asked to. */
  prefixIds: number[];
  suffixIds: number[];
}

/** The Qwen2 split pattern, as tokenizer.json writes it; the only pre-tokenizer implemented. */
export const QWEN2_SPLIT_PATTERN =
  "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
