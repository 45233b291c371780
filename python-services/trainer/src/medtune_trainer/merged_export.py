"""The merged 16-bit export as a standard Hugging Face model directory, whatever the backend and
whatever the base model's shard layout, and the check that it loads before it is reported.

A standard directory is what `AutoModelForCausalLM.from_pretrained(dir)` finds on its own: one
`model.safetensors`, or shards listed by `model.safetensors.index.json`; plus `config.json`,
`generation_config.json` and the tokenizer. Merges do not always write that: unsloth_zoo copies
the base's index only when the base has several shards or `-of-` names, so a base stored as a
single `model-00001.safetensors` with an index (bench/gpu/random_model.py writes that) gave a
directory transformers cannot open. `standardize` repairs such a directory; `verify` loads it.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any, Optional

from .errors import JobFailure

INDEX = "model.safetensors.index.json"
SINGLE = "model.safetensors"
# Copied from the base model when the merge did not write them (the tokenizer as the base has it).
SIDE_FILES = (
    "generation_config.json",
    "tokenizer.json",
    "tokenizer_config.json",
    "special_tokens_map.json",
    "vocab.json",
    "merges.txt",
    "added_tokens.json",
    "chat_template.jinja",
)
# Logits of the merged model against base + adapter (fp32) on a probe input: the merged weights
# are rounded to 16 bits, so the bound is relative to the largest reference logit.
LOGITS_RTOL = 0.02
# Above this many weight bytes the worker checks headers against the config instead of loading
# the whole model into host memory (a 14B merge is 28 GiB).
DEFAULT_LOAD_MAX_BYTES = 2 << 30


def _safetensors_keys(path: Path) -> dict[str, tuple[int, ...]]:
    from safetensors import safe_open

    with safe_open(str(path), framework="pt") as f:
        return {k: tuple(f.get_slice(k).get_shape()) for k in f.keys()}


def _tensor_bytes(path: Path) -> int:
    """Bytes of tensor data in a safetensors file (file size minus its JSON header)."""
    with path.open("rb") as f:
        header = int.from_bytes(f.read(8), "little")
    return path.stat().st_size - 8 - header


def standardize(out_dir: Path, base_model: str) -> list[str]:
    """Rewrites out_dir's layout into the standard one; returns what it changed (empty when the
    merge wrote a standard directory). Raises JobFailure when the weights are not all there."""
    changes: list[str] = []
    weights = sorted(p for p in out_dir.glob("*.safetensors"))
    index = out_dir / INDEX
    if not (out_dir / "config.json").is_file():
        raise JobFailure("platform", "the merged export has no config.json")
    if index.is_file():
        weight_map: dict[str, str] = json.loads(index.read_text()).get("weight_map") or {}
        missing = sorted({f for f in weight_map.values() if not (out_dir / f).is_file()})
        if not weight_map or missing:
            raise JobFailure("platform", f"the merged export's {INDEX} lists shards that are not there: {missing or 'none listed'}")
    elif not weights:
        raise JobFailure("platform", "the merged export wrote no safetensors weights")
    elif len(weights) == 1 and weights[0].name != SINGLE:
        os.rename(weights[0], out_dir / SINGLE)
        changes.append(f"renamed {weights[0].name} to {SINGLE} (a single shard without an index)")
    elif len(weights) > 1:
        weight_map, total = {}, 0
        for w in weights:
            for k in _safetensors_keys(w):
                if k in weight_map:
                    raise JobFailure("platform", f"tensor {k} is in two shards of the merged export ({weight_map[k]}, {w.name})")
                weight_map[k] = w.name
            total += _tensor_bytes(w)
        index.write_text(json.dumps({"metadata": {"total_size": total}, "weight_map": dict(sorted(weight_map.items()))}, indent=2) + "\n")
        changes.append(f"wrote {INDEX} for {len(weights)} shards")
    base = Path(base_model).expanduser()
    if base.is_dir():
        for name in SIDE_FILES:
            if (base / name).is_file() and not (out_dir / name).exists():
                shutil.copy2(base / name, out_dir / name)
                changes.append(f"copied {name} from the base model")
    if not (out_dir / "generation_config.json").exists():
        from transformers import AutoConfig, GenerationConfig

        GenerationConfig.from_model_config(AutoConfig.from_pretrained(str(out_dir))).save_pretrained(str(out_dir))
        changes.append("wrote generation_config.json from config.json")
    return changes


def weight_bytes(out_dir: Path) -> int:
    return sum(_tensor_bytes(p) for p in out_dir.glob("*.safetensors"))


def _check_headers(out_dir: Path) -> int:
    """Every tensor the config's architecture expects is stored with its shape (no weights read)."""
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM

    cfg = AutoConfig.from_pretrained(str(out_dir))
    with torch.device("meta"):
        model = AutoModelForCausalLM.from_config(cfg)
    stored: dict[str, tuple[int, ...]] = {}
    for w in out_dir.glob("*.safetensors"):
        stored.update(_safetensors_keys(w))
    tied = {"lm_head.weight"} if getattr(cfg, "tie_word_embeddings", False) else set()
    expected = {k: tuple(v.shape) for k, v in model.state_dict().items() if k not in tied}
    missing = sorted(k for k in expected if k not in stored)
    wrong = sorted(k for k in expected if k in stored and stored[k] != expected[k])
    if missing or wrong:
        raise JobFailure("platform", f"the merged export does not match its config: missing {missing[:5]}, wrong shape {wrong[:5]}")
    return len(expected)


