"""transformers + peft + trl: QLoRA through bitsandbytes where CUDA is present, full-precision
LoRA on CPU (where 8-bit optimizers fall back to adamw_torch, said in a Notice)."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

from .. import domain as d
from .base import Loaded, Notify, TrainerBackend, TrainPlan

_EIGHT_BIT = {"adamw_8bit", "paged_adamw_8bit", "adamw_bnb_8bit", "paged_adamw_32bit"}


def local_rank() -> int:
    """This process's GPU: torchrun's LOCAL_RANK (launcher.py), 0 in the worker itself."""
    import os

    return int(os.environ.get("LOCAL_RANK", "0"))


def _bnb_usable() -> bool:
    import torch

    return torch.cuda.is_available() and importlib.util.find_spec("bitsandbytes") is not None


def resolve_dtype(precision: d.Precision, device: str, notify: Notify | None = None):
    """The seed's dtype=None: bf16 where supported, else fp16 on CUDA; fp32 on CPU."""
    import torch

    if device == "cpu":
        if precision in (d.Precision.BF16, d.Precision.FP16) and notify:
            notify("warning", "cpu_precision", f"precision {precision.value} is not used on CPU; training in fp32")
        return torch.float32
    if precision == d.Precision.FP32:
        return torch.float32
    if precision == d.Precision.FP16:
        return torch.float16
    if precision == d.Precision.BF16 or torch.cuda.is_bf16_supported():
        return torch.bfloat16
    return torch.float16


def lora_config(lora: d.LoraSettings):
    from peft import LoraConfig

    return LoraConfig(
        r=lora.r,
        lora_alpha=lora.alpha,
        lora_dropout=lora.dropout,
        bias=lora.bias,
        target_modules=list(lora.target_modules),
        use_rslora=lora.use_rslora,
        task_type="CAUSAL_LM",
    )


