"""Access control of the worker, the same rules as the TS services (libs/kit/src/auth.ts, tls.ts):

- TLS from PEM files: the server serves TLS with MEDTUNE_TRAINER_TLS_CERT / _KEY, and with
  _TLS_CLIENT_AUTH=1 requires a client certificate signed by _TLS_CA (mutual TLS); the worker's
  own calls (registration, the dataset row stream) verify servers with _TLS_CA and present the
  worker's certificate.
- Callers: `authorization: Bearer <credential>` holding the shared token (role service) or a JWT
  (ES256, verified with the public key only: a worker cannot sign anything) naming `sub` and
  `role`. Every TrainerService RPC needs scope `service` (only the platform drives a worker)
  except GetWorkerInfo (`read`). Missing / invalid / expired: UNAUTHENTICATED; valid but the role
  lacks the scope: PERMISSION_DENIED. Comparisons are constant-time; credentials are never logged.
- The worker's own credential: the shared token, or a worker JWT read from a file on each use (so
  a rotated file is picked up without a restart).
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import logging
from pathlib import Path
from typing import TYPE_CHECKING, Optional

import grpc

if TYPE_CHECKING:
    from .config import WorkerConfig

log = logging.getLogger(__name__)

ROLE_SCOPES: dict[str, frozenset[str]] = {
    "user": frozenset({"read", "write"}),
    "operator": frozenset({"read", "write", "operator"}),
    "worker": frozenset({"worker"}),
    "service": frozenset({"read", "write", "operator", "worker", "service", "dataset-stream"}),
    "job": frozenset({"dataset-stream"}),
}

SERVICE = "medtune.trainer.v1.TrainerService"
# The scope of each TrainerService RPC (every RPC listed; a new one without a row needs `service`).
METHOD_SCOPES: dict[str, str] = {
    "StartJob": "service",
    "WatchJob": "service",
    "GetJob": "service",
    "CancelJob": "service",
    "ListCheckpoints": "service",
    "Generate": "service",
    "EvaluateLoss": "service",
    "GetWorkerInfo": "read",
}


def confine(path: str, roots: tuple[Path, ...], field: str) -> Path:
    """The resolved path (symlinks resolved, through its nearest existing ancestor when it does not
    exist yet) when it lies under one of `roots`; InvalidArgument naming the field otherwise. The
    same rule as libs/kit/src/paths.ts."""
    from .errors import InvalidArgument

    p = Path(path)
    if not p.is_absolute():
        raise InvalidArgument(field, f"must be an absolute path (got {path!r})")
    real = p.resolve(strict=False)
    for root in roots:
        r = root.resolve(strict=False)
        if real == r or r in real.parents:
            return real
    raise InvalidArgument(field, f"{path!r} is outside the directories this worker writes to ({', '.join(str(r) for r in roots)}); symlinks are resolved before the check")


def auth_enabled(cfg: "WorkerConfig") -> bool:
    return bool(cfg.auth_token or cfg.jwt_public_key_file)


def is_loopback(addr: str) -> bool:
    host = addr.rsplit(":", 1)[0].strip("[]")
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False  # a host name, or 0.0.0.0 / :: (every interface)


def check_bind(cfg: "WorkerConfig", addr: str) -> None:
    """Refuses to listen beyond loopback without credentials: anyone on the network could then
    start jobs, read checkpoints and make the worker stream datasets."""
    if not is_loopback(addr) and not auth_enabled(cfg):
        raise SystemExit(
            f"medtune-trainer: refusing to listen on {addr} without credentials; set MEDTUNE_TRAINER_AUTH_TOKEN or "
            "MEDTUNE_TRAINER_JWT_PUBLIC_KEY_FILE (and TLS: MEDTUNE_TRAINER_TLS_CERT / _KEY), or bind 127.0.0.1"
        )


def _read(path: str) -> bytes:
    return Path(path).read_bytes()


def server_credentials(cfg: "WorkerConfig") -> Optional[grpc.ServerCredentials]:
    if not cfg.tls_cert and not cfg.tls_key:
        if cfg.tls_client_auth:
            raise SystemExit("medtune-trainer: TLS client auth needs MEDTUNE_TRAINER_TLS_CERT and _TLS_KEY")
        return None
    if not cfg.tls_cert or not cfg.tls_key:
        raise SystemExit("medtune-trainer: TLS needs both MEDTUNE_TRAINER_TLS_CERT and MEDTUNE_TRAINER_TLS_KEY")
    if cfg.tls_client_auth and not cfg.tls_ca:
        raise SystemExit("medtune-trainer: TLS client auth needs MEDTUNE_TRAINER_TLS_CA")
    return grpc.ssl_server_credentials(
        [(_read(cfg.tls_key), _read(cfg.tls_cert))],
        root_certificates=_read(cfg.tls_ca) if cfg.tls_ca else None,
        require_client_auth=bool(cfg.tls_client_auth),
    )


# The process's client identity (one worker = one identity): the dataset row stream is opened
# deep inside the runner and the inference code, which should not carry TLS settings around.
_process_config: Optional["WorkerConfig"] = None


def set_process_config(cfg: "WorkerConfig") -> None:
    global _process_config
    _process_config = cfg


def open_channel(addr: str, cfg: Optional["WorkerConfig"], options=None) -> grpc.Channel:
    """A channel to a service: TLS (verifying it with the CA, presenting the worker's certificate
    for mTLS) when a CA is configured, plaintext otherwise. `cfg` None: the process's settings."""
    cfg = cfg or _process_config
    if cfg is None or not cfg.tls_ca:
        return grpc.insecure_channel(addr, options=options)
    creds = grpc.ssl_channel_credentials(
        root_certificates=_read(cfg.tls_ca),
        private_key=_read(cfg.tls_key) if cfg.tls_key else None,
        certificate_chain=_read(cfg.tls_cert) if cfg.tls_cert else None,
    )
    return grpc.secure_channel(addr, creds, options=options)


