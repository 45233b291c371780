#!/usr/bin/env bash
# Installs what medtune needs on this machine, skipping what is already there:
#   - Node packages (npm ci, when node_modules is missing or older than package-lock.json)
#   - the Python environment of the trainer (tools/python/setup.sh → python-services/.venv)
#   - nats-server (Debian package) and FerretDB (built from the Go module proxy) (tools/infra/infra.sh install)
#   - the tokenizer's native addon, when its build script exists (libs/tokenizer/native/build.sh)
# Every step says what it installs and where.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$root"
say() { printf 'bootstrap: %s\n' "$*"; }
t0=$(date +%s)

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  say "installing Node packages into node_modules/ (npm ci)"
  npm ci --no-audit --no-fund
else
  say "node_modules/ is up to date"
fi

tools/python/setup.sh
tools/infra/infra.sh install

if [ -x libs/tokenizer/native/build.sh ]; then
  libs/tokenizer/native/build.sh
fi
say "done in $(( $(date +%s) - t0 )) s"
