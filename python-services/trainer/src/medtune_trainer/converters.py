"""Converters between protobuf messages (medtune.*.v1) and domain objects."""

from __future__ import annotations

from google.protobuf.timestamp_pb2 import Timestamp

from medtune.common.v1 import common_pb2 as c
from medtune.trainer.v1 import trainer_pb2 as t

from . import domain as d
from .template import BUILTIN, MEDICAL_O1_ZH

_BACKEND_TO_PB = {d.BackendName.AUTO: c.BACKEND_AUTO, d.BackendName.UNSLOTH: c.BACKEND_UNSLOTH, d.BackendName.HF: c.BACKEND_HF}
_BACKEND_FROM_PB = {c.BACKEND_UNSPECIFIED: d.BackendName.AUTO, **{v: k for k, v in _BACKEND_TO_PB.items()}}
_PRECISION_FROM_PB = {
    c.PRECISION_UNSPECIFIED: d.Precision.AUTO,
    c.PRECISION_AUTO: d.Precision.AUTO,
    c.PRECISION_BF16: d.Precision.BF16,
    c.PRECISION_FP16: d.Precision.FP16,
    c.PRECISION_FP32: d.Precision.FP32,
}
_PRECISION_TO_PB = {v: k for k, v in _PRECISION_FROM_PB.items() if k != c.PRECISION_UNSPECIFIED}
_STATE_TO_PB = {
    d.JobState.STARTING: t.WORKER_JOB_STATE_STARTING,
    d.JobState.RUNNING: t.WORKER_JOB_STATE_RUNNING,
    d.JobState.UPLOADING: t.WORKER_JOB_STATE_UPLOADING,
    d.JobState.SUCCEEDED: t.WORKER_JOB_STATE_SUCCEEDED,
    d.JobState.FAILED: t.WORKER_JOB_STATE_FAILED,
    d.JobState.CANCELLED: t.WORKER_JOB_STATE_CANCELLED,
    d.JobState.INTERRUPTED: t.WORKER_JOB_STATE_INTERRUPTED,
}
_FAILURE_TO_PB = {
    d.FailureClass.USER_ERROR: c.FAILURE_CLASS_USER_ERROR,
    d.FailureClass.SETUP: c.FAILURE_CLASS_SETUP,
    d.FailureClass.RESOURCE: c.FAILURE_CLASS_RESOURCE,
    d.FailureClass.PLATFORM: c.FAILURE_CLASS_PLATFORM,
}
_KIND_TO_PB = {
    d.ArtifactKind.ADAPTER: c.ARTIFACT_KIND_ADAPTER,
    d.ArtifactKind.MERGED_16BIT: c.ARTIFACT_KIND_MERGED_16BIT,
    d.ArtifactKind.GGUF: c.ARTIFACT_KIND_GGUF,
    d.ArtifactKind.CHECKPOINT: c.ARTIFACT_KIND_CHECKPOINT,
}
_NOTICE_TO_PB = {"info": t.NOTICE_LEVEL_INFO, "warning": t.NOTICE_LEVEL_WARNING}


def backend_to_pb(b: d.BackendName) -> int:
    return _BACKEND_TO_PB[b]


def backend_from_pb(v: int) -> d.BackendName:
    return _BACKEND_FROM_PB.get(v, d.BackendName.AUTO)


def _opt(msg, name: str, default):
    return getattr(msg, name) if msg.HasField(name) else default


def hyperparameters_from_pb(hp: c.Hyperparameters) -> d.Hyperparameters:
    s = d.Hyperparameters()
    return d.Hyperparameters(
        batch_size=_opt(hp, "batch_size", s.batch_size),
        gradient_accumulation_steps=_opt(hp, "gradient_accumulation_steps", s.gradient_accumulation_steps),
        warmup_steps=_opt(hp, "warmup_steps", s.warmup_steps),
        learning_rate=_opt(hp, "learning_rate", s.learning_rate),
        lr_scheduler_type=_opt(hp, "lr_scheduler_type", s.lr_scheduler_type),
        optimizer=_opt(hp, "optimizer", s.optimizer),
        weight_decay=_opt(hp, "weight_decay", s.weight_decay),
        seed=_opt(hp, "seed", s.seed),
        logging_steps=_opt(hp, "logging_steps", s.logging_steps),
        num_train_epochs=_opt(hp, "num_train_epochs", s.num_train_epochs),
        max_steps=_opt(hp, "max_steps", s.max_steps),
        max_seq_length=_opt(hp, "max_seq_length", s.max_seq_length),
        precision=_PRECISION_FROM_PB.get(_opt(hp, "precision", 0), d.Precision.AUTO),
        load_in_4bit=_opt(hp, "load_in_4bit", s.load_in_4bit),
        packing=_opt(hp, "packing", s.packing),
        save_steps=_opt(hp, "save_steps", s.save_steps),
        gpus=_opt(hp, "gpus", s.gpus),
        plan=_opt(hp, "plan", s.plan),
    )


