"""GGUF files run by llama.cpp itself, on CPU: the runtime Ollama / llama-server users load them
with. tools/python/llama-cpp.sh compiles libllama + ggml from the same pinned sources the GGUF
converter comes from (the llama-cpp-python 0.3.36 sdist's vendor/llama.cpp) and installs that
sdist's ctypes binding (`llama_cpp`) beside them. Also quantizes (q4_k_m) with llama.cpp's own
llama_model_quantize, which the Python converter cannot write."""

from __future__ import annotations

import ctypes
import os
import threading
from pathlib import Path
from typing import Iterator, Optional

from . import domain as d
from .errors import FailedPrecondition, JobFailure

RUNTIME = "llama.cpp (vendor/llama.cpp of llama-cpp-python 0.3.36, CPU build by tools/python/llama-cpp.sh)"
# Types llama.cpp's quantizer writes from an f16 GGUF (the converter writes the others itself).
QUANTIZED_TYPES = {"q4_k_m": "LLAMA_FTYPE_MOSTLY_Q4_K_M", "q5_k_m": "LLAMA_FTYPE_MOSTLY_Q5_K_M", "q6_k": "LLAMA_FTYPE_MOSTLY_Q6_K"}
_MISSING = "the llama.cpp runtime (python package llama_cpp) is not installed on this worker; run tools/python/setup.sh"


def module():
    """The llama_cpp binding, or None when the runtime is not installed."""
    try:
        import llama_cpp  # noqa: PLC0415

        return llama_cpp
    except (ImportError, OSError, RuntimeError):
        return None


def available() -> bool:
    return module() is not None


def quantize(src: Path, out: Path, qtype: str, threads: Optional[int] = None) -> None:
    """Writes out = src (an f16 / bf16 / f32 GGUF) quantized to qtype with llama.cpp."""
    lc = module()
    if lc is None:
        raise JobFailure("setup", _MISSING)
    params = lc.llama_model_quantize_default_params()
    params.ftype = getattr(lc, QUANTIZED_TYPES[qtype])
    params.nthread = threads or os.cpu_count() or 1
    rc = lc.llama_model_quantize(str(src).encode(), str(out).encode(), ctypes.byref(params))
    if rc != 0 or not out.is_file():
        raise JobFailure("platform", f"llama.cpp could not quantize the GGUF to {qtype} (llama_model_quantize returned {rc})")


class GgufModel:
    """One GGUF file loaded by llama.cpp (CPU). Not thread-safe: callers hold a lock."""

    def __init__(self, path: Path, n_ctx: int = 4096, threads: Optional[int] = None, logits_all: bool = False):
        lc = module()
        if lc is None:
            raise FailedPrecondition(_MISSING)
        self.path = path
        try:
            self.llm = lc.Llama(
                model_path=str(path), n_ctx=n_ctx, n_batch=min(n_ctx, 512), n_threads=threads or os.cpu_count(),
                n_gpu_layers=0, logits_all=logits_all, verbose=False,
            )
        except (ValueError, RuntimeError) as e:
            raise FailedPrecondition(f"llama.cpp cannot load the GGUF at {path}: {e}") from e
        self.n_ctx = n_ctx
        self.eos = self.llm.token_eos()

    def tokenize(self, text: str) -> list[int]:
        """As the GGUF's tokenizer does it, BOS added when its metadata says so."""
        return self.llm.tokenize(text.encode("utf-8"), add_bos=True, special=True)

    def logits(self, ids: list[int]):
        """Logits at every position of ids (teacher-forced), as a [len(ids), vocab] float32 array;
        needs logits_all=True."""
        import numpy as np

        self.llm.reset()
        self.llm.eval(ids)
        return np.array(self.llm.scores[: len(ids)], dtype=np.float32)

    def continue_ids(self, ids: list[int], max_new_tokens: int, temperature: float = 0.0, top_p: float = 1.0, seed: int = 0) -> list[int]:
        """Generated token ids after ids, up to and including EOS. Temperature 0 is greedy."""
        if len(ids) + max_new_tokens > self.n_ctx:
            raise FailedPrecondition(f"prompt ({len(ids)} tokens) + max_new_tokens ({max_new_tokens}) exceed the context ({self.n_ctx})")
        self.llm.reset()
        self.llm.set_seed(seed)
        out: list[int] = []
        # top_k 0 / min_p 0: nothing but temperature and top_p, as transformers' sampling here.
        for tok in self.llm.generate(ids, temp=temperature, top_p=top_p if temperature > 0 else 1.0, top_k=0 if temperature > 0 else 1, min_p=0.0, repeat_penalty=1.0):
            out.append(tok)
            if tok == self.eos or len(out) >= max_new_tokens:
                break
        return out

    def generate(self, prompts: list[str], params: d.GenerationParams) -> Iterator[d.Completion]:
        for i, prompt in enumerate(prompts):
            ids = self.tokenize(prompt)
            row = self.continue_ids(ids, params.max_new_tokens, params.temperature, params.top_p, params.seed)
            finish = "eos" if row and row[-1] == self.eos else "length"
            text = self.llm.detokenize(row, special=True).decode("utf-8", errors="replace")
            yield d.Completion(i, text, len(ids), len(row), finish)


class GgufCache:
    """The last GGUF loaded, kept for the next request on the same file."""

    def __init__(self):
        self._lock = threading.Lock()
        self._model: Optional[GgufModel] = None

    def clear(self) -> None:
        with self._lock:
            self._model = None

    def generate(self, path: Path, n_ctx: int, prompts: list[str], params: d.GenerationParams) -> Iterator[d.Completion]:
        """Streams completions; the model stays locked until the stream ends or is closed."""
        with self._lock:
            if self._model is None or self._model.path != path or self._model.n_ctx != n_ctx:
                self._model = None
                self._model = GgufModel(path, n_ctx)
            yield from self._model.generate(prompts, params)
