"""Writes a model directory with the real shapes of a DeepSeek-R1-Distill-Qwen config and random
weights (normal(0, 0.02) matrices, unit norms, zero biases), shard by shard, so a 14B model never
has to fit in host memory at once. Loss values mean nothing; speed and memory are the real ones."""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import torch
from safetensors.torch import save_file

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "python-services" / "trainer" / "src"))
from medtune_trainer.tiny_model import build_tokenizer  # noqa: E402


def make_random_model(config_dir: Path, bpe_dir: Path, out: Path, shard_bytes: int = 4 << 30) -> Path:
    if (out / "model.safetensors.index.json").is_file():
        return out
    from transformers import AutoConfig, AutoModelForCausalLM

    out.mkdir(parents=True, exist_ok=True)
    for name in ("config.json", "generation_config.json"):
        if (config_dir / name).is_file():
            shutil.copy(config_dir / name, out / name)
    cfg = AutoConfig.from_pretrained(config_dir)
    with torch.device("meta"):
        model = AutoModelForCausalLM.from_config(cfg, dtype=torch.bfloat16)
    dev = "cuda" if torch.cuda.is_available() else "cpu"
    gen = torch.Generator(device=dev).manual_seed(0)
    shard: dict[str, torch.Tensor] = {}
    size, n, weight_map = 0, 0, {}

    def flush():
        nonlocal shard, size, n
        if shard:
            n += 1
            fname = f"model-{n:05d}.safetensors"
            save_file(shard, str(out / fname), metadata={"format": "pt"})
            for k in shard:
                weight_map[k] = fname
            shard, size = {}, 0

    for name, p in model.state_dict().items():
        if name.endswith("norm.weight"):
            t = torch.ones(p.shape, dtype=torch.bfloat16)
        elif name.endswith(".bias"):
            t = torch.zeros(p.shape, dtype=torch.bfloat16)
        else:
            t = (torch.randn(p.shape, generator=gen, device=dev, dtype=torch.float32) * 0.02).to(torch.bfloat16).cpu()
        shard[name] = t
        size += t.numel() * 2
        if size >= shard_bytes:
            flush()
    flush()
    total = sum(t.numel() * 2 for t in model.state_dict().values())
    (out / "model.safetensors.index.json").write_text(json.dumps({"metadata": {"total_size": total}, "weight_map": weight_map}))
    build_tokenizer(bpe_dir).save_pretrained(out)
    return out
