"""The training loop every backend shares: TRL's SFTTrainer with the seed's arguments, and one
callback that turns the trainer's life into job events (state, progress with ETA, metrics per
logging step, checkpoints) and stops at the next step on cancel or shutdown."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Optional

from .. import domain as d
from .base import TrainerBackend, TrainPlan


DDP_TIMEOUT_S = 600
# Checkpoints kept per job (transformers' save_total_limit): the oldest are deleted, the newest is
# never (it is the one a resume needs), and the one before it survives until the orchestrator has
# stored the newer one's event — so at least 2.
SAVE_TOTAL_LIMIT = 3


@dataclass
class RunHooks:
    """What the loop reports to and reads from the job (see jobs.py)."""

    cancel: threading.Event
    interrupt: threading.Event
    on_running: Callable[[], None]
    on_progress: Callable[[d.Progress], None]
    on_metrics: Callable[[int, float, dict[str, float]], None]
    on_checkpoint: Callable[[int, Path], None]
    clock: Callable[[], float] = time.monotonic
    progress_interval_s: float = 1.0
    # Data-parallel ranks must stop at the same step: True when any rank wants to stop (an
    # all-reduce in launcher.rank_main; identity in one process).
    any_rank: Callable[[bool], bool] = lambda stop: stop
    # Tokens over all ranks from this rank's count (an all-reduce sum under the launcher).
    all_ranks_tokens: Callable[[int], int] = lambda n: n


@dataclass
class Outcome:
    status: str  # "completed" | "cancelled" | "interrupted"
    step: int
    total_steps: int
    train_runtime_s: float


@dataclass
class TokenCounter:
    """Non-padding tokens trained on, counted from every batch that reaches training_step."""

    total: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, batch) -> None:
        if "attention_mask" in batch:
            n = int(batch["attention_mask"].sum())
        elif "position_ids" in batch:  # padding-free: one flat sequence of real tokens
            n = int(batch["position_ids"].numel())
        else:
            n = int(batch["input_ids"].numel())
        with self.lock:
            self.total += n


def counting(trainer_cls: type, counter: TokenCounter) -> type:
    """A subclass of the backend's trainer class that counts tokens in training_step (a subclass
    rather than a wrapped collator, so that library code checking the collator's type is not
    fooled)."""

    class Counting(trainer_cls):  # type: ignore[misc, valid-type]
        def training_step(self, model, inputs, *args, **kwargs):
            counter.add(inputs)
            return super().training_step(model, inputs, *args, **kwargs)

    Counting.__name__ = Counting.__qualname__ = f"Counting{trainer_cls.__name__}"
    return Counting


def sft_config_kwargs(spec: d.JobSpec, output_dir: Path) -> dict[str, Any]:
    """The seed's TrainingArguments / SFTConfig, from the resolved hyperparameters."""
    hp = spec.hyperparameters
    return dict(
        output_dir=str(output_dir),
        per_device_train_batch_size=hp.batch_size,
        gradient_accumulation_steps=hp.gradient_accumulation_steps,
        warmup_steps=hp.warmup_steps,
        num_train_epochs=hp.num_train_epochs,
        max_steps=hp.max_steps if hp.max_steps > 0 else -1,
        learning_rate=hp.learning_rate,
        lr_scheduler_type=hp.lr_scheduler_type,
        weight_decay=hp.weight_decay,
        seed=hp.seed,
        logging_steps=hp.logging_steps,
        save_strategy="steps" if hp.save_steps > 0 else "epoch",
        save_steps=hp.save_steps if hp.save_steps > 0 else 500,
        save_total_limit=SAVE_TOTAL_LIMIT,
        max_length=hp.max_seq_length,
        packing=hp.packing,
        padding_free=hp.packing,
        dataset_text_field="text",
        report_to="none",
        disable_tqdm=True,
        dataloader_num_workers=0,
        save_only_model=False,
        # A rank that dies must fail the job rather than hang the others in a collective.
        ddp_timeout=DDP_TIMEOUT_S,
        # Every LoRA parameter takes part in each forward: no extra traversal of the graph per step.
        ddp_find_unused_parameters=False,
    )


