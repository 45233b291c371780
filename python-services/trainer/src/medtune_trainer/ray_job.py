"""python -m medtune_trainer.ray_job: the trainer for exactly one job attempt, as the entrypoint of
a Ray job (the training service's Ray executor submits it; see
apps/training-service/src/core/executors/ray.ts).

It is the ordinary worker (same server, runner and event log) with three differences:
- it registers with the training service under the Ray submission id (MEDTUNE_TRAINER_WORKER_ID)
  and reports exactly the GPUs Ray gave it, so the scheduler places that one job on it and sends
  the usual StartJob; events, re-attach, cancel and recovery then take the registered-worker path;
- it exits once the training service has recorded the job's end (a heartbeat answer names the job
  after it ended here), so Ray frees the GPUs; or when no StartJob came within
  MEDTUNE_TRAINER_ONE_JOB_START_TIMEOUT_S (default 600) — the job moved on without it;
- it exits at once when its parent (Ray's job supervisor) is gone, e.g. its node's raylet was
  killed: its heartbeats stop, the training service declares it lost and resumes the job elsewhere
  from its last checkpoint. Ray never restarts it (the training service owns retries).

By default it runs as a child forked from the node's warm server (warm_start.py), which imported
torch / transformers / peft / trl once: this process stays the Ray job's process (its output, exit
status and Ray's stop signal are the child's) and the job skips the ~10-20 s import of a fresh
process. MEDTUNE_TRAINER_WARM_START=0 keeps every attempt in a process of its own from the start.

Environment (set by the executor; never a secret, since Ray stores a submission's environment):
MEDTUNE_TRAINER_WORKER_ID, MEDTUNE_TRAINER_REGISTRY_ADDR, MEDTUNE_TRAINER_ONE_JOB,
MEDTUNE_TRAINER_ONE_JOB_ATTEMPT, MEDTUNE_TRAINER_GPU_COUNT. Credentials (MEDTUNE_TRAINER_AUTH_TOKEN or
MEDTUNE_TRAINER_TOKEN_FILE, AWS_* / MEDTUNE_S3_*) and TLS settings come from the Ray node's own
environment, read by WorkerConfig.from_env and storage.ObjectStore exactly as for a registered worker.
"""

from __future__ import annotations

import time

_T0 = time.time()  # before any other import: the profile's "process" mark

import logging  # noqa: E402
import os  # noqa: E402
import signal  # noqa: E402
import socket  # noqa: E402
import sys  # noqa: E402
import threading  # noqa: E402
from dataclasses import replace  # noqa: E402

from .config import WorkerConfig  # noqa: E402
from .warm_start import _alive, _parent_of  # noqa: E402  (stdlib only)

log = logging.getLogger("medtune_trainer.ray_job")

# What a training attempt imports (backends/hf.py, common.py, runner.py), which a fresh process pays
# for once (the warm registered worker paid it before its first job): imported on a thread first
# thing, overlapping the gRPC server's start, and finished before the trainer registers, so the
# StartJob that follows finds them loaded (and no job thread ever imports them concurrently with
# this one: two threads importing the same libraries can deadlock on their module locks).
WARM_IMPORTS = (
    ("torch", ()),
    ("transformers", ("AutoTokenizer", "AutoModelForCausalLM", "Trainer", "TrainerCallback")),
    ("peft", ("LoraConfig", "get_peft_model", "PeftModel")),
    ("trl", ("SFTTrainer", "SFTConfig")),
    ("datasets", ("Dataset",)),
)


def _mark(phase: str) -> None:
    """A profile line in the Ray job's driver log (bench/ray reads them): `ray_job: phase P at MS`."""
    print(f"ray_job: phase {phase} at {int(time.time() * 1000)}", flush=True)


def _warm() -> None:
    import importlib

    for name, attrs in WARM_IMPORTS:
        try:
            mod = importlib.import_module(name)
            for a in attrs:  # transformers and peft load these lazily, on first access
                getattr(mod, a)
        except Exception as e:  # noqa: BLE001 - a missing optional library fails later, where it is used
            print(f"ray_job: warm import of {name} failed: {e}", file=sys.stderr, flush=True)
    _mark("imports-warm")


def _local_ip_towards(addr: str) -> str:
    """The address of this node on the route to the training service (what it can dial back)."""
    host = addr.rsplit(":", 1)[0].strip("[]")
    if host in ("127.0.0.1", "localhost", "::1"):
        return "127.0.0.1"
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.connect((host, 9))
            return s.getsockname()[0]
    except OSError:
        return socket.gethostbyname(socket.gethostname())


