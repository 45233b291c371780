#!/usr/bin/env bash
# medtune local infrastructure: nats-server with JetStream and FerretDB (MongoDB wire protocol,
# SQLite backend), both on 127.0.0.1 only, with all state under var/ (git-ignored).
#
#   tools/infra/infra.sh up        start what is not running (installs/builds what is missing)
#   tools/infra/infra.sh down      stop both servers and verify that no process of ours is left
#   tools/infra/infra.sh status    say what runs where; exit 0 only when both answer a ping
#   tools/infra/infra.sh env       print `export NATS_URL=...; export MONGODB_URI=...`
#   tools/infra/infra.sh install   install nats-server and build FerretDB, start nothing
#   tools/infra/infra.sh up --lease PID / release PID
#                                  used by the test run (libs/testing/src/global-setup.ts): servers
#                                  started under a lease stop when the last live lease is released;
#                                  servers started by a plain `up` are never stopped by a release.
#
# When NATS_URL / MONGODB_URI are set, that server is used as is: nothing is started or stopped
# for it, only pinged. See tools/infra/README.md for the environment variables and the layout.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
VAR_DIR=${MEDTUNE_VAR_DIR:-$ROOT/var}
NATS_PORT=${MEDTUNE_NATS_PORT:-4222}
MONGO_PORT=${MEDTUNE_MONGO_PORT:-27017}
READY_TIMEOUT_S=${MEDTUNE_INFRA_READY_TIMEOUT_S:-30}
FERRETDB_VERSION=v1.24.2
BIN_DIR=${MEDTUNE_BIN_DIR:-${XDG_CACHE_HOME:-${HOME:-$ROOT/var}/.cache}/medtune/bin}
FERRETDB_BIN=${MEDTUNE_FERRETDB_BIN:-$BIN_DIR/ferretdb-$FERRETDB_VERSION}
RUN_DIR=$VAR_DIR/run
LOG_DIR=$VAR_DIR/log
LEASE_DIR=$RUN_DIR/leases
NATS_STORE=$VAR_DIR/nats
FERRET_DATA=$VAR_DIR/ferretdb/data/
FERRET_STATE=$VAR_DIR/ferretdb/state
PING="$ROOT/tools/infra/ping.mjs"
# MEDTUNE_NATS_AUTH=1 (deploy/local/stack.sh's default): nats-server requires a user and password
# per role, with publish/subscribe permissions (tools/infra/secrets.sh); the test run leaves it off.
NATS_AUTH=${MEDTUNE_NATS_AUTH:-0}
NATS_SECRETS=$VAR_DIR/secrets/nats
# MEDTUNE_MONGO_AUTH=1 (deploy/local/stack.sh's default): FerretDB requires a user and password
# (its new authentication, SCRAM-SHA-256, users stored by FerretDB itself so it works on SQLite:
# --test-enable-new-auth); every command but hello / ping / the SASL handshake is refused to an
# anonymous client. The one user `medtune` lives in the `admin` database, its password under
# secrets/mongo/medtune.pass (0600), generated on first start and handed to FerretDB through its
# environment only (FERRETDB_SETUP_PASSWORD), never on a command line or in a log. The test run
# leaves it off.
MONGO_AUTH=${MEDTUNE_MONGO_AUTH:-0}
MONGO_SECRETS=$VAR_DIR/secrets/mongo
MONGO_USER=medtune
# shellcheck source=tools/infra/secrets.sh
source "$ROOT/tools/infra/secrets.sh"
SERVICES=(nats mongo)

say() { echo "infra: $*" >&2; }
die() { say "error: $*"; exit 1; }

url_of() { # service -> URL the clients use
  case $1 in
    nats) echo "${NATS_URL:-nats://127.0.0.1:$NATS_PORT}" ;;
    mongo) echo "${MONGODB_URI:-mongodb://127.0.0.1:$MONGO_PORT/}" ;;
  esac
}
external() { # service -> true when the user pointed us at their own server
  case $1 in
    nats) [[ -n ${NATS_URL:-} ]] ;;
    mongo) [[ -n ${MONGODB_URI:-} ]] ;;
  esac
}
env_name() { case $1 in nats) echo NATS_URL ;; mongo) echo MONGODB_URI ;; esac; }
port_of() { case $1 in nats) echo "$NATS_PORT" ;; mongo) echo "$MONGO_PORT" ;; esac; }
# An argument only our instance's command line holds (matched with the space after it): how we
# recognise our processes, so that we never signal a server of another instance or a developer's.
marker_of() { case $1 in nats) echo "$NATS_STORE" ;; mongo) echo "file:$FERRET_DATA" ;; esac; }
label() { case $1 in nats) echo "nats-server" ;; mongo) echo "ferretdb" ;; esac; }

