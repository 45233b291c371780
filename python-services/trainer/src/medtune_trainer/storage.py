"""Object storage for artifacts and checkpoints: `s3://bucket/prefix` on any S3-compatible store
(the MinIO SDK), beside the local `file://` paths of artifacts.py.

The rules (common.proto's Artifact rule, as for files):
- uploads stream (multipart, parts of PART_SIZE) and hash while they write: the sha256 recorded
  is of the bytes sent, never a second read;
- nothing half-written is ever visible as an artifact: a directory goes to a temporary prefix
  (`<target>.tmp-<id>/`) and is copied under its final key only once every file is up, with its
  manifest (`.medtune-manifest`, the sha256 manifest of artifacts.describe) written last; a reader
  trusts a directory only when its manifest is there;
- credentials come from the environment (AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY, or
  MEDTUNE_S3_ACCESS_KEY / MEDTUNE_S3_SECRET_KEY), never from the URI, and never appear in a
  message, a log line or an event: errors name the bucket and key only.

Endpoint: MEDTUNE_S3_ENDPOINT (e.g. http://127.0.0.1:8333) or AWS_ENDPOINT_URL; default AWS.
Where a job may write: MEDTUNE_S3_ROOTS (or MEDTUNE_TRAINER_S3_ROOTS), s3://bucket[/prefix] entries
separated by commas or spaces; an s3:// artifact root outside them is refused (INVALID_ARGUMENT).

JobStore is what the runner uses: with a file:// root (the default, or a shared filesystem every
node mounts) an artifact is described where it was written; with an s3:// root the job's local
directory is the staging area and each artifact and checkpoint is streamed up under
`s3://bucket/prefix/<job_id>/` (adapter/, merged_16bit/, gguf/model-<type>.gguf,
checkpoints/checkpoint-<step>/), its event sent only once the upload is complete.
"""

from __future__ import annotations

import hashlib
import io
import os
import re
import shutil
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Mapping, Optional
from urllib.parse import urlparse

from . import domain as d
from .errors import FailedPrecondition, InvalidArgument

PART_SIZE = 16 << 20
MANIFEST = ".medtune-manifest"
_BUCKET_RE = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")


@dataclass(frozen=True)
class S3Uri:
    bucket: str
    key: str  # no leading slash; "" for the bucket's root

    def child(self, rel: str) -> "S3Uri":
        return S3Uri(self.bucket, f"{self.key.rstrip('/')}/{rel}".lstrip("/"))

    def __str__(self) -> str:
        return f"s3://{self.bucket}/{self.key}"


def parse_s3_uri(uri: str, field: str = "uri") -> S3Uri:
    """s3://bucket/key; INVALID_ARGUMENT naming the field for anything else (credentials in the
    URI included: they belong in the environment)."""
    p = urlparse(uri)
    if p.scheme != "s3":
        raise InvalidArgument(field, f"expected an s3://bucket/prefix URI (got scheme {p.scheme or 'none'!r})")
    if p.username or p.password or "@" in p.netloc:
        raise InvalidArgument(field, "an s3:// URI must not carry credentials; set them in the environment")
    if not _BUCKET_RE.match(p.netloc or ""):
        raise InvalidArgument(field, f"{p.netloc!r} is not a valid bucket name (3-63 of a-z 0-9 . -)")
    if p.query or p.fragment:
        raise InvalidArgument(field, "an s3:// URI takes no query or fragment")
    key = p.path.lstrip("/")
    if any(part in (".", "..") for part in key.split("/")):
        raise InvalidArgument(field, "an s3:// key must not contain . or .. segments")
    return S3Uri(p.netloc, key)


def is_s3(uri: str) -> bool:
    return uri.startswith("s3://")


class _HashingReader(io.RawIOBase):
    """Reads a file and hashes what it hands out (the upload's bytes)."""

    def __init__(self, f: BinaryIO):
        self._f = f
        self.sha256 = hashlib.sha256()
        self.size = 0

    def readable(self) -> bool:
        return True

    def read(self, n: int = -1) -> bytes:
        b = self._f.read(n)
        self.sha256.update(b)
        self.size += len(b)
        return b


