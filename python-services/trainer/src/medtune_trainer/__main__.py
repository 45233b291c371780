"""python -m medtune_trainer: the worker process. Only wires: config → logging → server →
registration → signals → ordered shutdown."""

from __future__ import annotations

import logging
import signal
import sys
import threading

from .config import WorkerConfig
from .registration import Registrar
from .server import build


def _import_unsloth_first() -> None:
    """unsloth patches transformers, TRL and peft when imported, and warns (and may run slower)
    when they were imported before it: on a GPU worker where it is installed, import it before
    anything else imports them. MEDTUNE_TRAINER_IMPORT_UNSLOTH=0 opts out (the hf backend then
    runs unpatched, and unsloth jobs run after transformers was imported)."""
    import importlib.util
    import os

    if os.environ.get("MEDTUNE_TRAINER_IMPORT_UNSLOTH", "1") == "0" or importlib.util.find_spec("unsloth") is None:
        return
    import torch

    if torch.cuda.is_available():
        try:
            import unsloth  # noqa: F401
        except Exception:  # reported per job by backends.selection.unsloth_status
            pass


def main() -> int:
    _import_unsloth_first()
    cfg = WorkerConfig.from_env()
    logging.basicConfig(
        level=getattr(logging, cfg.log_level.upper(), logging.INFO),
        format='{"time":"%(asctime)s","level":"%(levelname)s","component":"%(name)s","msg":"%(message)s"}',
        stream=sys.stderr,
    )
    log = logging.getLogger("medtune_trainer")
    worker = build(cfg.grpc_addr, cfg)
    log.info(f"listening on port {worker.port}; artifacts under {cfg.artifact_root}")
    print(f"medtune-trainer listening on {worker.port}", flush=True)
    registrar = None
    if cfg.training_addr:
        registrar = Registrar(cfg.training_addr, worker.servicer.worker_info, worker.manager.cancel, cfg.auth_token, config=cfg)
        registrar.start()
    stop = threading.Event()

    def on_signal(signum, frame):
        log.info(f"signal {signum}: shutting down")
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    stop.wait()
    job = worker.shutdown()
    if registrar is not None:
        registrar.stop()
    if job is not None:
        log.info(f"job {job.job_id} ended {job.state.value}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
