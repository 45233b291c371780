"""Generate and EvaluateLoss: batched, on a base model, base + adapter, or a merged model; Generate
also on a GGUF file through llama.cpp (CPU). The last loaded model is kept for the next request
with the same reference."""

from __future__ import annotations

import json
import math
import threading
from pathlib import Path
from typing import Iterator, Optional

from . import domain as d
from . import llama_runtime
from .artifacts import path_from_uri
from .backends import base as backend_types
from .backends import selection as backends
from .data import stream_dataset
from .errors import FailedPrecondition, InvalidArgument
from .s3_cache import S3Cache
from .storage import pinned_artifact
from .validate import validate_base_model

SPLIT_EVAL = 2


def _gguf_path(m: d.InferenceModel, local=path_from_uri) -> Path:
    path = local(m.gguf_uri, "model.gguf_uri")
    if not path.is_file():
        raise InvalidArgument("model.gguf_uri", f"no GGUF file at {m.gguf_uri}")
    with path.open("rb") as f:
        if f.read(4) != b"GGUF":
            raise InvalidArgument("model.gguf_uri", f"{m.gguf_uri} is not a GGUF file (no GGUF magic)")
    return path


def _resolve(m: d.InferenceModel, local=path_from_uri) -> tuple[Optional[Path], Optional[Path]]:
    if m.merged_uri:
        merged = local(m.merged_uri, "model.merged_uri")
        if not (merged / "config.json").is_file():
            raise InvalidArgument("model.merged_uri", f"no merged model at {m.merged_uri} (config.json missing)")
        return None, merged
    validate_base_model(m.base_model, "model.base_model")
    if not m.adapter_uri:
        return None, None
    adapter = local(m.adapter_uri, "model.adapter_uri")
    cfg = adapter / "adapter_config.json"
    if not cfg.is_file():
        raise InvalidArgument("model.adapter_uri", f"no adapter at {m.adapter_uri} (adapter_config.json missing)")
    made_for = json.loads(cfg.read_text()).get("base_model_name_or_path") or ""
    if made_for and _same_model(made_for) != _same_model(m.base_model):
        raise FailedPrecondition(f"the adapter at {m.adapter_uri} was made for {made_for}, not {m.base_model}")
    return adapter, None


def _same_model(ref: str) -> str:
    p = Path(ref).expanduser()
    return str(p.resolve()) if p.exists() else ref