class ObjectStore:
    """One S3-compatible endpoint. `client` is a minio.Minio (made from the environment by default)."""

    def __init__(self, client=None, env: Mapping[str, str] = os.environ):
        if client is None:
            client = _client_from_env(env)
        self._c = client

    # -- single objects -------------------------------------------------------------------------

    def put_file(self, path: Path, target: S3Uri) -> tuple[str, int]:
        """Streams a file to `target` (multipart above PART_SIZE); returns (sha256, size) of what was sent."""
        self._need_bucket(target.bucket, "artifact_root")
        with path.open("rb") as f:
            r = _HashingReader(f)
            self._c.put_object(target.bucket, target.key, r, length=-1, part_size=PART_SIZE)
        return r.sha256.hexdigest(), r.size

    def get_file(self, source: S3Uri, path: Path) -> str:
        """Downloads to `path` (atomically: a temp file renamed); returns its sha256."""
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.parent / f".tmp-{path.name}-{uuid.uuid4().hex[:8]}"
        h = hashlib.sha256()
        resp = self._c.get_object(source.bucket, source.key)
        try:
            with tmp.open("wb") as out:
                for chunk in resp.stream(1 << 20):
                    h.update(chunk)
                    out.write(chunk)
            os.replace(tmp, path)
        finally:
            resp.close()
            resp.release_conn()
            if tmp.exists():
                tmp.unlink()
        return h.hexdigest()

    def stat(self, target: S3Uri) -> Optional[tuple[str, int]]:
        """(etag, size) of the object, or None when there is none."""
        from minio.error import S3Error

        try:
            st = self._c.stat_object(target.bucket, target.key)
            return str(st.etag), int(st.size or 0)
        except S3Error as e:
            if e.code in ("NoSuchKey", "NoSuchObject", "NotFound"):
                return None
            if e.code == "NoSuchBucket":
                raise FailedPrecondition(f"bucket {target.bucket!r} does not exist") from None
            raise

    def read_manifest(self, source: S3Uri, field: str = "uri") -> str:
        """The manifest text of a complete directory (FAILED_PRECONDITION naming `field` when it has none)."""
        from minio.error import S3Error

        base = source.key.rstrip("/")
        try:
            resp = self._c.get_object(source.bucket, f"{base}/{MANIFEST}")
            try:
                return resp.read().decode("utf-8")
            finally:
                resp.close()
                resp.release_conn()
        except S3Error as e:
            if e.code == "NoSuchBucket":
                raise FailedPrecondition(f"{field}: bucket {source.bucket!r} does not exist") from None
            raise FailedPrecondition(f"{field}: no complete directory at s3://{source.bucket}/{base} (its manifest is missing)") from None

    def exists(self, target: S3Uri) -> bool:
        from minio.error import S3Error

        try:
            self._c.stat_object(target.bucket, target.key)
            return True
        except S3Error as e:
            if e.code in ("NoSuchKey", "NoSuchObject", "NotFound"):
                return False
            raise

    # -- directories (artifacts, checkpoints) ---------------------------------------------------

    def put_dir(self, src: Path, target: S3Uri, kind: d.ArtifactKind, details: Optional[dict[str, str]] = None) -> d.Artifact:
        """Uploads a directory under `target/`, visible only once complete (temp prefix, then a
        server-side copy, then the manifest last). Returns the artifact record of what was sent."""
        from minio.commonconfig import CopySource

        self._need_bucket(target.bucket, "artifact_root")
        base = target.key.rstrip("/")
        tmp = S3Uri(target.bucket, f"{base}.tmp-{uuid.uuid4().hex[:8]}")
        files: list[d.ArtifactFile] = []
        try:
            for f in sorted(p for p in src.rglob("*") if p.is_file()):
                rel = f.relative_to(src).as_posix()
                digest, size = self.put_file(f, tmp.child(rel))
                files.append(d.ArtifactFile(rel, digest, size))
            for af in files:
                # A copy of one object is atomic; past 5 GiB it needs a multipart copy (compose).
                self._c.copy_object(target.bucket, f"{base}/{af.path}", CopySource(target.bucket, tmp.child(af.path).key))
            manifest = "".join(f"{af.sha256}  {af.path}\n" for af in files).encode("utf-8")
            self._c.put_object(target.bucket, f"{base}/{MANIFEST}", io.BytesIO(manifest), len(manifest))
        finally:
            for obj in self._c.list_objects(tmp.bucket, prefix=tmp.key + "/", recursive=True):
                self._c.remove_object(tmp.bucket, obj.object_name)
        return d.Artifact(
            kind, f"s3://{target.bucket}/{base}", hashlib.sha256(manifest).hexdigest(), sum(f.size_bytes for f in files), files, dict(details or {})
        )

    def get_dir(self, source: S3Uri, dest: Path, field: str = "uri") -> Path:
        """Downloads a complete directory (one with its manifest) into dest, checking every sha256."""
        from minio.error import S3Error

        base = source.key.rstrip("/")
        manifest = self.read_manifest(source, field)
        tmp = dest.parent / f".tmp-{dest.name}-{uuid.uuid4().hex[:8]}"
        try:
            for line in manifest.splitlines():
                digest, rel = line.split("  ", 1)
                got = self.get_file(S3Uri(source.bucket, f"{base}/{rel}"), tmp / rel)
                if got != digest:
                    raise FailedPrecondition(f"{field}: s3://{source.bucket}/{base}/{rel} has sha256 {got}, its manifest says {digest}")
            if dest.exists():
                shutil.rmtree(dest)
            os.rename(tmp, dest)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        return dest

    def remove_dir(self, target: S3Uri) -> None:
        """Deletes a directory: its manifest first, so a reader never trusts what is left."""
        base = target.key.rstrip("/")
        self._c.remove_object(target.bucket, f"{base}/{MANIFEST}")
        for obj in self._c.list_objects(target.bucket, prefix=base + "/", recursive=True):
            self._c.remove_object(target.bucket, obj.object_name)

    def list_dirs(self, parent: S3Uri) -> list[str]:
        """The names of the complete directories (those with a manifest) right under `parent/`."""
        base = parent.key.rstrip("/") + "/"
        names = []
        for obj in self._c.list_objects(parent.bucket, prefix=base, recursive=True):
            rel = obj.object_name[len(base) :]
            if rel.count("/") == 1 and rel.endswith("/" + MANIFEST):
                names.append(rel.split("/", 1)[0])
        return names

    def need_bucket(self, bucket: str, field: str) -> None:
        """FAILED_PRECONDITION naming `field` when the bucket does not exist."""
        self._need_bucket(bucket, field)

    def _need_bucket(self, bucket: str, field: str) -> None:
        if not self._c.bucket_exists(bucket):
            raise FailedPrecondition(f"{field}: bucket {bucket!r} does not exist on the object store")