alive() { # pid -> running (a zombie counts as gone: it no longer serves or holds the port)
  local state
  state=$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null) || return 1
  [[ -n $state && $state != Z && $state != X ]]
}
is_ours() { # pid service -> the process is alive, runs our server binary, with this instance's data
  alive "$1" || return 1
  local exe
  exe=$(basename "$(readlink "/proc/$1/exe" 2>/dev/null)")
  case $2 in
    nats) [[ $exe == nats-server* ]] ;;
    mongo) [[ $exe == ferretdb* ]] ;;
  esac && tr '\0' ' ' <"/proc/$1/cmdline" 2>/dev/null | grep -qF -- "$(marker_of "$2") "
}
pid_of() { # service -> pid of our running server, from its pid file
  local pid
  pid=$(cat "$RUN_DIR/$1.pid" 2>/dev/null) || return 1
  [[ $pid =~ ^[0-9]+$ ]] && is_ours "$pid" "$1" && echo "$pid"
}
strays_of() { # service -> pids of processes with our marker that no pid file names (lost pid file)
  local p
  for p in /proc/[0-9]*; do
    p=${p#/proc/}
    if is_ours "$p" "$1"; then echo "$p"; fi
  done
}
port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

nats_auth_on() { # our nats-server was started with authorization
  ! external nats && [[ -f $RUN_DIR/nats.auth ]]
}
mongo_auth_on() { # our FerretDB was started with authentication
  ! external mongo && [[ -f $RUN_DIR/mongo.auth ]]
}

ping_once() { # service -> 0 when the server answers a real protocol ping
  if [[ $1 == nats ]] && nats_auth_on; then
    # The admin role's password reaches the ping through its environment only.
    MEDTUNE_PING_NATS_USER=admin MEDTUNE_PING_NATS_PASSWORD=$(<"$NATS_SECRETS/admin.pass") node "$PING" "$1" "$(url_of "$1")" 2>&1
    return
  fi
  node "$PING" "$1" "$(url_of "$1")" 2>&1
}

need_node_modules() {
  [[ -d $ROOT/node_modules/mongodb && -d $ROOT/node_modules/@nats-io/transport-node ]] ||
    die "the readiness ping needs the npm packages: run 'npm ci' in $ROOT first"
}

# ---------------------------------------------------------------------------------------------
# installation

# Debian installs the binary in /usr/sbin, which is not on every user's PATH.
nats_bin() { command -v nats-server 2>/dev/null || { [[ -x /usr/sbin/nats-server ]] && echo /usr/sbin/nats-server; }; }

ensure_nats_server() {
  nats_bin >/dev/null && return 0
  local sudo=()
  if [[ $(id -u) != 0 ]]; then
    if ! command -v sudo >/dev/null || ! sudo -n true 2>/dev/null; then
      die "nats-server is missing; install it with: sudo apt-get install -y nats-server"
    fi
    sudo=(sudo -n)
  fi
  say "installing nats-server (Debian package nats-server, 2.9.x) with apt-get into /usr/sbin/nats-server"
  if ! DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y --no-install-recommends nats-server >&2; then
    "${sudo[@]}" apt-get update >&2
    DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y --no-install-recommends nats-server >&2
  fi
  nats_bin >/dev/null || die "apt-get did not install nats-server"
  # The package enables a system-wide nats-server.service on 127.0.0.1:4222 (without JetStream).
  # We just installed it only to get the binary, so on a systemd machine we turn that unit off.
  if [[ -d /run/systemd/system ]] && systemctl is-enabled --quiet nats-server 2>/dev/null; then
    say "disabling the nats-server.service that the Debian package enabled (it would take port 4222)"
    "${sudo[@]}" systemctl disable --now nats-server >&2 || say "warning: could not disable nats-server.service"
  fi
}

find_go() {
  local go
  go=$(command -v go || true)
  [[ -z $go && -x /usr/local/go/bin/go ]] && go=/usr/local/go/bin/go
  [[ -n $go ]] || die "Go (1.21 or newer) is needed to build FerretDB $FERRETDB_VERSION and was not found; install Go or set MONGODB_URI to a running MongoDB-compatible server"
  echo "$go"
}

# `go install ...@v1.24.2` builds a binary that panics at start: the module zip lacks the
# build/version/version.txt that FerretDB embeds. So we copy the module source, write that file,
# and build the copy. modernc.org/sqlite is pure Go, so CGO is off and no C compiler is needed.
ensure_ferretdb() {
  [[ -x $FERRETDB_BIN ]] && return 0
  [[ -n ${MEDTUNE_FERRETDB_BIN:-} ]] && die "MEDTUNE_FERRETDB_BIN=$MEDTUNE_FERRETDB_BIN is not an executable"
  local go minor started src work
  go=$(find_go)
  minor=$("$go" env GOVERSION | sed -E 's/^go1\.([0-9]+).*/\1/')
  [[ $minor =~ ^[0-9]+$ && $minor -ge 21 ]] || die "$go is $("$go" env GOVERSION); building FerretDB needs Go 1.21 or newer"
  if ((minor < 24)); then
    # FerretDB's go.mod asks for 1.24; go >= 1.21 fetches that toolchain from the Go module proxy.
    export GOTOOLCHAIN=go1.24.3
    say "Go $("$go" env GOVERSION) is older than FerretDB needs: using toolchain $GOTOOLCHAIN from the Go module proxy"
  fi
  say "building FerretDB $FERRETDB_VERSION from the Go module proxy into $FERRETDB_BIN (about a minute on 2 cores; once)"
  started=$SECONDS
  mkdir -p "$BIN_DIR"
  src=$(cd "$BIN_DIR" && GOFLAGS=-mod=mod "$go" mod download -json "github.com/FerretDB/FerretDB@$FERRETDB_VERSION" |
    sed -n 's/^[[:space:]]*"Dir": "\(.*\)",\{0,1\}$/\1/p')
  [[ -n $src && -d $src ]] || die "go mod download did not give the FerretDB source directory"
  work=$(mktemp -d "$BIN_DIR/.ferretdb-build.XXXXXX")
  trap 'rm -rf "$work"' EXIT
  cp -R "$src/." "$work/"
  chmod -R u+w "$work"
  echo "$FERRETDB_VERSION" >"$work/build/version/version.txt"
  (cd "$work" && CGO_ENABLED=0 GOFLAGS=-buildvcs=false "$go" build -trimpath -o "$FERRETDB_BIN.tmp" ./cmd/ferretdb) >&2 ||
    die "building FerretDB failed (see above)"
  rm -rf "$work"
  trap - EXIT
  "$FERRETDB_BIN.tmp" --version >/dev/null || die "the FerretDB binary just built does not run"
  mv -f "$FERRETDB_BIN.tmp" "$FERRETDB_BIN"
  say "built $FERRETDB_BIN in $((SECONDS - started))s (Go module cache: $("$go" env GOMODCACHE), build cache: $("$go" env GOCACHE))"
}

# ---------------------------------------------------------------------------------------------
# processes

start() { # service
  local cmd log=$LOG_DIR/$1.log
  case $1 in
    nats)
      ensure_nats_server
      mkdir -p "$NATS_STORE"
      cmd=("$(nats_bin)" --addr 127.0.0.1 --port "$NATS_PORT" --jetstream --store_dir "$NATS_STORE" --server_name medtune-local)
      rm -f "$RUN_DIR/nats.auth"
      if [[ $NATS_AUTH == 1 ]]; then
        nats_auth_conf "$NATS_SECRETS"
        cmd+=(-c "$NATS_SECRETS/server.conf")
        mkdir -p "$RUN_DIR"
        echo "$NATS_SECRETS" >"$RUN_DIR/nats.auth"
      fi
      ;;
    mongo)
      ensure_ferretdb
      mkdir -p "$FERRET_DATA" "$FERRET_STATE"
      cmd=("$FERRETDB_BIN" --handler=sqlite "--sqlite-url=file:$FERRET_DATA" "--listen-addr=127.0.0.1:$MONGO_PORT"
        "--state-dir=$FERRET_STATE" --telemetry=disable --debug-addr=- --log-level=error)
      rm -f "$RUN_DIR/mongo.auth"
      if [[ $MONGO_AUTH == 1 ]]; then
        ensure_secret "$MONGO_SECRETS/$MONGO_USER.pass"
        # The user is created on the first start only (when the admin database does not exist yet).
        cmd+=(--test-enable-new-auth --setup-database=admin "--setup-username=$MONGO_USER")
        mkdir -p "$RUN_DIR"
        echo "$MONGO_SECRETS" >"$RUN_DIR/mongo.auth"
      fi
      ;;
  esac
  mkdir -p "$LOG_DIR" "$RUN_DIR"
  echo "--- $(date -Is) ${cmd[*]}" >>"$log"
  # setsid: the server outlives this script and ignores the caller's Ctrl-C; 9>&- keeps the
  # server from inheriting (and holding forever) the lock on fd 9.
  # The FerretDB user's password reaches it through its environment only (a subshell that execs).
  (
    if [[ $1 == mongo && $MONGO_AUTH == 1 ]]; then
      FERRETDB_SETUP_PASSWORD=$(<"$MONGO_SECRETS/$MONGO_USER.pass")
      export FERRETDB_SETUP_PASSWORD
    fi
    exec setsid "${cmd[@]}" </dev/null >>"$log" 2>&1 9>&-
  ) &
  local pid=$!
  echo "$pid" >"$RUN_DIR/$1.pid"
  local deadline=$((SECONDS + READY_TIMEOUT_S)) out=""
  while ((SECONDS < deadline)); do
    if ! alive "$pid"; then
      rm -f "$RUN_DIR/$1.pid"
      die "$(label "$1") exited during start-up; last lines of $log:
