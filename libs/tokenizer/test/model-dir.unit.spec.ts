/** Loading model directories: both formats, added tokens, EOS, fingerprint, and clear errors. */
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, test } from 'vitest';
import { BYTE_TO_CHAR } from '../src/byte-level';
import { QWEN2_SPLIT_PATTERN } from '../src/definition';
import { loadTokenizer, TokenizerLoadError, UnsupportedTokenizerError } from '../src/index';

const vocab: Record<string, number> = Object.fromEntries(BYTE_TO_CHAR.map((c, i) => [c, i]));
vocab['ab'] = 256;
vocab['abc'] = 257;
vocab['Ġa'] = 258;
const mergesTxt = '#version: 0.2\na b\nab c\nĠ a\n';

async function dir(files: Record<string, unknown>): Promise<string> {
  const d = await mkdtemp(path.join(tmpdir(), 'medtune-tok-unit-'));
  for (const [name, content] of Object.entries(files)) await writeFile(path.join(d, name), typeof content === 'string' ? content : JSON.stringify(content));
  return d;
}

function tokenizerJson(over: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    version: '1.0',
    added_tokens: [{ id: 259, content: '<eos>', special: true, normalized: false, lstrip: false, rstrip: false, single_word: false }],
    normalizer: { type: 'NFC' },
    pre_tokenizer: {
      type: 'Sequence',
      pretokenizers: [
        { type: 'Split', pattern: { Regex: QWEN2_SPLIT_PATTERN }, behavior: 'Isolated', invert: false },
        { type: 'ByteLevel', add_prefix_space: false, trim_offsets: false, use_regex: false },
      ],
    },
    post_processor: null,
    decoder: { type: 'ByteLevel' },
    model: { type: 'BPE', dropout: null, unk_token: null, vocab, merges: [['a', 'b'], 'ab c', ['Ġ', 'a']] },
    ...over,
  };
}

describe('vocab.json + merges.txt', () => {
  test('merges by rank; added_tokens.json as {id: token} or {token: id}; EOS from tokenizer_config', async () => {
    for (const added of [{ '259': '<eos>', '260': '<think>' }, { '<eos>': 259, '<think>': 260 }]) {
      const d = await dir({ 'vocab.json': vocab, 'merges.txt': mergesTxt, 'added_tokens.json': added, 'tokenizer_config.json': { eos_token: { content: '<eos>' } } });
      const tok = await loadTokenizer(d, { engine: 'ts' });
      expect(Array.from(tok.encode('abc a<think>ab<eos>'))).toEqual([257, 258, 260, 256, 259]);
      expect(tok.vocabSize).toBe(261);
      expect([tok.eosToken, tok.eosTokenId]).toEqual(['<eos>', 259]);
      expect(tok.idToToken(258)).toBe('Ġa');
      expect(tok.tokenToId('<think>')).toBe(260);
      expect(tok.decode([257, 258, 260, 259])).toBe('abc a<think><eos>');
      expect(tok.decode([257, 260, 259], { skipSpecialTokens: true })).toBe('abc');
      expect(() => tok.decode([261])).toThrow('ids[0] = 261 is not a token id');
    }
  });

  test("tokenizer_config's added_tokens_decoder flags apply (rstrip, normalized)", async () => {
    const d = await dir({
      'vocab.json': vocab,
      'merges.txt': mergesTxt,
      'tokenizer_config.json': {
        added_tokens_decoder: {
          '259': { content: '<eos>', special: true, normalized: false, lstrip: false, rstrip: true, single_word: false },
          '260': { content: 'ǘ', special: false, normalized: true, lstrip: false, rstrip: false, single_word: false },
        },
      },
    });
    const tok = await loadTokenizer(d, { engine: 'ts' });
    expect(Array.from(tok.encode('<eos>   ab'))).toEqual([259, 256]); // the spaces went with <eos>
    expect(Array.from(tok.encode('u\u0308\u0301'))).toEqual([260]); // matched once NFC made it ǘ
    expect(tok.eosToken).toBeNull();
  });

  test('EOS: an override wins; else the configDir; an unknown EOS is an error naming the file', async () => {
    const config = await dir({ 'tokenizer_config.json': { eos_token: '<eos>' } });
    const d = await dir({ 'vocab.json': vocab, 'merges.txt': mergesTxt, 'added_tokens.json': { '259': '<eos>' } });
    expect((await loadTokenizer(d, { engine: 'ts' })).eosToken).toBeNull();
    expect((await loadTokenizer(d, { engine: 'ts', configDir: config })).eosTokenId).toBe(259);
    expect((await loadTokenizer(d, { engine: 'ts', configDir: config, eosToken: 'abc' })).eosTokenId).toBe(257);
    const bad = await dir({ 'tokenizer_config.json': { eos_token: '</s>' } });
    await expect(loadTokenizer(d, { configDir: bad })).rejects.toThrow(`${path.join(bad, 'tokenizer_config.json')}: the EOS token "</s>" is not a token`);
    await expect(loadTokenizer(d, { eosToken: '<s>' })).rejects.toThrow('the eosToken option: the EOS token "<s>" is not a token');
  });

  test('fingerprint: sha256 of the defining files, stable, and changed by a file or an EOS override', async () => {
    const d1 = await dir({ 'vocab.json': vocab, 'merges.txt': mergesTxt });
    const d2 = await dir({ 'vocab.json': vocab, 'merges.txt': mergesTxt });
    const d3 = await dir({ 'vocab.json': vocab, 'merges.txt': '#version: 0.2\na b\n' });
    const f = async (d: string, eosToken?: string) => (await loadTokenizer(d, { engine: 'ts', eosToken })).fingerprint;
    expect(await f(d1)).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(await f(d1)).toBe(await f(d2));
    expect(await f(d3)).not.toBe(await f(d1));
    expect(await f(d1, 'abc')).not.toBe(await f(d1));
  });

  test.each([
    [{}, 'no tokenizer here: expected tokenizer.json, or vocab.json + merges.txt'],
    [{ 'vocab.json': '{"a": 1,', 'merges.txt': '' }, 'vocab.json: not valid JSON'],
    [{ 'vocab.json': { a: -1 }, 'merges.txt': '' }, 'vocab["a"] must be a non-negative integer id'],
    [{ 'vocab.json': vocab, 'merges.txt': '#version: 0.2\na b\nab x y\n' }, 'merges.txt: line 3: a merge must be'],
    [{ 'vocab.json': vocab, 'merges.txt': 'a b\nab ĉ\n' }, 'merges.txt: line 2 ("ab" "ĉ"): "abĉ" is not in the vocabulary'],
    [{ 'vocab.json': vocab, 'merges.txt': mergesTxt, 'added_tokens.json': { '256': '<x>' } }, 'added token "<x>" has id 256, which the vocabulary gives to another token'],
    [{ 'vocab.json': { a: 0 }, 'merges.txt': '' }, 'the vocabulary has no token for byte 0x0'],
  ])('bad files are refused with the file and the reason (%#)', async (files, message) => {
    await expect(loadTokenizer(await dir(files))).rejects.toThrow(TokenizerLoadError);
    await expect(loadTokenizer(await dir(files))).rejects.toThrow(message);
  });
});

