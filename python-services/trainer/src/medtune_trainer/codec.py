"""JSON form of domain dataclasses, for the job's files (events.jsonl, job.json) that let a
restarted worker serve its past jobs."""

from __future__ import annotations

import dataclasses
import enum
import typing
from typing import Any, Union

from . import domain as d

_PAYLOADS = {cls.__name__: cls for cls in typing.get_args(d.Payload)}


def to_jsonable(obj: Any) -> Any:
    if dataclasses.is_dataclass(obj):
        out = {f.name: to_jsonable(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
        return out
    if isinstance(obj, enum.Enum):
        return obj.value
    if isinstance(obj, (list, tuple)):
        return [to_jsonable(v) for v in obj]
    if isinstance(obj, dict):
        return {k: to_jsonable(v) for k, v in obj.items()}
    return obj


def from_jsonable(tp: Any, data: Any) -> Any:
    origin = typing.get_origin(tp)
    if data is None:
        return None
    if origin is Union:
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        if len(args) == 1:
            return from_jsonable(args[0], data)
        for a in args:  # unions of dataclasses: pick by fields
            if dataclasses.is_dataclass(a) and set(data) == {f.name for f in dataclasses.fields(a)}:
                return from_jsonable(a, data)
        raise ValueError(f"cannot decode {data!r} as {tp}")
    if origin in (list, tuple):
        (inner, *_) = typing.get_args(tp) or (Any,)
        vals = [from_jsonable(inner, v) for v in data]
        return tuple(vals) if origin is tuple else vals
    if origin is dict:
        _, vt = typing.get_args(tp)
        return {k: from_jsonable(vt, v) for k, v in data.items()}
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        return tp(data)
    if dataclasses.is_dataclass(tp):
        hints = typing.get_type_hints(tp)
        return tp(**{f.name: from_jsonable(hints[f.name], data[f.name]) for f in dataclasses.fields(tp) if f.name in data})
    if tp is float:
        return float(data)
    return data


def event_to_json(e: d.JobEvent) -> dict:
    return {
        "job_id": e.job_id,
        "sequence": e.sequence,
        "time": e.time,
        "attempt": e.attempt,
        "type": type(e.payload).__name__,
        "payload": to_jsonable(e.payload),
    }


def event_from_json(data: dict) -> d.JobEvent:
    cls = _PAYLOADS[data["type"]]
    return d.JobEvent(data["job_id"], data["sequence"], data["time"], data["attempt"], from_jsonable(cls, data["payload"]))