class Inference:
    def __init__(self, cache_dir: Optional[Path] = None, s3_roots: Optional[tuple] = None, cache_max_bytes: int = 0):
        """cache_dir: where s3:// models are fetched to (storage.pinned_artifact), at most
        cache_max_bytes of them (0: no cap; s3_cache.py); s3_roots: the s3:// prefixes a request
        may load from (None: any)."""
        self._cache = S3Cache(cache_dir or Path(".s3-cache").resolve(), cache_max_bytes)
        self._s3_roots = s3_roots
        self._key: Optional[tuple] = None
        self._loaded: Optional[backend_types.Loaded] = None
        self._lock = threading.Lock()
        self._gguf = llama_runtime.GgufCache()
        # Cache entries of the loaded transformers model and of the last GGUF: in use, never evicted.
        self._pins: list[str] = []
        self._gguf_pins: list[str] = []

    def _pinning(self, pins: list[str]):
        """A URI → local path function that records the cache entries it pins in `pins`."""

        def local(uri: str, field: str) -> Path:
            path, entry = pinned_artifact(uri, field, self._cache, self._s3_roots)
            if entry:
                pins.append(entry)
            return path

        return local

    def _unpin(self, pins: list[str]) -> None:
        for e in pins:
            self._cache.unpin(e)
        pins.clear()

    def clear(self) -> None:
        """Drops the cached model (a training job needs the GPU memory)."""
        import gc

        self._gguf.clear()
        with self._lock:
            self._key, self._loaded = None, None
            self._unpin(self._pins)
            self._unpin(self._gguf_pins)
        gc.collect()
        try:
            import torch

            if torch.cuda.is_available():
                torch.cuda.empty_cache()
        except ImportError:  # pragma: no cover
            pass

    def _load(self, m: d.InferenceModel) -> backend_types.Loaded:
        pins: list[str] = []
        try:
            adapter, merged = _resolve(m, self._pinning(pins))
            key = (m.base_model, str(adapter), str(merged), m.load_in_4bit, m.backend)
            with self._lock:
                if self._key != key:
                    self._loaded, self._key = None, None
                    self._unpin(self._pins)
                    name, _ = backends.select(m.backend)
                    self._loaded = backends.make(name).load_for_inference(m, adapter, merged)
                    self._key = key
                    # The loaded model keeps its entries pinned; the call's own pins go below.
                    self._pins, pins = pins, []
                assert self._loaded is not None
                return self._loaded
        finally:
            self._unpin(pins)

    def resolve_params(self, m: d.InferenceModel, params: d.GenerationParams, use_model_config: bool) -> d.GenerationParams:
        """The seed's model.generate(): sampling settings from the model's generation_config.json
        (DeepSeek-R1-Distill: do_sample, temperature 0.6, top_p 0.95), seed and length as given.
        Without use_model_config (or for a GGUF file, which has no such file) params are kept."""
        from dataclasses import replace

        if not use_model_config or m.gguf_uri:
            return params
        gc = getattr(self._load(m).model, "generation_config", None)
        if gc is None or not getattr(gc, "do_sample", False):
            return replace(params, temperature=0.0, top_p=1.0)
        return replace(params, temperature=float(gc.temperature or 1.0), top_p=float(gc.top_p or 1.0))

    def generate(self, m: d.InferenceModel, prompts: list[str], params: d.GenerationParams, batch_size: int) -> Iterator[d.Completion]:
        if not prompts:
            raise InvalidArgument("prompts", "at least one prompt is required")
        if params.max_new_tokens < 1:
            raise InvalidArgument("params.max_new_tokens", f"must be >= 1 (got {params.max_new_tokens})")
        if params.temperature < 0 or not math.isfinite(params.temperature):
            raise InvalidArgument("params.temperature", f"must be >= 0 (got {params.temperature:g})")
        if not 0 < params.top_p <= 1:
            raise InvalidArgument("params.top_p", f"must be in (0, 1] (got {params.top_p:g})")
        if batch_size < 1:
            raise InvalidArgument("batch_size", f"must be >= 1 (got {batch_size})")
        if m.gguf_uri:
            # llama.cpp on CPU, one prompt at a time: the artifact as Ollama / llama-server run it.
            pins: list[str] = []
            try:
                path = _gguf_path(m, self._pinning(pins))
            except BaseException:
                self._unpin(pins)
                raise
            with self._lock:
                old, self._gguf_pins = self._gguf_pins, pins
            self._unpin(old)
            return self._gguf.generate(path, m.max_seq_length, prompts, params)
        loaded = self._load(m)
        return self._generate(loaded, prompts, params, batch_size)

    def _generate(self, loaded: backend_types.Loaded, prompts, params: d.GenerationParams, batch_size: int):
        import torch

        tok, model = loaded.tokenizer, loaded.model
        tok.padding_side = "left"
        eos = tok.eos_token_id
        pad = tok.pad_token_id if tok.pad_token_id is not None else eos
        for start in range(0, len(prompts), batch_size):
            batch = prompts[start : start + batch_size]
            enc = tok(batch, return_tensors="pt", padding=True, add_special_tokens=True).to(model.device)
            torch.manual_seed(params.seed)
            kwargs = dict(max_new_tokens=params.max_new_tokens, pad_token_id=pad, eos_token_id=eos)
            if params.temperature > 0:
                kwargs.update(do_sample=True, temperature=params.temperature, top_p=params.top_p)
            else:
                kwargs.update(do_sample=False, temperature=None, top_p=None, top_k=None)
            with torch.inference_mode():
                out = model.generate(**enc, **kwargs)
            width = enc["input_ids"].shape[1]
            for i, row in enumerate(out[:, width:].tolist()):
                n = len(row)
                finish = "length"
                if eos in row:
                    n = row.index(eos) + 1
                    finish = "eos"
                text = tok.decode(row[:n], skip_special_tokens=False)
                yield d.Completion(start + i, text, int(enc["attention_mask"][i].sum()), n, finish)

    def evaluate_loss(
        self, m: d.InferenceModel, texts: Optional[list[str]], dataset: Optional[d.DatasetSource], batch_size: int, max_rows: int
    ) -> d.LossResult:
        import torch

        if batch_size < 1:
            raise InvalidArgument("batch_size", f"must be >= 1 (got {batch_size})")
        if m.gguf_uri:
            raise FailedPrecondition("EvaluateLoss runs on transformers models: give the merged or adapter artifact (a GGUF runs Generate only)")
        if texts is None:
            if dataset is None:
                raise InvalidArgument("data", "one of dataset or texts is required")
            texts = [r.text for r in stream_dataset(dataset, SPLIT_EVAL, max_rows=max_rows)]
        if max_rows:
            texts = texts[:max_rows]
        if not texts:
            raise InvalidArgument("texts", "at least one text is required")
        loaded = self._load(m)
        tok, model = loaded.tokenizer, loaded.model
        tok.padding_side = "right"
        row_losses: list[float] = []
        total, count = 0.0, 0
        for start in range(0, len(texts), batch_size):
            enc = tok(
                texts[start : start + batch_size], return_tensors="pt", padding=True, truncation=True,
                max_length=m.max_seq_length, add_special_tokens=True,
            ).to(model.device)
            with torch.inference_mode():
                logits = model(input_ids=enc["input_ids"], attention_mask=enc["attention_mask"]).logits.float()
            targets = enc["input_ids"][:, 1:]
            mask = enc["attention_mask"][:, 1:].bool()
            lp = torch.log_softmax(logits[:, :-1], dim=-1).gather(-1, targets.unsqueeze(-1)).squeeze(-1)
            nll = (-lp * mask).sum(dim=1)
            n = mask.sum(dim=1)
            for s, c in zip(nll.tolist(), n.tolist()):
                row_losses.append(s / c if c else 0.0)
                total += s
                count += c
        return d.LossResult(total / count if count else 0.0, len(row_losses), count, row_losses)
