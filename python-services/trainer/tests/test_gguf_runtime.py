"""GGUF exports run in llama.cpp itself (the CPU runtime tools/python/llama-cpp.sh builds from the
pinned llama-cpp-python 0.3.36 sources) and agree with transformers on the merged model: f16,
q8_0 and q4_k_m (llama.cpp's own quantizer). The model is the tiny Qwen2 at hidden 256 (head dim
64), so that q4_k_m really stores Q4_K blocks (rows of 256) instead of falling back to q5_0.

What "agree" means, per type (rtol x max |logit| of transformers, teacher-forced on its greedy
continuation): f16 0.005, q8_0 0.04, q4_k_m 0.25. Greedy generation in llama.cpp, from the prompt
text through the GGUF's own tokenizer, gives transformers' tokens up to the first step where
transformers' top-2 logit margin is within twice that bound (a tie the quantization may break
either way): all of them for f16. A random tiny model has small margins, so for q8_0 / q4_k_m
the logits bound carries most of the check."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
import torch

from medtune.common.v1 import common_pb2 as c
from medtune.trainer.v1 import trainer_pb2 as t
from medtune_trainer import llama_runtime
from medtune_trainer.gguf_export import export_gguf

from conftest import SHARED

# Skipped only off CI: a CI run without the runtime fails here instead of counting a skip as passing.
pytestmark = pytest.mark.skipif(
    not llama_runtime.available() and not os.environ.get("CI"),
    reason="the llama.cpp runtime is not installed (tools/python/setup.sh builds it; CI must have it)",
)
RTOL = {"f16": 0.005, "q8_0": 0.04, "q4_k_m": 0.25}
TENSOR_TYPE = {"f16": "F16", "q8_0": "Q8_0", "q4_k_m": "Q4_K"}
PROMPTS = ["患者胸痛 3 小时，伴大汗。### Response:\n<think>", "hello"]
NEW = 16


@pytest.fixture(scope="module")
def merged256(tmp_path_factory) -> Path:
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from medtune_trainer.tiny_model import build_tiny_model

    base = build_tiny_model(tmp_path_factory.mktemp("tiny256") / "model", SHARED / "models", hidden=256)
    out = tmp_path_factory.mktemp("merged256")
    AutoModelForCausalLM.from_pretrained(base).to(torch.bfloat16).save_pretrained(out)
    AutoTokenizer.from_pretrained(base).save_pretrained(out)
    return out


@pytest.fixture(scope="module")
def reference(merged256):
    """transformers on the merged directory (fp32 compute): per prompt, the prompt ids, the greedy
    ids and the logits along prompt + greedy ids."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tok = AutoTokenizer.from_pretrained(merged256)
    model = AutoModelForCausalLM.from_pretrained(merged256, dtype=torch.float32)
    out = []
    for p in PROMPTS:
        ids = tok(p)["input_ids"]
        with torch.no_grad():
            seq = model.generate(torch.tensor([ids]), max_new_tokens=NEW, do_sample=False, eos_token_id=tok.eos_token_id, pad_token_id=tok.eos_token_id)[0].tolist()
            logits = model(torch.tensor([seq])).logits[0].numpy()
        out.append((ids, seq[len(ids) :], logits))
    return out


@pytest.fixture(scope="module")
def ggufs(merged256, tmp_path_factory) -> dict[str, tuple[Path, dict[str, str]]]:
    out = tmp_path_factory.mktemp("gguf")
    return {q: (out / f"model-{q}.gguf", export_gguf(merged256, out / f"model-{q}.gguf", q)) for q in RTOL}


@pytest.mark.parametrize("qtype", list(RTOL))
def test_gguf_runs_in_llama_cpp_like_transformers(ggufs, reference, qtype):
    path, details = ggufs[qtype]
    assert TENSOR_TYPE[qtype] in details["tensor_types"].split(","), details
    if qtype == "q4_k_m":
        assert "llama.cpp" in details["quantizer"]
    model = llama_runtime.GgufModel(path, n_ctx=256, logits_all=True)
    for prompt, (ids, greedy, ref) in zip(PROMPTS, reference):
        assert model.tokenize(prompt) == ids  # the GGUF's tokenizer is the model's
        got = model.logits(ids + greedy)
        scale = float(np.abs(ref).max())
        bound = RTOL[qtype] * scale
        err = float(np.abs(got - ref).max())
        assert err <= bound, (qtype, err, bound)
        # A wrong model is far outside the bound (so the bound can fail).
        assert float(np.abs(got[:, ::-1] - ref).max()) > bound
        mine = model.continue_ids(ids, NEW)
        top2 = np.sort(ref[len(ids) - 1 :], axis=-1)[:, -2:]
        margins = top2[:, 1] - top2[:, 0]
        sure = next((i for i, m in enumerate(margins[:NEW]) if m <= 2 * bound), NEW)
        assert mine[:sure] == greedy[:sure], (qtype, sure, mine, greedy)
        if qtype == "f16":
            assert mine == greedy  # all 16 tokens, near-ties included


def test_worker_generates_from_a_gguf_with_llama_cpp(stub, ggufs, reference):
    """Generate with model.gguf_uri (q8_0, the default type): the worker's answer is llama.cpp's
    greedy continuation; a missing file and EvaluateLoss on a GGUF are refused."""
    path, _ = ggufs["q8_0"]
    req = t.GenerateRequest(model=t.InferenceModel(gguf_uri=path.as_uri(), max_seq_length=256), prompts=PROMPTS, params=c.GenerationParams(max_new_tokens=8, temperature=0))
    out = sorted(stub.Generate(req, timeout=300), key=lambda r: r.index)
    direct = llama_runtime.GgufModel(path, n_ctx=256)
    for r, prompt, (ids, _, _) in zip(out, PROMPTS, reference):
        row = direct.continue_ids(ids, 8)
        assert r.prompt_tokens == len(ids) and r.completion_tokens == len(row)
        assert r.text == direct.llm.detokenize(row, special=True).decode("utf-8", errors="replace")
        assert r.finish_reason == ("eos" if row[-1] == direct.eos else "length")
    bad = t.GenerateRequest(model=t.InferenceModel(gguf_uri=(path.parent / "nope.gguf").as_uri()), prompts=["x"])
    import grpc

    with pytest.raises(grpc.RpcError) as err:
        list(stub.Generate(bad, timeout=60))
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT and "model.gguf_uri" in err.value.details()
    loss = t.EvaluateLossRequest(model=t.InferenceModel(gguf_uri=path.as_uri()), texts=t.TextList(texts=["hello"]))
    with pytest.raises(grpc.RpcError) as err:
        stub.EvaluateLoss(loss, timeout=60)
    assert err.value.code() == grpc.StatusCode.FAILED_PRECONDITION
