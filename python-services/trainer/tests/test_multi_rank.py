"""One job on several ranks (launcher.py), on CPU with the gloo backend and the tiny model:
2 ranks x grad-accum k train the same curve as 1 rank x grad-accum 2k on the same data order;
a 2-rank checkpoint resumes on 1 rank and continues that curve; a cancel stops every rank at the
same step with one checkpoint; a rank that dies fails the job instead of hanging it.

Tolerance: both runs compute, in fp32, the mean token loss of the same 8 rows per optimizer step
(transformers normalises by the label tokens of the whole step, summed over the accumulated
micro-batches and over the ranks); they differ only in the order of floating-point sums (the
gradient all-reduce adds two partial sums, the single rank accumulates four micro-batches), an
error of order 1e-7 relative per step that Adam's update amplifies little over a few steps at
lr 1e-2. 1e-4 relative on the loss is far above that and far below the 0.3 by which the loss falls.
"""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest

from medtune.trainer.v1 import trainer_pb2 as t

from conftest import all_events, small_spec, wait_terminal

STEPS = 6
SEQ = 160  # the shortest row of the test data is 150 tokens; the processes' start, not the steps, is the cost
RTOL = 1e-4


def _metrics(stub, job_id):
    return [e.metrics for e in all_events(stub, job_id) if e.WhichOneof("payload") == "metrics"]


def _plan(stub, job_id):
    return [e.execution_plan for e in all_events(stub, job_id) if e.WhichOneof("payload") == "execution_plan"]


def _run(stub, job_id, spec, timeout_s=600):
    stub.StartJob(t.StartJobRequest(job_id=job_id, spec=spec, attempt=1), timeout=120)
    job = wait_terminal(stub, job_id, timeout_s)
    assert job.state == t.WORKER_JOB_STATE_SUCCEEDED, job.failure
    return job


@pytest.fixture(scope="module")
def curves(stub, tiny_model, rows_jsonl):
    one = _run(stub, "mr-one", small_spec(tiny_model, rows_jsonl, gradient_accumulation_steps=4, max_steps=STEPS, logging_steps=1, max_seq_length=SEQ, gpus=1))
    two = _run(stub, "mr-two", small_spec(tiny_model, rows_jsonl, gradient_accumulation_steps=2, max_steps=STEPS, logging_steps=1, max_seq_length=SEQ, save_steps=3, gpus=2))
    return {"one": one, "two": two, "m1": _metrics(stub, "mr-one"), "m2": _metrics(stub, "mr-two")}


def test_two_ranks_follow_the_one_rank_curve_with_the_same_global_batch(curves, stub):
    m1, m2 = curves["m1"], curves["m2"]
    assert [m.step for m in m1] == [m.step for m in m2] == list(range(1, STEPS + 1))  # rank 0 only: no duplicates
    for a, b in zip(m1, m2):
        assert b.values["loss"] == pytest.approx(a.values["loss"], rel=RTOL), (a.step, a.values["loss"], b.values["loss"])
        assert b.values["learning_rate"] == pytest.approx(a.values["learning_rate"], rel=1e-9)
    assert m1[-1].values["loss"] < m1[0].values["loss"]
    (p2,) = _plan(stub, "mr-two")
    assert (p2.gpus, p2.micro_batch_size, p2.gradient_accumulation_steps, p2.global_batch_size) == (2, 2, 2, 8)
    (p1,) = _plan(stub, "mr-one")
    assert p1.global_batch_size == 8 and "no CUDA" in p1.reason
    job = curves["two"]
    assert job.execution_plan.gpus == 2 and job.spec.hyperparameters.global_batch_size == 8
    assert {a.kind for a in job.artifacts} == set()  # small_spec exports nothing; written once by rank 0 otherwise
    cks = stub.ListCheckpoints(t.ListCheckpointsRequest(job_id="mr-two"), timeout=10).checkpoints
    assert [c.step for c in cks] == [3, 6]


def test_a_two_rank_checkpoint_resumes_on_one_rank_and_continues_the_curve(curves, stub, tiny_model, rows_jsonl):
    ck3 = stub.ListCheckpoints(t.ListCheckpointsRequest(job_id="mr-two"), timeout=10).checkpoints[0]
    spec = small_spec(tiny_model, rows_jsonl, gradient_accumulation_steps=4, max_steps=STEPS, logging_steps=1, max_seq_length=SEQ, gpus=1)
    spec.resume_from_checkpoint = ck3.uri
    _run(stub, "mr-resume", spec)
    resumed = _metrics(stub, "mr-resume")
    assert [m.step for m in resumed] == [4, 5, 6]
    for a, b in zip(curves["m1"][3:], resumed):
        assert b.values["loss"] == pytest.approx(a.values["loss"], rel=RTOL), (a.step, a.values["loss"], b.values["loss"])


def _wait_step(stub, job_id, step, timeout_s=300):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        job = stub.GetJob(t.GetJobRequest(job_id=job_id), timeout=10).job
        if job.progress.step >= step or job.state in (t.WORKER_JOB_STATE_FAILED, t.WORKER_JOB_STATE_SUCCEEDED):
            return job
        time.sleep(0.2)
    raise AssertionError(f"{job_id} did not reach step {step}")


def test_cancel_stops_every_rank_at_one_step_with_a_checkpoint(stub, tiny_model, rows_jsonl, artifact_root):
    spec = small_spec(tiny_model, rows_jsonl, max_steps=500, logging_steps=1, gpus=2)
    stub.StartJob(t.StartJobRequest(job_id="mr-cancel", spec=spec, attempt=1), timeout=120)
    _wait_step(stub, "mr-cancel", 2)
    stub.CancelJob(t.CancelJobRequest(job_id="mr-cancel", reason="test"), timeout=10)
    job = wait_terminal(stub, "mr-cancel", 300)
    assert job.state == t.WORKER_JOB_STATE_CANCELLED, job.failure
    cks = stub.ListCheckpoints(t.ListCheckpointsRequest(job_id="mr-cancel"), timeout=10).checkpoints
    assert len(cks) == 1 and cks[0].step == job.progress.step
    pids = [int(p.read_text()) for p in (Path(artifact_root) / "mr-cancel" / ".ranks-1").glob("rank-*.pid")]
    assert len(pids) == 2
    for pid in pids:  # every rank has exited
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)


def test_a_rank_that_dies_fails_the_job(stub, tiny_model, rows_jsonl, artifact_root):
    spec = small_spec(tiny_model, rows_jsonl, max_steps=500, logging_steps=1, gpus=2)
    stub.StartJob(t.StartJobRequest(job_id="mr-dead", spec=spec, attempt=1), timeout=120)
    _wait_step(stub, "mr-dead", 2)
    pid = int((Path(artifact_root) / "mr-dead" / ".ranks-1" / "rank-1.pid").read_text())
    os.kill(pid, signal.SIGKILL)
    job = wait_terminal(stub, "mr-dead", 300)
    assert job.state == t.WORKER_JOB_STATE_FAILED
    assert "rank" in job.failure.message


def test_more_ranks_than_the_worker_has_is_refused(stub, tiny_model, rows_jsonl):
    import grpc

    spec = small_spec(tiny_model, rows_jsonl, gpus=100000)
    with pytest.raises(grpc.RpcError) as err:
        stub.StartJob(t.StartJobRequest(job_id="mr-too-many", spec=spec, attempt=1), timeout=60)
    assert err.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert "spec.hyperparameters.gpus" in err.value.details()