def main(watch: list[int] | None = None, t0: float | None = None, warm: bool = False) -> int:
    """The one-job trainer. `warm`: this is a child of the node's warm server (warm_start.py),
    which has imported the libraries already; `watch` are the pids whose end ends this trainer (the
    entrypoint process, its shell and Ray's supervisor); `t0` the entrypoint's start."""
    env = os.environ
    job_id = env.get("MEDTUNE_TRAINER_ONE_JOB", "")
    registry = env.get("MEDTUNE_TRAINER_REGISTRY_ADDR", "") or env.get("MEDTUNE_TRAINER_TRAINING_ADDR", "")
    if not job_id or not registry or not env.get("MEDTUNE_TRAINER_WORKER_ID"):
        print("ray_job: MEDTUNE_TRAINER_ONE_JOB, MEDTUNE_TRAINER_WORKER_ID and MEDTUNE_TRAINER_REGISTRY_ADDR are required", file=sys.stderr)
        return 2
    if not warm:
        print(f"ray_job: phase process at {int(_T0 * 1000)}", flush=True)
        from . import warm_start

        if warm_start.enabled(env):
            code = warm_start.run(_T0, lambda m: print(m, file=sys.stderr, flush=True))
            if code is not None:
                return code
    else:
        _mark("forked")
    warm_thread = threading.Thread(target=_warm, name="warm-imports", daemon=True)
    if not warm and env.get("MEDTUNE_TRAINER_WARM_IMPORTS", "1") != "0":
        warm_thread.start()
    from .registration import Registrar
    from .server import build

    gpus = int(env.get("MEDTUNE_TRAINER_GPU_COUNT", "1") or 1)
    start_timeout_s = float(env.get("MEDTUNE_TRAINER_ONE_JOB_START_TIMEOUT_S", "600"))
    cfg = WorkerConfig.from_env(env)
    host = env.get("MEDTUNE_TRAINER_ADVERTISE_HOST") or _local_ip_towards(registry)
    cfg = replace(cfg, grpc_addr=f"{'127.0.0.1' if host == '127.0.0.1' else '0.0.0.0'}:0", training_addr=registry)
    logging.basicConfig(
        level=getattr(logging, cfg.log_level.upper(), logging.INFO),
        format='{"time":"%(asctime)s","level":"%(levelname)s","component":"%(name)s","msg":"%(message)s"}',
        stream=sys.stderr,
    )
    # The shell Ray runs the entrypoint in, and Ray's supervisor above it: when either is gone,
    # so is the Ray job this process belongs to.
    parent = os.getppid()
    ancestors = watch if watch is not None else [p for p in (parent, _parent_of(parent)) if p > 1]
    worker = build(cfg.grpc_addr, cfg)
    address = f"{host}:{worker.port}"
    worker.servicer.address = lambda: address  # type: ignore[method-assign]
    print(f"medtune-trainer for job {job_id} (worker {cfg.worker_id}) listening on {address}", flush=True)
    _mark("listening")

    def info():
        i = worker.servicer.worker_info()
        i.gpu_count = gpus
        # Always name the bound job: after it ended, the service lists it in a heartbeat answer
        # once it has recorded that end (the signal to exit), and never offers this trainer another.
        i.current_job_id = job_id
        return i

    recorded = threading.Event()

    def on_cancel(jid: str, reason: str):
        job = worker.manager.find(jid)
        if job is not None and job.state.terminal:
            recorded.set()  # the service lists a job that ended here: it has recorded the end
            return job
        return worker.manager.cancel(jid, reason)

    # The worker's own config: TLS to the training service (MEDTUNE_TLS_*), its token file or
    # token, as the registered worker's path uses them (__main__.py).
    registrar = Registrar(registry, info, on_cancel, cfg.auth_token, config=cfg)
    if warm_thread.is_alive():
        warm_thread.join(start_timeout_s)
    _mark("registering")
    torch = sys.modules.get("torch")
    if torch is not None:  # what the attempt computes with (Ray sets OMP_NUM_THREADS from its CPU request)
        print(f"ray_job: torch threads {torch.get_num_threads()} (OMP_NUM_THREADS={env.get('OMP_NUM_THREADS', 'unset')})", flush=True)
    registrar.start()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())

    started_by = time.monotonic() + start_timeout_s
    started = False
    code = 0
    while not stop.wait(0.5):
        if (watch is None and os.getppid() != parent) or not all(_alive(p) for p in ancestors):
            # Ray's supervisor is gone (node lost): stop heartbeating at once, no graceful end.
            print("ray_job: the Ray supervisor is gone; exiting", file=sys.stderr, flush=True)
            os._exit(3)
        job = worker.manager.find(job_id)
        if job is not None and not started:
            started = True
            _mark("start-job")
        if job is None:
            if time.monotonic() > started_by:
                print(f"ray_job: no StartJob for {job_id} within {start_timeout_s:.0f} s; exiting", file=sys.stderr, flush=True)
                code = 4
                break
            continue
        if job.state.terminal and recorded.is_set():
            code = 1 if job.state.value == "failed" else 0
            break
    registrar.stop()
    job = worker.shutdown()
    if job is not None:
        print(f"ray_job: job {job.job_id} ended {job.state.value}", flush=True)
    return code


if __name__ == "__main__":
    sys.exit(main())
