"""Warm start of one-job trainers (warm_start.py) with real processes: the entrypoint
`python -m medtune_trainer.ray_job` starts the node's warm server once, later entrypoints fork
from it, the child's exit status and output are the entrypoint's, Ray's stop (SIGTERM to the
entrypoint) reaches the child, a killed entrypoint takes its child with it, and a different
import-time environment gets a server of its own. The training service is not needed: an
unreachable one makes the trainer wait for its StartJob (MEDTUNE_TRAINER_ONE_JOB_START_TIMEOUT_S)."""

from __future__ import annotations

import os
import re
import signal
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import pytest

from medtune_trainer import warm_start

SRC = Path(__file__).resolve().parents[1] / "src"
CONTRACTS = Path(__file__).resolve().parents[2] / "contracts"


def _env(warm_dir: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MEDTUNE_")}
    env.update(
        PYTHONPATH=f"{SRC}:{CONTRACTS}", MEDTUNE_TRAINER_WARM_DIR=str(warm_dir), MEDTUNE_TRAINER_ONE_JOB="job-1",
        MEDTUNE_TRAINER_WORKER_ID="ray-job-1-1", MEDTUNE_TRAINER_REGISTRY_ADDR="127.0.0.1:1", MEDTUNE_TRAINER_ONE_JOB_START_TIMEOUT_S="1",
    )
    env.update(extra)
    return env


class Entrypoint:
    """`python -m medtune_trainer.ray_job` as Ray runs it, its output collected line by line."""

    def __init__(self, env: dict[str, str]):
        self.lines: list[str] = []
        self.proc = subprocess.Popen([sys.executable, "-m", "medtune_trainer.ray_job"], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        self.reader = threading.Thread(target=lambda: self.lines.extend(self.proc.stdout), daemon=True)
        self.reader.start()

    def wait_for(self, pattern: str, timeout: float = 240) -> re.Match:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for line in list(self.lines):
                if m := re.search(pattern, line):
                    return m
            if self.proc.poll() is not None and not self.reader.is_alive():
                break
            time.sleep(0.1)
        raise AssertionError(f"no {pattern!r} in the entrypoint's output:\n{''.join(self.lines)[-3000:]}")

    def finish(self, timeout: float = 240) -> tuple[int, str]:
        rc = self.proc.wait(timeout)
        self.reader.join(10)
        return rc, "".join(self.lines)

    def phase(self, name: str) -> int:
        return int(self.wait_for(rf"ray_job: phase {name} at (\d+)").group(1))


def _gone(pid: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.1)
    return False


@pytest.fixture()
def warm_dir():
    # Short: a unix socket's path holds 107 bytes (pytest's tmp_path is long enough to need
    # warm_start's fallback beside the temp directory, which test_socket_paths covers).
    d = Path(tempfile.mkdtemp(prefix="mw-", dir="/tmp"))
    yield d
    for lock in d.glob("medtune-warm-*/*.lock"):  # the servers these tests started
        pid = lock.read_text().strip()
        if pid.isdigit():
            try:
                os.kill(int(pid), signal.SIGTERM)
            except ProcessLookupError:
                pass
    shutil.rmtree(d, ignore_errors=True)


def test_entrypoints_fork_from_one_warm_server_and_report_the_childs_exit(warm_dir):
    first = Entrypoint(_env(warm_dir))
    rc, out = first.finish()
    assert rc == 4, out  # "no StartJob within 1 s": the trainer's own exit status, through the server
    assert "starting this node's warm server" in out
    server = first.wait_for(r"child (\d+) of warm server (\d+)").group(2)
    assert "listening on 127.0.0.1:" in out and "no StartJob for job-1 within 1 s" in out  # the child's output is the entrypoint's
    cold_wait = first.phase("listening") - first.phase("process")

    second = Entrypoint(_env(warm_dir))
    rc, out = second.finish()
    assert rc == 4, out
    assert "starting this node's warm server" not in out
    m = second.wait_for(r"child (\d+) of warm server (\d+)")
    assert m.group(2) == server
    assert _gone(int(m.group(1)), 10)
    warm_wait = second.phase("listening") - second.phase("process")
    # The first waited for the server's imports (torch, transformers, peft, trl); the second forks.
    assert warm_wait < cold_wait / 2, (warm_wait, cold_wait)

    other = Entrypoint(_env(warm_dir, HF_HOME=str(warm_dir / "hf")))  # read by transformers at import
    rc, out = other.finish()
    assert rc == 4, out
    assert other.wait_for(r"child (\d+) of warm server (\d+)").group(2) != server
    assert len(list(warm_dir.glob("medtune-warm-*/*.sock"))) == 2


def test_sigterm_reaches_the_child_and_a_killed_entrypoint_takes_its_child(warm_dir):
    env = _env(warm_dir, MEDTUNE_TRAINER_ONE_JOB_START_TIMEOUT_S="300")
    stopped = Entrypoint(env)
    child = int(stopped.wait_for(r"child (\d+) of warm server").group(1))
    stopped.wait_for("listening on")
    stopped.proc.send_signal(signal.SIGTERM)  # Ray's stop of the job
    rc, out = stopped.finish(120)
    assert rc == 0, out  # the trainer's own stop path (SIGTERM -> shut down), not a kill
    assert _gone(child, 30)

    killed = Entrypoint(env)
    child = int(killed.wait_for(r"child (\d+) of warm server").group(1))
    killed.wait_for("listening on")
    killed.proc.kill()  # the entrypoint lost (its node's raylet killed, Ray's SIGKILL)
    killed.finish(60)
    assert _gone(child, 30), "the warm child outlived its entrypoint"


def test_a_directory_others_can_read_is_refused_and_the_job_starts_cold(tmp_path, monkeypatch):
    d = tmp_path / "warm"
    (d / f"medtune-warm-{os.getuid()}").mkdir(parents=True)
    (d / f"medtune-warm-{os.getuid()}").chmod(0o755)
    monkeypatch.setenv("MEDTUNE_TRAINER_WARM_DIR", str(d))
    said: list[str] = []
    assert warm_start.run(time.time(), said.append) is None
    assert "mode 0700" in said[0] and "starting cold" in said[0]


def test_socket_paths(tmp_path):
    env = {"MEDTUNE_TRAINER_WARM_DIR": str(tmp_path / ("d" * 90))}
    long = warm_start.socket_path(env)
    assert len(os.fsencode(long)) <= 107 and long.name.endswith(".sock")
    assert long.parent.stat().st_mode & 0o777 == 0o700
    assert warm_start.socket_path(env) == long  # stable
    assert warm_start.socket_path({**env, "HF_HOME": "/x"}) != long  # import-time settings are part of the key
    assert warm_start.socket_path({**env, "CUDA_VISIBLE_DEVICES": "1"}) == long  # read when CUDA starts, in the child
    assert warm_start.socket_path({**env, "MEDTUNE_TRAINER_ONE_JOB": "other"}) == long