$(tail -n 20 "$log")"
    fi
    if out=$(ping_once "$1"); then
      say "$1: started $(label "$1") (pid $pid) at $(url_of "$1"); data $(data_of "$1"), log $log"
      return 0
    fi
    sleep 0.2
  done
  stop_pid "$pid" "$1"
  rm -f "$RUN_DIR/$1.pid"
  die "$(label "$1") did not answer a ping within ${READY_TIMEOUT_S}s ($out); last lines of $log:
$(tail -n 20 "$log")"
}
data_of() { case $1 in nats) echo "$NATS_STORE" ;; mongo) echo "$FERRET_DATA" ;; esac; }

stop_pid() { # pid service: SIGTERM, up to 10 s, then SIGKILL
  local pid=$1 i
  is_ours "$pid" "$2" || return 0
  kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < 100; i++)); do
    alive "$pid" || return 0
    sleep 0.1
  done
  say "$(label "$2") (pid $pid) ignored SIGTERM for 10s; sending SIGKILL"
  kill -KILL "$pid" 2>/dev/null || true
  for ((i = 0; i < 50; i++)); do
    alive "$pid" || return 0
    sleep 0.1
  done
  die "could not stop $(label "$2") (pid $pid)"
}

stop() { # service: stop our server, then any stray process of this instance
  local pid stray
  rm -f "$RUN_DIR/$1.origin"
  if pid=$(pid_of "$1"); then
    stop_pid "$pid" "$1"
    say "$1: stopped $(label "$1") (pid $pid)"
  else
    say "$1: not running"
  fi
  rm -f "$RUN_DIR/$1.pid" "$RUN_DIR/$1.auth"
  for stray in $(strays_of "$1"); do
    say "$1: stopping a stray $(label "$1") of this instance (pid $stray) that had no pid file"
    stop_pid "$stray" "$1"
  done
  [[ -z $(strays_of "$1") ]] || die "$(label "$1") processes of this instance are still running: $(strays_of "$1" | tr '\n' ' ')"
}

