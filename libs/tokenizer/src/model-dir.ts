/**
 * Reads a tokenizer from a local model directory: either HF's `tokenizer.json`, or
 * `vocab.json` + `merges.txt` with added tokens from `added_tokens.json` and/or
 * `tokenizer_config.json`'s `added_tokens_decoder` (parse.ts checks each file); finds the EOS
 * token and computes the fingerprint over the files read.
 */
import { createHash } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import type { TokenizerDefinition } from './definition';
import { TokenizerLoadError } from './errors';
import {
  addedTokensOfConfig,
  type Json,
  checkAddedIds,
  eosOfConfig,
  mergeAdded,
  parseAddedTokensJson,
  parseJson,
  parseMergesTxt,
  parseTokenizerJson,
  parseVocab,
} from './parse';

/** Where the EOS token comes from when the model directory has no tokenizer_config.json. */
export interface EosOptions {
  /** The EOS token's content; wins over any tokenizer_config.json. */
  eosToken?: string;
  /**
   * A directory whose tokenizer_config.json supplies `eos_token` when the model directory has
   * none (e.g. ../14B for the bare bpe/ directory of the shared models).
   */
  configDir?: string;
}

export interface ModelDirTokenizer {
  definition: TokenizerDefinition;
  eosToken: string | null;
  /** Where eosToken came from: the tokenizer_config.json read, or 'the eosToken option'. */
  eosSource: string | null;
  /** "sha256:<hex>" over the defining files' names and contents (and an EOS override). */
  fingerprint: string;
  /** The files read, absolute. */
  files: string[];
}


async function exists(file: string): Promise<boolean> {
  try {
    return (await stat(file)).isFile();
  } catch {
    return false;
  }
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** A file's text and the sha256 of its bytes. */
async function readText(file: string): Promise<{ text: string; sha256: string }> {
  let bytes: Buffer;
  try {
    bytes = await readFile(file);
  } catch (err) {
    throw new TokenizerLoadError(`cannot read: ${(err as Error).message}`, file, { cause: err });
  }
  try {
    return { text: utf8.decode(bytes), sha256: createHash('sha256').update(bytes).digest('hex') };
  } catch (err) {
    throw new TokenizerLoadError('not valid UTF-8', file, { cause: err });
  }
}

/** Reads and checks the tokenizer of a model directory. */
export async function readModelDir(dir: string, opts: EosOptions = {}): Promise<ModelDirTokenizer> {
  const root = path.resolve(dir);
  const at = (name: string) => path.join(root, name);
  const files: string[] = [];
  // The fingerprint covers each file read, named by its role (model dir or config dir) and name.
  const manifest = createHash('sha256');
  const read = async (file: string, role = 'model') => {
    const { text, sha256 } = await readText(file);
    files.push(file);
    manifest.update(`${role}/${path.basename(file)}\0${sha256}\n`);
    return text;
  };

  let definition: TokenizerDefinition;
  let config: Json = undefined;
  const configFile = at('tokenizer_config.json');
  if (await exists(configFile)) config = parseJson(await read(configFile), configFile);

  if (await exists(at('tokenizer.json'))) {
    definition = parseTokenizerJson(await read(at('tokenizer.json')), at('tokenizer.json'));
  } else if ((await exists(at('vocab.json'))) && (await exists(at('merges.txt')))) {
    const vocab = parseVocab(parseJson(await read(at('vocab.json')), at('vocab.json')), at('vocab.json'), 'vocab');
    const merges = parseMergesTxt(await read(at('merges.txt')), vocab, at('merges.txt'));
    const fromJson = (await exists(at('added_tokens.json')))
      ? parseAddedTokensJson(parseJson(await read(at('added_tokens.json')), at('added_tokens.json')), at('added_tokens.json'))
      : [];
    const fromConfig = config === undefined ? [] : addedTokensOfConfig(config, configFile);
    // transformers' Qwen2 tokenizer is NFC + the Qwen2 split; vocab.json/merges.txt cannot say otherwise.
    definition = { vocab, merges, modelFile: at('merges.txt'), addedTokens: mergeAdded(fromJson, fromConfig), nfc: true, prefixIds: [], suffixIds: [] };
  } else {
    throw new TokenizerLoadError('no tokenizer here: expected tokenizer.json, or vocab.json + merges.txt', root);
  }
  checkAddedIds(definition, files.find((f) => !f.endsWith('tokenizer_config.json')) ?? root);

  let eosToken: string | null = null;
  let eosSource: string | null = null;
  if (opts.eosToken !== undefined) [eosToken, eosSource] = [opts.eosToken, 'the eosToken option'];
  else if (config !== undefined) [eosToken, eosSource] = [eosOfConfig(config, configFile), configFile];
  if (eosToken === null && opts.eosToken === undefined && opts.configDir !== undefined) {
    const other = path.resolve(opts.configDir, 'tokenizer_config.json');
    [eosToken, eosSource] = [eosOfConfig(parseJson(await read(other, 'config'), other), other), other];
  }

  if (opts.eosToken !== undefined) manifest.update(`eos_token\0${opts.eosToken}\n`);
  return { definition, eosToken, eosSource: eosToken === null ? null : eosSource, fingerprint: `sha256:${manifest.digest('hex')}`, files };
}
