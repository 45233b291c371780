"""Bad input gets the right status, a message naming the field, and leaves nothing behind."""

from __future__ import annotations

import grpc
import pytest

from medtune.common.v1 import common_pb2 as c
from medtune.trainer.v1 import trainer_pb2 as t

from conftest import small_spec


def _start(stub, job_id, spec):
    with pytest.raises(grpc.RpcError) as err:
        stub.StartJob(t.StartJobRequest(job_id=job_id, spec=spec, attempt=1), timeout=60)
    return err.value


def _nothing_written(artifact_root, job_id):
    assert not (artifact_root / job_id).exists()


def test_unknown_model_path(stub, rows_jsonl, artifact_root):
    e = _start(stub, "bad-model", small_spec("/nonexistent/model", rows_jsonl))
    assert e.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "spec.base_model" in e.details() and "/nonexistent/model" in e.details()
    _nothing_written(artifact_root, "bad-model")


def test_rank_zero(stub, tiny_model, rows_jsonl, artifact_root):
    e = _start(stub, "bad-r", small_spec(tiny_model, rows_jsonl, lora=c.LoraConfig(r=0)))
    assert e.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert e.details() == "spec.lora.r: must be >= 1 (got 0)"
    _nothing_written(artifact_root, "bad-r")


def test_negative_learning_rate(stub, tiny_model, rows_jsonl, artifact_root):
    e = _start(stub, "bad-lr", small_spec(tiny_model, rows_jsonl, learning_rate=-1e-4))
    assert e.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert e.details().startswith("spec.hyperparameters.learning_rate: must be > 0")
    _nothing_written(artifact_root, "bad-lr")


def test_empty_dataset(stub, tiny_model, tmp_path, artifact_root):
    empty = tmp_path / "empty.jsonl"
    empty.write_text("\n")
    e = _start(stub, "bad-empty", small_spec(tiny_model, empty))
    assert e.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert "no rows" in e.details()
    _nothing_written(artifact_root, "bad-empty")


def test_every_row_longer_than_max_seq_length(stub, tiny_model, rows_jsonl, artifact_root):
    e = _start(stub, "bad-len", small_spec(tiny_model, rows_jsonl, max_seq_length=40))
    assert e.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert "max_seq_length 40 is shorter than every row; the shortest row has" in e.details()
    _nothing_written(artifact_root, "bad-len")


def test_malformed_row_names_the_line(stub, tiny_model, tmp_path, artifact_root):
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"text": "ok"}\n{"Question": "q"}\n')
    e = _start(stub, "bad-row", small_spec(tiny_model, bad))
    assert e.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "row 2" in e.details() and "Complex_CoT" in e.details()
    _nothing_written(artifact_root, "bad-row")


def test_missing_checkpoint_to_resume(stub, tiny_model, rows_jsonl, artifact_root):
    spec = small_spec(tiny_model, rows_jsonl)
    spec.resume_from_checkpoint = "file:///nonexistent/checkpoint-3"
    e = _start(stub, "bad-resume", spec)
    assert e.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert "spec.resume_from_checkpoint" in e.details()
    _nothing_written(artifact_root, "bad-resume")


def test_unsloth_asked_for_on_cpu(stub, tiny_model, rows_jsonl, artifact_root):
    spec = small_spec(tiny_model, rows_jsonl)
    spec.backend = c.BACKEND_UNSLOTH
    e = _start(stub, "bad-backend", spec)
    assert e.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert "unsloth is not available" in e.details() and "no CUDA" in e.details()
    _nothing_written(artifact_root, "bad-backend")


def test_missing_job_id_and_spec(stub, tiny_model, rows_jsonl):
    e = _start(stub, "", small_spec(tiny_model, rows_jsonl))
    assert e.code() == grpc.StatusCode.INVALID_ARGUMENT and e.details().startswith("job_id")
    with pytest.raises(grpc.RpcError) as err:
        stub.StartJob(t.StartJobRequest(job_id="no-spec"), timeout=10)
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT and err.value.details().startswith("spec")


def test_unknown_job_and_out_of_range_watch(stub):
    with pytest.raises(grpc.RpcError) as err:
        list(stub.WatchJob(t.WatchJobRequest(job_id="nope"), timeout=10))
    assert err.value.code() == grpc.StatusCode.NOT_FOUND
    with pytest.raises(grpc.RpcError) as err:
        stub.GetJob(t.GetJobRequest(job_id="nope"), timeout=10)
    assert err.value.code() == grpc.StatusCode.NOT_FOUND


def test_generate_bad_requests(stub, tiny_model):
    with pytest.raises(grpc.RpcError) as err:
        list(stub.Generate(t.GenerateRequest(model=t.InferenceModel(base_model=str(tiny_model))), timeout=30))
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT and "prompts" in err.value.details()
    with pytest.raises(grpc.RpcError) as err:
        list(stub.Generate(t.GenerateRequest(model=t.InferenceModel(base_model="/no/such/model"), prompts=["x"]), timeout=30))
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT and "model.base_model" in err.value.details()
    with pytest.raises(grpc.RpcError) as err:
        list(stub.Generate(t.GenerateRequest(model=t.InferenceModel(base_model=str(tiny_model)), prompts=["x"], params=c.GenerationParams(top_p=0)), timeout=30))
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT and "params.top_p" in err.value.details()


def test_worker_info(stub):
    info = stub.GetWorkerInfo(t.GetWorkerInfoRequest(), timeout=10).info
    assert info.worker_id == "test-worker" and info.gpu_name == "cpu" and info.gpu_memory_bytes == 0
    assert list(info.backends) == [c.BACKEND_HF]
    assert info.versions["transformers"] == "5.17.0" and info.host_memory_bytes > 0
    assert info.address.startswith("127.0.0.1:")