def _check_layout(out_dir: Path) -> None:
    """transformers' rule: model.safetensors, or the index with every shard it names."""
    index = out_dir / INDEX
    if index.is_file():
        shards = set((json.loads(index.read_text()).get("weight_map") or {}).values())
        if shards and all((out_dir / s).is_file() for s in shards):
            return
    elif (out_dir / SINGLE).is_file():
        return
    found = sorted(p.name for p in out_dir.iterdir())
    raise JobFailure("platform", f"the merged export has neither {SINGLE} nor a complete {INDEX} (files: {found[:10]})")


def _probe_ids(tokenizer) -> list[int]:
    return tokenizer("患者胸痛 3 小时 ### Response:\n<think>", add_special_tokens=True)["input_ids"][:32]


def verify(out_dir: Path, base_model: str, adapter_dir: Optional[Path] = None, load_max_bytes: Optional[int] = None) -> dict[str, str]:
    """Checks that out_dir opens the way its users open it. Always: config, generation config and
    tokenizer load, every expected tensor is stored. When the weights fit load_max_bytes: the
    model loads with AutoModelForCausalLM.from_pretrained and, given the adapter, its logits on a
    probe match base + adapter within LOGITS_RTOL. Returns details for the artifact record;
    raises JobFailure("platform", ...) when the export is not usable."""
    from transformers import AutoTokenizer, GenerationConfig

    if load_max_bytes is None:
        load_max_bytes = int(os.environ.get("MEDTUNE_TRAINER_VERIFY_LOAD_MAX_BYTES", DEFAULT_LOAD_MAX_BYTES))
    _check_layout(out_dir)
    try:
        tokenizer = AutoTokenizer.from_pretrained(str(out_dir))
        GenerationConfig.from_pretrained(str(out_dir))
        tensors = _check_headers(out_dir)
    except JobFailure:
        raise
    except Exception as e:
        raise JobFailure("platform", f"the merged export does not load: {type(e).__name__}: {e}") from e
    size = weight_bytes(out_dir)
    details = {"layout": "sharded" if (out_dir / INDEX).is_file() else "single", "tensors": str(tensors)}
    if size > load_max_bytes:
        details["verified"] = f"headers (weights {size} bytes > {load_max_bytes}: not loaded)"
        return details
    if "unsloth" in sys.modules:
        # unsloth patches transformers' Qwen2 / Llama classes process-wide when imported (its
        # rotary embedding keeps its tables on the GPU whatever device the model is on: a CPU
        # forward fails), so a load here is not how a user loads the export: check it in a clean
        # interpreter.
        details.update(_verify_in_clean_process(out_dir, base_model, adapter_dir))
        return details
    details.update(_load_and_compare(out_dir, base_model, adapter_dir, tokenizer))
    return details


