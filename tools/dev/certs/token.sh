#!/usr/bin/env bash
# Prints a signed caller token; see token.ts for the options.
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)
exec env TSX_TSCONFIG_PATH="$ROOT/tsconfig.json" node --import "$ROOT/node_modules/tsx/dist/loader.mjs" "$ROOT/tools/dev/certs/token.ts" "$@"