def _client_from_env(env: Mapping[str, str]):
    from minio import Minio

    endpoint = env.get("MEDTUNE_S3_ENDPOINT") or env.get("AWS_ENDPOINT_URL") or "https://s3.amazonaws.com"
    p = urlparse(endpoint)
    if p.scheme not in ("http", "https") or not p.netloc:
        raise InvalidArgument("MEDTUNE_S3_ENDPOINT", "expected http(s)://host[:port]")
    access = env.get("MEDTUNE_S3_ACCESS_KEY") or env.get("AWS_ACCESS_KEY_ID") or ""
    secret = env.get("MEDTUNE_S3_SECRET_KEY") or env.get("AWS_SECRET_ACCESS_KEY") or ""
    return Minio(p.netloc, access_key=access or None, secret_key=secret or None, secure=p.scheme == "https", region=env.get("MEDTUNE_S3_REGION") or env.get("AWS_REGION") or None)


def s3_roots_from_env(env: Mapping[str, str] = os.environ) -> tuple[S3Uri, ...]:
    raw = env.get("MEDTUNE_TRAINER_S3_ROOTS") or env.get("MEDTUNE_S3_ROOTS") or ""
    return tuple(parse_s3_uri(r, "MEDTUNE_S3_ROOTS") for r in re.split(r"[,\s]+", raw) if r)


def confine_s3(uri: str, roots: tuple[S3Uri, ...], field: str) -> S3Uri:
    """The parsed URI when it lies in one of `roots` (same bucket, under its prefix)."""
    u = parse_s3_uri(uri, field)
    for r in roots:
        prefix = r.key.strip("/")
        if u.bucket == r.bucket and (not prefix or u.key.strip("/") == prefix or u.key.startswith(prefix + "/")):
            return u
    allowed = ", ".join(str(r) for r in roots) or "none (set MEDTUNE_S3_ROOTS)"
    raise InvalidArgument(field, f"{uri} is outside the object-storage roots this worker may use ({allowed})")