def _verify_in_clean_process(out_dir: Path, base_model: str, adapter_dir: Optional[Path]) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in sys.path if p)
    env["CUDA_VISIBLE_DEVICES"] = ""  # the check runs on the CPU, as in a process without unsloth
    cmd = [sys.executable, "-m", "medtune_trainer.merged_export", str(out_dir), base_model, str(adapter_dir or "")]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=1800)
    lines = [line for line in proc.stdout.splitlines() if line.startswith("{")]
    if proc.returncode != 0 or not lines:
        raise JobFailure("platform", f"the merged export's load check did not finish (exit status {proc.returncode}): {proc.stderr[-2000:]}")
    out = json.loads(lines[-1])
    if "failure" in out:
        raise JobFailure("platform", out["failure"])
    return out["details"]


def _load_and_compare(out_dir: Path, base_model: str, adapter_dir: Optional[Path], tokenizer) -> dict[str, str]:
    import torch
    from transformers import AutoModelForCausalLM

    details: dict[str, str] = {}
    try:
        merged = AutoModelForCausalLM.from_pretrained(str(out_dir), dtype=torch.float32, device_map={"": "cpu"})
    except Exception as e:
        raise JobFailure("platform", f"the merged export does not load with AutoModelForCausalLM.from_pretrained: {type(e).__name__}: {e}") from e
    x = torch.tensor([_probe_ids(tokenizer)])
    with torch.inference_mode():
        got = merged(x).logits.float()
    del merged
    if not torch.isfinite(got).all():
        raise JobFailure("platform", "the merged export loads but gives non-finite logits")
    details["verified"] = "loaded"
    if adapter_dir is not None:
        ref = reference_logits(base_model, adapter_dir, x)
        err = float((got - ref).abs().max())
        bound = LOGITS_RTOL * float(ref.abs().max())
        details["max_logit_diff"] = f"{err:.3g}"
        if err > bound:
            raise JobFailure("platform", f"the merged export's logits differ from base + adapter by {err:.3g} (bound {bound:.3g})")
        details["verified"] = f"loaded; logits within {LOGITS_RTOL:g} x max |logit| of base + adapter"
    return details


def reference_logits(base_model: str, adapter_dir: Path, input_ids: Any):
    """Logits of base + adapter (unmerged, fp32, CPU): what the merge must reproduce."""
    import torch
    from peft import PeftModel
    from transformers import AutoModelForCausalLM

    base = AutoModelForCausalLM.from_pretrained(base_model, dtype=torch.float32, device_map={"": "cpu"})
    model = PeftModel.from_pretrained(base, str(adapter_dir))
    model.eval()
    with torch.inference_mode():
        out = model(input_ids).logits.float()
    del model, base
    return out


if __name__ == "__main__":  # python -m medtune_trainer.merged_export OUT_DIR BASE_MODEL [ADAPTER_DIR]: verify's load check
    def _main(argv: list[str]) -> dict:
        from transformers import AutoTokenizer

        out_dir, base_model = Path(argv[1]), argv[2]
        adapter = Path(argv[3]) if len(argv) > 3 and argv[3] else None
        try:
            return {"details": _load_and_compare(out_dir, base_model, adapter, AutoTokenizer.from_pretrained(str(out_dir)))}
        except JobFailure as e:
            return {"failure": e.message}

    print(json.dumps(_main(sys.argv)), flush=True)
