"""The worker's cache of s3:// models (Generate / EvaluateLoss on a registered s3:// URI), with a
size cap and least-recently-used eviction that never removes a model in use.

Layout: `<cache>/<entry>/<name>`, one entry per artifact version (storage.local_artifact names it
by the URI and its manifest sha256, or a single object's ETag and size). Each entry holds a
`.medtune-last-used` marker whose mtime is its last use (so the order survives a restart).

In use = pinned: a fetch pins its entry before it starts (so a concurrent eviction cannot remove a
half-fetched directory) and the caller keeps the pin while the model is loaded (inference.py holds
the pins of its loaded model until it loads another or is cleared). After each fetch, entries are
evicted oldest-use first until the cache is within the cap; pinned entries are skipped, so a cap
smaller than the models in use is exceeded (logged), never enforced by deleting them.

Setting: MEDTUNE_TRAINER_S3_CACHE_MAX_BYTES (bytes, or with a K/M/G/T[i]B suffix: `40GiB`; 0 = no
cap; default 64 GiB).
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import threading
import time
import uuid
from pathlib import Path
from typing import Mapping, Optional

log = logging.getLogger("medtune_trainer.s3_cache")

MARK = ".medtune-last-used"
DEFAULT_MAX_BYTES = 64 << 30
SETTING = "MEDTUNE_TRAINER_S3_CACHE_MAX_BYTES"
_UNITS = {"": 1, "k": 10**3, "m": 10**6, "g": 10**9, "t": 10**12, "ki": 1 << 10, "mi": 1 << 20, "gi": 1 << 30, "ti": 1 << 40}


def parse_size(text: str, setting: str = SETTING) -> int:
    """`1234`, `40GiB`, `500MB` → bytes; ValueError naming the setting otherwise."""
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([kKmMgGtT]i?)?[bB]?\s*", text)
    if not m:
        raise ValueError(f"{setting}: must be a size in bytes, e.g. 68719476736 or 64GiB (got {text!r})")
    return int(float(m.group(1)) * _UNITS[(m.group(2) or "").lower()])


def max_bytes_from_env(env: Mapping[str, str] = os.environ) -> int:
    raw = env.get(SETTING, "")
    return parse_size(raw) if raw.strip() else DEFAULT_MAX_BYTES


def _size_of(path: Path) -> int:
    total = 0
    for dirpath, _dirs, files in os.walk(path):
        for f in files:
            try:
                total += os.lstat(os.path.join(dirpath, f)).st_size
            except OSError:
                pass
    return total


class S3Cache:
    def __init__(self, root: Path, max_bytes: int = DEFAULT_MAX_BYTES, clock=time.time):
        self.root = root
        self.max_bytes = max_bytes
        self._clock = clock
        self._lock = threading.Lock()
        self._pins: dict[str, int] = {}

    def path_of(self, entry: str) -> Path:
        return self.root / entry

    def pin(self, entry: str) -> None:
        with self._lock:
            self._pins[entry] = self._pins.get(entry, 0) + 1

    def unpin(self, entry: str) -> None:
        with self._lock:
            n = self._pins.get(entry, 0) - 1
            if n > 0:
                self._pins[entry] = n
            else:
                self._pins.pop(entry, None)

    def pinned(self) -> set[str]:
        with self._lock:
            return set(self._pins)

    def touch(self, entry: str) -> None:
        """Marks the entry used now."""
        mark = self.path_of(entry) / MARK
        mark.parent.mkdir(parents=True, exist_ok=True)
        mark.touch()
        now = self._clock()
        os.utime(mark, (now, now))

    def entries(self) -> list[tuple[str, float, int]]:
        """(entry, last use, bytes) of every entry, least recently used first."""
        out = []
        if not self.root.is_dir():
            return out
        for p in self.root.iterdir():
            if not p.is_dir() or p.name.startswith(".evict-"):
                continue
            mark = p / MARK
            try:
                used = mark.stat().st_mtime
            except OSError:
                used = p.stat().st_mtime
            out.append((p.name, used, _size_of(p)))
        out.sort(key=lambda e: e[1])
        return out

    def evict(self) -> list[str]:
        """Removes least recently used unpinned entries until the cache is within the cap; returns them."""
        if self.max_bytes <= 0:
            return []
        with self._lock:
            entries = self.entries()
            total = sum(size for _, _, size in entries)
            removed: list[str] = []
            for name, _used, size in entries:
                if total <= self.max_bytes:
                    break
                if name in self._pins:
                    continue
                # Renamed first, so nothing ever reads a half-removed entry under its name.
                doomed = self.root / f".evict-{name}-{uuid.uuid4().hex[:6]}"
                try:
                    os.rename(self.path_of(name), doomed)
                except OSError:
                    continue
                shutil.rmtree(doomed, ignore_errors=True)
                total -= size
                removed.append(name)
            if removed:
                log.info("s3 cache: evicted %d least recently used model(s), %d bytes left (cap %d)", len(removed), total, self.max_bytes)
            if total > self.max_bytes:
                log.warning("s3 cache: %d bytes is over the cap of %d (%s) but the rest is in use", total, self.max_bytes, SETTING)
            return removed
