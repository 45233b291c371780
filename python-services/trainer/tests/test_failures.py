"""A job that fails after it started ends FAILED with a class and a message a user can act on,
and leaves no half-written artifact."""

from __future__ import annotations

from medtune.common.v1 import common_pb2 as c
from medtune.trainer.v1 import trainer_pb2 as t

from conftest import all_events, small_spec, wait_terminal


def test_missing_gguf_converter_is_a_setup_failure(stub, tiny_model, rows_jsonl, artifact_root, monkeypatch, tmp_path):
    monkeypatch.setenv("MEDTUNE_TRAINER_LLAMA_CPP_DIR", str(tmp_path / "no-converter"))
    spec = small_spec(tiny_model, rows_jsonl, max_steps=1, exports=c.ExportOptions(adapter=True, merged_16bit=False, gguf=True))
    stub.StartJob(t.StartJobRequest(job_id="fail-gguf", spec=spec, attempt=1), timeout=60)
    job = wait_terminal(stub, "fail-gguf")
    assert job.state == t.WORKER_JOB_STATE_FAILED
    assert job.failure.__getattribute__("class") == c.FAILURE_CLASS_SETUP
    assert "GGUF converter not found" in job.failure.message and "setup.sh" in job.failure.message
    last = all_events(stub, "fail-gguf")[-1]
    assert last.state_changed.state == t.WORKER_JOB_STATE_FAILED and last.state_changed.failure.message == job.failure.message
    job_dir = artifact_root / "fail-gguf"
    # The adapter finished before the failure and stays listed; no GGUF and no temp files remain.
    assert [a.kind for a in job.artifacts] == [c.ARTIFACT_KIND_ADAPTER]
    assert not (job_dir / "gguf").exists() or not any((job_dir / "gguf").iterdir())
    assert not [p for p in job_dir.rglob("*") if p.name.startswith((".tmp-", ".export-"))]


def test_unknown_target_module_is_a_user_error_naming_the_field(stub, tiny_model, rows_jsonl):
    """peft's NoMatchingPeftModuleError is the request's fault: USER_ERROR (never retried), not
    PLATFORM ("retrying may succeed")."""
    spec = small_spec(tiny_model, rows_jsonl, max_steps=1, lora=c.LoraConfig(r=8, gradient_checkpointing="false", target_modules=["nonexistent"]))
    stub.StartJob(t.StartJobRequest(job_id="fail-target", spec=spec, attempt=1), timeout=60)
    job = wait_terminal(stub, "fail-target")
    assert job.state == t.WORKER_JOB_STATE_FAILED
    assert job.failure.__getattribute__("class") == c.FAILURE_CLASS_USER_ERROR, job.failure.message
    assert job.failure.message.startswith("lora.target_modules:") and "nonexistent" in job.failure.message