def hyperparameters_to_pb(h: d.Hyperparameters) -> c.Hyperparameters:
    return c.Hyperparameters(
        batch_size=h.batch_size,
        gradient_accumulation_steps=h.gradient_accumulation_steps,
        warmup_steps=h.warmup_steps,
        learning_rate=h.learning_rate,
        lr_scheduler_type=h.lr_scheduler_type,
        optimizer=h.optimizer,
        weight_decay=h.weight_decay,
        seed=h.seed,
        logging_steps=h.logging_steps,
        num_train_epochs=h.num_train_epochs,
        max_steps=h.max_steps,
        max_seq_length=h.max_seq_length,
        precision=_PRECISION_TO_PB[h.precision],
        load_in_4bit=h.load_in_4bit,
        packing=h.packing,
        save_steps=h.save_steps,
        gpus=h.gpus,
        plan=h.plan,
        global_batch_size=h.global_batch_size,
    )


def lora_from_pb(lc: c.LoraConfig) -> d.LoraSettings:
    s = d.LoraSettings()
    return d.LoraSettings(
        r=_opt(lc, "r", s.r),
        alpha=_opt(lc, "alpha", s.alpha),
        dropout=_opt(lc, "dropout", s.dropout),
        bias=_opt(lc, "bias", s.bias),
        target_modules=tuple(lc.target_modules) or s.target_modules,
        use_rslora=_opt(lc, "use_rslora", s.use_rslora),
        use_loftq=_opt(lc, "use_loftq", s.use_loftq),
        random_state=_opt(lc, "random_state", s.random_state),
        gradient_checkpointing=_opt(lc, "gradient_checkpointing", s.gradient_checkpointing),
    )


def lora_to_pb(lo: d.LoraSettings) -> c.LoraConfig:
    return c.LoraConfig(
        r=lo.r,
        alpha=lo.alpha,
        dropout=lo.dropout,
        bias=lo.bias,
        target_modules=list(lo.target_modules),
        use_rslora=lo.use_rslora,
        use_loftq=lo.use_loftq,
        random_state=lo.random_state,
        gradient_checkpointing=lo.gradient_checkpointing,
    )


def exports_from_pb(e: c.ExportOptions) -> d.ExportSettings:
    s = d.ExportSettings()
    return d.ExportSettings(
        adapter=_opt(e, "adapter", s.adapter),
        merged_16bit=_opt(e, "merged_16bit", s.merged_16bit),
        gguf=_opt(e, "gguf", s.gguf),
        gguf_quantization=_opt(e, "gguf_quantization", s.gguf_quantization) or s.gguf_quantization,
    )


def exports_to_pb(e: d.ExportSettings) -> c.ExportOptions:
    return c.ExportOptions(adapter=e.adapter, merged_16bit=e.merged_16bit, gguf=e.gguf, gguf_quantization=e.gguf_quantization)


def spec_from_pb(spec: t.JobSpec, default_artifact_root: str) -> d.JobSpec:
    """Resolves every default. Validation is validate.validate_spec's job."""
    which = spec.WhichOneof("data")
    data: d.DatasetSource | d.LocalJsonlSource | None
    if which == "dataset":
        data = d.DatasetSource(spec.dataset.address, spec.dataset.version_digest, spec.dataset.auth_token)
    elif which == "local_jsonl":
        tpl = spec.local_jsonl.template
        formats = None
        name = MEDICAL_O1_ZH.name
        if spec.local_jsonl.HasField("template"):
            name = tpl.name or name
            if tpl.inference_format or tpl.train_format:
                formats = (tpl.inference_format, tpl.train_format)
        data = d.LocalJsonlSource(spec.local_jsonl.path, name, formats)
    else:
        data = None
    return d.JobSpec(
        base_model=spec.base_model,
        data=data,  # type: ignore[arg-type]  (None is rejected by validation)
        hyperparameters=hyperparameters_from_pb(spec.hyperparameters),
        lora=lora_from_pb(spec.lora),
        backend=backend_from_pb(spec.backend),
        artifact_root=spec.artifact_root or default_artifact_root,
        exports=exports_from_pb(spec.exports),
        resume_from_checkpoint=spec.resume_from_checkpoint,
    )


def spec_to_pb(s: d.JobSpec) -> t.JobSpec:
    out = t.JobSpec(
        base_model=s.base_model,
        hyperparameters=hyperparameters_to_pb(s.hyperparameters),
        lora=lora_to_pb(s.lora),
        backend=backend_to_pb(s.backend),
        artifact_root=s.artifact_root,
        exports=exports_to_pb(s.exports),
        resume_from_checkpoint=s.resume_from_checkpoint,
    )
    if isinstance(s.data, d.DatasetSource):
        # The token is a secret: never echoed back.
        out.dataset.CopyFrom(t.DatasetSource(address=s.data.address, version_digest=s.data.version_digest))
    elif isinstance(s.data, d.LocalJsonlSource):
        tpl = c.PromptTemplate(name=s.data.template_name)
        if s.data.template_formats:
            tpl.inference_format, tpl.train_format = s.data.template_formats
        elif s.data.template_name in BUILTIN:
            b = BUILTIN[s.data.template_name]
            tpl.inference_format, tpl.train_format, tpl.builtin = b.inference_format, b.train_format, True
        out.local_jsonl.CopyFrom(t.LocalJsonlSource(path=s.data.path, template=tpl))
    return out


