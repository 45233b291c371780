/**
 * A pool of worker threads that count / encode batches of texts on all cores. The tables are
 * compiled once, in SharedArrayBuffers, and shared by the workers without copies; each worker
 * runs its own engine (native or TypeScript) and piece cache.
 */
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { TokenizerPoolError } from './errors';
import { loadTokenizer, type EngineChoice, type LoadTokenizerOptions } from './load';
import type { WorkerInit, WorkerReply, WorkerRequest } from './pool-protocol';
import type { EncodeOptions, Tokenizer } from './tokenizer';

export interface TokenizerPoolOptions extends LoadTokenizerOptions {
  /** The model directory (see loadTokenizer); or pass `tokenizer` instead. */
  dir?: string;
  /** An already loaded tokenizer to share (load it with `shared: true` to avoid a copy per worker). */
  tokenizer?: Tokenizer;
  /** Worker threads; default: the number of cores. */
  threads?: number;
}

export interface TokenizerPool {
  /** The main-thread tokenizer over the same tables (metadata, single texts). */
  readonly tokenizer: Tokenizer;
  readonly threads: number;
  /** Engine the workers run ('native' or 'ts'). */
  readonly engineKind: 'native' | 'ts';
  /** Token count of each text, in order. */
  countBatch(texts: readonly string[], opts?: EncodeOptions): Promise<Uint32Array>;
  /** Token ids of each text, in order (views into one buffer per worker chunk). */
  encodeBatch(texts: readonly string[], opts?: EncodeOptions): Promise<Uint32Array[]>;
  /** Stops the workers; pending and later calls reject with TokenizerPoolError. */
  close(): Promise<void>;
}

interface Pending {
  resolve: (r: { counts: Uint32Array; ids?: Uint32Array }) => void;
  reject: (e: Error) => void;
  chars: number;
}

class PoolWorker {
  readonly pending = new Map<number, Pending>();
  load = 0; // characters queued, to pick the least busy worker

  constructor(readonly worker: Worker) {}
}

/** Below this many characters a batch goes to one worker: splitting would cost more than it saves. */
const MIN_CHARS_PER_CHUNK = 20_000;

class WorkerPool implements TokenizerPool {
  private nextId = 1;
  private failure: Error | null = null;

  constructor(
    readonly tokenizer: Tokenizer,
    private readonly workers: PoolWorker[],
    readonly engineKind: 'native' | 'ts',
  ) {
    for (const w of workers) {
      w.worker.on('message', (reply: WorkerReply) => this.onReply(w, reply));
      w.worker.on('error', (err) => this.fail(new TokenizerPoolError(`tokenizer worker failed: ${err.message}`, { cause: err })));
      w.worker.on('exit', (code) => this.fail(new TokenizerPoolError(`tokenizer worker exited (code ${code})`)));
    }
  }

  get threads(): number {
    return this.workers.length;
  }

  async countBatch(texts: readonly string[], opts: EncodeOptions = {}): Promise<Uint32Array> {
    const parts = await this.run('count', texts, opts);
    const counts = new Uint32Array(texts.length);
    let at = 0;
    for (const p of parts) {
      counts.set(p.counts, at);
      at += p.counts.length;
    }
    return counts;
  }

  async encodeBatch(texts: readonly string[], opts: EncodeOptions = {}): Promise<Uint32Array[]> {
    const parts = await this.run('encode', texts, opts);
    const out: Uint32Array[] = [];
    for (const p of parts) {
      let at = 0;
      for (const n of p.counts) {
        out.push(p.ids?.subarray(at, at + n) ?? new Uint32Array(0));
        at += n;
      }
    }
    return out;
  }

  async close(): Promise<void> {
    this.fail(new TokenizerPoolError('tokenizer pool closed'));
    await Promise.all(this.workers.map((w) => w.worker.terminate()));
  }

  private run(op: WorkerRequest['op'], texts: readonly string[], opts: EncodeOptions) {
    if (this.failure) return Promise.reject(this.failure);
    let chars = 0;
    for (let i = 0; i < texts.length; i++) {
      const t = texts[i];
      if (typeof t !== 'string') return Promise.reject(new TypeError(`texts[${i}] is a ${t === null ? 'null' : typeof t}, not a string`));
      chars += t.length;
    }
    // Contiguous chunks of about equal characters, one per worker (fewer for small batches).
    const chunks = Math.max(1, Math.min(this.workers.length, texts.length, Math.floor(chars / MIN_CHARS_PER_CHUNK)));
    const jobs: Array<Promise<{ counts: Uint32Array; ids?: Uint32Array }>> = [];
    let start = 0;
    let seen = 0;
    for (let c = 1; c <= chunks; c++) {
      let end = start;
      const target = (chars * c) / chunks;
      let size = 0;
      while (end < texts.length && (c === chunks || seen < target || end === start)) {
        const length = texts[end]?.length ?? 0;
        seen += length;
        size += length;
        end++;
      }
      if (end > start) jobs.push(this.send(op, texts.slice(start, end), opts, size));
      start = end;
    }
    return Promise.all(jobs);
  }

