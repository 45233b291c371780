"""A real job on the tiny model through the gRPC server: loss falls, events are gap-free and
re-attachable, checkpoints and artifacts carry verifiable sha256, the adapter and the merged
model load and generate, the GGUF reads back with the merged model's logits."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import grpc
import pytest
import torch

from medtune.common.v1 import common_pb2 as c
from medtune.trainer.v1 import trainer_pb2 as t
from medtune.trainer.v1 import trainer_pb2_grpc as t_grpc
from medtune_trainer.artifacts import path_from_uri
from medtune_trainer.config import WorkerConfig
from medtune_trainer.server import build

from conftest import all_events, small_spec, wait_terminal

JOB = "train-e2e"
STEPS = 40


@pytest.fixture(scope="module")
def trained(stub, tiny_model, rows_jsonl):
    spec = small_spec(
        tiny_model,
        rows_jsonl,
        max_steps=STEPS,
        save_steps=20,
        exports=c.ExportOptions(adapter=True, merged_16bit=True, gguf=True, gguf_quantization="f16"),
    )
    resp = stub.StartJob(t.StartJobRequest(job_id=JOB, spec=spec, attempt=1), timeout=60)
    assert resp.created
    # Watch live, drop the stream after a few events, re-attach from the next sequence.
    first = []
    call = stub.WatchJob(t.WatchJobRequest(job_id=JOB, from_sequence=1), timeout=300)
    for r in call:
        first.append(r.event)
        if len(first) == 6:
            call.cancel()
            break
    rest = all_events(stub, JOB, from_sequence=first[-1].sequence + 1)
    job = wait_terminal(stub, JOB)
    return {"spec": spec, "start": resp, "live": first + rest, "job": job}


def _payloads(events, kind):
    return [getattr(e, kind) for e in events if e.WhichOneof("payload") == kind]


def test_job_succeeds_with_the_backend_and_notices_recorded(trained):
    job = trained["job"]
    assert job.state == t.WORKER_JOB_STATE_SUCCEEDED, job.failure
    assert job.backend == c.BACKEND_HF
    assert "no CUDA" in job.backend_reason
    events = trained["live"]
    states = [s.state for s in _payloads(events, "state_changed")]
    assert states == [t.WORKER_JOB_STATE_STARTING, t.WORKER_JOB_STATE_RUNNING, t.WORKER_JOB_STATE_UPLOADING, t.WORKER_JOB_STATE_SUCCEEDED]
    notices = {n.code: n for n in _payloads(events, "notice")}
    assert "adamw_8bit" in notices["optimizer_fallback"].message and "adamw_torch" in notices["optimizer_fallback"].message
    assert "rows_truncated" in notices
    selected = _payloads(events, "backend_selected")[0]
    assert selected.backend == c.BACKEND_HF and selected.versions["torch"].startswith("2.11.0")


def test_reattached_stream_has_no_gap_or_duplicate(trained, stub):
    live = trained["live"]
    assert [e.sequence for e in live] == list(range(1, len(live) + 1))
    full = all_events(stub, JOB)
    assert [e.SerializeToString() for e in full] == [e.SerializeToString() for e in live]
    assert trained["job"].last_sequence == len(full)
    assert all_events(stub, JOB, from_sequence=len(full) + 1) == []  # at the end: nothing, and the stream ends
    with pytest.raises(grpc.RpcError) as err:
        all_events(stub, JOB, from_sequence=len(full) + 2)
    assert err.value.code() == grpc.StatusCode.OUT_OF_RANGE


def test_loss_falls_and_metrics_arrive_every_logging_step(trained):
    metrics = _payloads(trained["live"], "metrics")
    assert [m.step for m in metrics] == list(range(5, STEPS + 1, 5))
    for m in metrics:
        for key in ("loss", "grad_norm", "learning_rate", "epoch", "tokens_per_second", "peak_gpu_memory_bytes", "system/rss_bytes"):
            assert key in m.values, key
        assert m.values["tokens_per_second"] > 0
    losses = [m.values["loss"] for m in metrics]
    assert losses[-1] < losses[0] - 0.3, losses
    progress = _payloads(trained["live"], "progress")
    assert progress[-1].step == STEPS and progress[-1].total_steps == STEPS
    assert any(p.eta_seconds > 0 for p in progress[:-1])


def _verify_manifest(art: c.Artifact) -> Path:
    root = path_from_uri(art.uri)
    if root.is_file():
        assert hashlib.sha256(root.read_bytes()).hexdigest() == art.sha256
        assert root.stat().st_size == art.size_bytes
        return root
    lines = ""
    total = 0
    for f in art.files:
        data = (root / f.path).read_bytes()
        assert hashlib.sha256(data).hexdigest() == f.sha256, f.path
        assert len(data) == f.size_bytes
        lines += f"{f.sha256}  {f.path}\n"
        total += len(data)
    assert [f.path for f in art.files] == sorted(f.path for f in art.files)
    assert hashlib.sha256(lines.encode()).hexdigest() == art.sha256
    assert total == art.size_bytes
    return root


def test_checkpoints_listed_with_verifiable_hashes(trained, stub):
    cks = stub.ListCheckpoints(t.ListCheckpointsRequest(job_id=JOB), timeout=10).checkpoints
    assert [ck.step for ck in cks] == [20, 40]
    for ck in cks:
        root = _verify_manifest(ck.artifact)
        assert (root / "trainer_state.json").is_file() and (root / "adapter_model.safetensors").is_file()


def test_artifacts_have_sha256_and_the_expected_files(trained):
    arts = {a.kind: a for a in trained["job"].artifacts}
    assert set(arts) == {c.ARTIFACT_KIND_ADAPTER, c.ARTIFACT_KIND_MERGED_16BIT, c.ARTIFACT_KIND_GGUF}
    adapter = _verify_manifest(arts[c.ARTIFACT_KIND_ADAPTER])
    names = {f.path for f in arts[c.ARTIFACT_KIND_ADAPTER].files}
    assert {"adapter_config.json", "adapter_model.safetensors", "tokenizer.json", "tokenizer_config.json"} <= names
    assert json.loads((adapter / "adapter_config.json").read_text())["r"] == 8
    _verify_manifest(arts[c.ARTIFACT_KIND_MERGED_16BIT])
    _verify_manifest(arts[c.ARTIFACT_KIND_GGUF])
    assert arts[c.ARTIFACT_KIND_GGUF].details["architecture"] == "qwen2"
    # Nothing half-written is left behind.
    job_dir = adapter.parent
    assert not [p for p in job_dir.iterdir() if p.name.startswith(".tmp-") or p.name.startswith(".export-")]


def test_merged_model_loads_and_gguf_matches_its_logits(trained):
    from transformers import AutoModelForCausalLM

    arts = {a.kind: a for a in trained["job"].artifacts}
    merged_dir = path_from_uri(arts[c.ARTIFACT_KIND_MERGED_16BIT].uri)
    gguf_file = path_from_uri(arts[c.ARTIFACT_KIND_GGUF].uri)
    merged = AutoModelForCausalLM.from_pretrained(str(merged_dir), dtype=torch.float32)
    assert merged.config.model_type == "qwen2"
    from_gguf = AutoModelForCausalLM.from_pretrained(str(gguf_file.parent), gguf_file=gguf_file.name, dtype=torch.float32)
    x = torch.tensor([[151646, 108386, 1879, 151648, 100, 200, 151649]])
    with torch.no_grad():
        a, b = merged(x).logits, from_gguf(x).logits
    assert torch.allclose(a, b, atol=2e-3), (a - b).abs().max()


def test_adapter_reloads_and_generates(trained, stub, tiny_model):
    arts = {a.kind: a for a in trained["job"].artifacts}
    model = t.InferenceModel(base_model=str(tiny_model), adapter_uri=arts[c.ARTIFACT_KIND_ADAPTER].uri)
    req = t.GenerateRequest(model=model, prompts=["你好", "胸痛伴呕吐的患者", "hello"], params=c.GenerationParams(max_new_tokens=6, temperature=0), batch_size=2)
    out = list(stub.Generate(req, timeout=120))
    assert sorted(r.index for r in out) == [0, 1, 2]
    for r in out:
        assert r.prompt_tokens >= 2 and 1 <= r.completion_tokens <= 6
        assert r.finish_reason in ("eos", "length")
        assert (r.finish_reason == "length") == (r.completion_tokens == 6 and not r.text.endswith("<｜end▁of▁sentence｜>"))
    again = list(stub.Generate(req, timeout=120))
    assert [r.text for r in again] == [r.text for r in out]  # greedy is reproducible
    # Left-padded batches change nothing: one prompt per call gives the same greedy tokens as the
    # padded batch of all three (fp32 on CPU, prompts of different lengths; attention mask and
    # position ids follow the padding). The GPU benchmark's bf16 batches may round differently.
    single = list(stub.Generate(t.GenerateRequest(model=model, prompts=req.prompts, params=req.params, batch_size=1), timeout=120))
    batched = list(stub.Generate(t.GenerateRequest(model=model, prompts=req.prompts, params=req.params, batch_size=3), timeout=120))
    assert [r.text for r in sorted(batched, key=lambda r: r.index)] == [r.text for r in sorted(single, key=lambda r: r.index)]
    sampled = t.GenerateRequest(model=t.InferenceModel(merged_uri=arts[c.ARTIFACT_KIND_MERGED_16BIT].uri), prompts=["你好"], params=c.GenerationParams(max_new_tokens=4, temperature=0.8, top_p=0.9, seed=1))
    (one,) = list(stub.Generate(sampled, timeout=120))
    assert one.completion_tokens >= 1


def test_evaluate_loss_lower_after_training(trained, stub, tiny_model, rows_jsonl):
    arts = {a.kind: a for a in trained["job"].artifacts}
    from medtune_trainer.template import MEDICAL_O1_ZH

    rows = [json.loads(line) for line in rows_jsonl.read_text(encoding="utf-8").splitlines()][:4:2]  # short rows
    texts = t.TextList(texts=[MEDICAL_O1_ZH.train_text(r["Question"], r["Complex_CoT"], r["Response"], "<｜end▁of▁sentence｜>") for r in rows])
    base = stub.EvaluateLoss(t.EvaluateLossRequest(model=t.InferenceModel(base_model=str(tiny_model)), texts=texts), timeout=120)
    tuned = stub.EvaluateLoss(t.EvaluateLossRequest(model=t.InferenceModel(base_model=str(tiny_model), adapter_uri=arts[c.ARTIFACT_KIND_ADAPTER].uri), texts=texts), timeout=120)
    assert base.rows == 2 and len(base.row_losses) == 2 and base.tokens > 100
    assert tuned.mean_loss < base.mean_loss


def test_a_restarted_worker_serves_the_job_and_its_events(trained, artifact_root, stub):
    full = all_events(stub, JOB)
    other = build("127.0.0.1:0", WorkerConfig(artifact_root=artifact_root, worker_id="restarted"))
    try:
        with grpc.insecure_channel(f"127.0.0.1:{other.port}") as ch:
            s2 = t_grpc.TrainerServiceStub(ch)
            job = s2.GetJob(t.GetJobRequest(job_id=JOB), timeout=10).job
            assert job.state == t.WORKER_JOB_STATE_SUCCEEDED and len(job.artifacts) == 3
            assert [e.SerializeToString() for e in all_events(s2, JOB)] == [e.SerializeToString() for e in full]
            assert [e.sequence for e in all_events(s2, JOB, from_sequence=len(full))] == [len(full)]
    finally:
        other.server.stop(0)


def test_same_job_id_same_spec_is_idempotent_and_other_spec_is_rejected(trained, stub):
    again = stub.StartJob(t.StartJobRequest(job_id=JOB, spec=trained["spec"], attempt=1), timeout=30)
    assert not again.created and again.job.state == t.WORKER_JOB_STATE_SUCCEEDED
    other = t.JobSpec()
    other.CopyFrom(trained["spec"])
    other.hyperparameters.learning_rate = 5e-3
    with pytest.raises(grpc.RpcError) as err:
        stub.StartJob(t.StartJobRequest(job_id=JOB, spec=other, attempt=1), timeout=30)
    assert err.value.code() == grpc.StatusCode.ALREADY_EXISTS
    assert JOB in err.value.details()
