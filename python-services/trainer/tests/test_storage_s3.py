"""The s3:// storage against a real S3-compatible server (SeaweedFS `weed server -s3`, started on
loopback by tools/infra/s3-server.sh with random credentials from the environment)."""

from __future__ import annotations

import hashlib
import os
import secrets
import subprocess
from pathlib import Path

import pytest

from medtune_trainer import artifacts
from medtune_trainer import domain as d
from medtune_trainer.errors import FailedPrecondition, InvalidArgument
from medtune_trainer.storage import MANIFEST, ObjectStore, parse_s3_uri

ROOT = Path(__file__).resolve().parents[3]
SCRIPT = ROOT / "tools/infra/s3-server.sh"


@pytest.fixture(scope="module")
def s3(tmp_path_factory):
    d_ = tmp_path_factory.mktemp("s3")
    creds = {"AWS_ACCESS_KEY_ID": "k" + secrets.token_hex(6), "AWS_SECRET_ACCESS_KEY": secrets.token_hex(16)}
    env = {**os.environ, **creds}
    out = subprocess.run([str(SCRIPT), "up", str(d_)], env=env, capture_output=True, text=True, timeout=900)
    assert out.returncode == 0, out.stderr
    endpoint = out.stdout.strip().split("=", 1)[1]
    yield {"MEDTUNE_S3_ENDPOINT": endpoint, **creds}
    subprocess.run([str(SCRIPT), "down", str(d_)], capture_output=True, timeout=60)


@pytest.fixture()
def store(s3):
    from minio import Minio

    st = ObjectStore(env=s3)
    bucket = "medtune-" + secrets.token_hex(4)
    Minio(s3["MEDTUNE_S3_ENDPOINT"].split("//", 1)[1], access_key=s3["AWS_ACCESS_KEY_ID"], secret_key=s3["AWS_SECRET_ACCESS_KEY"], secure=False).make_bucket(bucket)
    return st, bucket


def test_uri_errors_name_the_field():
    with pytest.raises(InvalidArgument, match=r"^spec.artifact_root: .*bucket name"):
        parse_s3_uri("s3://Bad_Bucket/x", "spec.artifact_root")
    with pytest.raises(InvalidArgument, match="credentials"):
        parse_s3_uri("s3://user:pw@bucket/x", "spec.artifact_root")
    with pytest.raises(InvalidArgument, match=r"\.\."):
        parse_s3_uri("s3://bucket/a/../b", "spec.artifact_root")
    assert str(parse_s3_uri("s3://my-bucket/jobs/j1")) == "s3://my-bucket/jobs/j1"


def test_directory_round_trip_with_the_same_sha256_as_files(store, tmp_path):
    st, bucket = store
    src = tmp_path / "adapter"
    (src / "sub").mkdir(parents=True)
    (src / "adapter_model.safetensors").write_bytes(os.urandom(3 * (1 << 20) + 17))
    (src / "sub" / "config.json").write_text('{"r": 8}')
    art = st.put_dir(src, parse_s3_uri(f"s3://{bucket}/jobs/j1/adapter"), d.ArtifactKind.ADAPTER)
    local = artifacts.describe(src, art.kind)
    # The sha256 of what was streamed equals the manifest hash of the files on disk.
    assert art.sha256 == local.sha256
    assert art.size_bytes == local.size_bytes
    assert art.uri == f"s3://{bucket}/jobs/j1/adapter"
    # No temporary prefix is left; the manifest is there.
    from minio import Minio  # noqa: F401  (the store's client)

    names = sorted(o.object_name for o in st._c.list_objects(bucket, prefix="jobs/", recursive=True))
    assert names == ["jobs/j1/adapter/" + MANIFEST, "jobs/j1/adapter/adapter_model.safetensors", "jobs/j1/adapter/sub/config.json"]
    back = st.get_dir(parse_s3_uri(art.uri), tmp_path / "back")
    assert artifacts.describe(back, art.kind).sha256 == art.sha256
    assert hashlib.sha256((back / "adapter_model.safetensors").read_bytes()).hexdigest() == hashlib.sha256((src / "adapter_model.safetensors").read_bytes()).hexdigest()


