/** A pool worker: builds a Tokenizer from the shared tables, then counts / encodes batches. */
import { parentPort, workerData } from 'node:worker_threads';
import { tokenizerFromCompiled } from './load';
import type { JobReply, WorkerInit, WorkerReply, WorkerRequest } from './pool-protocol';

if (parentPort === null) throw new Error('pool-worker.ts runs in a worker thread of createTokenizerPool');
const port = parentPort;
const init = workerData as WorkerInit;

function handle(tokenizer: ReturnType<typeof tokenizerFromCompiled>, req: WorkerRequest): JobReply {
  const opts = { addSpecialTokens: req.addSpecialTokens };
  const counts = new Uint32Array(req.texts.length);
  if (req.op === 'count') {
    req.texts.forEach((text, i) => (counts[i] = tokenizer.count(text, opts)));
    return { id: req.id, ok: true, counts };
  }
  const parts: Uint32Array[] = [];
  let total = 0;
  for (const [i, text] of req.texts.entries()) {
    const ids = tokenizer.encode(text, opts);
    parts.push(ids);
    counts[i] = ids.length;
    total += ids.length;
  }
  const ids = new Uint32Array(total);
  let at = 0;
  for (const p of parts) {
    ids.set(p, at);
    at += p.length;
  }
  return { id: req.id, ok: true, counts, ids };
}

try {
  const tokenizer = tokenizerFromCompiled(init.compiled, init.info, init.engine);
  port.postMessage({ ready: true, engine: tokenizer.engineKind } satisfies WorkerReply);
  port.on('message', (req: WorkerRequest) => {
    let reply: JobReply;
    try {
      reply = handle(tokenizer, req);
    } catch (err) {
      reply = { id: req.id, ok: false, error: err instanceof Error ? err.message : String(err) };
    }
    const transfer = reply.ok ? [reply.counts.buffer as ArrayBuffer, ...(reply.ids ? [reply.ids.buffer as ArrayBuffer] : [])] : [];
    port.postMessage(reply, transfer);
  });
} catch (err) {
  port.postMessage({ ready: false, error: err instanceof Error ? err.message : String(err) } satisfies WorkerReply);
}
