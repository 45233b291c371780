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


def test_unsloth_backend_trains_and_exports(stub, gpu_model, rows_jsonl):
    tiny_model = gpu_model
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


def test_hf_backend_qlora_on_cuda(stub, gpu_model, rows_jsonl):
    tiny_model = gpu_model
    pytest.importorskip("bitsandbytes", reason="bitsandbytes is not installed")
    spec = small_spec(tiny_model, rows_jsonl, max_steps=6, load_in_4bit=True)
    spec.backend = c.BACKEND_HF
    stub.StartJob(t.StartJobRequest(job_id="gpu-hf-qlora", spec=spec, attempt=1), timeout=300)
    job = wait_terminal(stub, "gpu-hf-qlora", 900)
    assert job.state == t.WORKER_JOB_STATE_SUCCEEDED, job.failure
    events = all_events(stub, "gpu-hf-qlora")
    assert not [e for e in events if e.WhichOneof("payload") == "notice" and e.notice.code == "optimizer_fallback"]