def timestamp(seconds: float) -> Timestamp:
    ts = Timestamp()
    ts.FromNanoseconds(int(seconds * 1e9))
    return ts


def failure_to_pb(f: d.Failure) -> c.Failure:
    return c.Failure(**{"class": _FAILURE_TO_PB[f.failure_class]}, message=f.message, detail=f.detail)


def artifact_to_pb(a: d.Artifact) -> c.Artifact:
    return c.Artifact(
        kind=_KIND_TO_PB[a.kind],
        uri=a.uri,
        sha256=a.sha256,
        size_bytes=a.size_bytes,
        files=[c.ArtifactFile(path=f.path, sha256=f.sha256, size_bytes=f.size_bytes) for f in a.files],
        details=a.details,
    )


def checkpoint_to_pb(ck: d.Checkpoint) -> t.Checkpoint:
    return t.Checkpoint(step=ck.step, uri=ck.uri, artifact=artifact_to_pb(ck.artifact), created_time=timestamp(ck.created_time))


def progress_to_pb(p: d.Progress) -> t.Progress:
    return t.Progress(
        step=p.step, total_steps=p.total_steps, epoch=p.epoch, eta_seconds=p.eta_seconds, tokens_per_second=p.tokens_per_second
    )


def state_to_pb(s: d.JobState) -> int:
    return _STATE_TO_PB[s]


def event_to_pb(e: d.JobEvent) -> t.JobEvent:
    out = t.JobEvent(job_id=e.job_id, sequence=e.sequence, time=timestamp(e.time), attempt=e.attempt)
    p = e.payload
    if isinstance(p, d.StateChanged):
        sc = t.StateChanged(state=_STATE_TO_PB[p.state], reason=p.reason)
        if p.failure:
            sc.failure.CopyFrom(failure_to_pb(p.failure))
        out.state_changed.CopyFrom(sc)
    elif isinstance(p, d.Progress):
        out.progress.CopyFrom(progress_to_pb(p))
    elif isinstance(p, d.MetricsLogged):
        out.metrics.CopyFrom(t.MetricsLogged(step=p.step, epoch=p.epoch, values=p.values))
    elif isinstance(p, d.CheckpointSaved):
        out.checkpoint_saved.CopyFrom(t.CheckpointSaved(checkpoint=checkpoint_to_pb(p.checkpoint)))
    elif isinstance(p, d.ArtifactReady):
        out.artifact_ready.CopyFrom(artifact_to_pb(p.artifact))
    elif isinstance(p, d.BackendSelected):
        out.backend_selected.CopyFrom(t.BackendSelected(backend=_BACKEND_TO_PB[p.backend], reason=p.reason, versions=p.versions))
    elif isinstance(p, d.Notice):
        out.notice.CopyFrom(t.Notice(level=_NOTICE_TO_PB.get(p.level, t.NOTICE_LEVEL_INFO), code=p.code, message=p.message))
    elif isinstance(p, d.ExecutionPlan):
        out.execution_plan.CopyFrom(execution_plan_to_pb(p))
    return out


def execution_plan_to_pb(p: d.ExecutionPlan) -> t.ExecutionPlan:
    return t.ExecutionPlan(
        requested=p.requested,
        micro_batch_size=p.micro_batch_size,
        gradient_accumulation_steps=p.gradient_accumulation_steps,
        gpus=p.gpus,
        global_batch_size=p.global_batch_size,
        gradient_checkpointing=p.gradient_checkpointing,
        packing=p.packing,
        reason=p.reason,
        probe_peak_allocated_bytes=p.probe_peak_allocated_bytes,
        probe_peak_reserved_bytes=p.probe_peak_reserved_bytes,
        gpu_free_bytes=p.gpu_free_bytes,
    )


def inference_model_from_pb(m: t.InferenceModel) -> d.InferenceModel:
    return d.InferenceModel(
        base_model=m.base_model,
        adapter_uri=m.adapter_uri,
        merged_uri=m.merged_uri,
        gguf_uri=m.gguf_uri,
        load_in_4bit=m.load_in_4bit if m.HasField("load_in_4bit") else True,
        max_seq_length=m.max_seq_length if m.HasField("max_seq_length") else 4096,
        backend=backend_from_pb(m.backend),
    )


def generation_params_from_pb(p: c.GenerationParams) -> d.GenerationParams:
    s = d.GenerationParams()
    return d.GenerationParams(
        max_new_tokens=_opt(p, "max_new_tokens", s.max_new_tokens),
        temperature=_opt(p, "temperature", s.temperature),
        top_p=_opt(p, "top_p", s.top_p),
        seed=_opt(p, "seed", s.seed),
    )
