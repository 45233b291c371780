#!/usr/bin/env python3
"""Prints the scale stage's table: tokens/s (all ranks), peak memory per GPU (rank 0) and the
scaling efficiency tokens/s at N / (N x tokens/s at 1), from bench_train.py results named
scale-<N>.json.

    python3 bench/gpu/scale_report.py results/scale-*.json
"""

from __future__ import annotations

import json
import sys
from pathlib import Path


def main(paths: list[str]) -> int:
    rows = []
    for p in paths:
        r = json.loads(Path(p).read_text())
        n = int(r.get("settings", {}).get("gpus", Path(p).stem.split("-")[-1]))
        rows.append((n, r))
    rows.sort(key=lambda x: x[0])
    one = next((r.get("tokens_per_second") for n, r in rows if n == 1), None)
    print(f"{'N':>3} {'tokens/s':>10} {'step min/median/max':>26} {'peak alloc GiB':>15} {'peak reserved GiB':>18} {'efficiency':>10}")
    for n, r in rows:
        if "error" in r:
            print(f"{n:>3} error: {r['error'][:200]}")
            continue
        tps = r["tokens_per_second"]
        s = r.get("step_tokens_per_second") or {}
        spread = f"{s.get('min', 0):,.0f}/{s.get('median', 0):,.0f}/{s.get('max', 0):,.0f}"
        eff = f"{tps / (n * one):.3f}" if one else "-"
        print(f"{n:>3} {tps:>10,.0f} {spread:>26} {r.get('peak_gpu_memory_gib', 0):>15.2f} {r.get('peak_gpu_memory_reserved_gib', 0):>18.2f} {eff:>10}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
