"""One job on N GPUs: the worker launches N ranks with torchrun (one process per GPU, DDP over
NCCL; gloo processes on CPU) and relays rank 0's events into the job's stream.

Parent side (`run_job`, on the job's thread in the worker): writes the job's inputs into
<job_dir>/.ranks-<attempt>/launch.pkl, starts `python -m torch.distributed.run --standalone
--nproc-per-node N -m medtune_trainer.launcher <dir>` in its own session, tails
<dir>/events.jsonl (written by rank 0 only: no duplicated points), and turns a cancel or a
shutdown into <dir>/stop, which every rank reads at each optimizer step; the ranks agree through
an all-reduce, so all of them stop at the same step and rank 0 saves the checkpoint.

Rank side (`rank_main`): loads the model on its own device (device_map {"": local_rank}),
chooses the execution plan with the other ranks (plan.py), trains through the shared loop
(backends/common.py), and rank 0 writes the artifacts (Runner._export) once.

Failure: torchrun ends every rank when one dies (max restarts 0) and exits non-zero, which fails
the job; collectives time out after backends.common.DDP_TIMEOUT_S; a rank whose worker process
is gone stops at the next step with a checkpoint.
"""

from __future__ import annotations

import json
import logging
import os
import pickle
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any, Optional

from . import domain as d
from .codec import _PAYLOADS, from_jsonable, to_jsonable  # payload classes by name, as events.jsonl

log = logging.getLogger(__name__)
LOG_TAIL_BYTES = 4000


def wanted(spec: d.JobSpec) -> bool:
    """Several ranks always go through the launcher; one rank only when asked
    (MEDTUNE_TRAINER_LAUNCHER=always, used by bench/gpu to show that the launcher costs nothing)."""
    return spec.hyperparameters.gpus > 1 or os.environ.get("MEDTUNE_TRAINER_LAUNCHER", "") == "always"


def ranks_available() -> int:
    """GPUs on this worker, or CPU processes where there is no GPU (gloo)."""
    import torch

    if torch.cuda.is_available():
        return torch.cuda.device_count()
    return max(os.cpu_count() or 1, 1)


