"""The worker's access control against real gRPC servers on port 0, with certificates and the JWT
key pair made by tools/dev/certs/make.sh: TLS refuses plaintext and other CAs, mTLS refuses clients
without a certificate of its CA; callers are UNAUTHENTICATED (none, forged, expired) or
PERMISSION_DENIED (a user's or a worker's token on the worker's API); it refuses to listen beyond
loopback without credentials; StartJob's artifact_root stays under the worker's roots (symlinks
resolved); and the dataset credential is neither in job.json nor in the job's identity."""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

import grpc
import jwt
import pytest

from medtune.common.v1 import common_pb2 as c
from medtune.trainer.v1 import trainer_pb2 as t
from medtune.trainer.v1 import trainer_pb2_grpc as t_grpc
from medtune_trainer.config import WorkerConfig
from medtune_trainer.server import build
from medtune_trainer.servicer import spec_key

from conftest import REPO_ROOT, small_spec

SECRET = "data-credential-that-must-not-be-stored-0123456789"


@pytest.fixture(scope="module")
def pki(tmp_path_factory) -> tuple[Path, Path]:
    make = REPO_ROOT / "tools" / "dev" / "certs" / "make.sh"
    base = tmp_path_factory.mktemp("pki")
    good = Path(subprocess.run([str(make), str(base / "good")], check=True, capture_output=True, text=True).stdout.strip())
    other = Path(subprocess.run([str(make), str(base / "other")], check=True, capture_output=True, text=True).stdout.strip())
    return good, other


def token(pki_dir: Path, role: str, sub: str = "someone", ttl: int = 600) -> str:
    now = int(time.time())
    key = (pki_dir / "jwt.key").read_bytes()
    return jwt.encode({"sub": sub, "role": role, "iss": "medtune", "iat": now, "exp": now + ttl}, key, algorithm="ES256")


def creds(pki_dir: Path, client_cert: bool = False) -> grpc.ChannelCredentials:
    return grpc.ssl_channel_credentials(
        root_certificates=(pki_dir / "ca.pem").read_bytes(),
        private_key=(pki_dir / "client.key").read_bytes() if client_cert else None,
        certificate_chain=(pki_dir / "client.pem").read_bytes() if client_cert else None,
    )


def info(ch: grpc.Channel, tok: str = "", timeout: float = 5):
    md = [("authorization", f"Bearer {tok}")] if tok else None
    return t_grpc.TrainerServiceStub(ch).GetWorkerInfo(t.GetWorkerInfoRequest(), metadata=md, timeout=timeout)


def code_of(fn) -> grpc.StatusCode:
    with pytest.raises(grpc.RpcError) as e:
        fn()
    return e.value.code()


@pytest.fixture(scope="module")
def tls_worker(pki, tmp_path_factory):
    good, _ = pki
    cfg = WorkerConfig(
        artifact_root=tmp_path_factory.mktemp("tls-art"),
        worker_id="tls-worker",
        tls_cert=str(good / "worker.pem"),
        tls_key=str(good / "worker.key"),
        tls_ca=str(good / "ca.pem"),
        tls_client_auth=True,
        jwt_public_key_file=str(good / "jwt.pub"),
    )
    w = build("127.0.0.1:0", cfg)
    yield w
    w.shutdown(5)


def test_mtls_refuses_plaintext_other_cas_and_clients_without_a_certificate(tls_worker, pki):
    good, other = pki
    addr = f"127.0.0.1:{tls_worker.port}"
    ok = token(good, "service")
    with grpc.secure_channel(addr, creds(good, client_cert=True)) as ch:
        assert info(ch, ok).info.worker_id == "tls-worker"
    with grpc.insecure_channel(addr) as ch:
        assert code_of(lambda: info(ch, ok, timeout=3)) == grpc.StatusCode.UNAVAILABLE
    with grpc.secure_channel(addr, creds(good, client_cert=False)) as ch:
        assert code_of(lambda: info(ch, ok, timeout=3)) == grpc.StatusCode.UNAVAILABLE
    with grpc.secure_channel(addr, creds(other, client_cert=True)) as ch:
        assert code_of(lambda: info(ch, ok, timeout=3)) == grpc.StatusCode.UNAVAILABLE


def test_scoped_credentials_unauthenticated_vs_permission_denied(tls_worker, pki, tiny_model, rows_jsonl):
    good, other = pki
    with grpc.secure_channel(f"127.0.0.1:{tls_worker.port}", creds(good, client_cert=True)) as ch:
        assert code_of(lambda: info(ch)) == grpc.StatusCode.UNAUTHENTICATED
        assert code_of(lambda: info(ch, token(other, "service"))) == grpc.StatusCode.UNAUTHENTICATED  # signed by another key
        assert code_of(lambda: info(ch, token(good, "service", ttl=-30))) == grpc.StatusCode.UNAUTHENTICATED  # expired
        unsigned = jwt.encode({"sub": "x", "role": "service", "iss": "medtune", "exp": int(time.time()) + 60}, None, algorithm="none")
        assert code_of(lambda: info(ch, unsigned)) == grpc.StatusCode.UNAUTHENTICATED
        assert info(ch, token(good, "user")).info.worker_id == "tls-worker"  # GetWorkerInfo needs `read`
        stub = t_grpc.TrainerServiceStub(ch)
        req = t.StartJobRequest(job_id="denied", attempt=1, spec=small_spec(tiny_model, rows_jsonl))
        for role in ("user", "operator", "worker"):
            md = [("authorization", f"Bearer {token(good, role)}")]
            assert code_of(lambda: stub.StartJob(req, metadata=md, timeout=5)) == grpc.StatusCode.PERMISSION_DENIED
            with pytest.raises(grpc.RpcError) as e:
                list(stub.WatchJob(t.WatchJobRequest(job_id="denied"), metadata=md, timeout=5))
            assert e.value.code() == grpc.StatusCode.PERMISSION_DENIED
    assert not (tls_worker.config.artifact_root / "denied").exists()