def test_half_written_directory_is_never_read(store, tmp_path):
    st, bucket = store
    # Objects without their manifest (an upload that died before the end) are not a directory.
    st.put_file(_file(tmp_path / "a.bin", b"x" * 10), parse_s3_uri(f"s3://{bucket}/ck/checkpoint-5/a.bin"))
    with pytest.raises(FailedPrecondition, match="manifest is missing"):
        st.get_dir(parse_s3_uri(f"s3://{bucket}/ck/checkpoint-5"), tmp_path / "out", "spec.resume_from_checkpoint")
    assert not (tmp_path / "out").exists()


def test_missing_bucket_is_failed_precondition_and_no_credential_in_messages(s3, tmp_path):
    st = ObjectStore(env=s3)
    with pytest.raises(FailedPrecondition, match=r"artifact_root: bucket 'no-such-bucket-here' does not exist") as e:
        st.put_dir(_dir(tmp_path), parse_s3_uri("s3://no-such-bucket-here/x"), d.ArtifactKind.CHECKPOINT)
    assert s3["AWS_SECRET_ACCESS_KEY"] not in str(e.value) and s3["AWS_ACCESS_KEY_ID"] not in str(e.value)
    with pytest.raises(FailedPrecondition, match="bucket 'no-such-bucket-here' does not exist"):
        st.get_dir(parse_s3_uri("s3://no-such-bucket-here/x"), tmp_path / "o", "spec.resume_from_checkpoint")


def _file(p: Path, data: bytes) -> Path:
    p.write_bytes(data)
    return p


def _dir(tmp: Path) -> Path:
    src = tmp / "src"
    src.mkdir(exist_ok=True)
    (src / "f").write_text("x")
    return src


# -- the worker with an s3:// artifact root (one job, then its resume on "another node") ----------


def _wait_step(stub, job_id, step, timeout_s=180):
    import time

    from medtune.trainer.v1 import trainer_pb2 as t

    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if stub.GetJob(t.GetJobRequest(job_id=job_id), timeout=10).job.progress.step >= step:
            return
        time.sleep(0.1)
    raise AssertionError(f"{job_id} did not reach step {step}")


