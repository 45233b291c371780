#!/usr/bin/env bash
# Bundles the registry service and the benchmark (esbuild) and packs node, nats-server and
# FerretDB into var/bench-carry/ for bench/registry/device-run.sh on a machine without them.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
out=var/bench-carry
mkdir -p "$out"
ext=(--external:kerberos --external:snappy --external:@mongodb-js/zstd --external:mongodb-client-encryption --external:gcp-metadata --external:socks --external:aws4 --external:@aws-sdk/credential-providers)
banner="import { createRequire as __cr } from 'module'; const require = __cr(import.meta.url);"
for pair in "apps/registry-service/src/main.ts:registry.mjs" "bench/registry/resolve-bench.ts:bench.mjs"; do
  node_modules/.bin/esbuild "${pair%%:*}" --bundle --platform=node --format=esm --target=node20 --tsconfig=tsconfig.base.json \
    "${ext[@]}" --banner:js="$banner" --log-level=warning --outfile="$out/${pair##*:}"
done
if [ ! -f "$out/kit.tar.xz" ]; then
  tmp=$(mktemp -d)
  cp "$(command -v node)" "$(command -v nats-server)" "${MEDTUNE_FERRETDB_BIN:-$HOME/.cache/medtune/bin/ferretdb-v1.24.2}" "$tmp/"
  tar -cJf "$out/kit.tar.xz" -C "$tmp" .
  rm -rf "$tmp"
fi
ls -la "$out"
