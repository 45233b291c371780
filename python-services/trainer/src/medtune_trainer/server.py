"""Composition of the worker: core (JobManager, Runner, Inference) + gRPC server with health.
`create_server(addr)` returns (server, port) as the services' style asks; `build()` returns the
whole TrainerWorker for callers that need its parts (tests, __main__)."""

from __future__ import annotations

import logging
import time
from concurrent import futures
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Optional

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc

from medtune.trainer.v1 import trainer_pb2_grpc as t_grpc

from .config import WorkerConfig
from .gguf_export import export_gguf
from .inference import Inference
from .jobs import Job, JobManager
from .runner import Runner, TokenizerCache
from .s3_cache import max_bytes_from_env
from .security import check_bind, interceptors as auth_interceptors, server_credentials, set_process_config
from .servicer import TrainerServicer
from .storage import s3_roots_from_env

log = logging.getLogger(__name__)
SERVICE = "medtune.trainer.v1.TrainerService"


@dataclass
class TrainerWorker:
    server: grpc.Server
    port: int
    manager: JobManager
    servicer: TrainerServicer
    health: health.HealthServicer
    config: WorkerConfig

    def shutdown(self, grace_s: Optional[float] = None) -> Optional[Job]:
        """Ordered: health NOT_SERVING → running job checkpoints and ends INTERRUPTED → server stops."""
        self.health.set("", health_pb2.HealthCheckResponse.NOT_SERVING)
        self.health.set(SERVICE, health_pb2.HealthCheckResponse.NOT_SERVING)
        t0 = time.monotonic()
        job = self.manager.shutdown(self.config.shutdown_grace_s if grace_s is None else grace_s)
        log.info("job stopped", extra={"job_id": job.job_id if job else None, "state": job.state.value if job else None, "s": round(time.monotonic() - t0, 1)})
        self.server.stop(5).wait(10)
        return job


def build(addr: str, config: Optional[WorkerConfig] = None) -> TrainerWorker:
    cfg = replace(config or WorkerConfig(), grpc_addr=addr)
    check_bind(cfg, addr)
    set_process_config(cfg)
    creds = server_credentials(cfg)
    cfg.artifact_root.mkdir(parents=True, exist_ok=True)
    s3_roots = s3_roots_from_env()
    inference = Inference(cfg.artifact_root / ".s3-cache", s3_roots, max_bytes_from_env())
    runner = Runner(TokenizerCache(), gguf_export=export_gguf, before_training=inference.clear)
    manager = JobManager(Path(cfg.artifact_root), runner.prepare, runner.run)
    interceptors = auth_interceptors(cfg)
    server = grpc.server(
        futures.ThreadPoolExecutor(max_workers=32, thread_name_prefix="rpc"),
        interceptors=interceptors,
        options=[("grpc.max_send_message_length", 64 << 20), ("grpc.max_receive_message_length", 64 << 20)],
    )
    port_box = {"port": 0}

    def advertised() -> str:
        if cfg.advertise_addr:
            return cfg.advertise_addr
        host = addr.rsplit(":", 1)[0]
        return f"{'127.0.0.1' if host in ('0.0.0.0', '[::]', '') else host}:{port_box['port']}"

    servicer = TrainerServicer(manager, inference, cfg.worker_id, advertised)
    servicer.artifact_roots = cfg.artifact_roots or (cfg.artifact_root,)
    servicer.s3_roots = s3_roots
    t_grpc.add_TrainerServiceServicer_to_server(servicer, server)
    health_servicer = health.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    port = server.add_secure_port(addr, creds) if creds is not None else server.add_insecure_port(addr)
    if port == 0:
        raise RuntimeError(f"cannot listen on {addr}")
    port_box["port"] = port
    server.start()
    health_servicer.set("", health_pb2.HealthCheckResponse.SERVING)
    health_servicer.set(SERVICE, health_pb2.HealthCheckResponse.SERVING)
    return TrainerWorker(server, port, manager, servicer, health_servicer, cfg)


def create_server(addr: str, config: Optional[WorkerConfig] = None) -> tuple[grpc.Server, int]:
    w = build(addr, config)
    return w.server, w.port
