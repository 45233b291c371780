/**
 * Parsers of the tokenizer files (tokenizer.json, vocab.json, merges.txt, added_tokens.json,
 * tokenizer_config.json): each checks what it reads and names the file and the place of a fault.
 */
import { QWEN2_SPLIT_PATTERN, type AddedToken, type TokenizerDefinition } from './definition';
import { TokenizerLoadError, UnsupportedTokenizerError } from './errors';

export type Json = unknown;
type JsonObject = Record<string, Json>;

const isObject = (v: Json): v is JsonObject => typeof v === 'object' && v !== null && !Array.isArray(v);

export function parseJson(text: string, file: string): Json {
  try {
    return JSON.parse(text) as Json;
  } catch (err) {
    throw new TokenizerLoadError(`not valid JSON: ${(err as Error).message}`, file, { cause: err });
  }
}

function isId(v: Json): v is number {
  return typeof v === 'number' && Number.isInteger(v) && v >= 0 && v < 2 ** 31;
}

export function parseVocab(v: Json, file: string, where: string): Map<string, number> {
  if (!isObject(v)) throw new TokenizerLoadError(`${where} must be an object of token → id`, file);
  const vocab = new Map<string, number>();
  // for-in rather than Object.entries: no array per entry (151k of them) at load.
  for (const token in v) {
    const id = v[token];
    if (!isId(id)) throw new TokenizerLoadError(`${where}[${JSON.stringify(token)}] must be a non-negative integer id`, file);
    vocab.set(token, id);
  }
  return vocab;
}

/** Resolves merge rules to ids as they are read, so that no list of string pairs is kept. */
class MergeList {
  private triples = new Int32Array(3 * 1024);
  private n = 0;

  constructor(
    private readonly vocab: Map<string, number>,
    private readonly file: string,
  ) {}

  add(a: string, b: string, where: string): void {
    const left = this.vocab.get(a);
    const right = this.vocab.get(b);
    const merged = this.vocab.get(a + b);
    if (left === undefined || right === undefined || merged === undefined) {
      const missing = left === undefined ? a : right === undefined ? b : a + b;
      throw new TokenizerLoadError(`${where} (${JSON.stringify(a)} ${JSON.stringify(b)}): ${JSON.stringify(missing)} is not in the vocabulary`, this.file);
    }
    if (this.n + 3 > this.triples.length) {
      const bigger = new Int32Array(this.triples.length * 2);
      bigger.set(this.triples);
      this.triples = bigger;
    }
    this.triples[this.n++] = left;
    this.triples[this.n++] = right;
    this.triples[this.n++] = merged;
  }

  /** One rule, "a b" (merges.txt and tokenizer.json's older form) or ["a", "b"]. */
  addJson(m: Json, where: string): void {
    if (typeof m === 'string') {
      const space = m.indexOf(' ');
      if (space > 0 && space < m.length - 1 && m.indexOf(' ', space + 1) < 0) return this.add(m.slice(0, space), m.slice(space + 1), where);
    } else if (Array.isArray(m) && m.length === 2 && typeof m[0] === 'string' && typeof m[1] === 'string') {
      return this.add(m[0], m[1], where);
    }
    throw new TokenizerLoadError(`${where}: a merge must be "a b" or ["a", "b"], got ${JSON.stringify(m)}`, this.file);
  }

  done(): Int32Array {
    return this.triples.slice(0, this.n);
  }
}

export function parseMergesTxt(text: string, vocab: Map<string, number>, file: string): Int32Array {
  const merges = new MergeList(vocab, file);
  let line = 1;
  for (let start = 0; start < text.length; line++) {
    let end = text.indexOf('\n', start);
    if (end < 0) end = text.length;
    const s = text.slice(start, end > start && text.charCodeAt(end - 1) === 13 ? end - 1 : end);
    if (s !== '' && !s.startsWith('#version')) merges.addJson(s, `line ${line}`);
    start = end + 1;
  }
  return merges.done();
}

function flag(v: Json, fallback: boolean): boolean {
  return typeof v === 'boolean' ? v : fallback;
}

