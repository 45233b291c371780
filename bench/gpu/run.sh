#!/usr/bin/env bash
# Runs on the GPU machine (the device tool), from the repo root, with .wheels carried:
#   tools/python/gpu-wheels.sh            # here, once: fills .wheels/ (about 32 MiB)
#   run(command="bash bench/gpu/run.sh STAGE", carry=[".wheels"], timeout_s=600)
# Stages (each fits one 10-minute call; results land in $OUT as JSON):
#   env       versions, GPU, and whether unsloth imports
#   tests     the trainer's pytest suite on the GPU (test_gpu.py runs instead of skipping)
#   unsloth14 14B config, random weights, seed settings (4-bit, seq 4096, 2 x 4): worker and bare
#   hf14      14B through the hf backend: QLoRA (bitsandbytes) and bf16 LoRA
#   rows14    the real 916 rows with the seed's template and batching, without and with packing
#   seq32     32B config: peak memory at batch 2 for several max_seq_length (needs ~66 GB of disk)
#   scale     one job on N = 1, 2, 4, 8 GPUs (what the machine has) through the launcher; efficiency
#   plan14    the execution plan at the 14B seed shapes: plan seed vs plan auto (20 measured steps)
#   gen       evaluation throughput: the seed's one-prompt generate loop vs batched (unsloth inference mode)
set -uo pipefail
stage="${1:-env}"
OUT="${OUT:-/tmp/medtune-out}"
mkdir -p "$OUT"
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .wheels/wheels/*.whl || exit 1
export PYTHONPATH="/tmp/site:$PWD/python-services/contracts:$PWD/python-services/trainer/src"
export MEDTUNE_TRAINER_LLAMA_CPP_DIR="$PWD/.wheels/llama.cpp" MEDTUNE_SHARED_DIR="$PWD/.wheels/shared"
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 HF_DATASETS_OFFLINE=1 UNSLOTH_STUDIO_DISABLED=1 PYTHONUNBUFFERED=1
export MEDTUNE_BENCH_MODELS="${MEDTUNE_BENCH_MODELS:-/tmp/medtune-models}"
b="python3 bench/gpu/bench_train.py"

case "$stage" in
  env)
    nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv | tee "$OUT/nvidia-smi.csv"
    python3 - <<'PY' 2>&1 | tee "$OUT/env.txt"
import sys, importlib.metadata as m
print(sys.version)
for p in ("torch","transformers","accelerate","peft","trl","datasets","bitsandbytes","unsloth","unsloth_zoo","grpcio","protobuf","triton","xformers"):
    try: print(p, m.version(p))
    except Exception as e: print(p, "missing")
import torch; print("cuda", torch.cuda.is_available(), torch.cuda.get_device_name(0) if torch.cuda.is_available() else "")
try:
    import unsloth; from unsloth import FastLanguageModel; print("unsloth imports: yes")
except Exception as e:
    import traceback; traceback.print_exc(); print("unsloth imports: NO", type(e).__name__, e)
PY
    df -h /tmp /dev/shm | tee "$OUT/disk.txt" ;;
  tests)
    # test_gpu.py only: the CPU suite asserts the hf backend, which auto does not pick on a GPU.
    cd python-services/trainer && python3 -m pytest -q -rs tests/test_gpu.py 2>&1 | tee "$OUT/pytest.txt" ;;
  unsloth14)
    $b --config 14B --backend unsloth --mode worker --out "$OUT/unsloth14-worker.json"
    $b --config 14B --backend unsloth --mode bare --out "$OUT/unsloth14-bare.json" ;;
  hf14)
    $b --config 14B --backend hf --mode worker --steps 4 --warmup 1 --out "$OUT/hf14-qlora.json"
    $b --config 14B --backend hf --mode worker --no-4bit --steps 4 --warmup 1 --out "$OUT/hf14-bf16.json" ;;
  rows14)
    $b --config 14B --backend unsloth --mode worker --data real --steps 8 --out "$OUT/rows14-seed.json"
    $b --config 14B --backend unsloth --mode worker --data real --packing --steps 4 --warmup 1 --out "$OUT/rows14-packed.json" ;;
  scale)
    # One job on N = 1, 2, 4, 8 GPUs (as many as the machine has) through the launcher (torchrun,
    # DDP), seed settings per rank; efficiency = tokens/s at N / (N x tokens/s at 1).
    ngpu=$(nvidia-smi -L | wc -l)
    for n in 1 2 4 8; do
      [ "$n" -le "$ngpu" ] || break
      $b --config 14B --backend "${SCALE_BACKEND:-hf}" --mode worker --launcher --gpus "$n" --steps "${SCALE_STEPS:-12}" --warmup 2 --out "$OUT/scale-$n.json"
    done
    python3 bench/gpu/scale_report.py "$OUT"/scale-*.json | tee "$OUT/scale.txt" ;;
  plan14)
    # The execution plan: the seed's layout vs auto at the seed's shapes, 20 measured steps each.
    $b --config 14B --backend unsloth --mode worker --plan seed --steps 22 --warmup 2 --out "$OUT/plan14-seed.json"
    $b --config 14B --backend unsloth --mode worker --plan auto --steps 22 --warmup 2 --out "$OUT/plan14-auto.json" ;;
  seq32)
    for seq in 4096 3072 2048; do
      $b --config 32B --backend unsloth --mode bare --seq "$seq" --grad-accum 1 --steps 2 --warmup 0 --out "$OUT/seq32-$seq.json"
    done ;;
  gen)
    # Evaluation throughput (issue 15): the seed's one-prompt-at-a-time generate vs batched, 200
    # MedQA-shaped prompts, greedy, max_new_tokens 1200, unsloth inference mode (GEN_CONFIG: 1.5B by
    # default so one call holds model creation + both paths; 14B needs a call of its own).
    python3 bench/gpu/bench_generate.py --config "${GEN_CONFIG:-1.5B}" --prompts 200 --batch "${GEN_BATCH:-200}" --seed-budget-s "${GEN_SEED_BUDGET_S:-60}" --out "$OUT/gen-${GEN_CONFIG:-1.5B}.json" 2>&1 | tail -40 ;;
  *) echo "unknown stage $stage" >&2; exit 2 ;;
esac
python3 - "$OUT" <<'PY'
import json, sys, pathlib
for p in sorted(pathlib.Path(sys.argv[1]).glob("*.json")):
    r = json.loads(p.read_text())
    print(p.name, {k: r.get(k) for k in ("tokens_per_second", "peak_gpu_memory_gib", "peak_gpu_memory_reserved_gib", "step_tokens_per_second", "error")})
PY
