"""HF baseline of bench/tokenizer: times transformers' fast Qwen2 tokenizer (rebuilt from the shared
bpe/ files as libs/tokenizer/test-support/hf_reference.py does) on the bench corpus.

  python hf_bench.py --bpe DIR --corpus CORPUS.json --reps N

Prints one JSON line: {"versions", "batched": [seconds per rep], "cpu": [CPU seconds of the process,
all threads, per rep], "tokens", "fast": [...], "fast_cpu": [...], "fast_tokens"} where "batched" is
tokenizer(batch) over batches of 1000 texts, as datasets' .map(tokenize, batched=True) calls it
(the Rust core encodes a batch on all cores, then transformers builds input_ids and
attention_mask lists), and "fast" is the strongest fair baseline for counting tokens: the Rust
tokenizer's own encode_batch_fast (no offsets) on the same batches, no attention masks or Python
lists built; only len(ids) is read. A fresh tokenizer for each rep (cold cache).
"""
import argparse
import json
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "../../libs/tokenizer/test-support"))
from hf_reference import build  # noqa: E402

import tokenizers  # noqa: E402
import transformers  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bpe", required=True)
    ap.add_argument("--corpus", required=True)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--batch", type=int, default=1000)
    args = ap.parse_args()
    with open(args.corpus, encoding="utf-8") as f:
        texts = json.load(f)["texts"]
    times = []
    cpu = []
    tokens = 0
    for _ in range(args.reps):
        tok = build(args.bpe)  # a fresh tokenizer: cold cache, like ours
        t0 = time.perf_counter()
        c0 = time.process_time()
        tokens = 0
        for i in range(0, len(texts), args.batch):
            out = tok(texts[i : i + args.batch], add_special_tokens=False)["input_ids"]
            tokens += sum(len(ids) for ids in out)
        times.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
    fast, fast_cpu, fast_tokens = [], [], 0
    for _ in range(args.reps):
        rust = build(args.bpe).backend_tokenizer  # a fresh Rust tokenizer: cold cache
        rust.no_padding()
        rust.no_truncation()
        t0 = time.perf_counter()
        c0 = time.process_time()
        fast_tokens = 0
        for i in range(0, len(texts), args.batch):
            fast_tokens += sum(len(e.ids) for e in rust.encode_batch_fast(texts[i : i + args.batch], add_special_tokens=False))
        fast.append(time.perf_counter() - t0)
        fast_cpu.append(time.process_time() - c0)
    print(
        json.dumps(
            {
                "versions": {"tokenizers": tokenizers.__version__, "transformers": transformers.__version__},
                "batched": times,
                "cpu": cpu,
                "tokens": tokens,
                "fast": fast,
                "fast_cpu": fast_cpu,
                "fast_tokens": fast_tokens,
            }
        )
    )


if __name__ == "__main__":
    main()
