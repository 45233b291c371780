/**
 * @medtune/tokenizer — exact byte-level BPE of a base model's tokenizer (Qwen2 family, e.g.
 * DeepSeek-R1-Distill-Qwen), read from a local model directory; token ids identical to HF
 * `tokenizers` / `transformers` (checked by test/exactness.int.spec.ts), on all cores.
 *
 * ## Loading
 *
 *   const tok = await loadTokenizer(dir, { configDir?, eosToken?, engine?, nativeAddon?, pieceCacheSize?, shared? })
 *
 * `dir` holds either
 *   - `tokenizer.json` (HF fast format: model.vocab, model.merges as "a b" strings or [a, b]
 *     arrays, added_tokens, normalizer NFC or none, the Qwen2 Split + ByteLevel pre_tokenizer, an
 *     optional TemplateProcessing post_processor), or
 *   - `vocab.json` + `merges.txt`, with added tokens from `added_tokens.json` ({id: token} as in
 *     ../shared/models, or transformers' {token: id}; read as special, matched in the raw text)
 *     and/or `tokenizer_config.json`'s `added_tokens_decoder` (its flags win). NFC + the Qwen2
 *     pre-tokenizer are implied, as in transformers' Qwen2 tokenizer; nothing is added around a
 *     sequence (no BOS), and there are no unk/bos/eos/pad defaults.
 * Anything else (another pre-tokenizer, WordPiece, dropout, ...) is refused with
 * UnsupportedTokenizerError; missing or malformed files with TokenizerLoadError naming the file.
 * `truncation` / `padding` in tokenizer.json are ignored: counts are of the whole text.
 *
 * EOS token (the training text ends with it): `opts.eosToken` if given, else `eos_token` of
 * `dir/tokenizer_config.json`, else of `opts.configDir/tokenizer_config.json` (the shared bpe/ dir
 * has no config: pass configDir = its sibling 14B/ or 32B/), else null. It must be a token.
 *
 * `fingerprint` = "sha256:<hex>" over the names and sha256 of every file read (and an eosToken
 * override): the tokenizer's identity for lineage.
 *
 * ## Tokenizer
 *
 *   tok.encode(text, { addSpecialTokens = true }): Uint32Array   // HF encode(text).ids
 *   tok.count(text, { addSpecialTokens = true }): number         // = encode(text).length, faster
 *   tok.decode(ids, { skipSpecialTokens = false }): string       // HF decode
 *   tok.tokenToId(token) / tok.idToToken(id)                      // byte-level strings ("Ġworld")
 *   tok.vocabSize                                                 // 151665 for the shared model
 *   tok.eosToken / tok.eosTokenId / tok.fingerprint
 *   tok.engineKind                                                // 'native' | 'ts'
 * `addSpecialTokens` only matters for a tokenizer.json with a post-processor (e.g. a BOS).
 * Added / special tokens written in the text (e.g. "<think>", "<｜end▁of▁sentence｜>") are
 * always matched as whole tokens, as HF does.
 *
 * ## Engines
 *
 * Pre-tokenization + BPE run in a Rust addon (native/, built by native/build.sh into
 * native/build/medtune_tokenizer.node) when it loads, else in TypeScript; both give the same ids.
 * `engine`: 'auto' (default), 'native' (fail without the addon) or 'ts'.
 *
 * ## Pool (all cores)
 *
 *   const pool = await createTokenizerPool({ dir, threads = cores, ...load options })
 *   // or createTokenizerPool({ tokenizer, threads }) to share one loaded with { shared: true }
 *   await pool.countBatch(texts, opts?): Uint32Array     // counts in order
 *   await pool.encodeBatch(texts, opts?): Uint32Array[]  // ids in order
 *   pool.tokenizer                                       // main-thread tokenizer, same tables
 *   await pool.close()                                   // then calls reject (TokenizerPoolError)
 * Worker threads share the tables (SharedArrayBuffer) and run .ts through tsx (worker-boot.mjs),
 * under tsx and under vitest alike. Batches are split into contiguous chunks across the threads;
 * send batches of a few hundred rows or more for good use of the cores.
 */
export { loadTokenizer, tokenizerFromCompiled } from './load';
export type { EngineChoice, EngineOptions, LoadTokenizerOptions } from './load';
export type { EosOptions } from './model-dir';
export { Tokenizer } from './tokenizer';
export type { DecodeOptions, EncodeOptions, TokenizerInfo } from './tokenizer';
export { createTokenizerPool } from './pool';
export type { TokenizerPool, TokenizerPoolOptions } from './pool';
export { TokenizerLoadError, TokenizerPoolError, UnsupportedTokenizerError } from './errors';
export { DEFAULT_NATIVE_ADDON, DEFAULT_PIECE_CACHE_SIZE } from './native';