def test_refuses_to_listen_beyond_loopback_without_credentials(tmp_path):
    with pytest.raises(SystemExit, match="without credentials"):
        build("0.0.0.0:0", WorkerConfig(artifact_root=tmp_path))
    w = build("0.0.0.0:0", WorkerConfig(artifact_root=tmp_path, auth_token="a-token-for-this-test"))
    w.shutdown(1)


def test_artifact_root_outside_the_worker_roots_is_refused_naming_the_field(stub, tiny_model, rows_jsonl, artifact_root, tmp_path):
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (artifact_root / "escape").symlink_to(outside)
    for i, root in enumerate([outside.as_uri(), str(artifact_root / ".." / "x"), (artifact_root / "escape").as_uri(), "relative/dir"]):
        spec = small_spec(tiny_model, rows_jsonl)
        spec.artifact_root = root
        with pytest.raises(grpc.RpcError) as e:
            stub.StartJob(t.StartJobRequest(job_id=f"root-{i}", attempt=1, spec=spec), timeout=10)
        assert e.value.code() == grpc.StatusCode.INVALID_ARGUMENT, root
        assert "spec.artifact_root" in e.value.details()
    assert list(outside.iterdir()) == []


class _Rows:
    """A dataset service stand-in that streams a few rows and records the credential it got."""

    def __init__(self):
        from medtune.dataset.v1 import dataset_pb2_grpc as ds_grpc

        self.auth: list[str] = []

        class Servicer(ds_grpc.DatasetServiceServicer):
            def StreamRows(inner, request, context):  # noqa: N805
                from medtune.dataset.v1 import dataset_pb2 as ds

                self.auth.append(dict(context.invocation_metadata()).get("authorization", ""))
                for i in range(int(request.offset), 8):
                    yield ds.StreamRowsResponse(row=ds.Row(index=i, text=f"问题 {i}：胸痛怎么办？回答：就医。<|end|>"))

        from concurrent import futures

        self.server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
        ds_grpc.add_DatasetServiceServicer_to_server(Servicer(), self.server)
        self.port = self.server.add_insecure_port("127.0.0.1:0")
        self.server.start()


def test_the_dataset_credential_is_not_stored_and_not_part_of_the_job_identity(tiny_model, tmp_path):
    rows = _Rows()
    root = tmp_path / "art"
    w = build("127.0.0.1:0", WorkerConfig(artifact_root=root, worker_id="secret-test"))
    try:
        with grpc.insecure_channel(f"127.0.0.1:{w.port}") as ch:
            stub = t_grpc.TrainerServiceStub(ch)
            spec = small_spec(tiny_model, Path("/unused"), max_steps=2, exports=c.ExportOptions(adapter=True, merged_16bit=False, gguf=False))
            spec.ClearField("local_jsonl")
            spec.dataset.CopyFrom(t.DatasetSource(address=f"127.0.0.1:{rows.port}", version_digest="sha256:" + "0" * 64, auth_token=SECRET))
            first = stub.StartJob(t.StartJobRequest(job_id="secret-job", attempt=1, spec=spec), timeout=60)
            assert first.created
            deadline = time.time() + 180
            state = first.job.state
            while time.time() < deadline and state not in (t.WORKER_JOB_STATE_FAILED, t.WORKER_JOB_STATE_SUCCEEDED):
                time.sleep(0.3)
                state = stub.GetJob(t.GetJobRequest(job_id="secret-job"), timeout=10).job.state
            assert state == t.WORKER_JOB_STATE_SUCCEEDED
            assert rows.auth and set(rows.auth) == {f"Bearer {SECRET}"}  # the credential was used…
            # …and a rotated credential is the same job: no ALREADY_EXISTS, nothing new.
            rotated = t.JobSpec()
            rotated.CopyFrom(spec)
            rotated.dataset.auth_token = SECRET[::-1]
            assert spec_key(rotated) == spec_key(spec)
            again = stub.StartJob(t.StartJobRequest(job_id="secret-job", attempt=1, spec=rotated), timeout=30)
            assert not again.created
    finally:
        w.shutdown(10)
        rows.server.stop(1)
    files = [p for p in root.rglob("*") if p.is_file()]
    assert any(p.name == "job.json" for p in files) and any(p.name == "events.jsonl" for p in files)
    assert any(p.parent.name == "adapter" for p in files)
    for p in files:
        data = p.read_bytes()
        assert SECRET.encode() not in data and SECRET.encode().hex().encode() not in data, p
    meta = json.loads((root / "secret-job" / "job.json").read_text())
    assert meta["spec"]["data"]["auth_token"] == ""
