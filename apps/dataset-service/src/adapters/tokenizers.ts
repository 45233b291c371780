/**
 * Tokenizers from model directories (@medtune/tokenizer's worker pool), with the EOS resolved and
 * pools kept between imports. The EOS comes from, in order: the directory's tokenizer_config.json
 * (read by the tokenizer lib); its special_tokens_map.json (or special_tokens_map.<variant>.json,
 * such as the shared models' special_tokens_map.resaved.json); the service's configured default
 * (MEDTUNE_DATASET_DEFAULT_EOS_TOKEN). Lineage records the EOS used, and the tokenizer's
 * fingerprint covers an EOS that did not come from tokenizer_config.json.
 */
import { readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { confinePath, InvalidArgumentError, NotFoundError, type DataRoots, type Logger } from '@medtune/kit';
import { createTokenizerPool, type TokenizerPool } from '@medtune/tokenizer';
import type { Tokenizer, TokenizerProvider } from '../core/ports';

/** Options of {@link PooledTokenizers}. */
export interface PooledTokenizersOptions {
  /** Worker threads per pool. */
  threads: number;
  /** Pools kept open (least recently used unused ones are closed beyond this). */
  maxPools: number;
  /** EOS for directories that define none; undefined = such directories are refused. */
  defaultEosToken?: string | undefined;
  /** Where a tokenizer directory (a user-given path) must resolve, symlinks resolved (see kit paths.ts). */
  confine?: DataRoots;
  log: Logger;
}

interface Entry {
  key: string;
  pool: Promise<TokenizerPool>;
  eosSource: string;
  refs: number;
  lastUsed: number;
}

/** A {@link TokenizerProvider} over worker pools, one per directory (and EOS), reused across imports. */
export class PooledTokenizers implements TokenizerProvider {
  private readonly entries = new Map<string, Entry>();

  constructor(private readonly options: PooledTokenizersOptions) {}

  async open(dir: string, field: string): Promise<Tokenizer> {
    // Outside the roots: INVALID_ARGUMENT naming the field, before anything in it is read; a
    // directory that does not exist is resolved through its parent and reported missing below.
    const confine = this.options.confine;
    const abs = confine ? confinePath(dir, confine.roots, field, { mustExist: false, deny: confine.deny }) : path.resolve(dir);
    const files = await definingFiles(abs, field);
    const eos = await this.resolveEos(abs, files, field);
    const key = `${abs}\0${eos.token ?? ''}\0${files.stamp}`;
    let entry = this.entries.get(key);
    if (!entry) {
      const pool = createTokenizerPool({ dir: abs, threads: this.options.threads, ...(eos.token !== undefined ? { eosToken: eos.token } : {}) });
      entry = { key, pool, eosSource: eos.source, refs: 0, lastUsed: Date.now() };
      this.entries.set(key, entry);
      pool.catch(() => this.entries.delete(key));
    }
    entry.refs++;
    entry.lastUsed = Date.now();
    let pool: TokenizerPool;
    try {
      pool = await entry.pool;
    } catch (err) {
      entry.refs--;
      throw new InvalidArgumentError(field, `cannot load the tokenizer of ${dir}: ${(err as Error).message}`, { cause: err });
    }
    const eosToken = pool.tokenizer.eosToken;
    if (!eosToken) {
      entry.refs--;
      throw new InvalidArgumentError(field, `${dir} defines no EOS token (no eos_token in tokenizer_config.json or special_tokens_map.json) and the service has no default (MEDTUNE_DATASET_DEFAULT_EOS_TOKEN)`);
    }
    const held = entry;
    let released = false;
    this.evict();
    return {
      dir,
      fingerprint: pool.tokenizer.fingerprint,
      eosToken,
      eosSource: held.eosSource,
      count: async (texts) => Array.from(await pool.countBatch(texts)),
      release: () => {
        if (released) return;
        released = true;
        held.refs--;
        held.lastUsed = Date.now();
        this.evict();
      },
    };
  }

  /** Closes every pool. */
  async close(): Promise<void> {
    const pools = [...this.entries.values()].map((e) => e.pool);
    this.entries.clear();
    await Promise.all(pools.map((p) => p.then((pool) => pool.close()).catch(() => undefined)));
  }

  private evict(): void {
    const idle = [...this.entries.values()].filter((e) => e.refs === 0).sort((a, b) => a.lastUsed - b.lastUsed);
    let excess = this.entries.size - this.options.maxPools;
    for (const e of idle) {
      if (excess-- <= 0) break;
      this.entries.delete(e.key);
      void e.pool.then((p) => p.close()).catch((err: unknown) => this.options.log.warn({ err }, 'closing a tokenizer pool failed'));
    }
  }

  private async resolveEos(dir: string, files: { names: string[] }, field: string): Promise<{ token: string | undefined; source: string }> {
    const config = await readJson(path.join(dir, 'tokenizer_config.json'), field);
    if (config && tokenContent(config.eos_token)) return { token: undefined, source: 'tokenizer_config.json' };
    const maps = files.names.filter((n) => /^special_tokens_map(\.[A-Za-z0-9_-]+)?\.json$/.test(n)).sort();
    for (const name of maps) {
      const eos = tokenContent((await readJson(path.join(dir, name), field))?.eos_token);
      if (eos) return { token: eos, source: name };
    }
    if (this.options.defaultEosToken) return { token: this.options.defaultEosToken, source: 'service default (MEDTUNE_DATASET_DEFAULT_EOS_TOKEN)' };
    return { token: undefined, source: 'none' };
  }
}

/** The directory's files, and a stamp of the tokenizer files' sizes and times (a changed file → a new pool). */
async function definingFiles(dir: string, field: string): Promise<{ names: string[]; stamp: string }> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (err) {
    throw new NotFoundError(`${field}: no directory ${dir} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`, { cause: err });
  }
  const hasJson = names.includes('tokenizer.json');
  if (!hasJson && !(names.includes('vocab.json') && names.includes('merges.txt'))) {
    throw new NotFoundError(`${field}: ${dir} has no tokenizer (tokenizer.json, or vocab.json + merges.txt)`);
  }
  const relevant = names.filter((n) => /^(tokenizer\.json|vocab\.json|merges\.txt|added_tokens\.json|tokenizer_config\.json|special_tokens_map.*\.json)$/.test(n)).sort();
  const stamps = await Promise.all(relevant.map(async (n) => {
    const s = await stat(path.join(dir, n));
    return `${n}:${s.size}:${s.mtimeMs}`;
  }));
  return { names, stamp: stamps.join('|') };
}

async function readJson(file: string, field: string): Promise<Record<string, unknown> | undefined> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch {
    return undefined;
  }
  try {
    const v = JSON.parse(text) as unknown;
    return v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
  } catch (err) {
    throw new InvalidArgumentError(field, `${file} is not valid JSON: ${(err as Error).message}`, { cause: err });
  }
}

// eos_token is either a string or an AddedToken object { content, ... }.
function tokenContent(v: unknown): string | undefined {
  if (typeof v === 'string' && v) return v;
  if (v && typeof v === 'object' && typeof (v as { content?: unknown }).content === 'string') return (v as { content: string }).content || undefined;
  return undefined;
}
