"""The merged 16-bit export is a standard Hugging Face directory whatever the base model's shard
layout, loads with AutoModelForCausalLM.from_pretrained, and its logits match base + adapter
within merged_export.LOGITS_RTOL x max |logit| (16-bit rounding of the merged weights); a merge
that does not load fails the job instead of becoming an artifact."""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import pytest
import torch

from medtune.common.v1 import common_pb2 as c
from medtune.trainer.v1 import trainer_pb2 as t
from medtune_trainer import merged_export
from medtune_trainer.artifacts import path_from_uri
from medtune_trainer.errors import JobFailure

from conftest import small_spec, wait_terminal

TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json")


def _write_shards(src: Path, out: Path, names: list[str], with_index: bool) -> Path:
    """src's weights re-stored as len(names) shards (tensors dealt out in order), config and
    tokenizer copied; with an index or without (what a faulty merge leaves)."""
    from safetensors.torch import load_file, save_file

    out.mkdir(parents=True)
    state = load_file(str(src / "model.safetensors"))
    keys = sorted(state)
    per = -(-len(keys) // len(names))
    weight_map = {}
    for i, name in enumerate(names):
        part = {k: state[k].contiguous() for k in keys[i * per : (i + 1) * per]}
        save_file(part, str(out / name), metadata={"format": "pt"})
        weight_map.update({k: name for k in part})
    if with_index:
        total = sum(v.numel() * v.element_size() for v in state.values())
        (out / merged_export.INDEX).write_text(json.dumps({"metadata": {"total_size": total}, "weight_map": weight_map}))
    for f in ("config.json", "generation_config.json", *TOKENIZER_FILES):
        if (src / f).is_file():
            shutil.copy(src / f, out / f)
    return out


@pytest.fixture(scope="module")
def random_adapter(tiny_model, tmp_path_factory) -> Path:
    """A LoRA adapter with random (non-zero) B matrices: base + adapter differs from the base."""
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    out = tmp_path_factory.mktemp("adapter")
    torch.manual_seed(0)
    base = AutoModelForCausalLM.from_pretrained(tiny_model, dtype=torch.float32)
    cfg = LoraConfig(r=4, lora_alpha=8, target_modules=["q_proj", "v_proj", "down_proj"], init_lora_weights=False)
    get_peft_model(base, cfg).save_pretrained(out)
    return out


def _logits(model_dir, ids, adapter: Path | None = None):
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(str(model_dir), dtype=torch.float32)
    if adapter is not None:
        from peft import PeftModel

        model = PeftModel.from_pretrained(model, str(adapter))
    with torch.no_grad():
        return model(ids).logits


IDS = torch.tensor([[151646, 108386, 1879, 151648, 100, 200, 151649, 300, 400]])


def _assert_close_to_reference(merged_dir: Path, base: Path, adapter: Path) -> None:
    got, ref = _logits(merged_dir, IDS), _logits(base, IDS, adapter)
    bound = merged_export.LOGITS_RTOL * ref.abs().max()
    assert (got - ref).abs().max() <= bound, ((got - ref).abs().max(), bound)
    assert (got - _logits(base, IDS)).abs().max() > bound  # the adapter is really in it


def _merge(base: Path, adapter: Path, out: Path) -> Path:
    from peft import PeftModel
    from transformers import AutoModelForCausalLM

    m = PeftModel.from_pretrained(AutoModelForCausalLM.from_pretrained(base, dtype=torch.float32), str(adapter))
    m.merge_and_unload().to(torch.bfloat16).save_pretrained(out)
    return out


def test_a_single_unindexed_shard_becomes_model_safetensors(tiny_model, random_adapter, tmp_path):
    """What unsloth_zoo left for a base stored as one model-00001.safetensors with an index: the
    shard without its index and without the tokenizer. transformers cannot open it as it is."""
    from transformers import AutoModelForCausalLM

    merged = _merge(tiny_model, random_adapter, tmp_path / "merged")
    (merged / "model.safetensors").rename(merged / "model-00001.safetensors")
    with pytest.raises(OSError):
        AutoModelForCausalLM.from_pretrained(str(merged))
    changes = merged_export.standardize(merged, str(tiny_model))
    assert any("model-00001.safetensors" in ch for ch in changes)
    assert {"model.safetensors", "config.json", "generation_config.json", *TOKENIZER_FILES} <= {p.name for p in merged.iterdir()}
    details = merged_export.verify(merged, str(tiny_model), random_adapter)
    assert details["layout"] == "single" and details["verified"].startswith("loaded; logits within")
    _assert_close_to_reference(merged, tiny_model, random_adapter)


def test_several_shards_without_index_get_one(tiny_model, random_adapter, tmp_path):
    merged = _merge(tiny_model, random_adapter, tmp_path / "merged")
    names = [f"model-{i:05d}-of-00003.safetensors" for i in (1, 2, 3)]
    shards = _write_shards(merged, tmp_path / "shards", names, with_index=False)
    merged_export.standardize(shards, str(tiny_model))
    index = json.loads((shards / merged_export.INDEX).read_text())
    assert set(index["weight_map"].values()) == set(names) and len(index["weight_map"]) == 27
    assert merged_export.verify(shards, str(tiny_model), random_adapter)["layout"] == "sharded"
    _assert_close_to_reference(shards, tiny_model, random_adapter)


def test_an_index_naming_a_missing_shard_or_a_wrong_merge_is_rejected(tiny_model, random_adapter, tmp_path):
    names = ["model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors"]
    broken = _write_shards(tiny_model, tmp_path / "broken", names, with_index=True)
    (broken / names[1]).unlink()
    with pytest.raises(JobFailure, match="not there"):
        merged_export.standardize(broken, str(tiny_model))
    with pytest.raises(JobFailure, match="neither model.safetensors nor a complete"):
        merged_export.verify(broken, str(tiny_model))
    # The base itself passed off as base + adapter: loads, but the logits give it away.
    with pytest.raises(JobFailure, match="logits differ"):
        merged_export.verify(tiny_model, str(tiny_model), random_adapter)
    # Weights over the load limit: headers are checked against the config instead.
    assert merged_export.verify(tiny_model, str(tiny_model), load_max_bytes=1)["verified"].startswith("headers")


@pytest.mark.parametrize(
    "layout",
    [
        # bench/gpu/random_model.py's layout (the failure reported on the GPU machine).
        ("single-indexed", ["model-00001.safetensors"]),
        ("three-shards", [f"model-{i:05d}-of-00003.safetensors" for i in (1, 2, 3)]),
    ],
    ids=lambda v: v[0],
)
def test_job_merge_of_any_base_layout_loads(stub, tiny_model, rows_jsonl, tmp_path, layout):
    name, shards = layout
    base = _write_shards(tiny_model, tmp_path / "base", shards, with_index=True)
    spec = small_spec(base, rows_jsonl, max_steps=2, exports=c.ExportOptions(adapter=True, merged_16bit=True, gguf=False))
    job_id = f"merged-{name}-{tmp_path.name[-6:]}"
    stub.StartJob(t.StartJobRequest(job_id=job_id, spec=spec, attempt=1), timeout=60)
    job = wait_terminal(stub, job_id)
    assert job.state == t.WORKER_JOB_STATE_SUCCEEDED, job.failure
    arts = {a.kind: a for a in job.artifacts}
    merged = arts[c.ARTIFACT_KIND_MERGED_16BIT]
    assert merged.details["verified"].startswith("loaded; logits within"), merged.details
    files = {f.path for f in merged.files}
    assert {"config.json", "generation_config.json", *TOKENIZER_FILES} <= files
    assert "model.safetensors" in files or merged_export.INDEX in files
    _assert_close_to_reference_or_trained(path_from_uri(merged.uri), base, path_from_uri(arts[c.ARTIFACT_KIND_ADAPTER].uri))


def _assert_close_to_reference_or_trained(merged_dir: Path, base: Path, adapter: Path) -> None:
    """As _assert_close_to_reference, without requiring a 2-step adapter to move the logits much."""
    got, ref = _logits(merged_dir, IDS), _logits(base, IDS, adapter)
    assert (got - ref).abs().max() <= merged_export.LOGITS_RTOL * ref.abs().max()


def test_a_merge_that_does_not_load_fails_the_job(stub, tiny_model, rows_jsonl, monkeypatch):
    """The backend writes a merge missing a tensor: the job fails, no merged artifact is reported."""
    from medtune_trainer.backends import hf

    real = hf.HfBackend.save_merged

    def lossy(self, loaded, spec, adapter_dir, out_dir):
        details = real(self, loaded, spec, adapter_dir, out_dir)
        from safetensors.torch import load_file, save_file

        state = load_file(str(out_dir / "model.safetensors"))
        state.pop("model.layers.1.mlp.down_proj.weight")
        save_file(state, str(out_dir / "model.safetensors"), metadata={"format": "pt"})
        return details

    monkeypatch.setattr(hf.HfBackend, "save_merged", lossy)
    spec = small_spec(tiny_model, rows_jsonl, max_steps=1, exports=c.ExportOptions(adapter=True, merged_16bit=True, gguf=False))
    spec.backend = c.BACKEND_HF
    stub.StartJob(t.StartJobRequest(job_id="merged-lossy", spec=spec, attempt=1), timeout=60)
    job = wait_terminal(stub, "merged-lossy")
    assert job.state == t.WORKER_JOB_STATE_FAILED
    assert "down_proj" in job.failure.message and "merged export" in job.failure.message
    assert c.ARTIFACT_KIND_MERGED_16BIT not in {a.kind for a in job.artifacts}


def test_in_a_process_unsloth_patched_the_check_runs_in_a_clean_interpreter(tiny_model, random_adapter, tmp_path, monkeypatch):
    """Where unsloth is imported (a GPU worker) transformers' model classes are patched process-wide
    and a CPU forward of a plain load fails (seen on the H200): verify then loads and compares in a
    fresh interpreter, with the same verdicts."""
    import types

    monkeypatch.setitem(sys.modules, "unsloth", types.ModuleType("unsloth"))
    merged = _merge(tiny_model, random_adapter, tmp_path / "merged")
    merged_export.standardize(merged, str(tiny_model))
    calls = []
    real_run = merged_export.subprocess.run
    monkeypatch.setattr(merged_export.subprocess, "run", lambda *a, **k: calls.append(a[0]) or real_run(*a, **k))
    details = merged_export.verify(merged, str(tiny_model), random_adapter)
    assert details["verified"].startswith("loaded; logits within") and float(details["max_logit_diff"]) >= 0
    assert calls and calls[0][1:3] == ["-m", "medtune_trainer.merged_export"]
    with pytest.raises(JobFailure, match="logits differ"):
        merged_export.verify(tiny_model, str(tiny_model), random_adapter)
