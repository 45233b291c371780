"""Registration and heartbeat to the training service's WorkerRegistryService."""

from __future__ import annotations

import logging
import random
import threading
from typing import TYPE_CHECKING, Callable, Optional

import grpc

from medtune.trainer.v1 import trainer_pb2 as t

from .security import open_channel, own_token

if TYPE_CHECKING:
    from .config import WorkerConfig

log = logging.getLogger(__name__)


class Registrar:
    """Registers, then heartbeats at the interval the training service asks for; registers again
    on NOT_FOUND; backs off with jitter while the service is unreachable; cancels the jobs the
    service lists in a heartbeat response."""

    def __init__(
        self,
        training_addr: str,
        info: Callable[[], t.WorkerInfo],
        cancel: Callable[[str, str], object],
        auth_token: str = "",
        config: Optional["WorkerConfig"] = None,
    ):
        self._addr = training_addr
        self._info = info
        self._cancel = cancel
        # The credential is read on each call: a worker token file may be rotated under a running worker.
        self._token = (lambda: own_token(config)) if config is not None and config.token_file else (lambda: auth_token)
        self._config = config
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="registrar", daemon=True)
        self.registered = threading.Event()

    def _metadata(self):
        token = self._token()
        return [("authorization", f"Bearer {token}")] if token else None

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(5)

    def _loop(self) -> None:
        from medtune.training.v1 import training_pb2 as tr
        from medtune.training.v1 import training_pb2_grpc as tr_grpc

        backoff = 0.5
        interval = 5.0
        registered = False
        with open_channel(self._addr, self._config) as ch:
            stub = tr_grpc.WorkerRegistryServiceStub(ch)
            while not self._stop.is_set():
                try:
                    if not registered:
                        r = stub.RegisterWorker(tr.RegisterWorkerRequest(info=self._info()), metadata=self._metadata(), timeout=10)
                        interval = max((r.heartbeat_interval_ms or 5000) / 1000.0, 0.2)
                        registered = True
                        self.registered.set()
                        log.info("registered", extra={"training_addr": self._addr, "heartbeat_s": interval})
                    else:
                        hb = stub.Heartbeat(tr.HeartbeatRequest(info=self._info()), metadata=self._metadata(), timeout=10)
                        for job_id in hb.cancel_job_ids:
                            try:
                                self._cancel(job_id, "cancelled by the training service")
                            except Exception:  # unknown here: nothing to cancel
                                pass
                    backoff = 0.5
                    self._stop.wait(interval)
                except grpc.RpcError as e:
                    if e.code() == grpc.StatusCode.NOT_FOUND:
                        registered = False
                        continue
                    log.warning("training service unreachable", extra={"code": e.code().name, "retry_s": backoff})
                    self._stop.wait(backoff * (0.5 + random.random()))
                    backoff = min(backoff * 2, 30.0)
