"""The thin gRPC adapter: protobuf in, core call, protobuf out. Domain errors become status codes
in one table; anything else is INTERNAL with a generic message (detail in the log)."""

from __future__ import annotations

import functools
import inspect
import logging
import socket
from typing import Callable

import grpc

from medtune.trainer.v1 import trainer_pb2 as t
from medtune.trainer.v1 import trainer_pb2_grpc as t_grpc

from . import converters as cv
from . import errors as e
from .backends import selection as backends
from .inference import Inference
from .artifacts import path_from_uri
from .jobs import Job, JobManager
from .security import confine
from .storage import ObjectStore, confine_s3
from .system import gpu_info, host_memory_bytes

log = logging.getLogger(__name__)

STATUS_BY_ERROR: dict[type, grpc.StatusCode] = {
    e.InvalidArgument: grpc.StatusCode.INVALID_ARGUMENT,
    e.NotFound: grpc.StatusCode.NOT_FOUND,
    e.AlreadyExists: grpc.StatusCode.ALREADY_EXISTS,
    e.FailedPrecondition: grpc.StatusCode.FAILED_PRECONDITION,
    e.ResourceExhausted: grpc.StatusCode.RESOURCE_EXHAUSTED,
    e.OutOfRange: grpc.StatusCode.OUT_OF_RANGE,
    e.Unavailable: grpc.StatusCode.UNAVAILABLE,
}


def status_for(err: BaseException) -> tuple[grpc.StatusCode, str]:
    for cls, code in STATUS_BY_ERROR.items():
        if isinstance(err, cls):
            return code, str(err)
    return grpc.StatusCode.INTERNAL, "internal error in the trainer worker (details in its log)"


def _abort(context, err: BaseException, method: str):
    code, msg = status_for(err)
    if code == grpc.StatusCode.INTERNAL:
        log.error("rpc failed", exc_info=err, extra={"method": method})
    context.abort(code, msg)


def mapped(fn: Callable) -> Callable:
    """Maps domain errors raised by a unary or server-streaming handler to gRPC status."""
    if inspect.isgeneratorfunction(fn):

        @functools.wraps(fn)
        def stream(self, request, context):
            try:
                yield from fn(self, request, context)
            except Exception as err:  # noqa: BLE001
                _abort(context, err, fn.__name__)

        return stream

    @functools.wraps(fn)
    def unary(self, request, context):
        try:
            return fn(self, request, context)
        except Exception as err:  # noqa: BLE001
            _abort(context, err, fn.__name__)

    return unary


def job_to_pb(job: Job) -> t.WorkerJob:
    out = t.WorkerJob(
        job_id=job.job_id,
        state=cv.state_to_pb(job.state),
        spec=cv.spec_to_pb(job.spec),
        attempt=job.attempt,
        backend=cv.backend_to_pb(job.backend) if job.backend_reason else 0,
        backend_reason=job.backend_reason,
        last_sequence=job.log.last_sequence,
        progress=cv.progress_to_pb(job.progress),
        artifacts=[cv.artifact_to_pb(a) for a in job.artifacts],
        created_time=cv.timestamp(job.created_time),
    )
    if job.failure:
        out.failure.CopyFrom(cv.failure_to_pb(job.failure))
    if job.end_time:
        out.end_time.CopyFrom(cv.timestamp(job.end_time))
    if job.execution_plan:
        out.execution_plan.CopyFrom(cv.execution_plan_to_pb(job.execution_plan))
    return out


def spec_key(spec: t.JobSpec) -> bytes:
    """What makes a job the same job: its spec without the dataset credential, so a rotated or
    per-attempt credential never changes the job's identity (and the key holds no secret)."""
    s = t.JobSpec()
    s.CopyFrom(spec)
    if s.HasField("dataset"):
        s.dataset.auth_token = ""
    return s.SerializeToString(deterministic=True)


