"""Artifact files: file:// URIs, sha256 manifests (common.proto's Artifact rule) and atomic
writes (a temp directory beside the target, renamed once complete)."""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import uuid
from pathlib import Path
from typing import Iterator
from urllib.parse import unquote, urlparse

from . import domain as d
from .errors import InvalidArgument


def path_from_uri(uri: str, field: str = "uri") -> Path:
    """A local path from a file:// URI or a plain absolute path."""
    if uri.startswith("file://"):
        p = urlparse(uri)
        if p.netloc not in ("", "localhost"):
            raise InvalidArgument(field, f"file URI with a host is not supported: {uri}")
        return Path(unquote(p.path))
    if "://" in uri:
        raise InvalidArgument(field, f"only file:// URIs are supported by this worker (got {uri})")
    path = Path(uri)
    if not path.is_absolute():
        raise InvalidArgument(field, f"must be a file:// URI or an absolute path (got {uri!r})")
    return path


def uri_from_path(path: Path) -> str:
    return path.resolve().as_uri()


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def describe(path: Path, kind: d.ArtifactKind, details: dict[str, str] | None = None) -> d.Artifact:
    """An artifact record for a file or a directory (sha256 of the manifest for a directory:
    one "<sha256>  <relative path>\\n" line per file, sorted by path)."""
    if path.is_file():
        digest = sha256_file(path)
        size = path.stat().st_size
        files = [d.ArtifactFile(path.name, digest, size)]
        return d.Artifact(kind, uri_from_path(path), digest, size, files, dict(details or {}))
    files = []
    for f in sorted(p for p in path.rglob("*") if p.is_file()):
        rel = f.relative_to(path).as_posix()
        files.append(d.ArtifactFile(rel, sha256_file(f), f.stat().st_size))
    files.sort(key=lambda f: f.path)
    manifest = "".join(f"{f.sha256}  {f.path}\n" for f in files)
    return d.Artifact(
        kind,
        uri_from_path(path),
        hashlib.sha256(manifest.encode("utf-8")).hexdigest(),
        sum(f.size_bytes for f in files),
        files,
        dict(details or {}),
    )


@contextlib.contextmanager
def atomic_dir(target: Path) -> Iterator[Path]:
    """Yields a temp directory beside target; renames it to target when the block succeeds and
    removes it when it fails, so target is either absent or complete."""
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.parent / f".tmp-{target.name}-{uuid.uuid4().hex[:8]}"
    tmp.mkdir()
    try:
        yield tmp
        if target.exists():
            shutil.rmtree(target)
        os.rename(tmp, target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


@contextlib.contextmanager
def atomic_file(target: Path) -> Iterator[Path]:
    """Like atomic_dir for a single file."""
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.parent / f".tmp-{target.name}-{uuid.uuid4().hex[:8]}"
    try:
        yield tmp
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        raise
