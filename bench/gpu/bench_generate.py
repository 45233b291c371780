"""Evaluation throughput on the GPU (issue 15, item 6): the seed's one-prompt-at-a-time generate
against batched generation, on the same MedQA-shaped prompts (the seed's template), greedy,
max_new_tokens 1200, random weights of a real DeepSeek-R1-Distill-Qwen config (so nearly every
answer runs to the limit: generated tokens per second is the figure).

    python3 bench/gpu/bench_generate.py --config 1.5B --prompts 200 --out gen.json

Both paths load the model through unsloth and switch it to inference mode
(FastLanguageModel.for_inference), as the seed does; the baseline then calls generate once per
prompt (the seed's loop), the candidate calls it on left-padded batches. The baseline is
time-boxed (--seed-budget-s): it runs the first prompts until the budget is spent and its tokens/s
is taken over those; the batched path runs all prompts. For the prompts both produced, the greedy
token sequences are compared (identical, or the first position where they differ), and where they
differ the one-prompt path's gap between its top two logits at that position is reported (a gap
below bf16's rounding means the two paths broke a near-tie differently, not that padding changed
the computation).

--identity-prompts N adds the check that separates the two: the same model loaded again in
float32 (TF32 off) through transformers, N prompts generated greedily one per call and in one
left-padded batch, token sequences compared.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from random_model import make_random_model  # noqa: E402

HEAD = (
    "以下是描述任务的指令，以及提供更多上下文的输入。\n  请写出恰当完成该请求的回答。\n"
    "  在回答之前，请仔细思考问题，并创建一个逐步的思维链，以确保回答合乎逻辑且准确。\n  ### Instruction:\n"
    "  你是一位在临床推理、诊断和治疗计划方面具有专业知识的医学专家。\n  请回答以下医学问题。\n  ### Question:\n  "
)


def prompts(shared: Path, n: int) -> list[str]:
    out = []
    with open(shared / "data" / "eval" / "medqa_mcmle_zh_4opt_test.jsonl", encoding="utf-8") as f:
        for line in f:
            r = json.loads(line)
            q = r["question"] + "\n" + "\n".join(f"{k}. {v}" for k, v in r["options"].items())
            out.append(f"{HEAD}{q}\n  ### Response:\n  <think>")
            if len(out) == n:
                break
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--config", default="1.5B")
    ap.add_argument("--prompts", type=int, default=200)
    ap.add_argument("--max-new-tokens", type=int, default=1200)
    ap.add_argument("--batch", type=int, default=200)
    ap.add_argument("--seed-budget-s", type=float, default=60)
    ap.add_argument("--shared", type=Path, default=None)
    ap.add_argument("--models", type=Path, default=Path("/tmp/medtune-models"))
    ap.add_argument("--identity-prompts", type=int, default=0, help="float32 one-per-call vs batched greedy check on this many prompts")
    ap.add_argument("--identity-new-tokens", type=int, default=128)
    ap.add_argument("--out", type=Path, required=True)
    a = ap.parse_args()
    import os

    shared = a.shared or Path(os.environ.get("MEDTUNE_SHARED_DIR", Path(__file__).resolve().parents[3] / "shared"))
    family = shared / "models" / "deepseek-r1-distill-qwen"
    t0 = time.time()
    model_dir = make_random_model(family / a.config, family / "bpe", a.models / f"gen-{a.config}")
    t_make = time.time() - t0

    import torch
    from unsloth import FastLanguageModel

    model, tok = FastLanguageModel.from_pretrained(str(model_dir), max_seq_length=4096, dtype=torch.bfloat16, load_in_4bit=False, local_files_only=True)
    FastLanguageModel.for_inference(model)
    ps = prompts(shared, a.prompts)
    eos = tok.eos_token_id
    kw = dict(max_new_tokens=a.max_new_tokens, do_sample=False, temperature=None, top_p=None, top_k=None, eos_token_id=eos, pad_token_id=eos, use_cache=True)

    def real(row: list[int]) -> list[int]:
        return row[: row.index(eos) + 1] if eos in row else row

    # Warm-up (kernels, cache allocation) outside both timings.
    with torch.inference_mode():
        model.generate(**tok([ps[0]], return_tensors="pt").to("cuda"), **{**kw, "max_new_tokens": 8})
    torch.cuda.synchronize()

    # The seed's loop: one prompt per generate call, time-boxed.
    seed_out: list[list[int]] = []
    per_prompt: list[float] = []
    start = time.time()
    with torch.inference_mode():
        for p in ps:
            enc = tok([p], return_tensors="pt").to("cuda")
            t = time.time()
            out = model.generate(**enc, **kw)
            torch.cuda.synchronize()
            row = real(out[0, enc["input_ids"].shape[1]:].tolist())
            seed_out.append(row)
            per_prompt.append(len(row) / (time.time() - t))
            if time.time() - start > a.seed_budget_s:
                break
    seed_s = time.time() - start
    seed_tokens = sum(len(r) for r in seed_out)

    # Batched: left-padded batches of --batch prompts.
    tok.padding_side = "left"
    batch_out: list[list[int]] = []
    batch_rates: list[float] = []
    start = time.time()
    with torch.inference_mode():
        for i in range(0, len(ps), a.batch):
            enc = tok(ps[i : i + a.batch], return_tensors="pt", padding=True).to("cuda")
            t = time.time()
            out = model.generate(**enc, **kw)
            torch.cuda.synchronize()
            rows = [real(r) for r in out[:, enc["input_ids"].shape[1]:].tolist()]
            batch_out.extend(rows)
            batch_rates.append(sum(len(r) for r in rows) / (time.time() - t))
    batch_s = time.time() - start
    batch_tokens = sum(len(r) for r in batch_out)

    both = len(seed_out)
    same = sum(1 for s, b in zip(seed_out, batch_out) if s == b)
    first_diff = []
    for s, b in zip(seed_out, batch_out):
        if s != b:
            first_diff.append(next((k for k, (x, y) in enumerate(zip(s, b)) if x != y), min(len(s), len(b))))
    # Where the bf16 paths differ: the one-prompt path's top-1 / top-2 logit gap at that position.
    gaps = []
    with torch.inference_mode():
        diverged = [i for i, (s, b) in enumerate(zip(seed_out, batch_out)) if s != b]
        for i, pos in zip(diverged, first_diff):
            if pos >= min(len(seed_out[i]), len(batch_out[i])):
                continue  # one is a prefix of the other (an end-of-sequence): no logit gap to report
            enc = tok([ps[i]], return_tensors="pt").to("cuda")
            g = model.generate(**enc, **{**kw, "max_new_tokens": pos + 1}, output_scores=True, return_dict_in_generate=True)
            top = torch.topk(g.scores[pos][0].float(), 2).values
            gaps.append(round(float(top[0] - top[1]), 4))
    seed_tps = seed_tokens / seed_s
    batch_tps = batch_tokens / batch_s
    res = {
        "config": a.config,
        "gpu": torch.cuda.get_device_name(0),
        "prompts": len(ps),
        "max_new_tokens": a.max_new_tokens,
        "batch": a.batch,
        "make_model_s": round(t_make, 1),
        "seed_loop": {"prompts": both, "tokens": seed_tokens, "seconds": round(seed_s, 2), "tokens_per_s": round(seed_tps, 1),
                      "per_prompt_tokens_per_s_min_median_max": [round(min(per_prompt), 1), round(statistics.median(per_prompt), 1), round(max(per_prompt), 1)]},
        "batched": {"prompts": len(batch_out), "tokens": batch_tokens, "seconds": round(batch_s, 2), "tokens_per_s": round(batch_tps, 1),
                    "per_batch_tokens_per_s_min_median_max": [round(min(batch_rates), 1), round(statistics.median(batch_rates), 1), round(max(batch_rates), 1)]},
        "speedup": round(batch_tps / seed_tps, 2),
        "greedy_identical": f"{same}/{both}",
        "first_divergence_positions": first_diff,
        "top2_logit_gap_at_divergence": gaps,
        "peak_gib": round(torch.cuda.max_memory_allocated() / 2**30, 1),
    }
    if a.identity_prompts:
        del model
        torch.cuda.empty_cache()
        res["identity_fp32"] = identity_fp32(model_dir, ps[: a.identity_prompts], a.identity_new_tokens)
    a.out.write_text(json.dumps(res, indent=2))
    print(json.dumps(res, indent=2))


def identity_fp32(model_dir: Path, ps: list[str], new_tokens: int) -> dict:
    """Greedy, float32, TF32 off: one prompt per generate call vs one left-padded batch."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    tok = AutoTokenizer.from_pretrained(model_dir)
    model = AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.float32, attn_implementation="sdpa").to("cuda").eval()
    eos = tok.eos_token_id
    kw = dict(max_new_tokens=new_tokens, do_sample=False, temperature=None, top_p=None, top_k=None, eos_token_id=eos, pad_token_id=eos)
    t = time.time()
    single = []
    with torch.inference_mode():
        for p in ps:
            enc = tok([p], return_tensors="pt").to("cuda")
            single.append(model.generate(**enc, **kw)[0, enc["input_ids"].shape[1]:].tolist())
        single_s = time.time() - t
        tok.padding_side = "left"
        enc = tok(ps, return_tensors="pt", padding=True).to("cuda")
        t = time.time()
        batched = model.generate(**enc, **kw)[:, enc["input_ids"].shape[1]:].tolist()
        batch_s = time.time() - t
    def real(row: list[int]) -> list[int]:
        return row[: row.index(eos) + 1] if eos in row else row

    single, batched = [real(r) for r in single], [real(r) for r in batched]
    lengths = [len(tok(p)["input_ids"]) for p in ps]
    same = sum(1 for x, y in zip(single, batched) if x == y)
    diffs = [next((k for k, (u, v) in enumerate(zip(x, y)) if u != v), min(len(x), len(y))) for x, y in zip(single, batched) if x != y]
    return {"prompts": len(ps), "new_tokens": new_tokens, "prompt_tokens_min_max": [min(lengths), max(lengths)], "identical": f"{same}/{len(ps)}",
            "first_divergence_positions": diffs, "single_s": round(single_s, 1), "batched_s": round(batch_s, 1)}


if __name__ == "__main__":
    main()