class _EventsCallback:
    """Built lazily so that transformers is imported only in the job thread."""

    @staticmethod
    def make(hooks: RunHooks, counter: TokenCounter, ckpt_dir: Path):
        import psutil
        import torch
        from transformers import TrainerCallback

        proc = psutil.Process()
        proc.cpu_percent(None)

        class Cb(TrainerCallback):
            def __init__(self):
                self.t0 = hooks.clock()
                self.start_step = 0
                self.last_progress_t = 0.0
                self.window = (hooks.clock(), 0)  # (time, tokens) at the last logging step
                self.tps = 0.0
                self.last_saved_step = -1

            def on_train_begin(self, args, state, control, **kw):
                self.t0 = hooks.clock()
                self.start_step = state.global_step
                self.window = (self.t0, counter.total)
                hooks.on_running()

            def _progress(self, state) -> d.Progress:
                done = state.global_step - self.start_step
                elapsed = hooks.clock() - self.t0
                remaining = max(state.max_steps - state.global_step, 0)
                eta = elapsed / done * remaining if done > 0 else 0.0
                return d.Progress(state.global_step, state.max_steps, float(state.epoch or 0.0), eta, self.tps)

            def on_step_end(self, args, state, control, **kw):
                if hooks.any_rank(hooks.cancel.is_set() or hooks.interrupt.is_set()):
                    control.should_save = True
                    control.should_training_stop = True
                now = hooks.clock()
                if now - self.last_progress_t >= hooks.progress_interval_s or state.global_step >= state.max_steps:
                    self.last_progress_t = now
                    hooks.on_progress(self._progress(state))
                return control

            def on_log(self, args, state, control, logs=None, **kw):
                logs = logs or {}
                if "loss" not in logs:
                    return
                now = hooks.clock()
                t_prev, tok_prev = self.window
                tokens = hooks.all_ranks_tokens(counter.total)
                self.tps = (tokens - tok_prev) / (now - t_prev) if now > t_prev else 0.0
                self.window = (now, tokens)
                values = {k: float(v) for k, v in logs.items() if isinstance(v, (int, float)) and not isinstance(v, bool)}
                values["epoch"] = float(state.epoch or 0.0)
                values["tokens_per_second"] = self.tps
                values["tokens_seen"] = float(tokens)
                values["peak_gpu_memory_bytes"] = float(torch.cuda.max_memory_allocated()) if torch.cuda.is_available() else 0.0
                # Reserved includes the allocator's cache: what the card must really hold.
                values["peak_gpu_memory_reserved_bytes"] = float(torch.cuda.max_memory_reserved()) if torch.cuda.is_available() else 0.0
                mem = proc.memory_info()
                values["system/rss_bytes"] = float(mem.rss)
                values["system/cpu_percent"] = float(proc.cpu_percent(None))
                if torch.cuda.is_available():
                    values["system/gpu_memory_reserved_bytes"] = float(torch.cuda.memory_reserved())
                hooks.on_metrics(state.global_step, float(state.epoch or 0.0), values)
                hooks.on_progress(self._progress(state))

            def on_save(self, args, state, control, **kw):
                if state.global_step != self.last_saved_step:
                    self.last_saved_step = state.global_step
                    hooks.on_checkpoint(state.global_step, ckpt_dir / f"checkpoint-{state.global_step}")

        return Cb()


def make_dataset(input_ids: list[list[int]]):
    from datasets import Dataset

    return Dataset.from_dict({"input_ids": input_ids})


def train(
    backend: TrainerBackend,
    plan: TrainPlan,
    spec: d.JobSpec,
    input_ids: list[list[int]],
    ckpt_dir: Path,
    hooks: RunHooks,
    resume_from: Optional[Path],
) -> Outcome:
    """Runs SFTTrainer to the end, or to the next step after a cancel / interrupt (which saves a
    checkpoint first)."""
    from trl import SFTConfig

    counter = TokenCounter()
    cfg = SFTConfig(**{**sft_config_kwargs(spec, ckpt_dir), **plan.args})
    trainer_cls = counting(backend.sft_trainer_class(), counter)
    trainer = trainer_cls(
        model=plan.loaded.model,
        args=cfg,
        train_dataset=make_dataset(input_ids),
        processing_class=plan.loaded.tokenizer,
        callbacks=[_EventsCallback.make(hooks, counter, ckpt_dir)],
    )
    # Logs travel as events; the trainer's own printing of every log line is noise in the worker's output.
    from transformers.trainer_callback import PrinterCallback

    trainer.remove_callback(PrinterCallback)
    t0 = time.monotonic()
    trainer.train(resume_from_checkpoint=str(resume_from) if resume_from else None)
    runtime = time.monotonic() - t0
    st = trainer.state
    status = "interrupted" if hooks.interrupt.is_set() else "cancelled" if hooks.cancel.is_set() else "completed"
    plan.loaded.model = trainer.model
    return Outcome(status, st.global_step, st.max_steps, runtime)