class HfBackend(TrainerBackend):
    name = d.BackendName.HF

    def prepare_training(self, spec: d.JobSpec, notify: Notify) -> TrainPlan:
        import torch
        from peft import get_peft_model, prepare_model_for_kbit_training
        from transformers import AutoModelForCausalLM, AutoTokenizer

        hp, lora = spec.hyperparameters, spec.lora
        device = "cuda" if torch.cuda.is_available() else "cpu"
        dtype = resolve_dtype(hp.precision, device, notify)
        quant = None
        if hp.load_in_4bit:
            if _bnb_usable():
                from transformers import BitsAndBytesConfig

                quant = BitsAndBytesConfig(
                    load_in_4bit=True,
                    bnb_4bit_quant_type="nf4",
                    bnb_4bit_use_double_quant=True,
                    bnb_4bit_compute_dtype=dtype,
                )
            else:
                notify("info", "load_in_4bit_ignored", "4-bit loading needs bitsandbytes on CUDA; training full-precision LoRA")
        if lora.use_loftq:
            notify("warning", "loftq_ignored", "use_loftq is not supported by the hf backend; using the default LoRA init")
        tokenizer = AutoTokenizer.from_pretrained(spec.base_model)
        kwargs: dict[str, Any] = {"dtype": dtype}
        if quant is not None:
            kwargs["quantization_config"] = quant
        if device == "cuda":
            kwargs["device_map"] = {"": local_rank()}  # one whole model per rank (DDP), never "auto"
        model = AutoModelForCausalLM.from_pretrained(spec.base_model, **kwargs)
        checkpointing = lora.gradient_checkpointing in ("unsloth", "true")
        if quant is not None:
            model = prepare_model_for_kbit_training(
                model, use_gradient_checkpointing=checkpointing, gradient_checkpointing_kwargs={"use_reentrant": False}
            )
        torch.manual_seed(lora.random_state)  # the adapter's initialisation, as unsloth's random_state
        model = get_peft_model(model, lora_config(lora))

        optim = hp.optimizer
        if optim in _EIGHT_BIT and not _bnb_usable():
            notify(
                "warning",
                "optimizer_fallback",
                f"{optim} needs bitsandbytes on CUDA; using adamw_torch on {device}",
            )
            optim = "adamw_torch"
        args = dict(
            optim=optim,
            bf16=dtype == torch.bfloat16 and device == "cuda",
            fp16=dtype == torch.float16 and device == "cuda",
            use_cpu=device == "cpu",
            gradient_checkpointing=checkpointing,
            gradient_checkpointing_kwargs={"use_reentrant": False} if checkpointing else None,
        )
        return TrainPlan(Loaded(model, tokenizer, device), args)

    def sft_trainer_class(self) -> type:
        import torch
        from trl import SFTTrainer

        if torch.cuda.is_available():
            return SFTTrainer
        from transformers import Trainer

        class CpuSFTTrainer(SFTTrainer):
            """TRL 1.15 computes the loss through a fused LM head whose kernel is Triton (CUDA only);
            on CPU the model's own causal-LM loss is the same quantity."""

            def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
                # use_cache off: transformers then detects packed rows from position_ids.
                inputs = {**inputs, "use_cache": False}
                return Trainer.compute_loss(self, model, inputs, return_outputs=return_outputs, num_items_in_batch=num_items_in_batch)

        return CpuSFTTrainer

    def save_merged(self, loaded: Loaded, spec: d.JobSpec, adapter_dir: Path, out_dir: Path) -> dict[str, str]:
        # Merging into 4-bit weights loses precision: reload the base in 16 bits and merge there.
        import torch
        from peft import PeftModel
        from transformers import AutoModelForCausalLM

        out_dtype = torch.float16 if spec.hyperparameters.precision == d.Precision.FP16 else torch.bfloat16
        device = loaded.device
        # On CPU merge in fp32 (bf16 matmuls there are slow and lossy), then cast.
        load_dtype = out_dtype if device == "cuda" else torch.float32
        kwargs: dict[str, Any] = {"dtype": load_dtype}
        if device == "cuda":
            kwargs["device_map"] = {"": 0}
        base = AutoModelForCausalLM.from_pretrained(spec.base_model, **kwargs)
        merged = PeftModel.from_pretrained(base, str(adapter_dir)).merge_and_unload()
        merged = merged.to(out_dtype)
        merged.save_pretrained(out_dir, safe_serialization=True)
        loaded.tokenizer.save_pretrained(out_dir)
        del base, merged
        self.release()
        return {"dtype": str(out_dtype).removeprefix("torch."), "format": "safetensors"}

    def load_for_inference(self, m: d.InferenceModel, adapter_dir: Path | None, merged_dir: Path | None) -> Loaded:
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        device = "cuda" if torch.cuda.is_available() else "cpu"
        dtype = resolve_dtype(d.Precision.AUTO, device)
        kwargs: dict[str, Any] = {"dtype": dtype}
        if device == "cuda":
            kwargs["device_map"] = {"": 0}
        if merged_dir is not None:
            model = AutoModelForCausalLM.from_pretrained(str(merged_dir), **kwargs)
            tok_src = str(merged_dir)
        else:
            if m.load_in_4bit and _bnb_usable():
                from transformers import BitsAndBytesConfig

                kwargs["quantization_config"] = BitsAndBytesConfig(
                    load_in_4bit=True, bnb_4bit_quant_type="nf4", bnb_4bit_use_double_quant=True, bnb_4bit_compute_dtype=dtype
                )
            model = AutoModelForCausalLM.from_pretrained(m.base_model, **kwargs)
            tok_src = m.base_model
            if adapter_dir is not None:
                from peft import PeftModel

                model = PeftModel.from_pretrained(model, str(adapter_dir))
                tok_src = str(adapter_dir)
        model.eval()
        tokenizer = AutoTokenizer.from_pretrained(tok_src)
        return Loaded(model, tokenizer, device)
