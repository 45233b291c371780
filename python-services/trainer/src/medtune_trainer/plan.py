"""The execution plan of a job (Hyperparameters.plan): how its global batch is laid out on the
GPU. "seed" keeps batch_size x gradient_accumulation_steps and the gradient checkpointing as
given; "auto" re-splits the same rows per optimizer step into a larger micro-batch and fewer
accumulation steps, and turns gradient checkpointing off, where a probe step shows that it fits
the GPU's free memory.

Why the mathematics is unchanged: the trainer normalises the loss by the number of label tokens
of the whole optimizer step (transformers' num_items_in_batch, summed over the accumulated
micro-batches and over the ranks), so how the rows of a step are grouped into micro-batches does
not change the gradient; the sampler's permutation does not depend on the micro-batch size, so
step s sees the same rows; padding is masked; dropout is 0 in the seed; checkpointing recomputes
the same activations. The number of optimizer steps (and so the learning-rate schedule) is
ceil(rows / global batch) per epoch whichever split is used.
"""

from __future__ import annotations

import dataclasses
import gc
import logging
from typing import Callable, Optional

from . import domain as d

log = logging.getLogger(__name__)

# Fraction of the free memory a plan may take (the allocator's fragmentation, the optimizer's
# states created at the first step, and rows longer than the probe's are the margin).
BUDGET_FRACTION = 0.88
# Bytes kept free beyond the fraction (CUDA context of other libraries, NCCL buffers).
RESERVE_BYTES = 2 << 30

Agree = Callable[[bool], bool]  # every rank's vote -> True only when all ranks say True


def divisors_desc(n: int) -> list[int]:
    return [m for m in range(n, 0, -1) if n % m == 0]


@dataclasses.dataclass(frozen=True)
class Layout:
    micro_batch_size: int
    gradient_accumulation_steps: int
    gradient_checkpointing: str


