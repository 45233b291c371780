#!/usr/bin/env bash
# One device call that runs several bench_train.py runs back to back, each bounded by its own
# timeout, and returns everything in two files (the device tool brings back at most 8):
#   $OUT/<tag>.json  every run's JSON result (or the reason it has none), plus env and nvidia-smi
#   $OUT/<tag>.log   the whole console output
# Usage (from the repo root on the GPU machine, .wheels carried):
#   bash bench/gpu/call.sh TAG "NAME SECONDS ARGS..." ["NAME SECONDS ARGS..." ...]
# e.g.  bash bench/gpu/call.sh A "unsloth14-worker 260 --config 14B --backend unsloth --mode worker --steps 4 --warmup 1"
set -uo pipefail
tag="$1"; shift
OUT="${OUT:-/tmp/medtune-out}"; mkdir -p "$OUT"
work=/tmp/medtune-call; mkdir -p "$work"
exec > >(tee -a "$OUT/$tag.log") 2>&1
t0=$(date +%s)
OUT="$work" bash bench/gpu/run.sh env >/dev/null 2>&1 || true   # installs the carried wheels into /tmp/site
rm -f "$work"/nvidia-smi.csv "$work"/disk.txt
export PYTHONPATH="/tmp/site:$PWD/python-services/contracts:$PWD/python-services/trainer/src"
export MEDTUNE_TRAINER_LLAMA_CPP_DIR="$PWD/.wheels/llama.cpp" MEDTUNE_SHARED_DIR="$PWD/.wheels/shared"
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 HF_DATASETS_OFFLINE=1 UNSLOTH_STUDIO_DISABLED=1 PYTHONUNBUFFERED=1
export MEDTUNE_BENCH_MODELS="${MEDTUNE_BENCH_MODELS:-/tmp/medtune-models}"
echo "== env ($(( $(date +%s) - t0 )) s)"; cat "$work/env.txt" 2>/dev/null; nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv
# Every run's timeout is cut to what is left before CALL_DEADLINE_S (seconds from the call's
# start; default 570, inside the device tool's 600 s), so the merged JSON is always written; a
# run that would get less than 3/4 of its seconds is skipped (cut short, it would measure nothing).
deadline="${CALL_DEADLINE_S:-570}"
for run in "$@"; do
  read -r name secs args <<<"$run"
  left=$(( deadline - ($(date +%s) - t0) - 5 ))
  if [ $(( 4 * left )) -lt $(( 3 * secs )) ]; then secs=0; elif [ "$secs" -gt "$left" ]; then secs=$left; fi
  if [ "$secs" -lt 30 ]; then
    echo "== $name skipped: ${left}s left before the call's deadline"
    echo '{"error": "skipped: the call deadline was near"}' > "$work/$name.json"
    continue
  fi
  echo "== $name (timeout ${secs}s) at $(( $(date +%s) - t0 )) s: $args"
  if [ "$name" = pytest-gpu ]; then
    (cd python-services/trainer && timeout "$secs" python3 -m pytest -q -rs tests/test_gpu.py $args) && echo '{"pytest":"passed"}' > "$work/$name.json" || echo '{"pytest":"failed or timed out"}' > "$work/$name.json"
    continue
  fi
  if [[ "$name" == gen* ]]; then
    # shellcheck disable=SC2086
    timeout "$secs" python3 bench/gpu/bench_generate.py $args --out "$work/$name.json" || [ -f "$work/$name.json" ] || echo "{\"error\": \"timed out or crashed after ${secs}s\"}" > "$work/$name.json"
    continue
  fi
  # shellcheck disable=SC2086
  timeout "$secs" python3 bench/gpu/bench_train.py $args --out "$work/$name.json" || [ -f "$work/$name.json" ] || echo "{\"error\": \"timed out or crashed after ${secs}s\"}" > "$work/$name.json"
done
python3 - "$work" "$OUT/$tag.json" <<'PY'
import json, pathlib, sys
work = pathlib.Path(sys.argv[1])
res = {p.stem: json.loads(p.read_text()) for p in sorted(work.glob("*.json"))}
res["env"] = (work / "env.txt").read_text() if (work / "env.txt").exists() else ""
pathlib.Path(sys.argv[2]).write_text(json.dumps(res, indent=1))
for k, v in res.items():
    if isinstance(v, dict):
        print(k, {x: v.get(x) for x in ("tokens_per_second", "step_tokens_per_second", "peak_gpu_memory_gib", "peak_gpu_memory_reserved_gib", "error", "wall_s", "model_write_s", "speedup", "greedy_identical", "pytest") if x in v})
PY
echo "== done in $(( $(date +%s) - t0 )) s"
