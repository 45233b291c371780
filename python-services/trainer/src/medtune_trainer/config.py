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

    grpc_addr: str = "127.0.0.1:50061"  # loopback unless told otherwise (security.check_bind)
    artifact_root: Path = Path("var/artifacts").resolve()
    worker_id: str = socket.gethostname()
    advertise_addr: str = ""  # host:port the training service dials; default from grpc_addr
    training_addr: str = ""  # the training service's WorkerRegistryService; empty: no registration
    auth_token: str = ""
    jwt_public_key_file: str = ""  # verifies caller JWTs (ES256); the worker never holds the signing key
    token_file: str = ""  # the worker's own credential (a worker JWT), read on each use
    tls_cert: str = ""
    tls_key: str = ""
    tls_ca: str = ""
    tls_client_auth: bool = False
    # Where a StartJob's artifact_root may point (symlinks resolved); default: artifact_root only.
    artifact_roots: tuple[Path, ...] = ()
    shutdown_grace_s: float = 120.0
    log_level: str = "info"

    @classmethod
    def from_env(cls, env: Mapping[str, str] = os.environ) -> "WorkerConfig":
        p = "MEDTUNE_TRAINER_"
        root = env.get(p + "ARTIFACT_ROOT", "var/artifacts")
        if root.startswith("file://"):
            root = root[len("file://") :]

        def shared(name: str, default: str = "") -> str:
            return env.get(p + name) or env.get("MEDTUNE_" + name) or default

        artifact_root = Path(root).resolve()
        roots = tuple(Path(r).resolve() for r in shared("ARTIFACT_ROOTS").split(":") if r) or (artifact_root,)
        return cls(
            grpc_addr=env.get(p + "GRPC_ADDR", env.get(p + "ADDR", cls.grpc_addr)),
            artifact_root=artifact_root,
            worker_id=env.get(p + "WORKER_ID") or socket.gethostname(),
            advertise_addr=env.get(p + "ADVERTISE_ADDR", ""),
            training_addr=env.get(p + "TRAINING_ADDR", ""),
            auth_token=env.get(p + "AUTH_TOKEN", env.get("MEDTUNE_AUTH_TOKEN", "")),
            jwt_public_key_file=shared("JWT_PUBLIC_KEY_FILE"),
            token_file=shared("TOKEN_FILE"),
            tls_cert=shared("TLS_CERT"),
            tls_key=shared("TLS_KEY"),
            tls_ca=shared("TLS_CA"),
            tls_client_auth=shared("TLS_CLIENT_AUTH").lower() in ("1", "true", "yes", "on"),
            artifact_roots=roots,
            shutdown_grace_s=float(env.get(p + "SHUTDOWN_GRACE_S", "120")),
            log_level=env.get(p + "LOG_LEVEL", env.get("MEDTUNE_LOG_LEVEL", "info")),
        )
