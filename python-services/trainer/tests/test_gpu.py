"""The unsloth backend on a CUDA device (the tiny model; real shapes are in bench/gpu). Skips on
CPU: unsloth needs a GPU."""

from __future__ import annotations

import pytest

from medtune.common.v1 import common_pb2 as c
from medtune.trainer.v1 import trainer_pb2 as t

from conftest import SHARED, all_events, small_spec, wait_terminal

torch = pytest.importorskip("torch")
pytestmark = [
    pytest.mark.gpu,
    pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device (unsloth and bitsandbytes are CUDA-only)"),
]


@pytest.fixture(scope="module")
def gpu_model(tmp_path_factory):
    """Head dim 64 (hidden 256, 4 heads) rather than the CPU model's 16: GPU kernels are tuned for
    real head sizes."""
    from medtune_trainer.tiny_model import build_tiny_model

    return build_tiny_model(tmp_path_factory.mktemp("gpu") / "model", SHARED / "models", hidden=256)


@pytest.fixture(scope="module")
def gpu_model_one_indexed_shard(gpu_model, tmp_path_factory):
    """The same weights stored as bench/gpu/random_model.py writes them: one model-00001.safetensors
    with an index (the layout whose unsloth merge lost its index, issue 12)."""
    from test_merged_export import _write_shards

    return _write_shards(gpu_model, tmp_path_factory.mktemp("gpu-indexed") / "model", ["model-00001.safetensors"], with_index=True)


# Run in a clean interpreter: unsloth, imported by this process's worker, patches transformers'
# Qwen2 classes process-wide (its rotary tables stay on the GPU), which is not how a user loads
# the export.
_CHECK = """
import json, sys, torch
from peft import PeftModel
from transformers import AutoModelForCausalLM
merged_dir, base, adapter, ids = sys.argv[1], sys.argv[2], sys.argv[3], torch.tensor([json.loads(sys.argv[4])])
def logits(d, dev, dtype, adapter=None):
    m = AutoModelForCausalLM.from_pretrained(d, dtype=dtype, device_map={"": dev})
    if adapter:
        m = PeftModel.from_pretrained(m, adapter)
    with torch.no_grad():
        return m(ids.to(dev)).logits.float().cpu()
ref = logits(base, "cpu", torch.float32, adapter)
on_gpu = logits(merged_dir, "cuda:0", torch.bfloat16)
on_cpu = logits(merged_dir, "cpu", torch.float32)
print(json.dumps({"ref_max": ref.abs().max().item(), "gpu_bf16": (on_gpu - ref).abs().max().item(), "cpu_fp32": (on_cpu - ref).abs().max().item()}))
"""


def _assert_merged_loads_and_matches(job, base):
    """The merged 16-bit artifact opens with AutoModelForCausalLM.from_pretrained (on the GPU in
    bf16, as a user serves it, and on the CPU in fp32) in a fresh Python process and matches base +
    adapter (fp32) within LOGITS_RTOL x max |logit| (bf16 activations: twice that)."""
    import json
    import os
    import subprocess
    import sys

    from medtune_trainer.artifacts import path_from_uri
    from medtune_trainer.merged_export import LOGITS_RTOL
    from test_merged_export import IDS

    arts = {a.kind: a for a in job.artifacts}
    merged_dir = path_from_uri(arts[c.ARTIFACT_KIND_MERGED_16BIT].uri)
    assert arts[c.ARTIFACT_KIND_MERGED_16BIT].details["verified"].startswith("loaded; logits within")
    adapter = path_from_uri(arts[c.ARTIFACT_KIND_ADAPTER].uri)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
    out = subprocess.run([sys.executable, "-c", _CHECK, str(merged_dir), str(base), str(adapter), json.dumps(IDS[0].tolist())], env=env, capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr[-3000:]
    r = json.loads(out.stdout.strip().splitlines()[-1])
    assert r["gpu_bf16"] <= 2 * LOGITS_RTOL * r["ref_max"], r
    assert r["cpu_fp32"] <= LOGITS_RTOL * r["ref_max"], r


def test_unsloth_backend_trains_and_exports(stub, gpu_model_one_indexed_shard, rows_jsonl):
    tiny_model = gpu_model_one_indexed_shard
    pytest.importorskip("unsloth", reason="unsloth is not installed (tools/python/gpu-wheels.sh)")
    spec = small_spec(tiny_model, rows_jsonl, max_steps=10, exports=c.ExportOptions(adapter=True, merged_16bit=True, gguf=False))
    spec.backend = c.BACKEND_UNSLOTH
    stub.StartJob(t.StartJobRequest(job_id="gpu-unsloth", spec=spec, attempt=1), timeout=300)
    job = wait_terminal(stub, "gpu-unsloth", 900)
    assert job.state == t.WORKER_JOB_STATE_SUCCEEDED, job.failure
    assert job.backend == c.BACKEND_UNSLOTH
    metrics = [e.metrics for e in all_events(stub, "gpu-unsloth") if e.WhichOneof("payload") == "metrics"]
    assert metrics and metrics[-1].values["peak_gpu_memory_bytes"] > 0
    adapter = next(a for a in job.artifacts if a.kind == c.ARTIFACT_KIND_ADAPTER)
    out = list(stub.Generate(t.GenerateRequest(model=t.InferenceModel(base_model=str(tiny_model), adapter_uri=adapter.uri, backend=c.BACKEND_UNSLOTH), prompts=["你好"], params=c.GenerationParams(max_new_tokens=4)), timeout=300))
    assert out[0].completion_tokens >= 1
    _assert_merged_loads_and_matches(job, tiny_model)


def test_hf_backend_qlora_on_cuda(stub, gpu_model, rows_jsonl):
    tiny_model = gpu_model
    pytest.importorskip("bitsandbytes", reason="bitsandbytes is not installed")
    spec = small_spec(tiny_model, rows_jsonl, max_steps=6, load_in_4bit=True, exports=c.ExportOptions(adapter=True, merged_16bit=True, gguf=False))
    spec.backend = c.BACKEND_HF
    stub.StartJob(t.StartJobRequest(job_id="gpu-hf-qlora", spec=spec, attempt=1), timeout=300)
    job = wait_terminal(stub, "gpu-hf-qlora", 900)
    assert job.state == t.WORKER_JOB_STATE_SUCCEEDED, job.failure
    events = all_events(stub, "gpu-hf-qlora")
    assert not [e for e in events if e.WhichOneof("payload") == "notice" and e.notice.code == "optimizer_fallback"]
    _assert_merged_loads_and_matches(job, tiny_model)