/** An added token from tokenizer.json's added_tokens or tokenizer_config's added_tokens_decoder. */
function parseAddedToken(v: Json, id: Json, file: string, where: string): AddedToken {
  if (!isObject(v) || typeof v['content'] !== 'string' || v['content'] === '')
    throw new TokenizerLoadError(`${where} must have a non-empty string "content"`, file);
  if (!isId(id)) throw new TokenizerLoadError(`${where} must have a non-negative integer id`, file);
  const special = flag(v['special'], false);
  return {
    id,
    content: v['content'],
    special,
    normalized: flag(v['normalized'], !special),
    lstrip: flag(v['lstrip'], false),
    rstrip: flag(v['rstrip'], false),
    singleWord: flag(v['single_word'], false),
  };
}

/**
 * added_tokens.json: transformers writes {token: id}; the shared models' file is {id: token}.
 * Both are read; the tokens are special and matched in the raw text, as the README's recipe says.
 */
export function parseAddedTokensJson(v: Json, file: string): AddedToken[] {
  if (!isObject(v)) throw new TokenizerLoadError('must be an object', file);
  return Object.entries(v).map(([key, value]) => {
    const byId = typeof value === 'string' && /^\d+$/.test(key);
    const content = byId ? value : key;
    const id = byId ? Number(key) : value;
    if (typeof content !== 'string' || content === '' || !isId(id))
      throw new TokenizerLoadError(`entry ${JSON.stringify(key)}: expected {"<id>": "<token>"} or {"<token>": <id>}`, file);
    return { id, content, special: true, normalized: false, lstrip: false, rstrip: false, singleWord: false };
  });
}

function parseNormalizer(v: Json, file: string): boolean {
  if (v === null || v === undefined) return false;
  if (isObject(v) && v['type'] === 'NFC') return true;
  if (isObject(v) && v['type'] === 'Sequence' && Array.isArray(v['normalizers'])) {
    const parts = v['normalizers'];
    if (parts.every((p) => isObject(p) && p['type'] === 'NFC')) return parts.length > 0;
  }
  throw new UnsupportedTokenizerError(`normalizer ${JSON.stringify(v)} (only NFC or none is implemented)`, file);
}

function checkPreTokenizer(v: Json, file: string): void {
  const steps = isObject(v) && v['type'] === 'Sequence' && Array.isArray(v['pretokenizers']) ? v['pretokenizers'] : null;
  const split = steps?.[0];
  const byteLevel = steps?.[1];
  const ok =
    steps?.length === 2 &&
    isObject(split) &&
    split['type'] === 'Split' &&
    isObject(split['pattern']) &&
    split['pattern']['Regex'] === QWEN2_SPLIT_PATTERN &&
    split['behavior'] === 'Isolated' &&
    split['invert'] === false &&
    isObject(byteLevel) &&
    byteLevel['type'] === 'ByteLevel' &&
    byteLevel['add_prefix_space'] === false &&
    byteLevel['use_regex'] === false;
  if (!ok)
    throw new UnsupportedTokenizerError(
      `pre_tokenizer ${JSON.stringify(v).slice(0, 300)} (only Qwen2's Split(pattern) + ByteLevel is implemented)`,
      file,
    );
}

function checkModel(model: JsonObject, file: string): void {
  const problems: string[] = [];
  if ((model['type'] ?? 'BPE') !== 'BPE') problems.push(`type ${String(model['type'])}`);
  if (model['dropout'] !== null && model['dropout'] !== undefined && model['dropout'] !== 0) problems.push('dropout');
  for (const k of ['continuing_subword_prefix', 'end_of_word_suffix'])
    if (model[k] !== null && model[k] !== undefined && model[k] !== '') problems.push(k);
  if (model['byte_fallback'] === true) problems.push('byte_fallback');
  if (model['ignore_merges'] === true) problems.push('ignore_merges');
  if (problems.length > 0) throw new UnsupportedTokenizerError(`model options not implemented: ${problems.join(', ')}`, file);
}

