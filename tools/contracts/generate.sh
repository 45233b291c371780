#!/usr/bin/env bash
# Regenerates every stub from proto/: TypeScript (ts-proto, via buf) into libs/contracts/src/gen
# and Python (grpcio-tools) into python-services/contracts. Generated files are never edited by
# hand; tools/contracts/check.sh fails when regenerating changes anything.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$root"

python="${MEDTUNE_PYTHON:-$root/python-services/.venv/bin/python}"
if [ ! -x "$python" ]; then
  echo "generate: no Python environment at $python; run tools/python/setup.sh first (or set MEDTUNE_PYTHON)" >&2
  exit 1
fi

(cd proto && ../node_modules/.bin/buf lint && ../node_modules/.bin/buf generate)

out="python-services/contracts"
rm -rf "$out/medtune"
mkdir -p "$out"
# grpc/health/v1 is not generated for Python: grpcio-health-checking provides it, and a local
# "grpc" package would shadow grpcio itself.
mapfile -t files < <(cd proto && find medtune -name '*.proto' | LC_ALL=C sort)
(cd proto && "$python" -m grpc_tools.protoc -I . --python_out="../$out" --pyi_out="../$out" --grpc_python_out="../$out" "${files[@]}")
# Namespace packages need no __init__.py, but tools such as pytest's rootdir logic behave better
# with explicit ones.
find "$out/medtune" -type d -exec sh -c 'touch "$1/__init__.py"' _ {} \;
echo "generate: TypeScript in libs/contracts/src/gen, Python in $out"