# -- parent side ------------------------------------------------------------------------------
def run_job(job, prepared, *, poll_s: float = 0.1) -> d.StateChanged:
    """Runs the job's ranks to the end; returns the terminal state (see module comment)."""
    spec = job.spec
    n = spec.hyperparameters.gpus
    rdir = job.job_dir / f".ranks-{job.attempt}"
    shutil.rmtree(rdir, ignore_errors=True)
    rdir.mkdir(parents=True)
    with open(rdir / "launch.pkl", "wb") as f:
        pickle.dump(
            {
                "spec": to_jsonable(spec),
                "input_ids": prepared.input_ids,
                "backend": prepared.backend.value,
                "job_id": job.job_id,
                "job_dir": str(job.job_dir),
                "worker_pid": os.getpid(),
            },
            f,
        )
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in sys.path if p) + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    import torch

    if not torch.cuda.is_available():
        env.setdefault("OMP_NUM_THREADS", str(max((os.cpu_count() or 1) // n, 1)))
    cmd = [
        sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc-per-node={n}", "--max-restarts=0",
        "-m", "medtune_trainer.launcher", str(rdir),
    ]
    out = open(rdir / "ranks.log", "wb")
    proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, env=env, start_new_session=True, cwd=str(job.job_dir))
    log.info("ranks started", extra={"job_id": job.job_id, "ranks": n, "pid": proc.pid})
    events = rdir / "events.jsonl"
    pos = 0
    final: dict[str, Any] = {}
    stop_written = False
    try:
        while True:
            alive = proc.poll() is None
            if events.exists():
                with open(events, "rb") as f:
                    f.seek(pos)
                    chunk = f.read()
                # Only whole lines: rank 0 may be writing the next one.
                end = chunk.rfind(b"\n") + 1
                pos += end
                for line in chunk[:end].splitlines():
                    rec = json.loads(line)
                    if "type" in rec:
                        job.emit(from_jsonable(_PAYLOADS[rec["type"]], rec["payload"]))
                    else:
                        final.update(rec)
            if not alive:
                break
            if not stop_written and (job.cancel.is_set() or job.interrupt.is_set()):
                (rdir / "stop").write_text("interrupt" if job.interrupt.is_set() else "cancel")
                stop_written = True
            time.sleep(poll_s)
    except BaseException:
        _kill(proc)
        raise
    finally:
        out.close()
    return _terminal(proc.returncode, final, rdir)


def _kill(proc: subprocess.Popen, grace_s: float = 20.0) -> None:
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(grace_s)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def _terminal(rc: int, final: dict, rdir: Path) -> d.StateChanged:
    status = final.get("status")
    if rc == 0 and status == "interrupted":
        return d.StateChanged(d.JobState.INTERRUPTED, f"worker shutdown; checkpoint at step {final['step']}")
    if rc == 0 and status == "cancelled":
        return d.StateChanged(d.JobState.CANCELLED, f"cancelled; checkpoint at step {final['step']}")
    if rc == 0 and final.get("done"):
        return d.StateChanged(d.JobState.SUCCEEDED, f"trained {final['step']} steps in {final['runtime_s']:.1f} s on {final['ranks']} ranks")
    if "failure" in final:
        f = from_jsonable(d.Failure, final["failure"])
        return d.StateChanged(d.JobState.FAILED, f.message, f)
    tail = (rdir / "ranks.log").read_bytes()[-LOG_TAIL_BYTES:].decode("utf-8", "replace")
    oom = "OutOfMemoryError" in tail or "CUDA out of memory" in tail
    cls = d.FailureClass.RESOURCE if oom else d.FailureClass.PLATFORM
    msg = "a rank ran out of memory" if oom else f"a rank of the job failed (torchrun exit status {rc}); the other ranks were stopped"
    log.error("ranks failed", extra={"rc": rc, "tail": tail})
    return d.StateChanged(d.JobState.FAILED, msg, d.Failure(cls, msg, tail))


# -- rank side --------------------------------------------------------------------------------
class _Relay:
    """Rank 0's channel to the worker: one JSON line per event, flushed at once."""

    def __init__(self, path: Path):
        self._f = open(path, "a", encoding="utf-8")
        self._lock = threading.Lock()

    def write(self, rec: dict) -> None:
        with self._lock:
            self._f.write(json.dumps(rec, ensure_ascii=False) + "\n")
            self._f.flush()

    def emit(self, payload: d.Payload) -> None:
        self.write({"type": type(payload).__name__, "payload": to_jsonable(payload)})


class _RelayJob:
    """What Runner._export needs of a job, relaying its events."""

    def __init__(self, job_id: str, spec: d.JobSpec, job_dir: Path, relay: Optional[_Relay]):
        self.job_id, self.spec, self.job_dir, self._relay = job_id, spec, job_dir, relay

    def emit(self, payload: d.Payload) -> None:
        if self._relay is not None:
            self._relay.emit(payload)


class _StopWatch:
    """Sets cancel / interrupt from the stop file, from SIGTERM, or when the worker is gone."""

    def __init__(self, rdir: Path, worker_pid: int):
        self.cancel, self.interrupt = threading.Event(), threading.Event()
        self._file, self._pid = rdir / "stop", worker_pid
        threading.Thread(target=self._loop, daemon=True, name="stop-watch").start()

    def refresh(self) -> None:
        if self._file.exists():
            (self.interrupt if self._file.read_text().strip() == "interrupt" else self.cancel).set()
        try:
            os.kill(self._pid, 0)
        except ProcessLookupError:
            self.interrupt.set()

    def _loop(self) -> None:
        while not (self.cancel.is_set() or self.interrupt.is_set()):
            self.refresh()
            time.sleep(0.2)


def rank_main(rdir: Path) -> int:
    cfg = pickle.loads((rdir / "launch.pkl").read_bytes())
    backend_name = d.BackendName(cfg["backend"])
    if backend_name == d.BackendName.UNSLOTH:
        import unsloth  # noqa: F401  (first: it patches transformers, TRL and peft)
    import torch
    import torch.distributed as dist

    from .backends import selection as backends
    from .backends.common import DDP_TIMEOUT_S, RunHooks, train
    from .plan import prepare_with_plan

    rank, local_rank, world = int(os.environ["RANK"]), int(os.environ["LOCAL_RANK"]), int(os.environ["WORLD_SIZE"])
    (rdir / f"rank-{rank}.pid").write_text(str(os.getpid()))
    cuda = torch.cuda.is_available()
    if cuda:
        torch.cuda.set_device(local_rank)
    import datetime

    dist.init_process_group("nccl" if cuda else "gloo", timeout=datetime.timedelta(seconds=DDP_TIMEOUT_S))
    dev = torch.device("cuda", local_rank) if cuda else torch.device("cpu")
    spec = from_jsonable(d.JobSpec, cfg["spec"])
    relay = _Relay(rdir / "events.jsonl") if rank == 0 else None
    watch = _StopWatch(rdir, cfg["worker_pid"])
    signal.signal(signal.SIGTERM, lambda *_: watch.interrupt.set())
    signal.signal(signal.SIGINT, lambda *_: watch.interrupt.set())

    def reduce(flag: bool, op) -> bool:
        t = torch.tensor([1 if flag else 0], device=dev)
        dist.all_reduce(t, op=op)
        return bool(t.item())

    def any_rank(stop: bool) -> bool:
        if reduce(stop, dist.ReduceOp.MAX):
            watch.refresh()  # the stop file was written before any rank saw it
            if not (watch.cancel.is_set() or watch.interrupt.is_set()):
                watch.interrupt.set()  # another rank's SIGTERM or lost worker
            return True
        return False

    def all_tokens(n: int) -> int:
        t = torch.tensor([n], dtype=torch.int64, device=dev)
        dist.all_reduce(t)
        return int(t.item())

    def emit(payload) -> None:
        if relay is not None:
            relay.emit(payload)

    try:
        job_dir = Path(cfg["job_dir"])
        os.environ.setdefault("MEDTUNE_TRAINER_LOCAL_RANK", str(local_rank))
        backend = backends.make(backend_name)
        notify = (lambda level, code, msg: emit(d.Notice(level, code, msg))) if rank == 0 else (lambda *a: None)
        tp, chosen, run_spec = prepare_with_plan(backend, spec, cfg["input_ids"], notify, agree=lambda ok: not reduce(not ok, dist.ReduceOp.MAX))
        emit(chosen)
        from .runner import fetch_resume, publish_checkpoint
        from .storage import JobStore

        store = JobStore(spec.artifact_root, cfg["job_id"])

        def on_checkpoint(step: int, path: Path) -> None:
            if rank == 0 and path.is_dir():
                emit(publish_checkpoint(store, step, path, {"ranks": str(world)}))

        hooks = RunHooks(
            cancel=watch.cancel,
            interrupt=watch.interrupt,
            on_running=lambda: emit(d.StateChanged(d.JobState.RUNNING, f"training on {world} ranks")),
            on_progress=emit,
            on_metrics=lambda step, epoch, values: emit(d.MetricsLogged(step, epoch, values)),
            on_checkpoint=on_checkpoint,
            any_rank=any_rank,
            all_ranks_tokens=all_tokens,
        )
        resume = fetch_resume(spec, job_dir)  # the worker fetched an s3:// one already: the local copy
        outcome = train(backend, tp, run_spec, cfg["input_ids"], job_dir / "checkpoints", hooks, resume)
        dist.barrier()
        dist.destroy_process_group()
        if rank != 0:
            return 0
        assert relay is not None
        relay.write({"status": outcome.status, "step": outcome.step, "runtime_s": outcome.train_runtime_s, "ranks": world})
        if outcome.status == "completed":
            from .gguf_export import export_gguf
            from .runner import Runner, TokenizerCache

            emit(d.StateChanged(d.JobState.UPLOADING, "saving artifacts"))
            model = tp.loaded.model
            tp.loaded.model = getattr(model, "module", model)  # the DDP wrapper, if the trainer left it
            Runner(TokenizerCache(), gguf_export=export_gguf)._export(_RelayJob(cfg["job_id"], spec, job_dir, relay), backend, tp.loaded)
            relay.write({"done": True})
        return 0
    except BaseException as e:  # noqa: BLE001 - the worker gets the class, the log the detail
        from .runner import classify

        log.exception("rank %s failed", rank)
        if relay is not None:
            failure = classify(e)
            if world > 1 and _peer_lost(e):
                failure = d.Failure(d.FailureClass.PLATFORM, "a rank of the job failed or became unreachable; every rank was stopped", failure.detail)
            relay.write({"failure": to_jsonable(failure)})
        return 1


def _peer_lost(e: BaseException) -> bool:
    """An error of a collective whose peer is gone (gloo / NCCL), rather than this rank's own."""
    import torch.distributed as dist

    text = str(e)
    return isinstance(e, getattr(dist, "DistError", ())) or any(s in text for s in ("Connection closed by peer", "NCCL", "gloo", "Connection reset"))


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="rank %(process)d %(levelname)s %(name)s: %(message)s")
    sys.exit(rank_main(Path(sys.argv[1])))
