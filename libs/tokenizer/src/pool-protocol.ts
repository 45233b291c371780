/** Messages between TokenizerPool and its worker threads. */
import type { CompiledTokenizer } from './compile';
import type { EngineOptions } from './load';
import type { TokenizerInfo } from './tokenizer';

export interface WorkerInit {
  /** Module the boot script imports (pool-worker.ts). */
  entry: string;
  compiled: CompiledTokenizer;
  info: TokenizerInfo;
  engine: EngineOptions;
}

export interface WorkerRequest {
  id: number;
  op: 'count' | 'encode';
  texts: string[];
  addSpecialTokens: boolean;
}

/** The answer to a WorkerRequest. */
export type JobReply = { id: number; ok: true; counts: Uint32Array; ids?: Uint32Array } | { id: number; ok: false; error: string };

/** The first message of a worker, then one JobReply per request. */
export type WorkerReply = JobReply | { ready: true; engine: 'native' | 'ts' } | { ready: false; error: string };
