"""The s3:// model cache's cap: least recently used entries go first, pinned (in use) ones never."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from medtune_trainer.s3_cache import DEFAULT_MAX_BYTES, MARK, S3Cache, max_bytes_from_env, parse_size


class Clock:
    def __init__(self):
        self.t = 1_700_000_000.0

    def __call__(self) -> float:
        self.t += 10
        return self.t


def _entry(cache: S3Cache, name: str, size: int) -> None:
    p = cache.path_of(name) / "model"
    p.mkdir(parents=True)
    (p / "weights.bin").write_bytes(b"x" * size)
    cache.touch(name)


def names(cache: S3Cache) -> list[str]:
    return [e[0] for e in cache.entries()]


def test_sizes_parse_and_a_bad_one_names_the_setting():
    assert parse_size("1234") == 1234
    assert parse_size("64GiB") == 64 << 30
    assert parse_size("500MB") == 500_000_000
    assert parse_size("1.5 KiB") == 1536
    assert max_bytes_from_env({}) == DEFAULT_MAX_BYTES
    assert max_bytes_from_env({"MEDTUNE_TRAINER_S3_CACHE_MAX_BYTES": "0"}) == 0
    with pytest.raises(ValueError, match=r"^MEDTUNE_TRAINER_S3_CACHE_MAX_BYTES: must be a size"):
        max_bytes_from_env({"MEDTUNE_TRAINER_S3_CACHE_MAX_BYTES": "lots"})


def test_least_recently_used_goes_first_and_a_use_moves_an_entry_to_the_back(tmp_path: Path):
    cache = S3Cache(tmp_path / "c", max_bytes=250, clock=Clock())
    for n in ("a", "b", "c"):
        _entry(cache, n, 100)
    cache.touch("a")  # a used last: b is now the oldest
    assert names(cache) == ["b", "c", "a"]
    assert cache.evict() == ["b"]
    assert names(cache) == ["c", "a"]
    assert not (tmp_path / "c" / "b").exists()
    assert (tmp_path / "c" / "a" / MARK).is_file()
    assert cache.evict() == []  # within the cap


def test_a_pinned_entry_is_never_evicted_even_over_the_cap(tmp_path: Path, caplog):
    cache = S3Cache(tmp_path / "c", max_bytes=150, clock=Clock())
    for n in ("a", "b", "c"):
        _entry(cache, n, 100)
    cache.pin("a")
    cache.pin("c")
    assert cache.evict() == ["b"]  # the oldest unpinned
    with caplog.at_level(logging.WARNING, logger="medtune_trainer.s3_cache"):
        assert cache.evict() == []
    assert "over the cap" in caplog.text
    assert names(cache) == ["a", "c"]
    cache.unpin("a")
    assert cache.evict() == ["a"]
    cache.pin("c")
    cache.unpin("c")
    assert cache.pinned() == {"c"}  # pins count


def test_no_cap_never_evicts(tmp_path: Path):
    cache = S3Cache(tmp_path / "c", max_bytes=0, clock=Clock())
    for n in ("a", "b"):
        _entry(cache, n, 100)
    assert cache.evict() == []
    assert names(cache) == ["a", "b"]
