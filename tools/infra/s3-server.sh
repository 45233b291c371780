#!/usr/bin/env bash
# A real S3-compatible server on loopback for tests and benchmarks: SeaweedFS (`weed server -s3`),
# built once from its Go module source into ~/.cache/medtune/bin (like FerretDB).
#
#   tools/infra/s3-server.sh install        build the binary if missing (about 4 min on 2 cores, once)
#   tools/infra/s3-server.sh up DIR         start a server with its data under DIR, every port free;
#                                           prints S3_ENDPOINT=http://127.0.0.1:PORT
#   tools/infra/s3-server.sh down DIR       stop that server
#
# Credentials: the server takes its one admin identity from AWS_ACCESS_KEY_ID /
# AWS_SECRET_ACCESS_KEY in its environment (set them before `up`); nothing is written to disk.
# `go install` refuses SeaweedFS (its go.mod has a replace directive), so the module is
# downloaded with the Go toolchain and built in the module directory.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
SEAWEEDFS_MODULE=github.com/seaweedfs/seaweedfs
# The module proxy lists no tagged release of the module path (its tags are not semver): a pinned pseudo-version.
SEAWEEDFS_VERSION=v0.0.0-20261109003541-7506e5f91cd6
BIN_DIR=${MEDTUNE_BIN_DIR:-${XDG_CACHE_HOME:-${HOME:-$ROOT/var}/.cache}/medtune/bin}
WEED_BIN=${MEDTUNE_WEED_BIN:-$BIN_DIR/weed-${SEAWEEDFS_VERSION##*-}}
say() { echo "s3-server: $*" >&2; }
die() { say "error: $*"; exit 1; }

find_go() {
  local go
  go=$(command -v go || true)
  [[ -z $go && -x /usr/local/go/bin/go ]] && go=/usr/local/go/bin/go
  [[ -n $go ]] || die "Go is needed to build SeaweedFS and was not found"
  echo "$go"
}

cmd_install() {
  [[ -x $WEED_BIN ]] && return 0
  local go src started=$SECONDS
  go=$(find_go)
  mkdir -p "$BIN_DIR"
  exec 8>"$BIN_DIR/.weed-build.lock"
  flock 8
  [[ -x $WEED_BIN ]] && return 0
  say "building SeaweedFS $SEAWEEDFS_VERSION from the Go module proxy into $WEED_BIN (about 4 minutes on 2 cores; once)"
  src=$(cd "$BIN_DIR" && GOFLAGS=-mod=mod "$go" mod download -json "$SEAWEEDFS_MODULE@$SEAWEEDFS_VERSION" |
    sed -n 's/^[[:space:]]*"Dir": "\(.*\)",\{0,1\}$/\1/p')
  [[ -n $src && -d $src ]] || die "go mod download did not give the SeaweedFS source directory"
  # GOTOOLCHAIN=auto: the module asks for a newer Go than the machine's, the proxy has it.
  (cd "$src" && CGO_ENABLED=0 GOFLAGS=-buildvcs=false GOTOOLCHAIN=${GOTOOLCHAIN:-auto} "$go" build -trimpath -o "$WEED_BIN.tmp" ./weed) >&2 ||
    die "building SeaweedFS failed (see above)"
  "$WEED_BIN.tmp" version >/dev/null || die "the weed binary just built does not run"
  mv -f "$WEED_BIN.tmp" "$WEED_BIN"
  say "built $WEED_BIN in $((SECONDS - started)) s"
}

free_ports() {
  python3 - "$1" <<'EOF'
import socket, sys
socks = []
for _ in range(int(sys.argv[1])):
    s = socket.socket(); s.bind(("127.0.0.1", 0)); socks.append(s)
print(" ".join(str(s.getsockname()[1]) for s in socks))
EOF
}

cmd_up() {
  local dir=${1:?DIR} p
  cmd_install
  [[ -n ${AWS_ACCESS_KEY_ID:-} && -n ${AWS_SECRET_ACCESS_KEY:-} ]] || die "set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY: the server's admin identity"
  mkdir -p "$dir/data"
  dir=$(cd "$dir" && pwd)
  read -r -a p <<<"$(free_ports 8)"
  setsid "$WEED_BIN" server -dir="$dir/data" -ip=127.0.0.1 -ip.bind=127.0.0.1 \
    -master.port="${p[0]}" -master.port.grpc="${p[1]}" -volume.port="${p[2]}" -volume.port.grpc="${p[3]}" \
    -filer.port="${p[4]}" -filer.port.grpc="${p[5]}" -s3 -s3.port="${p[6]}" -s3.port.grpc="${p[7]}" -s3.port.iceberg=0 -s3.port.lance=0 \
    -master.volumeSizeLimitMB=64 -volume.max=0 -metricsPort=0 </dev/null >"$dir/weed.log" 2>&1 9>&- &
  echo $! >"$dir/weed.pid"
  echo "http://127.0.0.1:${p[6]}" >"$dir/endpoint"
  local deadline=$((SECONDS + 120)) code
  while ((SECONDS < deadline)); do
    kill -0 "$(cat "$dir/weed.pid")" 2>/dev/null || die "weed exited during start-up: $(tail -n 20 "$dir/weed.log")"
    # An unsigned request is refused (403) once the S3 gateway serves with its identities.
    code=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:${p[6]}/" || true)
    [[ $code == 403 || $code == 200 ]] && { echo "S3_ENDPOINT=http://127.0.0.1:${p[6]}"; return 0; }
    sleep 0.5
  done
  cmd_down "$dir"
  die "the S3 gateway did not answer within 120 s: $(tail -n 20 "$dir/weed.log")"
}

cmd_down() {
  local dir=${1:?DIR} pid i
  pid=$(cat "$dir/weed.pid" 2>/dev/null || true)
  [[ -n $pid ]] || { say "no server in $dir"; return 0; }
  kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < 100; i++)); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "$pid" 2>/dev/null || true
  rm -f "$dir/weed.pid"
  say "stopped the S3 server of $dir"
}

case ${1:-} in
  install) cmd_install; echo "$WEED_BIN" ;;
  up) shift; cmd_up "$@" ;;
  down) shift; cmd_down "$@" ;;
  bin) echo "$WEED_BIN" ;;
  *) sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2 ;;
esac