/** Ids added around a single sequence by a TemplateProcessing post-processor (e.g. a BOS). */
function parsePostProcessor(v: Json, file: string): { prefixIds: number[]; suffixIds: number[] } {
  const none = { prefixIds: [], suffixIds: [] };
  if (v === null || v === undefined) return none;
  if (!isObject(v)) throw new UnsupportedTokenizerError(`post_processor ${JSON.stringify(v)}`, file);
  if (v['type'] === 'ByteLevel') return none; // offsets only
  if (v['type'] === 'Sequence' && Array.isArray(v['processors'])) {
    const parts = v['processors'].map((p) => parsePostProcessor(p, file));
    return { prefixIds: parts.flatMap((p) => p.prefixIds), suffixIds: parts.flatMap((p) => p.suffixIds) };
  }
  if (v['type'] === 'TemplateProcessing' && Array.isArray(v['single'])) {
    const specials = isObject(v['special_tokens']) ? v['special_tokens'] : {};
    const out = { prefixIds: [] as number[], suffixIds: [] as number[] };
    let seenSequence = false;
    for (const piece of v['single']) {
      if (isObject(piece) && isObject(piece['Sequence'])) {
        seenSequence = true;
        continue;
      }
      const name = isObject(piece) && isObject(piece['SpecialToken']) ? piece['SpecialToken']['id'] : undefined;
      const special = typeof name === 'string' ? specials[name] : undefined;
      const ids = isObject(special) ? special['ids'] : undefined;
      if (!Array.isArray(ids) || !ids.every(isId))
        throw new TokenizerLoadError(`post_processor.single: unknown special token ${JSON.stringify(piece)}`, file);
      (seenSequence ? out.suffixIds : out.prefixIds).push(...ids);
    }
    return out;
  }
  throw new UnsupportedTokenizerError(`post_processor type ${String(v['type'])} (not implemented)`, file);
}

export function parseTokenizerJson(text: string, file: string): TokenizerDefinition {
  const json = parseJson(text, file);
  if (!isObject(json) || !isObject(json['model'])) throw new TokenizerLoadError('no "model" object', file);
  const model = json['model'];
  checkModel(model, file);
  const vocab = parseVocab(model['vocab'], file, 'model.vocab');
  if (!Array.isArray(model['merges'])) throw new TokenizerLoadError('model.merges must be an array', file);
  const list = new MergeList(vocab, file);
  model['merges'].forEach((m, i) => list.addJson(m, `model.merges[${i}]`));
  const merges = list.done();
  const added = json['added_tokens'] ?? [];
  if (!Array.isArray(added)) throw new TokenizerLoadError('added_tokens must be an array', file);
  const addedTokens = added.map((t, i) => parseAddedToken(t, isObject(t) ? t['id'] : undefined, file, `added_tokens[${i}]`));
  const nfc = parseNormalizer(json['normalizer'], file);
  checkPreTokenizer(json['pre_tokenizer'], file);
  return { vocab, merges, modelFile: file, addedTokens, nfc, ...parsePostProcessor(json['post_processor'], file) };
}

/** The eos_token of a tokenizer_config.json: a string or {content}; null when absent. */
export function eosOfConfig(config: Json, file: string): string | null {
  if (!isObject(config)) throw new TokenizerLoadError('must be an object', file);
  const eos = config['eos_token'];
  if (eos === undefined || eos === null) return null;
  if (typeof eos === 'string') return eos;
  if (isObject(eos) && typeof eos['content'] === 'string') return eos['content'];
  throw new TokenizerLoadError(`eos_token must be a string or {"content": ...}, got ${JSON.stringify(eos)}`, file);
}

export function addedTokensOfConfig(config: Json, file: string): AddedToken[] {
  const decoder = isObject(config) ? config['added_tokens_decoder'] : undefined;
  if (decoder === undefined) return [];
  if (!isObject(decoder)) throw new TokenizerLoadError('added_tokens_decoder must be an object', file);
  return Object.entries(decoder).map(([id, t]) =>
    parseAddedToken(t, /^\d+$/.test(id) ? Number(id) : undefined, file, `added_tokens_decoder[${JSON.stringify(id)}]`),
  );
}

/** Merges added tokens by id; later lists win (tokenizer_config's flags over added_tokens.json). */
export function mergeAdded(...lists: AddedToken[][]): AddedToken[] {
  const byId = new Map<number, AddedToken>();
  for (const list of lists) for (const t of list) byId.set(t.id, t);
  return [...byId.values()].sort((a, b) => a.id - b.id);
}

export function checkAddedIds(def: TokenizerDefinition, file: string): void {
  const added = new Map(def.addedTokens.map((t) => [t.id, t.content]));
  const clash = (content: string, id: number) =>
    new TokenizerLoadError(`added token ${JSON.stringify(content)} has id ${id}, which the vocabulary gives to another token`, file);
  for (const t of def.addedTokens) {
    const vocabId = def.vocab.get(t.content);
    if (vocabId !== undefined && vocabId !== t.id) throw clash(t.content, t.id);
  }
  for (const [token, id] of def.vocab) {
    const content = added.get(id);
    if (content !== undefined && content !== token) throw clash(content, id);
  }
}