# ---------------------------------------------------------------------------------------------
# locking and leases

lock() { # serialise up/down/release of this instance (a build can take a minute)
  mkdir -p "$RUN_DIR"
  exec 9>"$RUN_DIR/infra.lock"
  if ! flock -n 9; then
    say "waiting for another infra.sh of this instance to finish"
    flock -w 900 9 || die "timed out waiting for the lock $RUN_DIR/infra.lock"
  fi
}

live_leases() { # prints the pids of leases whose holder still runs; removes the others
  local f
  mkdir -p "$LEASE_DIR"
  for f in "$LEASE_DIR"/*; do
    [[ -e $f ]] || continue
    if alive "$(basename "$f")"; then basename "$f"; else rm -f "$f"; fi
  done
}

# ---------------------------------------------------------------------------------------------
# commands

cmd_up() {
  local lease="" svc pid out
  if [[ ${1:-} == --lease ]]; then
    lease=${2:-}
    [[ $lease =~ ^[0-9]+$ ]] || die "up --lease needs the pid of the process that holds the lease"
  fi
  lock
  for svc in "${SERVICES[@]}"; do
    if external "$svc"; then
      need_node_modules
      out=$(ping_once "$svc") || die "$svc: $(env_name "$svc")=$(url_of "$svc") does not answer: $out"
      say "$svc: using $(env_name "$svc")=$(url_of "$svc") (set in the environment; starting nothing)"
      continue
    fi
    if pid=$(pid_of "$svc"); then
      if [[ $svc == mongo && $MONGO_AUTH == 1 ]] && ! mongo_auth_on; then
        die "mongo: our FerretDB (pid $pid) runs without authentication, and MEDTUNE_MONGO_AUTH=1 asks for it: run $0 down first"
      fi
      need_node_modules
      out=$(ping_once "$svc") || die "$svc: our $(label "$svc") (pid $pid) runs but does not answer: $out (try: $0 down && $0 up)"
      say "$svc: already running (pid $pid) at $(url_of "$svc")"
    else
      port_busy "$(port_of "$svc")" &&
        die "$svc: 127.0.0.1:$(port_of "$svc") is taken by a process this script did not start; set MEDTUNE_$( [[ $svc == nats ]] && echo NATS || echo MONGO)_PORT to another port, or $(env_name "$svc") to use that server"
      need_node_modules
      start "$svc"
      echo lease >"$RUN_DIR/$svc.origin"
    fi
    # Without a lease the user asked for the servers, so they stay up after any test run's
    # release, even when a test run started them.
    if [[ -z $lease ]]; then echo manual >"$RUN_DIR/$svc.origin"; fi
  done
  if [[ -n $lease ]]; then
    mkdir -p "$LEASE_DIR"
    : >"$LEASE_DIR/$lease"
  fi
  return 0
}

cmd_release() {
  local lease=${1:-} svc left
  [[ $lease =~ ^[0-9]+$ ]] || die "release needs the pid given to up --lease"
  lock
  rm -f "$LEASE_DIR/$lease"
  left=$(live_leases | wc -l)
  for svc in "${SERVICES[@]}"; do
    external "$svc" && continue
    [[ $(cat "$RUN_DIR/$svc.origin" 2>/dev/null) == lease ]] || continue
    if ((left > 0)); then
      say "$svc: still used by $left other test run(s); leaving it running"
    else
      stop "$svc"
    fi
  done
}

cmd_down() {
  local svc
  lock
  for svc in "${SERVICES[@]}"; do
    if external "$svc"; then
      say "$svc: $(env_name "$svc") is set; not ours to stop"
      continue
    fi
    stop "$svc"
  done
  rm -rf "$LEASE_DIR"
}

origin_text() {
  case $(cat "$RUN_DIR/$1.origin" 2>/dev/null) in
    lease) echo "started by a test run; stops after the last one" ;;
    manual) echo "started by hand; stays up until 'down'" ;;
    *) echo "origin unknown" ;;
  esac
}

cmd_status() {
  local svc pid out ok=0
  for svc in "${SERVICES[@]}"; do
    if external "$svc"; then
      if out=$(ping_once "$svc"); then say "$svc: external $(env_name "$svc")=$(url_of "$svc"), answers"
      else say "$svc: external $(env_name "$svc")=$(url_of "$svc"), does NOT answer: $out"; ok=1; fi
    elif pid=$(pid_of "$svc"); then
      if out=$(ping_once "$svc"); then
        say "$svc: running (pid $pid, $(origin_text "$svc")) at $(url_of "$svc"), answers"
      else say "$svc: running (pid $pid) at $(url_of "$svc") but does NOT answer: $out"; ok=1; fi
    else
      say "$svc: stopped"
      ok=1
    fi
  done
  return $ok
}

cmd_env() {
  echo "export NATS_URL=$(url_of nats)"
  echo "export MONGODB_URI=$(url_of mongo)"
  # Where the roles' NATS passwords are (a path, never a secret).
  if nats_auth_on; then echo "export MEDTUNE_NATS_SECRETS_DIR=$NATS_SECRETS"; fi
  # Where the FerretDB user's password is (a path); MONGODB_URI itself never holds it.
  if mongo_auth_on; then echo "export MEDTUNE_MONGO_SECRETS_DIR=$MONGO_SECRETS"; fi
}

case ${1:-} in
  up) shift; cmd_up "$@" ;;
  down) cmd_down ;;
  release) shift; cmd_release "$@" ;;
  status) cmd_status ;;
  env) cmd_env ;;
  install) ensure_nats_server; ensure_ferretdb; say "nats-server: $(nats_bin); ferretdb: $FERRETDB_BIN" ;;
  *) sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2 ;;
esac