def candidates(hp: d.Hyperparameters, lora: d.LoraSettings) -> list[Layout]:
    """Layouts of the same rows per rank per optimizer step, fastest first: without
    checkpointing, larger micro-batches first (fewer, larger matmuls); then the job's own
    checkpointing at the same micro-batches down to the seed's. The seed's layout is last."""
    rows = hp.batch_size * hp.gradient_accumulation_steps
    out = [Layout(m, rows // m, "false") for m in divisors_desc(rows)]
    if lora.gradient_checkpointing != "false":
        out += [Layout(m, rows // m, lora.gradient_checkpointing) for m in divisors_desc(rows) if m >= hp.batch_size]
    seed = Layout(hp.batch_size, hp.gradient_accumulation_steps, lora.gradient_checkpointing)
    return [c for c in out if c != seed] + [seed]


def apply(spec: d.JobSpec, layout: Layout) -> d.JobSpec:
    """The spec the trainer runs with: the same global batch laid out as `layout`."""
    hp = dataclasses.replace(spec.hyperparameters, batch_size=layout.micro_batch_size, gradient_accumulation_steps=layout.gradient_accumulation_steps)
    lora = dataclasses.replace(spec.lora, gradient_checkpointing=layout.gradient_checkpointing)
    return dataclasses.replace(spec, hyperparameters=hp, lora=lora)


def seed_plan(spec: d.JobSpec, reason: str) -> d.ExecutionPlan:
    hp = spec.hyperparameters
    return d.ExecutionPlan(hp.plan, hp.batch_size, hp.gradient_accumulation_steps, hp.gpus, spec.lora.gradient_checkpointing, hp.packing, reason)


def estimated_activation_bytes(config, tokens: int, checkpointing: bool) -> int:
    """Rough activation memory of a decoder-only model for `tokens` tokens in one micro-batch
    (bf16): about 26 x hidden bytes per token and layer without checkpointing (measured on the
    14B shape with unsloth: 50 GiB for 2 x 4096 tokens), the layer inputs only with it. Only
    used to skip probes that cannot fit; the probe step measures."""
    hidden = int(getattr(config, "hidden_size", 4096))
    layers = int(getattr(config, "num_hidden_layers", 32))
    vocab = int(getattr(config, "vocab_size", 32000))
    per_token = (2 * hidden * layers) if checkpointing else (26 * hidden * layers)
    return tokens * (per_token + 4 * vocab // 8)  # + a share of the logits (chunked loss)


def probe_tokens(input_ids: list[list[int]], hp: d.Hyperparameters) -> int:
    """Tokens per row of the worst micro-batch: full sequences when packing, else the longest row."""
    if hp.packing or not input_ids:
        return hp.max_seq_length
    return min(hp.max_seq_length, max(len(x) for x in input_ids))


def measure_step(model, rows: int, tokens: int, vocab: int, bf16: bool) -> tuple[int, int]:
    """One forward + backward of `rows` x `tokens` random tokens on the model's device; returns
    (peak allocated, peak reserved) bytes, gradients cleared. Raises torch.OutOfMemoryError."""
    import torch

    dev = next(p for p in model.parameters()).device
    torch.cuda.synchronize(dev)
    torch.cuda.reset_peak_memory_stats(dev)
    gen = torch.Generator(device="cpu").manual_seed(0)
    ids = torch.randint(0, vocab, (rows, tokens), generator=gen).to(dev)
    try:
        with torch.autocast("cuda", dtype=torch.bfloat16 if bf16 else torch.float16):
            out = model(input_ids=ids, attention_mask=torch.ones_like(ids), labels=ids)
        out.loss.backward()
        torch.cuda.synchronize(dev)
        return int(torch.cuda.max_memory_allocated(dev)), int(torch.cuda.max_memory_reserved(dev))
    finally:
        out = ids = None  # noqa: F841
        model.zero_grad(set_to_none=True)
        gc.collect()
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats(dev)  # the job's reported peak is its training's


def choose(
    spec: d.JobSpec,
    loaded_checkpointing: str,
    free_bytes: int,
    probe: Callable[[Layout], Optional[tuple[int, int]]],
    estimate: Callable[[Layout], int],
    agree: Agree = lambda ok: ok,
) -> tuple[Optional[Layout], d.ExecutionPlan]:
    """Picks the fastest candidate whose checkpointing matches the loaded model's and whose probe
    step fits the budget on every rank. `probe(layout)` returns (peak allocated, peak reserved)
    or None on out-of-memory; `estimate(layout)` the bytes it should need (used to skip probes
    that cannot fit). Returns (None, plan) when no candidate with this checkpointing fits: the
    caller reloads the model with the job's checkpointing and runs the seed's layout."""
    budget = int(free_bytes * BUDGET_FRACTION) - RESERVE_BYTES
    hp = spec.hyperparameters
    for cand in [c for c in candidates(hp, spec.lora) if c.gradient_checkpointing == loaded_checkpointing]:
        if not agree(estimate(cand) <= budget):
            continue
        got = probe(cand)
        fits = got is not None and got[1] <= budget
        if agree(fits):
            assert got is not None
            reason = (
                f"auto: probe of {cand.micro_batch_size} x {probe_tokens_note(spec)} peaked at {got[0] / 2**30:.1f} GiB allocated, "
                f"{got[1] / 2**30:.1f} GiB reserved of {free_bytes / 2**30:.1f} GiB free"
            )
            return cand, d.ExecutionPlan(
                hp.plan, cand.micro_batch_size, cand.gradient_accumulation_steps, hp.gpus, cand.gradient_checkpointing, hp.packing, reason, got[0], got[1], free_bytes
            )
    return None, seed_plan(spec, f"auto: no layout with checkpointing {loaded_checkpointing!r} fits {free_bytes / 2**30:.1f} GiB free; the seed's")


def probe_tokens_note(spec: d.JobSpec) -> str:
    return f"{spec.hyperparameters.max_seq_length} tokens" if spec.hyperparameters.packing else "the longest rows"


def first_checkpointing(spec: d.JobSpec, free_bytes: int, config) -> str:
    """The checkpointing to load the model with under "auto": off when the smallest micro-batch
    could fit without it by the estimate, else the job's own."""
    hp = spec.hyperparameters
    if spec.lora.gradient_checkpointing == "false":
        return "false"
    need = estimated_activation_bytes(config, hp.max_seq_length, checkpointing=False)
    return "false" if need <= int(free_bytes * BUDGET_FRACTION) - RESERVE_BYTES - weights_estimate(config, hp.load_in_4bit) else spec.lora.gradient_checkpointing


def weights_estimate(config, four_bit: bool) -> int:
    hidden = int(getattr(config, "hidden_size", 4096))
    layers = int(getattr(config, "num_hidden_layers", 32))
    inter = int(getattr(config, "intermediate_size", 4 * hidden))
    vocab = int(getattr(config, "vocab_size", 32000))
    params = layers * (4 * hidden * hidden + 3 * hidden * inter) + 2 * vocab * hidden
    return int(params * (0.56 if four_bit else 2))


def _cuda_capacity() -> int:
    """Memory this process may use on its GPU: free now plus what its allocator already holds."""
    import torch

    free, _total = torch.cuda.mem_get_info()
    return int(free + torch.cuda.memory_reserved())


def _release(obj) -> None:
    import torch

    del obj
    gc.collect()
    torch.cuda.empty_cache()


def prepare_with_plan(backend, spec: d.JobSpec, input_ids: list[list[int]], notify, agree: Agree = lambda ok: ok):
    """Loads the model for the job's plan. Returns (TrainPlan, ExecutionPlan, the spec to train
    with). Under "auto" on CUDA: loads without checkpointing when the estimate allows, probes the
    candidates (one forward + backward each, fastest first), and reloads with the job's
    checkpointing when nothing fits without it; never an out-of-memory error for a probe."""
    hp = spec.hyperparameters
    if hp.plan == "seed":
        return backend.prepare_training(spec, notify), seed_plan(spec, "seed asked for"), spec
    import torch

    if not torch.cuda.is_available():
        return backend.prepare_training(spec, notify), seed_plan(spec, "auto: no CUDA device; the seed's layout"), spec
    from transformers import AutoConfig

    config = AutoConfig.from_pretrained(spec.base_model)
    capacity = _cuda_capacity()
    tokens = probe_tokens(input_ids, hp)
    ckpt = first_checkpointing(spec, capacity, config)
    seed_layout = Layout(hp.batch_size, hp.gradient_accumulation_steps, spec.lora.gradient_checkpointing)
    tried: list[str] = []
    while True:
        tp = backend.prepare_training(apply(spec, dataclasses.replace(seed_layout, gradient_checkpointing=ckpt)), notify)
        base = int(torch.cuda.memory_allocated())
        per_row: dict[str, float] = {}  # measured activation bytes per row, by checkpointing

        def estimate(c: Layout) -> int:
            rate = per_row.get(c.gradient_checkpointing)
            if rate is None:
                rate = estimated_activation_bytes(config, tokens, c.gradient_checkpointing != "false")
            return int(base + rate * c.micro_batch_size)

        def probe(c: Layout) -> Optional[tuple[int, int]]:
            try:
                got = measure_step(tp.loaded.model, c.micro_batch_size, tokens, int(config.vocab_size), bool(tp.args.get("bf16", True)))
            except torch.OutOfMemoryError:
                gc.collect()
                torch.cuda.empty_cache()
                per_row[c.gradient_checkpointing] = max(per_row.get(c.gradient_checkpointing, 0.0), capacity / c.micro_batch_size)
                return None
            per_row[c.gradient_checkpointing] = (got[0] - base) / c.micro_batch_size
            return got

        layout, chosen = choose(spec, ckpt, capacity, probe, estimate, agree)
        tried.append(ckpt)
        if layout is not None:
            return tp, chosen, apply(spec, layout)
        if ckpt == spec.lora.gradient_checkpointing:
            return tp, seed_plan(spec, f"auto: no probed layout fits {capacity / 2**30:.1f} GiB; the seed's"), spec
        notify("info", "plan_reload", f"no layout without gradient checkpointing fits {capacity / 2**30:.1f} GiB; reloading with {spec.lora.gradient_checkpointing!r}")
        tp = _release(tp)
        ckpt = spec.lora.gradient_checkpointing


def is_oom(e: BaseException) -> bool:
    try:
        import torch

        return isinstance(e, torch.OutOfMemoryError)
    except Exception:  # pragma: no cover
        return False
