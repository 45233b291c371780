"""The Python baseline of bench/dataset: what the seed script does to its data, timed.

    python baseline.py FILE BPE_DIR [--fair]

--fair is the strongest fair baseline of the same work (what the dataset service produces: the
rows and their token counts): both maps with num_proc=2 (this machine's cores) and the tokenize
map returning only the token counts, without attention masks (return_attention_mask=False) and
without keeping the ids. Without it: the seed's own way (one process, input_ids + attention_mask).

datasets.load_dataset("json") → .map(format) with the seed's template (batched, as the seed's
formatting_prompts_func) → .map(tokenize, batched=True) with the fast (Rust) tokenizer. The
tokenizer is rebuilt as /work/shared/models/README.md describes: transformers' Qwen2 fast tokenizer
from vocab.json + merges.txt with unk/bos/eos/pad unset, then the 22 tokens of added_tokens.json in
id order as special tokens. The datasets cache is a fresh temporary directory, so every run
converts the JSON as a first run would. Prints one JSON line with the timings, the peak RSS and
the token total (to check that both sides count the same tokens).
"""
import json
import os
import resource
import shutil
import sys
import tempfile
import time

t_import = time.perf_counter()
import datasets  # noqa: E402
import transformers  # noqa: E402
from tokenizers import AddedToken  # noqa: E402

import_s = time.perf_counter() - t_import

# The seed script's template, as its source has it (see libs/prompting for the verbatim copy).
prompt_style = """以下是描述任务的指令，以及提供更多上下文的输入。
  请写出恰当完成该请求的回答。
  在回答之前，请仔细思考问题，并创建一个逐步的思维链，以确保回答合乎逻辑且准确。
  ### Instruction:
  你是一位在临床推理、诊断和治疗计划方面具有专业知识的医学专家。
  请回答以下医学问题。
  ### Question:
  {}
  ### Response:
  <think>{}"""
train_prompt_style = prompt_style + """
  </think>
  {}"""


def build_tokenizer(bpe_dir):
    tmp = tempfile.mkdtemp(prefix="medtune-bench-tok-")
    try:
        for name in ("vocab.json", "merges.txt"):
            shutil.copy(os.path.join(bpe_dir, name), tmp)
        tok = transformers.Qwen2TokenizerFast.from_pretrained(tmp, unk_token=None, bos_token=None, eos_token=None, pad_token=None)
    finally:
        shutil.rmtree(tmp)
    with open(os.path.join(bpe_dir, "added_tokens.json"), encoding="utf-8") as f:
        added = sorted((int(k), v) for k, v in json.load(f).items())
    tok.add_tokens([AddedToken(v, special=True, normalized=False) for _, v in added], special_tokens=True)
    for i, v in added:
        if tok.convert_tokens_to_ids(v) != i:
            sys.exit("added token %r has the wrong id" % v)
    return tok


def main():
    path, bpe_dir = sys.argv[1], sys.argv[2]
    fair = "--fair" in sys.argv[3:]
    procs = {"num_proc": 2} if fair else {}
    cache = tempfile.mkdtemp(prefix="medtune-bench-hf-")
    datasets.disable_progress_bars()
    try:
        t0 = time.perf_counter()
        tok = build_tokenizer(bpe_dir)
        eos = "<｜end▁of▁sentence｜>"
        t1 = time.perf_counter()
        ds = datasets.load_dataset("json", data_files=path, split="train", cache_dir=cache)
        t2 = time.perf_counter()

        def formatting_prompts_func(examples):
            return {"text": [train_prompt_style.format(q, c, r) + eos for q, c, r in zip(examples["Question"], examples["Complex_CoT"], examples["Response"])]}

        ds = ds.map(formatting_prompts_func, batched=True, **procs)
        t3 = time.perf_counter()
        if fair:

            def count(batch):
                return {"token_count": [len(ids) for ids in tok(batch["text"], return_attention_mask=False)["input_ids"]]}

            ds = ds.map(count, batched=True, **procs)
            t4 = time.perf_counter()
            total = sum(ds["token_count"])
        else:
            ds = ds.map(lambda batch: tok(batch["text"]), batched=True)
            t4 = time.perf_counter()
            total = sum(len(ids) for ids in ds["input_ids"])
        print(json.dumps({
            "rows": len(ds),
            "import_s": import_s,
            "tokenizer_load_s": t1 - t0,
            "load_s": t2 - t1,
            "format_s": t3 - t2,
            "tokenize_s": t4 - t3,
            "total_s": t4 - t0,
            "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            "children_peak_rss_mb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024,
            "total_tokens": total,
            "mode": "fair: num_proc=2, token counts only, no attention masks" if fair else "seed: one process, input_ids + attention_mask",
            "versions": {"datasets": datasets.__version__, "transformers": transformers.__version__},
        }))
    finally:
        shutil.rmtree(cache, ignore_errors=True)


if __name__ == "__main__":
    main()
