"""The execution plan (plan.py): every candidate keeps the global batch; the choice takes the
fastest layout whose probe fits, skips what cannot fit, survives a probe's out-of-memory, and
needs every rank's agreement; and a re-split layout trains the same loss curve with the same
learning-rate schedule as the seed's layout (CPU, tiny model).

Tolerance of the curve: both layouts compute, in fp32, the mean token loss of the same 4 rows per
optimizer step (transformers normalises by the label tokens of the whole step, whatever the
micro-batches), with padding masked and dropout 0; they differ only in floating-point summation
order (one micro-batch of 4 padded to its longest row vs four of 1), of order 1e-7 relative per
step, which 20 Adam steps at lr 1e-2 do not grow beyond ~1e-5. 2e-4 relative is well above that
and far below the loss's fall over the run.
"""

from __future__ import annotations

import dataclasses

import pytest

from medtune.trainer.v1 import trainer_pb2 as t
from medtune_trainer import domain as d
from medtune_trainer import plan

from conftest import all_events, small_spec, wait_terminal

GiB = 2**30


def _spec(**hp) -> d.JobSpec:
    return d.JobSpec("m", d.LocalJsonlSource("/x"), d.Hyperparameters(**hp), d.LoraSettings(), d.BackendName.HF, "/tmp", d.ExportSettings())


def test_candidates_keep_the_global_batch_and_end_with_the_seed_layout():
    spec = _spec()
    cands = plan.candidates(spec.hyperparameters, spec.lora)
    assert all(c.micro_batch_size * c.gradient_accumulation_steps == 8 for c in cands)
    assert cands[0] == plan.Layout(8, 1, "false")
    assert cands[-1] == plan.Layout(2, 4, "unsloth")
    assert len(set(cands)) == len(cands)
    run = plan.apply(spec, cands[1])
    assert (run.hyperparameters.batch_size, run.hyperparameters.gradient_accumulation_steps, run.lora.gradient_checkpointing) == (4, 2, "false")
    assert run.hyperparameters.global_batch_size == spec.hyperparameters.global_batch_size


def test_choose_takes_the_fastest_layout_that_fits_and_survives_an_oom():
    spec = _spec()
    probed = []

    def probe(c):
        probed.append(c.micro_batch_size)
        if c.micro_batch_size == 4:
            return None  # out of memory
        return (int(c.micro_batch_size * 20 * GiB), int(c.micro_batch_size * 21 * GiB))

    layout, chosen = plan.choose(spec, "false", 100 * GiB, probe, lambda c: c.micro_batch_size * 20 * GiB)
    assert probed == [4, 2]  # 8 skipped by the estimate, 4 ran out of memory
    assert layout == plan.Layout(2, 4, "false")
    assert (chosen.micro_batch_size, chosen.gradient_accumulation_steps, chosen.gradient_checkpointing) == (2, 4, "false")
    assert chosen.probe_peak_reserved_bytes == 42 * GiB and chosen.gpu_free_bytes == 100 * GiB and "auto: probe" in chosen.reason


def test_choose_needs_every_rank_and_falls_back_to_the_seed():
    spec = _spec()
    layout, chosen = plan.choose(spec, "false", 100 * GiB, lambda c: (GiB, GiB), lambda c: GiB, agree=lambda ok: False)
    assert layout is None
    assert (chosen.micro_batch_size, chosen.gradient_accumulation_steps, chosen.gradient_checkpointing) == (2, 4, "unsloth")


def _curve(stub, job_id, spec):
    stub.StartJob(t.StartJobRequest(job_id=job_id, spec=spec, attempt=1), timeout=120)
    job = wait_terminal(stub, job_id, 600)
    assert job.state == t.WORKER_JOB_STATE_SUCCEEDED, job.failure
    events = all_events(stub, job_id)
    return [e.metrics for e in events if e.WhichOneof("payload") == "metrics"], [e.execution_plan for e in events if e.WhichOneof("payload") == "execution_plan"]


def test_a_resplit_layout_trains_the_seed_curve_and_schedule(stub, tiny_model, rows_jsonl):
    from medtune.common.v1 import common_pb2 as c

    steps = 20
    # Global batch 4 (1 x 4 with checkpointing) and short rows keep the CPU run small.
    common = dict(max_steps=steps, logging_steps=1, warmup_steps=5, plan="seed", max_seq_length=160)
    seed = small_spec(tiny_model, rows_jsonl, batch_size=1, gradient_accumulation_steps=4, lora=c.LoraConfig(r=8, gradient_checkpointing="true"), **common)
    # What auto picks on a GPU with room: the whole step in one micro-batch, no checkpointing.
    layout = plan.candidates(dataclasses.replace(d.Hyperparameters(), batch_size=1, gradient_accumulation_steps=4), d.LoraSettings(gradient_checkpointing="true"))[0]
    assert (layout.micro_batch_size, layout.gradient_accumulation_steps, layout.gradient_checkpointing) == (4, 1, "false")
    resplit = small_spec(tiny_model, rows_jsonl, batch_size=4, gradient_accumulation_steps=1, lora=c.LoraConfig(r=8, gradient_checkpointing="false"), **common)
    m_seed, p_seed = _curve(stub, "plan-seed", seed)
    m_auto, _ = _curve(stub, "plan-resplit", resplit)
    assert [m.step for m in m_seed] == [m.step for m in m_auto] == list(range(1, steps + 1))
    for a, b in zip(m_seed, m_auto):
        assert b.values["loss"] == pytest.approx(a.values["loss"], rel=2e-4), (a.step, a.values["loss"], b.values["loss"])
        assert b.values["learning_rate"] == pytest.approx(a.values["learning_rate"], rel=1e-12)
    assert m_seed[-1].values["loss"] < m_seed[0].values["loss"] - 0.3
    assert p_seed[0].reason == "seed asked for" and p_seed[0].global_batch_size == 4


def test_auto_on_cpu_runs_the_seed_layout_and_says_so(stub, tiny_model, rows_jsonl):
    spec = small_spec(tiny_model, rows_jsonl, max_steps=2, logging_steps=1, plan="auto")
    _, (p,) = _curve(stub, "plan-auto-cpu", spec)
    assert p.requested == "auto" and "no CUDA" in p.reason
    assert (p.micro_batch_size, p.gradient_accumulation_steps) == (2, 1)
