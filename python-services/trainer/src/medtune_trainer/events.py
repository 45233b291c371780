"""A job's event stream: gap-free sequence numbers from 1, kept in memory and appended to
<job dir>/events.jsonl (flushed per event) so that a restarted worker still serves them."""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path
from typing import Callable, Iterator, Optional

from . import domain as d
from .codec import event_from_json, event_to_json


class EventLog:
    """Append-only, thread-safe; readers block in follow() until new events or the end."""

    def __init__(self, job_id: str, path: Optional[Path], clock: Callable[[], float]):
        self.job_id = job_id
        self._path = path
        self._clock = clock
        self._events: list[d.JobEvent] = []
        self._cond = threading.Condition()
        self._closed = False  # no more events will come from this process (terminal state)
        self._file = None

    @classmethod
    def load(cls, job_id: str, path: Path, clock: Callable[[], float]) -> "EventLog":
        log = cls(job_id, path, clock)
        if path.exists():
            with path.open("r", encoding="utf-8") as f:
                for line in f:
                    line = line.strip()
                    if not line:
                        continue
                    try:
                        log._events.append(event_from_json(json.loads(line)))
                    except (ValueError, KeyError):
                        break  # a torn last line from a crash: keep what is whole
        last = log._events[-1].payload if log._events else None
        log._closed = isinstance(last, d.StateChanged) and last.state.terminal
        return log

    @property
    def last_sequence(self) -> int:
        with self._cond:
            return len(self._events)

    def append(self, attempt: int, payload: d.Payload) -> d.JobEvent:
        with self._cond:
            ev = d.JobEvent(self.job_id, len(self._events) + 1, self._clock(), attempt, payload)
            if self._path is not None:
                if self._file is None:
                    self._path.parent.mkdir(parents=True, exist_ok=True)
                    self._file = self._path.open("a", encoding="utf-8")
                self._file.write(json.dumps(event_to_json(ev), ensure_ascii=False) + "\n")
                self._file.flush()
                os.fsync(self._file.fileno())
            self._events.append(ev)
            if isinstance(payload, d.StateChanged) and payload.state.terminal:
                self._closed = True
            self._cond.notify_all()
            return ev

    def reopen(self) -> None:
        """A new attempt continues the same stream."""
        with self._cond:
            self._closed = False

    def close_file(self) -> None:
        with self._cond:
            if self._file is not None:
                self._file.close()
                self._file = None

    def events(self) -> list[d.JobEvent]:
        with self._cond:
            return list(self._events)

    def follow(self, from_sequence: int, is_active: Callable[[], bool], poll_s: float = 0.5) -> Iterator[d.JobEvent]:
        """Yields events from from_sequence (1-based), then new ones, until the stream is closed
        and drained or is_active() turns false."""
        nxt = max(from_sequence, 1)
        while True:
            with self._cond:
                while nxt > len(self._events) and not self._closed and is_active():
                    self._cond.wait(poll_s)
                batch = self._events[nxt - 1 :]
                done = self._closed and nxt + len(batch) > len(self._events)
            for ev in batch:
                yield ev
            nxt += len(batch)
            if done or not is_active():
                return