def test_worker_writes_checkpoints_and_artifacts_to_s3_and_resumes_elsewhere(s3, store, tiny_model, rows_jsonl, tmp_path, monkeypatch):
    import grpc

    from medtune.common.v1 import common_pb2 as c
    from medtune.trainer.v1 import trainer_pb2 as t
    from medtune.trainer.v1 import trainer_pb2_grpc as t_grpc
    from medtune_trainer.config import WorkerConfig
    from medtune_trainer.server import build

    from conftest import all_events, small_spec, wait_terminal

    st, bucket = store
    for k, v in s3.items():
        monkeypatch.setenv(k, v)
    monkeypatch.setenv("MEDTUNE_S3_ROOTS", f"s3://{bucket}/jobs")
    root = f"s3://{bucket}/jobs"

    def worker(name):
        w = build("127.0.0.1:0", WorkerConfig(artifact_root=tmp_path / name, worker_id=name, shutdown_grace_s=30))
        return w, grpc.insecure_channel(f"127.0.0.1:{w.port}")

    # Node A: the job runs, is cancelled after a few steps; its checkpoint is on the bucket.
    a, ch_a = worker("node-a")
    try:
        stub = t_grpc.TrainerServiceStub(ch_a)
        outside = small_spec(tiny_model, rows_jsonl)
        outside.artifact_root = f"s3://{bucket}/elsewhere"
        with pytest.raises(grpc.RpcError) as err:
            stub.StartJob(t.StartJobRequest(job_id="s3-out", spec=outside, attempt=1), timeout=30)
        assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT and "spec.artifact_root" in err.value.details()
        monkeypatch.setenv("MEDTUNE_S3_ROOTS", f"s3://{bucket}/jobs s3://no-such-bucket-h1/jobs")
        missing = build("127.0.0.1:0", WorkerConfig(artifact_root=tmp_path / "node-m", worker_id="m"))
        try:
            with grpc.insecure_channel(f"127.0.0.1:{missing.port}") as ch_m:
                outside.artifact_root = "s3://no-such-bucket-h1/jobs"
                with pytest.raises(grpc.RpcError) as err:
                    t_grpc.TrainerServiceStub(ch_m).StartJob(t.StartJobRequest(job_id="s3-missing", spec=outside, attempt=1), timeout=30)
                assert err.value.code() == grpc.StatusCode.FAILED_PRECONDITION
                assert "spec.artifact_root: bucket 'no-such-bucket-h1' does not exist" in err.value.details()
        finally:
            missing.shutdown(10)
        monkeypatch.setenv("MEDTUNE_S3_ROOTS", f"s3://{bucket}/jobs")

        spec = small_spec(tiny_model, rows_jsonl, max_steps=200, logging_steps=1)
        spec.artifact_root = root
        stub.StartJob(t.StartJobRequest(job_id="s3-job", spec=spec, attempt=1), timeout=60)
        _wait_step(stub, "s3-job", 3)
        stub.CancelJob(t.CancelJobRequest(job_id="s3-job", reason="move it"), timeout=10)
        first = wait_terminal(stub, "s3-job")
        assert first.state == t.WORKER_JOB_STATE_CANCELLED
        cks = stub.ListCheckpoints(t.ListCheckpointsRequest(job_id="s3-job"), timeout=10).checkpoints
        assert cks and cks[-1].uri == f"{root}/s3-job/checkpoints/checkpoint-{cks[-1].step}"
        ck = cks[-1]
        events_a = all_events(stub, "s3-job")
    finally:
        ch_a.close()
        a.shutdown(30)
    # The checkpoint's sha256 is of what the bucket holds (downloaded and re-described).
    back = st.get_dir(parse_s3_uri(ck.uri), tmp_path / "ck-back")
    assert artifacts.describe(back, d.ArtifactKind.CHECKPOINT).sha256 == ck.artifact.sha256
    assert not [o.object_name for o in st._c.list_objects(bucket, prefix="jobs/", recursive=True) if ".tmp-" in o.object_name]

    # Node B (its own disk, nothing of node A's): attempt 2 resumes from the s3:// checkpoint.
    b, ch_b = worker("node-b")
    try:
        stub = t_grpc.TrainerServiceStub(ch_b)
        spec2 = small_spec(tiny_model, rows_jsonl, max_steps=ck.step + 2, logging_steps=1, exports=c.ExportOptions(adapter=True, merged_16bit=False, gguf=False))
        spec2.artifact_root = root
        spec2.resume_from_checkpoint = ck.uri
        stub.StartJob(t.StartJobRequest(job_id="s3-job", spec=spec2, attempt=2), timeout=60)
        done = wait_terminal(stub, "s3-job")
        assert done.state == t.WORKER_JOB_STATE_SUCCEEDED, done.failure
        events_b = all_events(stub, "s3-job")
        # Evaluation loads the registered s3:// adapter through Generate: the worker fetches it
        # (manifest-checked) and answers as with the same files on disk.
        (art,) = [a for a in done.artifacts if a.kind == c.ARTIFACT_KIND_ADAPTER]
        local = st.get_dir(parse_s3_uri(art.uri), tmp_path / "adapter-local")
        params = c.GenerationParams(max_new_tokens=6, temperature=0)

        def gen(uri):
            req = t.GenerateRequest(model=t.InferenceModel(base_model=str(tiny_model), adapter_uri=uri), prompts=["你好", "胸痛伴呕吐的患者"], params=params, batch_size=2)
            return [r.text for r in sorted(stub.Generate(req, timeout=300), key=lambda r: r.index)]

        from_s3 = gen(art.uri)
        assert from_s3 == gen(local.as_uri())
        assert from_s3 != [r.text for r in sorted(stub.Generate(t.GenerateRequest(model=t.InferenceModel(base_model=str(tiny_model)), prompts=["你好", "胸痛伴呕吐的患者"], params=params, batch_size=2), timeout=300), key=lambda r: r.index)]
        # A tampered copy (one object changed, the manifest as uploaded) is refused naming the file.
        for o in st._c.list_objects(bucket, prefix="jobs/s3-job/adapter/", recursive=True):
            rel = o.object_name[len("jobs/s3-job/adapter/") :]
            data = b"evil" if rel == "adapter_config.json" else st._c.get_object(bucket, o.object_name).read()
            import io

            st._c.put_object(bucket, f"jobs/tampered/adapter/{rel}", io.BytesIO(data), len(data))
        with pytest.raises(grpc.RpcError) as err:
            gen(f"s3://{bucket}/jobs/tampered/adapter")
        assert err.value.code() == grpc.StatusCode.FAILED_PRECONDITION and "adapter_config.json has sha256" in err.value.details()
    finally:
        ch_b.close()
        b.shutdown(30)
    steps = [e.metrics.step for e in events_b if e.WhichOneof("payload") == "metrics"]
    assert steps == [ck.step + 1, ck.step + 2]
    (adapter,) = [a for a in done.artifacts if a.kind == c.ARTIFACT_KIND_ADAPTER]
    assert adapter.uri == f"{root}/s3-job/adapter"
    got = st.get_dir(parse_s3_uri(adapter.uri), tmp_path / "adapter-back")
    assert artifacts.describe(got, d.ArtifactKind.ADAPTER).sha256 == adapter.sha256
    assert (got / "adapter_model.safetensors").is_file()
    # The staged copy is gone from node B's disk; the artifact lives on the bucket only.
    assert not (tmp_path / "node-b" / "s3-job" / "adapter").exists()
    # No credential in any file a job wrote (job.json, events, checkpoints...) nor in an event.
    secret, key_id = s3["AWS_SECRET_ACCESS_KEY"].encode(), s3["AWS_ACCESS_KEY_ID"].encode()
    for f in [p for p in tmp_path.rglob("*") if p.is_file()]:
        data = f.read_bytes()
        assert secret not in data and key_id not in data, f
    for e in events_a + events_b:
        assert secret not in e.SerializeToString() and key_id not in e.SerializeToString()


