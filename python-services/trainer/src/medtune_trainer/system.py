"""What this machine is: GPU, memory, library versions."""

from __future__ import annotations

import psutil


def gpu_info() -> tuple[str, int, int]:
    """(name, memory bytes of GPU 0, count); ("cpu", 0, 0) without CUDA."""
    import torch

    if not torch.cuda.is_available():
        return "cpu", 0, 0
    props = torch.cuda.get_device_properties(0)
    return props.name, int(props.total_memory), torch.cuda.device_count()


def host_memory_bytes() -> int:
    return int(psutil.virtual_memory().total)
