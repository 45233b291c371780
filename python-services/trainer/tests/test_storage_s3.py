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
