#!/usr/bin/env bash
# Runs every test of medtune on this machine, installing what is missing first:
#   contracts (buf lint + regeneration leaves git clean), ESLint (module boundaries included),
#   TypeScript typecheck, vitest (unit, integration against a real nats-server + FerretDB, e2e),
#   pytest (the trainer worker on a tiny real Qwen2 model, CPU), and the deployment manifests.
# The vitest global setup starts nats-server and FerretDB when NATS_URL / MONGODB_URI are not set
# and stops what it started. Exit status: 0 when everything passed.
set -uo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$root"
"$root/tools/dev/bootstrap.sh" || exit 1

failed=()
step() {
  local name="$1"; shift
  local t0; t0=$(date +%s)
  printf '\n=== %s: %s\n' "$name" "$*"
  if "$@"; then
    printf '=== %s: passed in %d s\n' "$name" "$(( $(date +%s) - t0 ))"
  else
    printf '=== %s: FAILED after %d s\n' "$name" "$(( $(date +%s) - t0 ))"
    failed+=("$name")
  fi
}

step contracts tools/contracts/check.sh
step lint sh -c "NX_DAEMON=false npx nx show projects >/dev/null && npx eslint ."
step typecheck npx tsc -p tsconfig.json --noEmit
# The dashboard's front end has its own tsconfig (DOM types, Preact JSX); the bundle must build.
step dashboard-web sh -c "npx tsc -p apps/dashboard/web/tsconfig.json --noEmit && npx tsx apps/dashboard/src/assets.ts var/build/dashboard-web"
step vitest npx vitest run
step pytest python-services/.venv/bin/python -m pytest -q python-services/trainer/tests
if [ -x deploy/validate.sh ]; then step deploy deploy/validate.sh; fi

if [ ${#failed[@]} -gt 0 ]; then
  printf '\ntest: FAILED: %s\n' "${failed[*]}"
  exit 1
fi
printf '\ntest: all passed\n'
