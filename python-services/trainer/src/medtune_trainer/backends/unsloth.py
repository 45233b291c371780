"""unsloth (CUDA only): the seed script's calls. unsloth is imported lazily (it needs a GPU and
patches transformers / TRL on import), so this module imports on CPU and fails only when used.

Written against unsloth 2026.10.9 / unsloth_zoo 2026.10.9 (requires transformers <= 5.17.0,
trl <= 1.15.0); see python-services/requirements-gpu.txt."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from .. import domain as d
from .base import Loaded, Notify, TrainerBackend, TrainPlan


def _fast_language_model():
    import unsloth  # noqa: F401  (must come before transformers / trl use: it patches them)
    from unsloth import FastLanguageModel

    return FastLanguageModel


def _dtype(precision: d.Precision):
    import torch

    # The seed passes dtype=None (auto: bf16 where supported, else fp16).
    return {d.Precision.BF16: torch.bfloat16, d.Precision.FP16: torch.float16, d.Precision.FP32: torch.float32}.get(precision)


class UnslothBackend(TrainerBackend):
    name = d.BackendName.UNSLOTH

    def prepare_training(self, spec: d.JobSpec, notify: Notify) -> TrainPlan:
        flm = _fast_language_model()
        from unsloth import is_bfloat16_supported

        hp, lora = spec.hyperparameters, spec.lora
        local = Path(spec.base_model).is_dir()
        model, tokenizer = flm.from_pretrained(
            model_name=spec.base_model,
            max_seq_length=hp.max_seq_length,
            dtype=_dtype(hp.precision),
            load_in_4bit=hp.load_in_4bit,
            local_files_only=local,
            # One whole model per rank under torchrun (DDP); the default single device otherwise.
            **({"device_map": {"": int(os.environ["LOCAL_RANK"])}} if "LOCAL_RANK" in os.environ else {}),
        )
        gc: Any = {"unsloth": "unsloth", "true": True, "false": False}[lora.gradient_checkpointing]
        extra: dict[str, Any] = {"loftq_config": None}  # the seed's
        if lora.use_loftq:
            from peft import LoftQConfig

            extra = {"init_lora_weights": "loftq", "loftq_config": LoftQConfig(loftq_bits=4, loftq_iter=1)}
        alpha = int(lora.alpha) if float(lora.alpha).is_integer() else lora.alpha  # the seed passes 16
        model = flm.get_peft_model(
            model,
            r=int(lora.r),  # unsloth insists on a plain int
            target_modules=list(lora.target_modules),
            lora_alpha=alpha,
            lora_dropout=lora.dropout,
            bias=lora.bias,
            use_gradient_checkpointing=gc,
            random_state=int(lora.random_state),
            use_rslora=bool(lora.use_rslora),
            **extra,
        )
        bf16 = is_bfloat16_supported() if hp.precision == d.Precision.AUTO else hp.precision == d.Precision.BF16
        args = dict(
            optim=hp.optimizer,
            bf16=bf16,
            fp16=not bf16 and hp.precision != d.Precision.FP32,
            # As the seed's TrainingArguments (TRL's SFTConfig would default it on): checkpointing is
            # unsloth's own, set by get_peft_model above.
            gradient_checkpointing=False,
        )
        return TrainPlan(Loaded(model, tokenizer, "cuda"), args)

    def sft_trainer_class(self) -> type:
        _fast_language_model()
        from trl import SFTTrainer

        return SFTTrainer

    def save_merged(self, loaded: Loaded, spec: d.JobSpec, adapter_dir: Path, out_dir: Path) -> dict[str, str]:
        loaded.model.save_pretrained_merged(str(out_dir), loaded.tokenizer, save_method="merged_16bit")
        self.release()
        return {"dtype": "16-bit (unsloth merged_16bit)", "format": "safetensors"}

    def load_for_inference(self, m: d.InferenceModel, adapter_dir: Path | None, merged_dir: Path | None) -> Loaded:
        flm = _fast_language_model()
        # unsloth loads an adapter directory directly (base from its adapter_config.json).
        src = merged_dir or adapter_dir or m.base_model
        model, tokenizer = flm.from_pretrained(
            model_name=str(src),
            max_seq_length=m.max_seq_length,
            dtype=None,
            load_in_4bit=m.load_in_4bit,
            local_files_only=Path(str(src)).is_dir(),
        )
        flm.for_inference(model)
        return Loaded(model, tokenizer, "cuda")
