"""Rows in: a local JSONL (or JSON array) file, or the dataset service's StreamRows (resumed by
offset when the stream breaks). Produces training texts exactly as the seed does: the template's
train form + the tokenizer's EOS."""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import grpc

from . import domain as d
from .errors import FailedPrecondition, InvalidArgument, Unavailable
from .security import open_channel
from .template import BUILTIN, Template

log = logging.getLogger(__name__)


@dataclass
class TextRow:
    """One training text and where it came from (1-based line or source row number)."""

    text: str
    source_row: int


def template_for(src: d.LocalJsonlSource) -> Template:
    if src.template_formats:
        inference, train = src.template_formats
        if "{question}" not in train or "{response}" not in train:
            raise InvalidArgument("spec.local_jsonl.template.train_format", "must contain {question} and {response}")
        return Template(src.template_name or "custom", inference, train)
    if src.template_name not in BUILTIN:
        raise InvalidArgument("spec.local_jsonl.template.name", f"unknown template {src.template_name!r}; builtin: {', '.join(BUILTIN)}")
    return BUILTIN[src.template_name]


def read_local(src: d.LocalJsonlSource, eos_token: str) -> list[TextRow]:
    """Reads a JSONL file (or a JSON array) of {"text"} or {Question, Complex_CoT, Response}."""
    field = "spec.local_jsonl.path"
    path = Path(src.path)
    if not src.path or not path.is_absolute():
        raise InvalidArgument(field, f"must be an absolute path on the worker (got {src.path!r})")
    if not path.is_file():
        raise InvalidArgument(field, f"no such file on the worker: {src.path}")
    template = template_for(src)
    raw = path.read_text(encoding="utf-8")
    if raw.lstrip().startswith("["):
        try:
            items = list(enumerate(json.loads(raw), start=1))
        except json.JSONDecodeError as e:
            raise InvalidArgument(field, f"{src.path} is not valid JSON: {e}") from e
    else:
        items = []
        for n, line in enumerate(raw.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                items.append((n, json.loads(line)))
            except json.JSONDecodeError as e:
                raise InvalidArgument(field, f"{src.path} line {n}: not valid JSON ({e.msg})") from e
    rows = []
    for n, obj in items:
        if not isinstance(obj, dict):
            raise InvalidArgument(field, f"{src.path} row {n}: expected an object")
        if isinstance(obj.get("text"), str):
            rows.append(TextRow(obj["text"], n))
            continue
        missing = [k for k in ("Question", "Complex_CoT", "Response") if not isinstance(obj.get(k), str)]
        if missing:
            raise InvalidArgument(field, f"{src.path} row {n}: needs \"text\" or Question/Complex_CoT/Response (missing {', '.join(missing)})")
        rows.append(TextRow(template.train_text(obj["Question"], obj["Complex_CoT"], obj["Response"], eos_token), n))
    return rows


def stream_dataset(
    src: d.DatasetSource,
    split: int,
    *,
    max_rows: int = 0,
    retries: int = 5,
    deadline_s: float = 300.0,
    sleep: Callable[[float], None] = time.sleep,
) -> list[TextRow]:
    """All rows of a version's split, in order, from the dataset service; a broken stream is
    resumed from the next offset (retryable codes only)."""
    from medtune.dataset.v1 import dataset_pb2 as ds
    from medtune.dataset.v1 import dataset_pb2_grpc as ds_grpc

    if not src.address:
        raise InvalidArgument("spec.dataset.address", "required")
    if not src.version_digest:
        raise InvalidArgument("spec.dataset.version_digest", "required")
    metadata = [("authorization", f"Bearer {src.auth_token}")] if src.auth_token else None
    rows: list[TextRow] = []
    attempt = 0
    with open_channel(src.address, None) as ch:
        stub = ds_grpc.DatasetServiceStub(ch)
        while True:
            try:
                limit = max(max_rows - len(rows), 0) if max_rows else 0
                req = ds.StreamRowsRequest(digest=src.version_digest, split=split, offset=len(rows), limit=limit)
                for resp in stub.StreamRows(req, metadata=metadata, timeout=deadline_s):
                    rows.append(TextRow(resp.row.text, int(resp.row.source_row or resp.row.index + 1)))
                    attempt = 0
                    if max_rows and len(rows) >= max_rows:
                        return rows
                return rows
            except grpc.RpcError as e:
                code = e.code()
                if code == grpc.StatusCode.NOT_FOUND:
                    raise FailedPrecondition(f"dataset version {src.version_digest} not found at {src.address}: {e.details()}") from e
                if code == grpc.StatusCode.OUT_OF_RANGE and rows:
                    return rows  # offset == size: nothing more
                if code in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED, grpc.StatusCode.RESOURCE_EXHAUSTED, grpc.StatusCode.ABORTED, grpc.StatusCode.INTERNAL) and attempt < retries:
                    attempt += 1
                    delay = min(0.2 * 2**attempt, 5.0)
                    log.warning("dataset stream broke; resuming", extra={"offset": len(rows), "code": code.name, "delay_s": delay})
                    sleep(delay)
                    continue
                if code == grpc.StatusCode.UNAVAILABLE:
                    raise Unavailable(f"dataset service at {src.address} is unavailable: {e.details()}") from e
                if code in (grpc.StatusCode.UNAUTHENTICATED, grpc.StatusCode.PERMISSION_DENIED):
                    raise FailedPrecondition(f"dataset service at {src.address} refused the worker: {e.details()}") from e
                raise FailedPrecondition(f"dataset service at {src.address} failed: {code.name} {e.details()}") from e


