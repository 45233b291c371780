"""The worker as a process (python -m medtune_trainer): it registers and heartbeats to the
training service, and on SIGTERM its running job checkpoints and ends INTERRUPTED."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from concurrent import futures

import grpc

from medtune.trainer.v1 import trainer_pb2 as t
from medtune.trainer.v1 import trainer_pb2_grpc as t_grpc
from medtune.training.v1 import training_pb2 as tr
from medtune.training.v1 import training_pb2_grpc as tr_grpc
from medtune_trainer.config import WorkerConfig
from medtune_trainer.server import build

from conftest import small_spec

TOKEN = "s3cret"


class FakeRegistry(tr_grpc.WorkerRegistryServiceServicer):
    """A WorkerRegistryService that records what workers say; forgets the worker once."""

    def __init__(self):
        self.registrations: list[t.WorkerInfo] = []
        self.heartbeats: list[t.WorkerInfo] = []
        self.auth: set[str] = set()
        self.forgot = False
        self.lock = threading.Lock()

    def RegisterWorker(self, request, context):
        with self.lock:
            self.auth.add(dict(context.invocation_metadata()).get("authorization", ""))
            self.registrations.append(request.info)
        return tr.RegisterWorkerResponse(heartbeat_interval_ms=200, lease_ms=2000)

    def Heartbeat(self, request, context):
        with self.lock:
            self.heartbeats.append(request.info)
            if len(self.heartbeats) == 3 and not self.forgot:
                self.forgot = True
                context.abort(grpc.StatusCode.NOT_FOUND, "unknown worker")
        return tr.HeartbeatResponse(cancel_job_ids=["not-a-job-here"])


def _wait(pred, timeout_s=120, what=""):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if pred():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def test_registers_heartbeats_and_checkpoints_on_sigterm(tiny_model, rows_jsonl, tmp_path):
    fake = FakeRegistry()
    reg_server = grpc.server(futures.ThreadPoolExecutor(4))
    tr_grpc.add_WorkerRegistryServiceServicer_to_server(fake, reg_server)
    reg_port = reg_server.add_insecure_port("127.0.0.1:0")
    reg_server.start()
    root = tmp_path / "artifacts"
    env = {
        **os.environ,
        "MEDTUNE_TRAINER_GRPC_ADDR": "127.0.0.1:0",
        "MEDTUNE_TRAINER_ARTIFACT_ROOT": str(root),
        "MEDTUNE_TRAINER_WORKER_ID": "proc-worker",
        "MEDTUNE_TRAINER_TRAINING_ADDR": f"127.0.0.1:{reg_port}",
        "MEDTUNE_TRAINER_AUTH_TOKEN": TOKEN,
        "PYTHONUNBUFFERED": "1",
    }
    proc = subprocess.Popen([sys.executable, "-m", "medtune_trainer"], env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        line = proc.stdout.readline()
        assert "listening on" in line, line
        port = int(line.rsplit(" ", 1)[1])
        md = [("authorization", f"Bearer {TOKEN}")]
        with grpc.insecure_channel(f"127.0.0.1:{port}") as ch:
            stub = t_grpc.TrainerServiceStub(ch)
            try:
                stub.GetWorkerInfo(t.GetWorkerInfoRequest(), timeout=10)
                raise AssertionError("a call without the token was accepted")
            except grpc.RpcError as e:
                assert e.code() == grpc.StatusCode.UNAUTHENTICATED
            spec = small_spec(tiny_model, rows_jsonl, max_steps=500, logging_steps=1)
            stub.StartJob(t.StartJobRequest(job_id="sigterm", spec=spec, attempt=1), metadata=md, timeout=60)
            _wait(lambda: stub.GetJob(t.GetJobRequest(job_id="sigterm"), metadata=md, timeout=10).job.progress.step >= 2, what="step 2")
            _wait(lambda: any(h.busy and h.current_job_id == "sigterm" for h in fake.heartbeats), what="busy heartbeat")
            proc.send_signal(signal.SIGTERM)
            assert proc.wait(120) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
        reg_server.stop(0)

    first = fake.registrations[0]
    assert first.worker_id == "proc-worker" and first.address == f"127.0.0.1:{port}"
    assert first.gpu_name == "cpu" and list(first.backends) == [3]  # BACKEND_HF
    assert len(fake.registrations) >= 2  # registered again after NOT_FOUND
    assert fake.auth == {f"Bearer {TOKEN}"}

    # A fresh worker on the same artifact root serves the interrupted job and its checkpoint.
    w = build("127.0.0.1:0", WorkerConfig(artifact_root=root))
    try:
        job = w.manager.get("sigterm")
        assert job.state.value == "interrupted"
        assert job.checkpoints and job.checkpoints[-1].step == job.progress.step >= 2
        assert (root / "sigterm" / "checkpoints" / f"checkpoint-{job.checkpoints[-1].step}" / "trainer_state.json").is_file()
    finally:
        w.server.stop(0)
