"""The interface every ML library adapter implements, and the `auto` choice between them."""

from __future__ import annotations

import abc
import functools
import importlib.metadata
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from .. import domain as d


@dataclass
class Loaded:
    """A model ready to train or generate, with its tokenizer."""

    model: Any
    tokenizer: Any
    device: str  # "cuda" or "cpu"


@dataclass
class TrainPlan:
    """What the shared training loop needs from a backend once the model is loaded."""

    loaded: Loaded
    # Extra SFTConfig / TrainingArguments keywords (precision, optimizer, checkpointing).
    args: dict[str, Any]


Notify = Callable[[str, str, str], None]  # (level, code, message)


class TrainerBackend(abc.ABC):
    """One adapter per ML library: loading for training and for inference, and the merged export.
    The training loop itself (TRL SFTTrainer, callbacks, checkpoints) is shared: common.train()."""

    name: d.BackendName

    @abc.abstractmethod
    def prepare_training(self, spec: d.JobSpec, notify: Notify) -> TrainPlan:
        """Loads the base model for training and wraps it with the LoRA adapter."""

    @abc.abstractmethod
    def sft_trainer_class(self) -> type:
        """The SFTTrainer class to use (unsloth patches TRL's on import)."""

    @abc.abstractmethod
    def save_merged(self, loaded: Loaded, spec: d.JobSpec, adapter_dir: Path, out_dir: Path) -> dict[str, str]:
        """Writes base + adapter merged to 16-bit weights (HF layout) into out_dir; returns details."""

    @abc.abstractmethod
    def load_for_inference(self, m: d.InferenceModel, adapter_dir: Path | None, merged_dir: Path | None) -> Loaded:
        """Loads a base model (+ adapter) or a merged model for generation."""

    def release(self) -> None:
        """Frees cached GPU memory after a job."""
        try:
            import torch

            if torch.cuda.is_available():
                torch.cuda.empty_cache()
        except Exception:  # pragma: no cover
            pass


def versions() -> dict[str, str]:
    out = {}
    for pkg in ("torch", "transformers", "peft", "trl", "accelerate", "unsloth", "unsloth_zoo", "bitsandbytes"):
        try:
            out[pkg] = importlib.metadata.version(pkg)
        except importlib.metadata.PackageNotFoundError:
            pass
    return out


def cuda_available() -> bool:
    import torch

    return torch.cuda.is_available()


@functools.lru_cache(maxsize=1)
def unsloth_status() -> tuple[bool, str]:
    """(usable, why not). Importing unsloth needs a CUDA device and patches transformers and TRL
    for the whole process, so it is tried only when a job or a generation may use it."""
    if not cuda_available():
        return False, "no CUDA device; unsloth needs one"
    try:
        import unsloth  # noqa: F401
    except Exception as e:  # ImportError, or unsloth's own checks failing
        return False, f"unsloth does not import here: {type(e).__name__}: {str(e)[:200]}"
    return True, ""


def unsloth_installed() -> bool:
    """Cheap check for worker info: CUDA and the package present (not imported)."""
    import importlib.util

    return cuda_available() and importlib.util.find_spec("unsloth") is not None


def select(requested: d.BackendName) -> tuple[d.BackendName, str]:
    """The backend that will run and why. Raises errors.FailedPrecondition when an explicit
    request cannot be met."""
    from ..errors import FailedPrecondition

    if requested == d.BackendName.HF:
        return d.BackendName.HF, "hf asked for"
    ok, why = unsloth_status()
    if requested == d.BackendName.UNSLOTH:
        if not ok:
            raise FailedPrecondition(f"spec.backend: unsloth is not available on this worker ({why}); use hf or auto")
        return d.BackendName.UNSLOTH, "unsloth asked for"
    if ok:
        return d.BackendName.UNSLOTH, "auto: CUDA is present and unsloth imports"
    return d.BackendName.HF, f"auto: {why}; using hf"


def available_backends() -> list[d.BackendName]:
    ok = unsloth_status()[0] if unsloth_status.cache_info().currsize else unsloth_installed()
    return [d.BackendName.UNSLOTH, d.BackendName.HF] if ok else [d.BackendName.HF]


def make(name: d.BackendName) -> TrainerBackend:
    if name == d.BackendName.UNSLOTH:
        from .unsloth import UnslothBackend

        return UnslothBackend()
    from .hf import HfBackend

    return HfBackend()