describe('tokenizer.json', () => {
  test('both merge forms; the post-processor adds a BOS unless addSpecialTokens is false', async () => {
    const bos = { id: 260, content: '<bos>', special: true, normalized: false, lstrip: false, rstrip: false, single_word: false };
    const json = tokenizerJson({
      added_tokens: [...(tokenizerJson()['added_tokens'] as object[]), bos],
      post_processor: {
        type: 'TemplateProcessing',
        single: [{ SpecialToken: { id: '<bos>', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }],
        pair: [],
        special_tokens: { '<bos>': { id: '<bos>', ids: [260], tokens: ['<bos>'] } },
      },
    });
    const tok = await loadTokenizer(await dir({ 'tokenizer.json': json, 'tokenizer_config.json': { eos_token: '<eos>' } }), { engine: 'ts' });
    expect(Array.from(tok.encode('abc a'))).toEqual([260, 257, 258]);
    expect(Array.from(tok.encode('abc a', { addSpecialTokens: false }))).toEqual([257, 258]);
    expect([tok.count('abc a'), tok.count('abc a', { addSpecialTokens: false })]).toEqual([3, 2]);
    expect(tok.eosTokenId).toBe(259);
  });

  test.each([
    [{ pre_tokenizer: { type: 'ByteLevel', add_prefix_space: false, use_regex: true } }, 'pre_tokenizer'],
    [{ normalizer: { type: 'NFKC' } }, 'normalizer'],
    [{ model: { type: 'WordPiece', vocab } }, 'model options not implemented: type WordPiece'],
    [{ model: { type: 'BPE', vocab, merges: [], continuing_subword_prefix: '##' } }, 'continuing_subword_prefix'],
    [{ post_processor: { type: 'RobertaProcessing' } }, 'post_processor type RobertaProcessing'],
  ])('what is not implemented is refused as unsupported (%#)', async (over, message) => {
    const d = await dir({ 'tokenizer.json': tokenizerJson(over) });
    await expect(loadTokenizer(d)).rejects.toThrow(UnsupportedTokenizerError);
    await expect(loadTokenizer(d)).rejects.toThrow(message);
  });
});
