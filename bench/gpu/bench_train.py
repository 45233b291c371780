#!/usr/bin/env python3
"""One training benchmark on a GPU: the trainer worker through its gRPC server ("worker") or the
same backend calls in a bare script ("bare"), on a DeepSeek-R1-Distill-Qwen config with random
weights. Writes one JSON result. See bench/gpu/NOTES.md for the runs and targets.

    python3 bench/gpu/bench_train.py --config 14B --backend unsloth --mode worker --out r.json
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(REPO / "python-services" / "trainer" / "src"), str(REPO / "python-services" / "contracts"), str(Path(__file__).parent)]
SHARED = Path(os.environ.get("MEDTUNE_SHARED_DIR", REPO.parent / "shared"))
FAMILY = SHARED / "models" / "deepseek-r1-distill-qwen"
ROWS = SHARED / "data" / "sft" / "medical_o1_sft_Chinese_subset916.json"


def write_rows(kind: str, model_dir: Path, seq: int, out: Path) -> Path:
    """real: the 916 rows as they are (the seed's template is applied by the worker);
    synthetic: the same text cut into rows of seq - 8 tokens (nearly full sequences; a few tokens
    of slack because decoding and encoding again can move a boundary, and the worker refuses data
    whose every row is longer than max_seq_length)."""
    rows = json.loads(ROWS.read_text(encoding="utf-8"))
    if kind == "real":
        out.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
        return out
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(model_dir)
    text = "\n".join(r["Question"] + r["Complex_CoT"] + r["Response"] for r in rows)
    ids = tok(text, add_special_tokens=False)["input_ids"]
    step = seq - 8
    chunks = [tok.decode(ids[i : i + step]) for i in range(0, len(ids) - step, step)]
    out.write_text("".join(json.dumps({"text": c}, ensure_ascii=False) + "\n" for c in chunks), encoding="utf-8")
    return out


def spec_for(a, model_dir: Path, data: Path, root: Path):
    from medtune_trainer import domain as d

    hp = d.Hyperparameters(
        batch_size=a.batch, gradient_accumulation_steps=a.grad_accum, max_steps=a.steps, logging_steps=1,
        max_seq_length=a.seq, load_in_4bit=a.load_in_4bit, packing=a.packing, gpus=a.gpus, plan=a.plan,
        save_steps=1_000_000,  # no checkpoint inside the measured steps (a save is not training speed)
    )
    return d.JobSpec(
        base_model=str(model_dir), data=d.LocalJsonlSource(str(data)), hyperparameters=hp, lora=d.LoraSettings(gradient_checkpointing=a.checkpointing),
        backend=d.BackendName(a.backend), artifact_root=root.as_uri(),
        exports=d.ExportSettings(adapter=False, merged_16bit=False, gguf=False),
    )


def rate(points: list[tuple[float, float, float]], warmup: int) -> tuple[float, list[float]]:
    """points: (step, time, tokens_seen) at each step; tokens/s after the warm-up steps."""
    pts = sorted(points)
    base = next(p for p in pts if p[0] >= warmup) if warmup else (0, pts[0][1] - (pts[1][1] - pts[0][1]), 0)
    last = pts[-1]
    times = [b[1] - a[1] for a, b in zip(pts, pts[1:])]
    return (last[2] - base[2]) / (last[1] - base[1]), times


def run_worker(a, spec_pb_builder, tmp: Path) -> dict:
    import grpc

    from medtune.trainer.v1 import trainer_pb2 as t
    from medtune.trainer.v1 import trainer_pb2_grpc as t_grpc
    from medtune_trainer.config import WorkerConfig
    from medtune_trainer.server import build

    w = build("127.0.0.1:0", WorkerConfig(artifact_root=tmp / "artifacts"))
    try:
        with grpc.insecure_channel(f"127.0.0.1:{w.port}") as ch:
            stub = t_grpc.TrainerServiceStub(ch)
            t0 = time.time()
            stub.StartJob(t.StartJobRequest(job_id="bench", spec=spec_pb_builder(), attempt=1), timeout=3600)
            points, peak, state, failure = [], 0.0, None, None
            peak_reserved, step_tps, plan, losses = 0.0, [], None, []
            partial = False

            class CutShort(Exception):
                pass

            def on_term(signum, frame):  # `timeout` ends a run: keep what was measured
                raise CutShort()

            previous = signal.signal(signal.SIGTERM, on_term)
            try:
                for r in stub.WatchJob(t.WatchJobRequest(job_id="bench"), timeout=7200):
                    ev = r.event
                    kind = ev.WhichOneof("payload")
                    if kind == "metrics":
                        v = ev.metrics.values
                        points.append((ev.metrics.step, ev.time.ToNanoseconds() / 1e9, v["tokens_seen"]))
                        peak = max(peak, v["peak_gpu_memory_bytes"])
                        peak_reserved = max(peak_reserved, v.get("peak_gpu_memory_reserved_bytes", 0.0))
                        if ev.metrics.step > a.warmup:
                            step_tps.append(v["tokens_per_second"])
                        if "loss" in v:
                            losses.append((ev.metrics.step, v["loss"]))
                    elif kind == "execution_plan":
                        p = ev.execution_plan
                        plan = {"micro_batch_size": p.micro_batch_size, "gradient_accumulation_steps": p.gradient_accumulation_steps, "gpus": p.gpus,
                                "gradient_checkpointing": p.gradient_checkpointing, "reason": p.reason,
                                "probe_peak_allocated_gib": p.probe_peak_allocated_bytes / 2**30, "probe_peak_reserved_gib": p.probe_peak_reserved_bytes / 2**30}
                    elif kind == "state_changed":
                        state = ev.state_changed.state
                        if ev.state_changed.HasField("failure"):
                            failure = ev.state_changed.failure.message + " | " + ev.state_changed.failure.detail
            except CutShort:
                partial = True
            finally:
                signal.signal(signal.SIGTERM, previous)
            job = None if partial else stub.GetJob(t.GetJobRequest(job_id="bench"), timeout=30).job
    finally:
        w.server.stop(0)
    if partial and len([p for p in points if p[0] > a.warmup]) < 2:
        return {"error": f"cut short by its timeout after {len(points)} steps (too few to measure)", "losses": losses, "execution_plan": plan}
    if not partial and job.state != t.WORKER_JOB_STATE_SUCCEEDED:
        return {"error": failure or f"state {job.state}"}
    tps, times = rate(points, a.warmup)
    return {
        "tokens_per_second": tps, "peak_gpu_memory_bytes": peak, "peak_gpu_memory_reserved_bytes": peak_reserved,
        "step_tokens_per_second": spread(step_tps), "measured_steps": len(step_tps),
        "step_times_s": times, "wall_s": time.time() - t0, "backend_reason": job.backend_reason if job else "", "execution_plan": plan,
        "losses": losses,  # (step, training loss) at each logging step: the plans' curves compared in NOTES.md
        "partial": partial,  # True: cut by its timeout; the figures are of the steps done until then
    }


def spread(xs: list[float]) -> dict:
    """min / median / max of per-step figures (each step's own tokens / wall time)."""
    if not xs:
        return {}
    s = sorted(xs)
    return {"min": s[0], "median": s[len(s) // 2] if len(s) % 2 else (s[len(s) // 2 - 1] + s[len(s) // 2]) / 2, "max": s[-1], "n": len(s)}


def run_bare(a, spec, tmp: Path) -> dict:
    """The backend's own calls with the same settings, without the server, the job manager and the
    events: the seed script's shape."""
    import torch
    from transformers import TrainerCallback
    from trl import SFTConfig

    from medtune_trainer.backends import selection as backends
    from medtune_trainer.backends.common import TokenCounter, counting, make_dataset, sft_config_kwargs
    from medtune_trainer.data import read_local

    t0 = time.time()
    backend = backends.make(spec.backend)
    plan = backend.prepare_training(spec, lambda *m: print("notice:", *m))
    tok = plan.loaded.tokenizer
    rows = read_local(spec.data, tok.eos_token)
    ids = [x[: a.seq] for x in tok([r.text for r in rows])["input_ids"]]
    counter = TokenCounter()
    points = []

    class Timing(TrainerCallback):
        def on_step_end(self, args, state, control, **kw):
            if torch.cuda.is_available():
                torch.cuda.synchronize()
            points.append((state.global_step, time.time(), counter.total))

    if torch.cuda.is_available():
        torch.cuda.reset_peak_memory_stats()

    cfg = SFTConfig(**{**sft_config_kwargs(spec, tmp / "ck"), **plan.args, "save_strategy": "no"})
    trainer = counting(backend.sft_trainer_class(), counter)(model=plan.loaded.model, args=cfg, train_dataset=make_dataset(ids), processing_class=tok, callbacks=[Timing()])
    trainer.train()
    tps, times = rate(points, a.warmup)
    pts = sorted(points)
    per_step = [(b[2] - a_[2]) / (b[1] - a_[1]) for a_, b in zip(pts, pts[1:]) if b[0] > a.warmup]
    cuda = torch.cuda.is_available()
    return {
        "tokens_per_second": tps, "peak_gpu_memory_bytes": float(torch.cuda.max_memory_allocated()) if cuda else 0.0,
        "peak_gpu_memory_reserved_bytes": float(torch.cuda.max_memory_reserved()) if cuda else 0.0,
        "step_tokens_per_second": spread(per_step), "measured_steps": len(per_step), "step_times_s": times, "wall_s": time.time() - t0,
    }


def use_liger(kernels: str) -> None:
    """Issue 16's experiment: Liger's kernels on top of unsloth, in this process (worker mode runs
    the worker in-process). unsloth already replaces Qwen2's RMSNorm, RoPE, SwiGLU-with-LoRA and
    cross-entropy by its own Triton kernels through its decoder-layer, attention, MLP and CausalLM
    forwards, so Liger's class-level patches of those modules are never reached; the one that can
    take effect is the fused linear cross-entropy, set on the model instance ("flce"), which
    replaces unsloth's chunked cross-entropy and keeps unsloth's layers. "swiglu" also swaps each
    layer's MLP forward for Liger's (dropping unsloth's fused LoRA MLP)."""
    from medtune_trainer.backends import unsloth as ub

    wanted = set(kernels.split(","))
    original = ub.UnslothBackend.prepare_training

    def prepare_training(self, spec, notify):
        tp = original(self, spec, notify)
        from liger_kernel.transformers import apply_liger_kernel_to_qwen2

        apply_liger_kernel_to_qwen2(
            rope=False, rms_norm=False, cross_entropy=False, swiglu="swiglu" in wanted,
            fused_linear_cross_entropy="flce" in wanted, model=tp.loaded.model.get_base_model(),
        )
        print(f"bench: Liger kernels {sorted(wanted)} applied on top of unsloth", flush=True)
        return tp

    ub.UnslothBackend.prepare_training = prepare_training


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--config", default="14B", choices=["1.5B", "7B", "14B", "32B"])
    ap.add_argument("--config-dir", type=Path, help="another config.json directory (a CPU smoke run of this script)")
    ap.add_argument("--backend", default="unsloth", choices=["unsloth", "hf"])
    ap.add_argument("--mode", default="worker", choices=["worker", "bare"])
    ap.add_argument("--no-4bit", dest="load_in_4bit", action="store_false")
    ap.add_argument("--seq", type=int, default=4096)
    ap.add_argument("--batch", type=int, default=2)
    ap.add_argument("--grad-accum", type=int, default=4)
    ap.add_argument("--steps", type=int, default=6)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--data", default="synthetic", choices=["synthetic", "real"])
    ap.add_argument("--packing", action="store_true")
    ap.add_argument("--gpus", type=int, default=1, help="data-parallel ranks (the worker launches them with torchrun)")
    ap.add_argument("--plan", default="seed", choices=["seed", "auto"], help="execution plan (seed: the seed's layout exactly)")
    ap.add_argument("--checkpointing", default="unsloth", choices=["unsloth", "true", "false"], help="gradient checkpointing of the seed plan")
    ap.add_argument("--launcher", action="store_true", help="run even one rank through the launcher (torchrun), as N > 1 does")
    ap.add_argument("--liger", default="", help="comma-separated Liger kernels on top of unsloth (flce, swiglu): issue 16's experiment")
    ap.add_argument("--model-root", type=Path, default=Path(os.environ.get("MEDTUNE_BENCH_MODELS", "/tmp/medtune-models")))
    ap.add_argument("--expandable-segments", action="store_true", help="PYTORCH_CUDA_ALLOC_CONF=expandable_segments:True (set before CUDA starts)")
    ap.add_argument("--out", type=Path, required=True)
    a = ap.parse_args()
    if a.expandable_segments:
        os.environ["PYTORCH_CUDA_ALLOC_CONF"] = "expandable_segments:True"
    if a.backend == "unsloth":
        import unsloth  # noqa: F401  (before transformers / trl / peft: it patches them)
    if a.launcher:
        os.environ["MEDTUNE_TRAINER_LAUNCHER"] = "always"
    if a.liger:
        use_liger(a.liger)

    from random_model import make_random_model

    t0 = time.time()
    config_dir = a.config_dir or FAMILY / a.config
    model_dir = make_random_model(config_dir, FAMILY / "bpe", a.model_root / config_dir.name)
    made_s = time.time() - t0
    tmp = Path(tempfile.mkdtemp(prefix="bench-"))
    data = write_rows(a.data, model_dir, a.seq, tmp / "rows.jsonl")
    spec = spec_for(a, model_dir, data, tmp / "artifacts")

    def spec_pb():
        from medtune_trainer import converters as cv

        return cv.spec_to_pb(spec)

    try:
        res = run_worker(a, spec_pb, tmp) if a.mode == "worker" else run_bare(a, spec, tmp)
    except Exception as e:  # a result file either way: an OOM is a finding too
        res = {"error": f"{type(e).__name__}: {str(e)[:1500]}"}
    import torch

    from medtune_trainer.backends.selection import versions

    res.update(
        settings={k: (str(v) if isinstance(v, Path) else v) for k, v in vars(a).items()},
        gpu=torch.cuda.get_device_name(0) if torch.cuda.is_available() else "cpu",
        versions=versions(),
        model_write_s=made_s,
    )
    if "peak_gpu_memory_bytes" in res:
        res["peak_gpu_memory_gib"] = res["peak_gpu_memory_bytes"] / 2**30
        res["peak_gpu_memory_reserved_gib"] = res.get("peak_gpu_memory_reserved_bytes", 0.0) / 2**30
    a.out.parent.mkdir(parents=True, exist_ok=True)
    a.out.write_text(json.dumps(res, indent=1))
    print(json.dumps({k: v for k, v in res.items() if k != "step_times_s"}))


if __name__ == "__main__":
    main()
