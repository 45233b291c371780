"""Checks of a resolved job spec before anything is written. Raises InvalidArgument naming the
field, or FailedPrecondition for state that is wrong rather than the request."""

from __future__ import annotations

import re
from pathlib import Path

from . import domain as d
from .artifacts import path_from_uri
from .errors import FailedPrecondition, InvalidArgument
from .storage import is_s3, parse_s3_uri

JOB_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")
OPTIMIZERS = {"adamw_8bit", "paged_adamw_8bit", "adamw_torch", "adamw_torch_fused", "adamw_bnb_8bit", "sgd", "adafactor"}
SCHEDULERS = {"linear", "cosine", "cosine_with_restarts", "polynomial", "constant", "constant_with_warmup", "inverse_sqrt"}
GGUF_TYPES = {"f16", "bf16", "q8_0", "f32", "q4_k_m"}  # q4_k_m: llama.cpp's quantizer (llama_runtime)
_HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+$")


def validate_job_id(job_id: str) -> None:
    if not job_id:
        raise InvalidArgument("job_id", "required")
    if not JOB_ID.match(job_id):
        raise InvalidArgument("job_id", f"must match {JOB_ID.pattern} (got {job_id!r})")


def validate_base_model(base_model: str, field: str) -> None:
    """A local directory with config.json, or a hub id ("org/name") that is not a local path."""
    if not base_model:
        raise InvalidArgument(field, "required")
    p = Path(base_model).expanduser()
    if p.is_dir():
        if not (p / "config.json").is_file():
            raise InvalidArgument(field, f"{base_model} has no config.json; not a model directory")
        return
    if p.is_absolute() or base_model.startswith((".", "~")) or not _HUB_ID.match(base_model):
        raise InvalidArgument(field, f"no model directory at {base_model}")


def _positive(field: str, value: float, strict: bool = True) -> None:
    if (value <= 0) if strict else (value < 0):
        raise InvalidArgument(field, f"must be {'>' if strict else '>='} 0 (got {value:g})")


def validate_spec(spec: d.JobSpec) -> None:
    validate_base_model(spec.base_model, "spec.base_model")
    if spec.data is None:
        raise InvalidArgument("spec.data", "one of spec.dataset or spec.local_jsonl is required")
    hp, lo, ex = spec.hyperparameters, spec.lora, spec.exports
    f = "spec.hyperparameters."
    if hp.batch_size < 1:
        raise InvalidArgument(f + "batch_size", f"must be >= 1 (got {hp.batch_size})")
    if hp.gradient_accumulation_steps < 1:
        raise InvalidArgument(f + "gradient_accumulation_steps", f"must be >= 1 (got {hp.gradient_accumulation_steps})")
    _positive(f + "learning_rate", hp.learning_rate)
    _positive(f + "weight_decay", hp.weight_decay, strict=False)
    if hp.max_steps == 0:
        _positive(f + "num_train_epochs", hp.num_train_epochs)
    if hp.logging_steps < 1:
        raise InvalidArgument(f + "logging_steps", f"must be >= 1 (got {hp.logging_steps})")
    if hp.gpus < 1:
        raise InvalidArgument(f + "gpus", f"must be >= 1 (got {hp.gpus})")
    if hp.plan not in ("seed", "auto"):
        raise InvalidArgument(f + "plan", f"must be seed or auto (got {hp.plan!r})")
    if hp.max_seq_length < 8:
        raise InvalidArgument(f + "max_seq_length", f"must be >= 8 (got {hp.max_seq_length})")
    if hp.optimizer not in OPTIMIZERS:
        raise InvalidArgument(f + "optimizer", f"unknown optimizer {hp.optimizer!r}; one of {', '.join(sorted(OPTIMIZERS))}")
    if hp.lr_scheduler_type not in SCHEDULERS:
        raise InvalidArgument(f + "lr_scheduler_type", f"unknown scheduler {hp.lr_scheduler_type!r}; one of {', '.join(sorted(SCHEDULERS))}")
    f = "spec.lora."
    if lo.r < 1:
        raise InvalidArgument(f + "r", f"must be >= 1 (got {lo.r})")
    _positive(f + "alpha", lo.alpha)
    if not 0 <= lo.dropout < 1:
        raise InvalidArgument(f + "dropout", f"must be in [0, 1) (got {lo.dropout:g})")
    if lo.bias not in ("none", "all", "lora_only"):
        raise InvalidArgument(f + "bias", f"must be none, all or lora_only (got {lo.bias!r})")
    if not lo.target_modules or any(not m for m in lo.target_modules):
        raise InvalidArgument(f + "target_modules", "must name at least one module")
    if lo.gradient_checkpointing not in ("unsloth", "true", "false"):
        raise InvalidArgument(f + "gradient_checkpointing", f"must be unsloth, true or false (got {lo.gradient_checkpointing!r})")
    if ex.gguf and ex.gguf_quantization not in GGUF_TYPES:
        raise InvalidArgument("spec.exports.gguf_quantization", f"one of {', '.join(sorted(GGUF_TYPES))} (got {ex.gguf_quantization!r})")
    if is_s3(spec.artifact_root):
        parse_s3_uri(spec.artifact_root, "spec.artifact_root")
    else:
        path_from_uri(spec.artifact_root, "spec.artifact_root")
    if is_s3(spec.resume_from_checkpoint):
        # Fetched (and its manifest checked) when the job runs: storage.local_checkpoint.
        parse_s3_uri(spec.resume_from_checkpoint, "spec.resume_from_checkpoint")
    elif spec.resume_from_checkpoint:
        ck = path_from_uri(spec.resume_from_checkpoint, "spec.resume_from_checkpoint")
        if not (ck / "trainer_state.json").is_file():
            raise FailedPrecondition(f"spec.resume_from_checkpoint: no checkpoint at {spec.resume_from_checkpoint} (trainer_state.json missing)")


def check_lengths(lengths: list[int], max_seq_length: int) -> int:
    """Raises when the data has no usable rows; returns how many rows will be truncated."""
    if not lengths:
        raise FailedPrecondition("the dataset has no rows; nothing to train on")
    too_long = sum(1 for n in lengths if n > max_seq_length)
    if too_long == len(lengths):
        raise FailedPrecondition(
            f"spec.hyperparameters.max_seq_length {max_seq_length} is shorter than every row; "
            f"the shortest row has {min(lengths)} tokens"
        )
    return too_long
