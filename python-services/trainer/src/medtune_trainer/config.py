"""The worker's settings, parsed once from MEDTUNE_TRAINER_* variables."""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping


@dataclass(frozen=True)
class WorkerConfig:
    """See the README for each variable."""

    grpc_addr: str = "0.0.0.0:50061"
    artifact_root: Path = Path("var/artifacts").resolve()
    worker_id: str = socket.gethostname()
    advertise_addr: str = ""  # host:port the training service dials; default from grpc_addr
    training_addr: str = ""  # the training service's WorkerRegistryService; empty: no registration
    auth_token: str = ""
    shutdown_grace_s: float = 120.0
    log_level: str = "info"

    @classmethod
    def from_env(cls, env: Mapping[str, str] = os.environ) -> "WorkerConfig":
        p = "MEDTUNE_TRAINER_"
        root = env.get(p + "ARTIFACT_ROOT", "var/artifacts")
        if root.startswith("file://"):
            root = root[len("file://") :]
        return cls(
            grpc_addr=env.get(p + "GRPC_ADDR", env.get(p + "ADDR", cls.grpc_addr)),
            artifact_root=Path(root).resolve(),
            worker_id=env.get(p + "WORKER_ID") or socket.gethostname(),
            advertise_addr=env.get(p + "ADVERTISE_ADDR", ""),
            training_addr=env.get(p + "TRAINING_ADDR", ""),
            auth_token=env.get(p + "AUTH_TOKEN", env.get("MEDTUNE_AUTH_TOKEN", "")),
            shutdown_grace_s=float(env.get(p + "SHUTDOWN_GRACE_S", "120")),
            log_level=env.get(p + "LOG_LEVEL", env.get("MEDTUNE_LOG_LEVEL", "info")),
        )
