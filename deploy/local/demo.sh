#!/usr/bin/env bash
# The demo in one command: installs what is missing, starts the infrastructure, the five services
# and a CPU trainer worker with the tiny model (deploy/local/stack.sh up; a second time it only
# checks health), then runs the seed recipe on the demo data and prints where to look (the
# dashboard's URL and the run page of the job it trained):
#   deploy/local/demo.sh            # extra arguments go to `medtune run` (e.g. --fresh)
#   deploy/local/demo.sh --model-only   # only build the demo's base model (once) and stop
# Stop everything with deploy/local/stack.sh down.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
# examples/demo/pipeline.yaml names the model by its place in the repository.
export MEDTUNE_STACK_MODEL_DIR=$root/var/models/tiny-qwen2
# The demo's own base model (examples/demo/pipeline.yaml says why it is sized so), built once. Its
# directory names its settings, so a model of an older demo (or its cached base evaluation) is
# never taken for it.
demo_model=$root/var/models/tiny-qwen2-demo-h128-x8
build_demo_model() {
  [[ -f $demo_model/config.json ]] && return 0
  echo "demo: building the demo's tiny base model into $demo_model (once)" >&2
  "$root/python-services/.venv/bin/python" "$root/python-services/trainer/scripts/make_tiny_model.py" \
    --out "$demo_model.tmp.$$" --layers 2 --hidden 128 --output-scale 8 >/dev/null
  mv "$demo_model.tmp.$$" "$demo_model"
}
if [[ ${1:-} == --model-only ]]; then build_demo_model; exit 0; fi
"$root/deploy/local/stack.sh" up  # installs what is missing (the Python environment too)
eval "$("$root/deploy/local/stack.sh" env)"
build_demo_model
status=0
"$root/apps/cli/bin/medtune" run "$root/examples/demo/pipeline.yaml" "$@" || status=$?
# The promotion decision in words (the evaluation service's promotion.decided, as its log records
# it): promoted only when better than the base model on the same set and settings, else why not.
eval_log="${MEDTUNE_VAR_DIR:-$root/var}/log/evaluation.log"
if [[ -f $eval_log ]]; then
  grep -a '"promotion decided"' "$eval_log" | grep -a '"pipeline":"demo-medical@' | tail -1 |
    node -e 'let s="";process.stdin.on("data",(d)=>(s+=d)).on("end",()=>{try{const d=JSON.parse(s);console.log(`promotion: ${d.pipeline} ${d.promoted?"promoted to":"not promoted to"} ${d.alias}: ${d.reason}`)}catch{}})' || true
fi
# What the figures mean: the random-weight model learns the template and the answer format, not
# medicine. Every demo item has 4 options, so one letter given to every item scores about 25 %.
echo "note: the tiny random model learns the format, not medicine: 4 options per item, so answering one letter everywhere scores ~25 % (chance); a base that never answers scores 0 %"
# Where to look in a browser: the dashboard, and the run page of the job the pipeline trained.
if [[ -n ${MEDTUNE_DASHBOARD_URL:-} ]]; then
  job=$("$root/apps/cli/bin/medtune" train list --experiment demo --state succeeded --limit 1 --json 2>/dev/null |
    node -e 'let s="";process.stdin.on("data",(d)=>(s+=d)).on("end",()=>{try{process.stdout.write(JSON.parse(s).jobs?.[0]?.jobId??"")}catch{}})') || job=
  echo "dashboard: $MEDTUNE_DASHBOARD_URL"
  if [[ -n $job ]]; then echo "run page:  ${MEDTUNE_DASHBOARD_URL}runs/$job"; fi
fi
exit "$status"
