"""Which backend runs a job, and making it: auto picks unsloth where CUDA is present and unsloth
imports, otherwise hf. The backends are imported lazily, so a process that never trains with
unsloth never imports it (its patches to transformers and TRL last for the whole process)."""

from __future__ import annotations

import functools
import importlib.metadata

from .. import domain as d
from .base import TrainerBackend


def versions() -> dict[str, str]:
    out = {}
    for pkg in ("torch", "transformers", "peft", "trl", "accelerate", "unsloth", "unsloth_zoo", "bitsandbytes"):
        try:
            out[pkg] = importlib.metadata.version(pkg)
        except importlib.metadata.PackageNotFoundError:
            pass
    return out


def cuda_available() -> bool:
    import torch

    return torch.cuda.is_available()


@functools.lru_cache(maxsize=1)
def unsloth_status() -> tuple[bool, str]:
    """(usable, why not). Importing unsloth needs a CUDA device and patches transformers and TRL
    for the whole process, so it is tried only when a job or a generation may use it."""
    if not cuda_available():
        return False, "no CUDA device; unsloth needs one"
    try:
        import unsloth  # noqa: F401
    except Exception as e:  # ImportError, or unsloth's own checks failing
        return False, f"unsloth does not import here: {type(e).__name__}: {str(e)[:200]}"
    return True, ""


def unsloth_installed() -> bool:
    """Cheap check for worker info: CUDA and the package present (not imported)."""
    import importlib.util

    return cuda_available() and importlib.util.find_spec("unsloth") is not None


def select(requested: d.BackendName) -> tuple[d.BackendName, str]:
    """The backend that will run and why. Raises errors.FailedPrecondition when an explicit
    request cannot be met."""
    from ..errors import FailedPrecondition

    if requested == d.BackendName.HF:
        return d.BackendName.HF, "hf asked for"
    ok, why = unsloth_status()
    if requested == d.BackendName.UNSLOTH:
        if not ok:
            raise FailedPrecondition(f"spec.backend: unsloth is not available on this worker ({why}); use hf or auto")
        return d.BackendName.UNSLOTH, "unsloth asked for"
    if ok:
        return d.BackendName.UNSLOTH, "auto: CUDA is present and unsloth imports"
    return d.BackendName.HF, f"auto: {why}; using hf"


def available_backends() -> list[d.BackendName]:
    ok = unsloth_status()[0] if unsloth_status.cache_info().currsize else unsloth_installed()
    return [d.BackendName.UNSLOTH, d.BackendName.HF] if ok else [d.BackendName.HF]


def make(name: d.BackendName) -> TrainerBackend:
    if name == d.BackendName.UNSLOTH:
        from .unsloth import UnslothBackend

        return UnslothBackend()
    from .hf import HfBackend

    return HfBackend()