  private send(op: WorkerRequest['op'], texts: string[], opts: EncodeOptions, chars: number) {
    const w = this.workers.reduce((a, b) => (b.load < a.load ? b : a));
    const id = this.nextId++;
    return new Promise<{ counts: Uint32Array; ids?: Uint32Array }>((resolve, reject) => {
      w.pending.set(id, { resolve, reject, chars });
      w.load += chars;
      const req: WorkerRequest = { id, op, texts, addSpecialTokens: opts.addSpecialTokens ?? true };
      w.worker.postMessage(req);
    });
  }

  private onReply(w: PoolWorker, reply: WorkerReply): void {
    if (!('id' in reply)) return;
    const p = w.pending.get(reply.id);
    if (!p) return;
    w.pending.delete(reply.id);
    w.load -= p.chars;
    if (reply.ok) p.resolve(reply);
    else p.reject(new TokenizerPoolError(`tokenizer worker: ${reply.error}`));
  }

  private fail(err: Error): void {
    if (this.failure) return;
    this.failure = err;
    for (const w of this.workers) {
      for (const p of w.pending.values()) p.reject(err);
      w.pending.clear();
    }
  }
}

function startWorker(init: WorkerInit): Promise<{ worker: Worker; engine: 'native' | 'ts' }> {
  // A small young generation: the engines make much short-lived garbage (piece strings, id
  // arrays), and the default lets each worker's heap grow by tens of MB more, for no speed.
  const worker = new Worker(new URL('./worker-boot.mjs', import.meta.url), { workerData: init, resourceLimits: { maxYoungGenerationSizeMb: 8 } });
  return new Promise((resolve, reject) => {
    const onError = (err: Error) => reject(new TokenizerPoolError(`tokenizer worker did not start: ${err.message}`, { cause: err }));
    worker.once('error', onError);
    worker.once('message', (m: WorkerReply) => {
      worker.off('error', onError);
      if ('ready' in m && m.ready) resolve({ worker, engine: m.engine });
      else {
        void worker.terminate();
        reject(new TokenizerPoolError(`tokenizer worker did not start: ${'error' in m ? m.error : 'unexpected message'}`));
      }
    });
  });
}

/** Starts a pool of worker threads over one tokenizer. Close it when done. */
export async function createTokenizerPool(opts: TokenizerPoolOptions): Promise<TokenizerPool> {
  if ((opts.dir === undefined) === (opts.tokenizer === undefined)) throw new TypeError('createTokenizerPool: pass exactly one of dir or tokenizer');
  const dir = opts.dir ?? '';
  const threads = opts.threads ?? availableParallelism();
  if (!Number.isInteger(threads) || threads < 1) throw new RangeError(`createTokenizerPool: threads must be a positive integer, got ${threads}`);
  const tokenizer = opts.tokenizer ?? (await loadTokenizer(dir, { ...opts, shared: true }));
  // Workers run the engine the main tokenizer got, so that all threads give the same answers.
  const engine: EngineChoice = opts.engine ?? tokenizer.engineKind;
  const init: WorkerInit = {
    entry: new URL('./pool-worker.ts', import.meta.url).href,
    compiled: tokenizer.compiled,
    info: { eosToken: tokenizer.eosToken, eosTokenId: tokenizer.eosTokenId, fingerprint: tokenizer.fingerprint },
    engine: { engine, nativeAddon: opts.nativeAddon, pieceCacheSize: opts.pieceCacheSize },
  };
  const started = await Promise.allSettled(Array.from({ length: threads }, () => startWorker(init)));
  const failed = started.find((s) => s.status === 'rejected');
  if (failed) {
    await Promise.all(started.map((s) => (s.status === 'fulfilled' ? s.value.worker.terminate() : undefined)));
    throw failed.reason;
  }
  const workers = started.map((s) => (s as PromiseFulfilledResult<{ worker: Worker; engine: 'native' | 'ts' }>).value);
  return new WorkerPool(
    tokenizer,
    workers.map((w) => new PoolWorker(w.worker)),
    workers.some((w) => w.engine === 'ts') ? 'ts' : 'native',
  );
}
