"""CancelJob stops at the next step with a checkpoint; a new job resumes from it and continues
from that step. While a job runs, the worker is busy for other work."""

from __future__ import annotations

import time

import grpc
import pytest

from medtune.trainer.v1 import trainer_pb2 as t

from conftest import all_events, small_spec, wait_terminal


def _wait_step(stub, job_id, step, timeout_s=120):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        job = stub.GetJob(t.GetJobRequest(job_id=job_id), timeout=10).job
        if job.progress.step >= step:
            return job
        time.sleep(0.1)
    raise AssertionError(f"{job_id} did not reach step {step}")


def test_cancel_then_resume_continues_from_the_checkpoint_step(stub, tiny_model, rows_jsonl):
    spec = small_spec(tiny_model, rows_jsonl, max_steps=200, logging_steps=1)
    stub.StartJob(t.StartJobRequest(job_id="cancel-a", spec=spec, attempt=1), timeout=60)
    _wait_step(stub, "cancel-a", 3)

    # One job at a time: the busy worker says so, and a generation is refused too.
    with pytest.raises(grpc.RpcError) as err:
        stub.StartJob(t.StartJobRequest(job_id="cancel-other", spec=spec, attempt=1), timeout=30)
    assert err.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED and "cancel-a" in err.value.details()
    with pytest.raises(grpc.RpcError) as err:
        list(stub.Generate(t.GenerateRequest(model=t.InferenceModel(base_model=str(tiny_model)), prompts=["x"]), timeout=30))
    assert err.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert stub.GetWorkerInfo(t.GetWorkerInfoRequest(), timeout=10).info.current_job_id == "cancel-a"

    stub.CancelJob(t.CancelJobRequest(job_id="cancel-a", reason="test"), timeout=10)
    job = wait_terminal(stub, "cancel-a")
    assert job.state == t.WORKER_JOB_STATE_CANCELLED
    assert 3 <= job.progress.step < 200
    cks = stub.ListCheckpoints(t.ListCheckpointsRequest(job_id="cancel-a"), timeout=10).checkpoints
    assert len(cks) == 1 and cks[0].step == job.progress.step
    stop_step = cks[0].step
    # Cancelling a finished job changes nothing.
    again = stub.CancelJob(t.CancelJobRequest(job_id="cancel-a"), timeout=10).job
    assert again.state == t.WORKER_JOB_STATE_CANCELLED and again.last_sequence == job.last_sequence

    resumed = small_spec(tiny_model, rows_jsonl, max_steps=stop_step + 3, logging_steps=1)
    resumed.resume_from_checkpoint = cks[0].uri
    stub.StartJob(t.StartJobRequest(job_id="cancel-b", spec=resumed, attempt=1), timeout=60)
    done = wait_terminal(stub, "cancel-b")
    assert done.state == t.WORKER_JOB_STATE_SUCCEEDED, done.failure
    steps = [e.metrics.step for e in all_events(stub, "cancel-b") if e.WhichOneof("payload") == "metrics"]
    assert steps == [stop_step + 1, stop_step + 2, stop_step + 3]


def test_same_job_id_resumes_as_a_new_attempt(stub, tiny_model, rows_jsonl):
    spec = small_spec(tiny_model, rows_jsonl, max_steps=100, logging_steps=1)
    stub.StartJob(t.StartJobRequest(job_id="attempts", spec=spec, attempt=1), timeout=60)
    _wait_step(stub, "attempts", 2)
    stub.CancelJob(t.CancelJobRequest(job_id="attempts"), timeout=10)
    first = wait_terminal(stub, "attempts")
    ck = stub.ListCheckpoints(t.ListCheckpointsRequest(job_id="attempts"), timeout=10).checkpoints[-1]
    spec2 = small_spec(tiny_model, rows_jsonl, max_steps=ck.step + 2, logging_steps=1)
    spec2.resume_from_checkpoint = ck.uri
    r = stub.StartJob(t.StartJobRequest(job_id="attempts", spec=spec2, attempt=2), timeout=60)
    assert r.created and r.job.attempt == 2
    done = wait_terminal(stub, "attempts")
    assert done.state == t.WORKER_JOB_STATE_SUCCEEDED
    events = all_events(stub, "attempts")
    assert [e.sequence for e in events] == list(range(1, len(events) + 1))  # one stream, no gap
    assert {e.attempt for e in events[first.last_sequence:]} == {2}
