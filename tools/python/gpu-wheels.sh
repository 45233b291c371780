#!/usr/bin/env bash
# Downloads into .wheels/ (git-ignored) what the GPU machine's image lacks to run the trainer and
# bench/gpu: the wheels of python-services/requirements-gpu.txt for CPython 3.12 / manylinux
# x86_64, slimmed where they carry what that image cannot use (unsloth's bundled "studio" web app;
# bitsandbytes' libraries for CUDA < 13 and ROCm / XPU); llama.cpp's GGUF converter from the venv
# (tools/python/setup.sh fetched it); and the tokenizer/config files of ../shared/models plus the
# SFT rows of ../shared/data, which do not travel to that machine otherwise.
# Prints each file and the total; a device call carries 64 MiB at most (tree included).
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
out="$root/.wheels"
venv_py="$root/python-services/.venv/bin/python"
shared="$(cd "$root/../shared" && pwd)"
[ -x "$venv_py" ] || { echo "gpu-wheels: run tools/python/setup.sh first" >&2; exit 1; }

rm -rf "$out" && mkdir -p "$out/wheels"
mapfile -t specs < <(grep -Ev '^\s*(#|$)' "$root/python-services/requirements-gpu.txt")
echo "gpu-wheels: downloading ${#specs[@]} wheels for cp312 manylinux x86_64 into $out/wheels"
"$venv_py" -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
  --platform manylinux_2_28_x86_64 --platform manylinux_2_27_x86_64 --platform manylinux_2_24_x86_64 \
  --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 --platform manylinux1_x86_64 \
  -d "$out/wheels" "${specs[@]}"

# bench/gpu only (issue 16's kernel experiments; the trainer does not import it): Liger's Triton
# kernels, pure Python (about 0.9 MiB).
"$venv_py" -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
  -d "$out/wheels" liger-kernel==0.8.5

# Rewrites a wheel without the members a predicate drops (RECORD updated to match).
"$venv_py" - "$out/wheels" <<'PY'
import os, re, sys, zipfile
from pathlib import Path

def slim(path: Path, drop) -> None:
    tmp = path.with_suffix(".slim")
    with zipfile.ZipFile(path) as src, zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            if drop(info.filename):
                continue
            data = src.read(info.filename)
            if info.filename.endswith(".dist-info/RECORD"):
                lines = [l for l in data.decode().splitlines() if l and not drop(l.split(",", 1)[0])]
                data = ("\n".join(lines) + "\n").encode()
            dst.writestr(info, data)
    before, after = path.stat().st_size, tmp.stat().st_size
    os.replace(tmp, path)
    print(f"gpu-wheels: slimmed {path.name}: {before / 2**20:.1f} -> {after / 2**20:.1f} MiB")

wheels = Path(sys.argv[1])
for w in wheels.glob("unsloth-*.whl"):
    slim(w, lambda n: n.startswith("studio/"))
keep = re.compile(r"libbitsandbytes_(cpu|cuda13\d)\.so$")
for w in wheels.glob("bitsandbytes-*.whl"):
    slim(w, lambda n: n.endswith(".so") and not keep.search(n))
PY

conv="$root/python-services/.venv/share/llama.cpp"
mkdir -p "$out/llama.cpp"
cp -r "$conv/convert_hf_to_gguf.py" "$conv/conversion" "$conv/gguf-py" "$conv/LICENSE" "$out/llama.cpp/"
find "$out/llama.cpp" -name '__pycache__' -prune -exec rm -rf {} +

family="$shared/models/deepseek-r1-distill-qwen"
mkdir -p "$out/shared/models/deepseek-r1-distill-qwen" "$out/shared/data/sft" "$out/shared/data/eval"
cp -r "$family/bpe" "$family/1.5B" "$family/14B" "$family/32B" "$out/shared/models/deepseek-r1-distill-qwen/"
cp "$shared/data/sft/medical_o1_sft_Chinese_subset916.json" "$out/shared/data/sft/"
# bench/gpu/run.sh gen: MedQA-shaped prompts
cp "$shared/data/eval/medqa_mcmle_zh_4opt_test.jsonl" "$out/shared/data/eval/"

ls -la "$out/wheels"
total=$(du -sb "$out" | cut -f1)
printf 'gpu-wheels: %s in all (%.1f MiB) under %s\n' "$total" "$(echo "$total / 1048576" | bc -l)" "$out"
if [ "$total" -gt $((56 * 1024 * 1024)) ]; then
  echo "gpu-wheels: over 56 MiB; a device call carries 64 MiB with the tree" >&2
  exit 1
fi
