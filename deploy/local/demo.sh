#!/usr/bin/env bash
# The demo in one command: installs what is missing, starts the infrastructure, the five services
# and a CPU trainer worker with the tiny model (deploy/local/stack.sh up; a second time it only
# checks health), then runs the seed recipe on the demo data and prints where to look (the
# dashboard's URL and the run page of the job it trained):
#   deploy/local/demo.sh            # extra arguments go to `medtune run` (e.g. --fresh)
# Stop everything with deploy/local/stack.sh down.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
# examples/demo/pipeline.yaml names the model by its place in the repository.
export MEDTUNE_STACK_MODEL_DIR=$root/var/models/tiny-qwen2
"$root/deploy/local/stack.sh" up
eval "$("$root/deploy/local/stack.sh" env)"
# The demo's own base model (examples/demo/pipeline.yaml says why it is sized so), built once.
demo_model=$root/var/models/tiny-qwen2-demo
if [[ ! -f $demo_model/config.json ]]; then
  echo "demo: building the demo's tiny base model into $demo_model (once)" >&2
  "$root/python-services/.venv/bin/python" "$root/python-services/trainer/scripts/make_tiny_model.py" \
    --out "$demo_model.tmp.$$" --layers 2 --hidden 128 --output-scale 4 >/dev/null
  mv "$demo_model.tmp.$$" "$demo_model"
fi
status=0
"$root/apps/cli/bin/medtune" run "$root/examples/demo/pipeline.yaml" "$@" || status=$?
# Where to look in a browser: the dashboard, and the run page of the job the pipeline trained.
if [[ -n ${MEDTUNE_DASHBOARD_URL:-} ]]; then
  job=$("$root/apps/cli/bin/medtune" train list --experiment demo --state succeeded --limit 1 --json 2>/dev/null |
    node -e 'let s="";process.stdin.on("data",(d)=>(s+=d)).on("end",()=>{try{process.stdout.write(JSON.parse(s).jobs?.[0]?.jobId??"")}catch{}})') || job=
  echo "dashboard: $MEDTUNE_DASHBOARD_URL"
  if [[ -n $job ]]; then echo "run page:  ${MEDTUNE_DASHBOARD_URL}runs/$job"; fi
fi
exit "$status"
