#!/usr/bin/env python3
"""Builds the tiny Qwen2 base model used by tests and the demo.

    python-services/.venv/bin/python python-services/trainer/scripts/make_tiny_model.py --out DIR

Reads the tokenizer files from ../shared/models relative to the repo root (override with
--shared-models). Prints the output directory.
"""

import argparse
import sys
from pathlib import Path

repo_root = Path(__file__).resolve().parents[3]
sys.path.insert(0, str(repo_root / "python-services" / "trainer" / "src"))

from medtune_trainer.tiny_model import build_tiny_model  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", required=True, type=Path, help="directory to write the model to")
    ap.add_argument("--shared-models", type=Path, default=(repo_root / ".." / "shared" / "models").resolve())
    ap.add_argument("--layers", type=int, default=2)
    ap.add_argument("--hidden", type=int, default=64)
    ap.add_argument("--output-scale", type=float, default=1.0, help="multiplies the random lm_head (the demo uses 4; see tiny_model.py)")
    args = ap.parse_args()
    print(build_tiny_model(args.out.resolve(), args.shared_models, layers=args.layers, hidden=args.hidden, output_scale=args.output_scale))


if __name__ == "__main__":
    main()