# -- the worker's s3:// model cache: capped, least recently used first, the loaded model kept ------


def test_inference_cache_evicts_the_least_recently_used_model_never_the_loaded_one(s3, store, tmp_path, monkeypatch):
    from medtune_trainer import inference as inf_mod
    from medtune_trainer.inference import Inference

    st, bucket = store
    for k, v in s3.items():
        monkeypatch.setenv(k, v)
    size = 1 << 20
    uris = {}
    for name in ("A", "B", "C", "D"):
        src = tmp_path / "src" / name
        src.mkdir(parents=True)
        (src / "config.json").write_text("{}")
        (src / "model.safetensors").write_bytes(os.urandom(size))
        uris[name] = st.put_dir(src, parse_s3_uri(f"s3://{bucket}/models/{name}/merged_16bit"), d.ArtifactKind.MERGED_16BIT).uri

    loads = []

    class FakeBackend:
        def load_for_inference(self, m, adapter, merged):
            loads.append(merged)
            return object()

    monkeypatch.setattr(inf_mod.backends, "select", lambda b: ("hf", ""))
    monkeypatch.setattr(inf_mod.backends, "make", lambda name: FakeBackend())
    cache_dir = tmp_path / "cache"
    # Room for one and a half models: every fetch of a second one is over the cap.
    inf = Inference(cache_dir, None, cache_max_bytes=size * 3 // 2)

    def load(name):
        inf._load(d.InferenceModel(merged_uri=uris[name]))

    def cached():
        return sorted(p.name for p in cache_dir.glob("*/merged_16bit"))

    load("A")
    a_dir = loads[-1]
    load("B")  # A was loaded (in use) while B was fetched: both stay, over the cap
    b_dir = loads[-1]
    assert a_dir.is_dir() and b_dir.is_dir()
    load("C")  # B is loaded now; A, the least recently used and not in use, goes
    c_dir = loads[-1]
    assert not a_dir.exists() and b_dir.is_dir() and c_dir.is_dir()
    load("B")  # a cache hit: B is loaded again, nothing fetched
    assert loads[-1] == b_dir
    load("D")  # B is in use; C goes
    assert b_dir.is_dir() and not c_dir.exists() and loads[-1].is_dir()
    assert len(cached()) == 2
    inf.clear()  # nothing loaded: nothing pinned
    assert inf._cache.pinned() == set()
