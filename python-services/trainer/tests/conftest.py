"""Shared fixtures: the tiny Qwen2 model with the real tokenizer (built once), rows from
../shared/data, and a real worker on port 0."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import grpc
import pytest

from medtune.common.v1 import common_pb2 as c
from medtune.trainer.v1 import trainer_pb2 as t
from medtune.trainer.v1 import trainer_pb2_grpc as t_grpc
from medtune_trainer.config import WorkerConfig
from medtune_trainer.server import build
from medtune_trainer.tiny_model import build_tiny_model

REPO_ROOT = Path(__file__).resolve().parents[3]
# ../shared beside the checkout; on the GPU machine bench/gpu/run.sh points MEDTUNE_SHARED_DIR at a carried copy.
SHARED = Path(os.environ.get("MEDTUNE_SHARED_DIR") or (REPO_ROOT / ".." / "shared")).resolve()
SFT_ZH = SHARED / "data" / "sft" / "medical_o1_sft_Chinese_subset916.json"


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory) -> Path:
    return build_tiny_model(tmp_path_factory.mktemp("tiny") / "model", SHARED / "models")


@pytest.fixture(scope="session")
def rows_jsonl(tmp_path_factory) -> Path:
    """64 rows of the Chinese set as JSONL ({Question, Complex_CoT, Response}): every other row
    shortened (fields cut) so that it fits 160 tokens with the template; the rest are whole (and
    get truncated), as real data mixes both."""
    rows = json.loads(SFT_ZH.read_text(encoding="utf-8"))[:64]
    for r in rows[::2]:
        r.update(Question=r["Question"][:30], Complex_CoT=r["Complex_CoT"][:30], Response=r["Response"][:20])
    path = tmp_path_factory.mktemp("data") / "rows.jsonl"
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return path


@pytest.fixture(scope="session")
def artifact_root(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("artifacts")


@pytest.fixture(scope="session")
def worker(artifact_root):
    w = build("127.0.0.1:0", WorkerConfig(artifact_root=artifact_root, worker_id="test-worker", shutdown_grace_s=30))
    yield w
    w.shutdown(30)


@pytest.fixture(scope="session")
def stub(worker):
    ch = grpc.insecure_channel(f"127.0.0.1:{worker.port}")
    yield t_grpc.TrainerServiceStub(ch)
    ch.close()


def small_spec(model: Path, data: Path, **hp) -> t.JobSpec:
    """A fast spec for the tiny model: short sequences, no gradient checkpointing."""
    exports = hp.pop("exports", c.ExportOptions(adapter=False, merged_16bit=False, gguf=False))
    lora = hp.pop("lora", c.LoraConfig(r=8, gradient_checkpointing="false"))
    settings = dict(batch_size=2, gradient_accumulation_steps=1, warmup_steps=2, learning_rate=1e-2, logging_steps=5, max_steps=10, max_seq_length=160)
    settings.update(hp)
    return t.JobSpec(
        base_model=str(model),
        local_jsonl=t.LocalJsonlSource(path=str(data)),
        hyperparameters=c.Hyperparameters(**settings),
        lora=lora,
        backend=c.BACKEND_AUTO,
        exports=exports,
    )


TERMINAL = {t.WORKER_JOB_STATE_SUCCEEDED, t.WORKER_JOB_STATE_FAILED, t.WORKER_JOB_STATE_CANCELLED, t.WORKER_JOB_STATE_INTERRUPTED}


def wait_terminal(stub, job_id: str, timeout_s: float = 300) -> t.WorkerJob:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        job = stub.GetJob(t.GetJobRequest(job_id=job_id), timeout=10).job
        if job.state in TERMINAL:
            return job
        time.sleep(0.2)
    raise AssertionError(f"job {job_id} did not end in {timeout_s} s")


def all_events(stub, job_id: str, from_sequence: int = 0) -> list[t.JobEvent]:
    return [r.event for r in stub.WatchJob(t.WatchJobRequest(job_id=job_id, from_sequence=from_sequence), timeout=300)]
