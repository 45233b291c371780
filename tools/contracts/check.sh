#!/usr/bin/env bash
# Fails when the committed stubs differ from what the contracts generate (lint included).
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$root"
"$root/tools/contracts/generate.sh" >/dev/null
if ! git diff --exit-code --stat -- libs/contracts/src/gen python-services/contracts \
   || [ -n "$(git status --porcelain -- libs/contracts/src/gen python-services/contracts)" ]; then
  echo "contracts: generated stubs are out of date; run tools/contracts/generate.sh and commit" >&2
  git status --porcelain -- libs/contracts/src/gen python-services/contracts >&2
  exit 1
fi
echo "contracts: buf lint clean; stubs up to date"