class JobStore:
    """Where one job's artifacts and checkpoints end up (see the module comment)."""

    def __init__(self, artifact_root: str, job_id: str, env: Mapping[str, str] = os.environ, store: Optional[ObjectStore] = None):
        self.remote = parse_s3_uri(artifact_root, "spec.artifact_root").child(job_id) if is_s3(artifact_root) else None
        self._env = env
        self._store = store

    @property
    def store(self) -> ObjectStore:
        if self._store is None:
            self._store = ObjectStore(env=self._env)
        return self._store

    def publish(self, local: Path, rel: str, kind: d.ArtifactKind, details: Optional[dict[str, str]] = None) -> d.Artifact:
        """The artifact record of `local` (a file or a directory), after uploading it to
        `<remote>/<rel>` when the root is s3://; the sha256 recorded is the same either way."""
        from .artifacts import describe

        if self.remote is None:
            return describe(local, kind, details)
        target = self.remote.child(rel)
        if local.is_file():
            # One PUT (or one multipart upload) is atomic: the object appears only once complete.
            digest, size = self.store.put_file(local, target)
            return d.Artifact(kind, str(target), digest, size, [d.ArtifactFile(local.name, digest, size)], dict(details or {}))
        return self.store.put_dir(local, target, kind, details)

    def prune_checkpoints(self, keep: int) -> None:
        """Keeps the newest `keep` checkpoints under <remote>/checkpoints (as save_total_limit does locally)."""
        if self.remote is None:
            return
        parent = self.remote.child("checkpoints")
        steps = sorted((int(m.group(1)), n) for n in self.store.list_dirs(parent) if (m := re.fullmatch(r"checkpoint-(\d+)", n)))
        for _, name in steps[:-keep] if keep > 0 else []:
            self.store.remove_dir(parent.child(name))


def local_checkpoint(uri: str, job_dir: Path, field: str = "spec.resume_from_checkpoint", env: Mapping[str, str] = os.environ) -> Path:
    """A checkpoint to resume from, as a local directory: a file:// path as it is; an s3://
    checkpoint downloaded (every file sha256-checked against its manifest) into
    <job_dir>/.resume/<name> once — a later call (another rank, a retry) reuses that copy."""
    from .artifacts import path_from_uri

    if not is_s3(uri):
        return path_from_uri(uri, field)
    src = parse_s3_uri(uri, field)
    name = src.key.rstrip("/").rsplit("/", 1)[-1] or "checkpoint"
    dest = job_dir / ".resume" / name
    if dest.is_dir():
        return dest
    dest.parent.mkdir(parents=True, exist_ok=True)
    return ObjectStore(env=env).get_dir(src, dest, field)


def local_artifact(uri: str, field: str, cache_dir: Path, roots: Optional[tuple[S3Uri, ...]] = None, env: Mapping[str, str] = os.environ) -> Path:
    """A model artifact to load, as a local path (see :func:`pinned_artifact`), without a size cap."""
    from .s3_cache import S3Cache

    cache = S3Cache(cache_dir, 0)
    path, entry = pinned_artifact(uri, field, cache, roots, env)
    if entry:
        cache.unpin(entry)
    return path


def pinned_artifact(uri: str, field: str, cache, roots: Optional[tuple[S3Uri, ...]] = None, env: Mapping[str, str] = os.environ) -> tuple[Path, Optional[str]]:
    """A model artifact to load, as a local path: a file:// path as it is; an s3:// one fetched
    into the cache (s3_cache.S3Cache) first. A directory is fetched whole and every file checked
    against its manifest (a tampered object is FAILED_PRECONDITION naming the file); its cache
    entry is named by the URI and the manifest's sha256, so a changed artifact is fetched again and
    an unchanged one once. A single object (a GGUF file) is cached by its ETag and size. `roots`
    (when given) confine the URIs read, as StartJob's are.

    Returns the path and the cache entry it lies in (None for file://), pinned: the caller unpins
    it once the model is no longer in use. The entry is pinned before the fetch starts, marked
    used, and the cache evicts least recently used entries beyond its cap after a fetch."""
    from .artifacts import path_from_uri

    if not is_s3(uri):
        return path_from_uri(uri, field), None
    src = confine_s3(uri, roots, field) if roots is not None else parse_s3_uri(uri, field)
    st = ObjectStore(env=env)
    name = src.key.rstrip("/").rsplit("/", 1)[-1] or "artifact"
    one = st.stat(src) if src.key else None
    if one is not None:
        entry = hashlib.sha256(f"{uri}\n{one[0]}\n{one[1]}".encode()).hexdigest()[:24]
    else:
        manifest = st.read_manifest(src, field)
        entry = hashlib.sha256(f"{uri}\n{manifest}".encode("utf-8")).hexdigest()[:24]
    cache.pin(entry)
    try:
        dest = cache.path_of(entry) / name
        fetched = False
        if one is not None and not dest.is_file():
            st.get_file(src, dest)
            fetched = True
        elif one is None and not dest.is_dir():
            dest.parent.mkdir(parents=True, exist_ok=True)
            st.get_dir(src, dest, field)
            fetched = True
        cache.touch(entry)
        if fetched:
            cache.evict()
        return dest, entry
    except BaseException:
        cache.unpin(entry)
        raise
