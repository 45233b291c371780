"""The interface every ML library adapter implements, and the `auto` choice between them."""

from __future__ import annotations

import abc
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
