"""GGUF export, offline: llama.cpp's convert_hf_to_gguf.py as shipped inside the
llama-cpp-python sdist on PyPI (tools/python/setup.sh fetches it at install time, version pinned
and sha256 checked) run on the merged 16-bit directory, with its matching gguf-py. Nothing is
downloaded at run time. The result is read back with gguf.GGUFReader before it is accepted; the
k-quants are made by llama.cpp's quantizer (llama_runtime)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from . import llama_runtime
from .errors import JobFailure

CONVERTER_VERSION = "llama-cpp-python 0.3.36 (vendor/llama.cpp)"


def converter_dir() -> Path:
    env = os.environ.get("MEDTUNE_TRAINER_LLAMA_CPP_DIR")
    return Path(env) if env else Path(sys.prefix) / "share" / "llama.cpp"


def export_gguf(merged_dir: Path, out_file: Path, outtype: str) -> dict[str, str]:
    """merged_dir as a GGUF of type outtype: the converter's own types directly; the k-quants
    (q4_k_m, what Ollama users pull) as f16 first, then llama.cpp's quantizer."""
    if outtype in llama_runtime.QUANTIZED_TYPES:
        f16 = out_file.with_name(out_file.name + ".f16")
        try:
            _convert(merged_dir, f16, "f16")
            llama_runtime.quantize(f16, out_file, outtype)
        finally:
            f16.unlink(missing_ok=True)
        details = inspect_gguf(out_file, outtype)
        details["quantizer"] = llama_runtime.RUNTIME
        return details
    _convert(merged_dir, out_file, outtype)
    return inspect_gguf(out_file, outtype)


def _convert(merged_dir: Path, out_file: Path, outtype: str) -> None:
    root = converter_dir()
    script = root / "convert_hf_to_gguf.py"
    if not script.is_file():
        raise JobFailure("setup", f"GGUF converter not found at {script}; run tools/python/setup.sh or set MEDTUNE_TRAINER_LLAMA_CPP_DIR")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(root / "gguf-py"), os.environ.get("PYTHONPATH", "")]), "NO_LOCAL_GGUF": ""}
    env["HF_HUB_OFFLINE"] = "1"
    proc = subprocess.run(
        [sys.executable, str(script), str(merged_dir), "--outfile", str(out_file), "--outtype", outtype],
        env=env,
        capture_output=True,
        text=True,
    )
    if proc.returncode != 0 or not out_file.is_file():
        tail = (proc.stderr or proc.stdout)[-1500:]
        raise JobFailure("platform", f"GGUF conversion failed (exit {proc.returncode})", tail)


def inspect_gguf(path: Path, outtype: str = "") -> dict[str, str]:
    """Reads a GGUF back (header, metadata, tensor table); raises when it does not parse."""
    from gguf import GGUFReader

    try:
        r = GGUFReader(str(path))
    except Exception as e:
        raise JobFailure("platform", f"the GGUF file written does not read back: {e}") from e
    fields = r.fields

    def field_str(name: str) -> str:
        f = fields.get(name)
        if f is None:
            return ""
        try:
            return str(f.contents())
        except Exception:
            return ""

    tokens = fields.get("tokenizer.ggml.tokens")
    return {
        "quantization": outtype,
        "gguf_version": field_str("GGUF.version"),
        "architecture": field_str("general.architecture"),
        "tensors": str(len(r.tensors)),
        "tensor_types": ",".join(sorted({t.tensor_type.name for t in r.tensors})),
        "vocab_size": str(len(tokens.data)) if tokens is not None else "0",
        "tokenizer": field_str("tokenizer.ggml.model"),
        "eos_token_id": field_str("tokenizer.ggml.eos_token_id"),
        "converter": CONVERTER_VERSION,
    }
