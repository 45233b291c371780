#!/usr/bin/env bash
# Runs the ResolveModel benchmark on a machine without node_modules (e.g. a lent device machine):
# needs var/bench-carry/{kit.tar.xz (node, nats-server, ferretdb), registry.mjs, bench.mjs}, made by
# bench/registry/pack.sh. Starts nats-server and FerretDB on loopback under a temp dir, runs the
# bench, stops both. Extra arguments are passed as environment (BENCH_RATE=2000 ...).
set -euo pipefail
here=$(cd "$(dirname "$0")/../.." && pwd)
carry=$here/var/bench-carry
k=$(mktemp -d /tmp/medtune-bench.XXXXXX)
tar -xJf "$carry/kit.tar.xz" -C "$k"
mkdir -p "$k/nats" "$k/fdb"
"$k/nats-server" --addr 127.0.0.1 --port 14222 --jetstream --store_dir "$k/nats" >"$k/nats.log" 2>&1 &
nats_pid=$!
"$k/ferretdb-v1.24.2" --handler=sqlite "--sqlite-url=file:$k/fdb/" --listen-addr=127.0.0.1:37017 "--state-dir=$k/fdbstate" --debug-addr=- --telemetry=disable --log-level=error >"$k/fdb.log" 2>&1 &
fdb_pid=$!
trap 'kill $nats_pid $fdb_pid 2>/dev/null; wait 2>/dev/null; rm -rf "$k"' EXIT
for _ in $(seq 100); do
  (echo >/dev/tcp/127.0.0.1/14222) 2>/dev/null && (echo >/dev/tcp/127.0.0.1/37017) 2>/dev/null && break
  sleep 0.1
done
env "$@" MEDTUNE_NATS_URL=nats://127.0.0.1:14222 MEDTUNE_MONGODB_URI=mongodb://127.0.0.1:37017 \
  BENCH_REGISTRY_CMD="$k/node $carry/registry.mjs" "$k/node" "$carry/bench.mjs"