def own_token(cfg: Optional["WorkerConfig"]) -> str:
    """What the worker sends on its own calls to the training service."""
    if cfg is None:
        return ""
    if cfg.token_file:
        try:
            return Path(cfg.token_file).read_text().strip()
        except OSError as e:
            log.warning("cannot read the worker token file", extra={"file": cfg.token_file, "error": type(e).__name__})
            return ""
    return cfg.auth_token


def _digest(s: str) -> bytes:
    return hashlib.sha256(s.encode("utf-8")).digest()


class Authenticator:
    """Checks one bearer credential: the shared token, or a JWT signed by the platform."""

    def __init__(self, shared_token: str = "", public_key_pem: bytes = b""):
        self._shared = _digest(shared_token) if shared_token else None
        self._key = None
        if public_key_pem:
            from cryptography.hazmat.primitives.serialization import load_pem_public_key

            self._key = load_pem_public_key(public_key_pem)

    def principal(self, credential: str) -> Optional[tuple[str, str, frozenset[str]]]:
        """(subject, role, scopes), or None when the credential is not valid."""
        if not credential:
            return None
        if self._shared is not None and hmac.compare_digest(_digest(credential), self._shared):
            return ("shared-token", "service", ROLE_SCOPES["service"])
        if self._key is None or credential.count(".") != 2:
            return None
        import jwt

        try:
            claims = jwt.decode(credential, self._key, algorithms=["ES256"], issuer="medtune", options={"require": ["sub", "exp", "iss"]})
        except jwt.PyJWTError:
            return None
        role, sub = claims.get("role"), claims.get("sub")
        if not isinstance(sub, str) or not sub or role not in ROLE_SCOPES:
            return None
        return (sub, role, ROLE_SCOPES[role])


class AuthInterceptor(grpc.ServerInterceptor):
    """Requires a credential with the method's scope on every call but health checks."""

    def __init__(self, auth: Authenticator):
        self._auth = auth

        def unauthenticated(request, context):
            context.abort(grpc.StatusCode.UNAUTHENTICATED, "missing or invalid credential")

        self._unauthenticated = grpc.unary_unary_rpc_method_handler(unauthenticated)

    @staticmethod
    def _denied(message: str):
        def deny(request, context):
            context.abort(grpc.StatusCode.PERMISSION_DENIED, message)

        # A unary handler refuses streaming calls too: it aborts before any response is sent.
        return grpc.unary_unary_rpc_method_handler(deny)

    def intercept_service(self, continuation, details):
        method = details.method
        if method.startswith("/grpc.health.v1.Health/"):
            return continuation(details)
        value = dict(details.invocation_metadata).get("authorization", "")
        credential = value[7:] if value[:7].lower() == "bearer " else ""
        who = self._auth.principal(credential)
        if who is None:
            return self._unauthenticated
        name = method.rsplit("/", 1)[-1]
        scope = METHOD_SCOPES.get(name, "service") if method.startswith(f"/{SERVICE}/") else "service"
        if scope not in who[2]:
            return self._denied(f"a {who[1]} credential may not call {method} (it needs scope {scope})")
        return continuation(details)


def interceptors(cfg: "WorkerConfig") -> list[grpc.ServerInterceptor]:
    if not auth_enabled(cfg):
        return []
    pem = _read(cfg.jwt_public_key_file) if cfg.jwt_public_key_file else b""
    return [AuthInterceptor(Authenticator(cfg.auth_token, pem))]
