#!/usr/bin/env bash
# The demo in one command: installs what is missing, starts the infrastructure, the five services
# and a CPU trainer worker with the tiny model (deploy/local/stack.sh up; a second time it only
# checks health), then runs the seed recipe on the demo data and prints where to look:
#   deploy/local/demo.sh            # extra arguments go to `medtune run` (e.g. --fresh)
# Stop everything with deploy/local/stack.sh down.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
# examples/demo/pipeline.yaml names the model by its place in the repository.
export MEDTUNE_STACK_MODEL_DIR=$root/var/models/tiny-qwen2
"$root/deploy/local/stack.sh" up
eval "$("$root/deploy/local/stack.sh" env)"
exec "$root/apps/cli/bin/medtune" run "$root/examples/demo/pipeline.yaml" "$@"