class TrainerServicer(t_grpc.TrainerServiceServicer):
    def __init__(self, manager: JobManager, inference: Inference, worker_id: str, address: Callable[[], str]):
        self.manager = manager
        self.inference = inference
        self.worker_id = worker_id or socket.gethostname()
        self.address = address
        # Where a StartJob may write (server.build sets the configured roots).
        self.artifact_roots: tuple = (manager.default_root,)
        # The s3:// prefixes a StartJob may write under (MEDTUNE_S3_ROOTS; none: s3:// refused).
        self.s3_roots: tuple = ()

    @mapped
    def StartJob(self, request: t.StartJobRequest, context) -> t.StartJobResponse:
        if not request.HasField("spec"):
            raise e.InvalidArgument("spec", "required")
        spec = cv.spec_from_pb(request.spec, self.manager.default_root.as_uri())
        if spec.artifact_root.startswith("s3://"):
            root = confine_s3(spec.artifact_root, self.s3_roots, "spec.artifact_root")
            # A missing bucket is FAILED_PRECONDITION now, not a failed upload after training.
            ObjectStore().need_bucket(root.bucket, "spec.artifact_root")
        elif "://" not in spec.artifact_root or spec.artifact_root.startswith("file://"):
            confine(str(path_from_uri(spec.artifact_root, "spec.artifact_root")), self.artifact_roots, "spec.artifact_root")
        key = spec_key(request.spec)
        job, created = self.manager.start(request.job_id, spec, key, request.attempt)
        return t.StartJobResponse(job=job_to_pb(job), created=created)

    @mapped
    def WatchJob(self, request: t.WatchJobRequest, context):
        for ev in self.manager.watch(request.job_id, request.from_sequence, context.is_active):
            yield t.WatchJobResponse(event=cv.event_to_pb(ev))

    @mapped
    def GetJob(self, request: t.GetJobRequest, context) -> t.GetJobResponse:
        return t.GetJobResponse(job=job_to_pb(self.manager.get(request.job_id)))

    @mapped
    def CancelJob(self, request: t.CancelJobRequest, context) -> t.CancelJobResponse:
        return t.CancelJobResponse(job=job_to_pb(self.manager.cancel(request.job_id, request.reason)))

    @mapped
    def ListCheckpoints(self, request: t.ListCheckpointsRequest, context) -> t.ListCheckpointsResponse:
        job = self.manager.get(request.job_id)
        return t.ListCheckpointsResponse(checkpoints=[cv.checkpoint_to_pb(c) for c in job.checkpoints])

    @mapped
    def Generate(self, request: t.GenerateRequest, context):
        model = cv.inference_model_from_pb(request.model)
        params = cv.generation_params_from_pb(request.params)
        batch = request.batch_size if request.HasField("batch_size") else 8
        self.manager.acquire("generate")
        try:
            use_model = request.use_model_generation_config and not request.params.HasField("temperature")
            params = self.inference.resolve_params(model, params, use_model)
            applied = dict(sampled=params.temperature > 0, temperature=params.temperature, top_p=params.top_p if params.temperature > 0 else 1.0)
            for c in self.inference.generate(model, list(request.prompts), params, batch):
                if not context.is_active():
                    return
                yield t.GenerateResponse(
                    index=c.index, text=c.text, prompt_tokens=c.prompt_tokens, completion_tokens=c.completion_tokens, finish_reason=c.finish_reason,
                    **applied,
                )
        finally:
            self.manager.release()

    @mapped
    def EvaluateLoss(self, request: t.EvaluateLossRequest, context) -> t.EvaluateLossResponse:
        from .domain import DatasetSource

        model = cv.inference_model_from_pb(request.model)
        which = request.WhichOneof("data")
        texts = list(request.texts.texts) if which == "texts" else None
        ds = DatasetSource(request.dataset.address, request.dataset.version_digest, request.dataset.auth_token) if which == "dataset" else None
        batch = request.batch_size if request.HasField("batch_size") else 4
        self.manager.acquire("evaluate_loss")
        try:
            r = self.inference.evaluate_loss(model, texts, ds, batch, request.max_rows)
        finally:
            self.manager.release()
        return t.EvaluateLossResponse(mean_loss=r.mean_loss, rows=r.rows, tokens=r.tokens, row_losses=r.row_losses)

    @mapped
    def GetWorkerInfo(self, request, context) -> t.GetWorkerInfoResponse:
        return t.GetWorkerInfoResponse(info=self.worker_info())

    def worker_info(self) -> t.WorkerInfo:
        name, mem, count = gpu_info()
        busy = self.manager.busy_with
        job = self.manager.running_job()
        return t.WorkerInfo(
            worker_id=self.worker_id,
            address=self.address(),
            gpu_name=name,
            gpu_memory_bytes=mem,
            gpu_count=count,
            backends=[cv.backend_to_pb(b) for b in backends.available_backends()],
            busy=bool(busy),
            current_job_id=job.job_id if job else "",
            versions=backends.versions(),
            host_memory_bytes=host_memory_bytes(),
        )
