#!/usr/bin/env bash
# medtune on one host, as plain processes: the infrastructure (tools/infra/infra.sh: nats-server
# with JetStream + FerretDB), the five services (tsx apps/<svc>/src/main.ts) and a CPU trainer
# worker (python -m medtune_trainer) with a tiny base model.
#
#   deploy/local/stack.sh up        install what is missing, start what is not running, wait until
#                                   every part answers grpc.health.v1 (a second `up` only checks)
#   deploy/local/stack.sh down      stop everything in order (worker, services, infrastructure) and
#                                   verify that no process of this stack is left
#   deploy/local/stack.sh status    what runs where; exit 0 only when every part is SERVING
#   deploy/local/stack.sh logs [PART] [-f]   the last lines of every log, or of one part (-f follows)
#   deploy/local/stack.sh env       print the exports the medtune command reads (MEDTUNE_*_ADDR)
#
# Parts: tracking registry dataset training evaluation trainer dashboard (started in that order;
# the dashboard is the web UI over the others, HTTP on loopback: base+19, MEDTUNE_DASHBOARD_URL).
# State, logs and pid files live under var/ (MEDTUNE_VAR_DIR): var/log/<part>.log,
# var/run/<part>.pid, var/artifacts/, var/models/tiny-qwen2/. Environment (all optional):
#   MEDTUNE_VAR_DIR              state directory (default <repo>/var); a second stack needs its own,
#   MEDTUNE_STACK_BASE_PORT      and its own ports: dataset = base, training +1, tracking +2,
#                                evaluation +3, registry +4, trainer +10 (default 50051)
#   MEDTUNE_STACK_PARTS          the parts to run (default: all six)
#   MEDTUNE_STACK_REPLICAS       replicas of each service (default 1); replica r > 1 of a part is
#                                the part `<part>@<r>` on port + 20·(r-1), log var/log/<part>@<r>.log;
#                                the others and the CLI address replica 1, every replica serves
#                                requests, leases in NATS KV own the once-only work
#   MEDTUNE_STACK_MODEL_DIR      the tiny base model (default $MEDTUNE_VAR_DIR/models/tiny-qwen2)
#   MEDTUNE_STACK_ARTIFACT_ROOT  the training service's artifact root (default file://$MEDTUNE_VAR_DIR/artifacts),
#                                e.g. s3://bucket/prefix with MEDTUNE_S3_ROOTS / _ENDPOINT / _ACCESS_KEY /
#                                _SECRET_KEY in the environment (every part inherits them; deploy/README.md)
#   MEDTUNE_STACK_READY_TIMEOUT_S  how long a part may take to become SERVING (default 90)
#   MEDTUNE_STACK_NO_INSTALL=1   never run npm ci / tools/python/setup.sh
#   NATS_URL, MONGODB_URI        use these servers instead of starting local ones (infra.sh)
#   MEDTUNE_AUTH_TOKEN, MEDTUNE_LOG_LEVEL, MEDTUNE_NATS_NAMESPACE, MEDTUNE_<SVC>_DB, ...
#                                passed through to every part (see deploy/README.md); a stack
#                                started with MEDTUNE_AUTH_TOKEN keeps it in var/secrets/auth-token
#                                and every later `up` uses it (a different one is refused)
#   MEDTUNE_STACK_SECURE=1       TLS on every gRPC server and client, signed tokens per caller (kept:
#                                later `up`s stay secure until MEDTUNE_STACK_SECURE=0); certificates
#                                and keys from tools/dev/certs/make.sh under var/secrets/pki;
#                                MEDTUNE_STACK_MTLS=1 adds mutual TLS. `eval "$(stack.sh env)"` then
#                                gives the CLI the CA and an operator token (var/secrets/cli.token)
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
VAR_DIR=${MEDTUNE_VAR_DIR:-$ROOT/var}
export MEDTUNE_VAR_DIR=$VAR_DIR
# The stack's own nats-server requires credentials: one user per role with its publish/subscribe
# permissions (tools/infra/secrets.sh; passwords generated on first start under var/secrets/nats).
export MEDTUNE_NATS_AUTH=${MEDTUNE_NATS_AUTH:-1}
# …and its own FerretDB requires a user and password (tools/infra/infra.sh: the new SCRAM
# authentication; the password generated on first start under var/secrets/mongo).
export MEDTUNE_MONGO_AUTH=${MEDTUNE_MONGO_AUTH:-1}
BASE_PORT=${MEDTUNE_STACK_BASE_PORT:-50051}
READY_TIMEOUT_S=${MEDTUNE_STACK_READY_TIMEOUT_S:-90}
MODEL_DIR=${MEDTUNE_STACK_MODEL_DIR:-$VAR_DIR/models/tiny-qwen2}
# Where user-given paths may point (imports, evaluation sets, base models, tokenizer directories,
# artifact URIs; libs/kit/src/paths.ts): the kit's defaults (the var dir, the temp dir, examples/,
# ../shared) plus the directory of the stack's base model, which may live outside the var dir.
export MEDTUNE_DATA_ROOTS=${MEDTUNE_DATA_ROOTS:-$VAR_DIR:${TMPDIR:-/tmp}:$ROOT/examples:$(dirname "$ROOT")/shared:$(dirname "$MODEL_DIR")}
RUN_DIR=$VAR_DIR/run
LOG_DIR=$VAR_DIR/log
ARTIFACTS=$VAR_DIR/artifacts
SECRETS=$VAR_DIR/secrets
PKI=$SECRETS/pki
PY=$ROOT/python-services/.venv/bin/python
TSX_LOADER=$ROOT/node_modules/tsx/dist/loader.mjs
ALL_PARTS=(tracking registry dataset training evaluation trainer dashboard)
read -r -a PARTS <<<"${MEDTUNE_STACK_PARTS:-${ALL_PARTS[*]}}"
REPLICAS=${MEDTUNE_STACK_REPLICAS:-1}
[[ $REPLICAS =~ ^[1-9]$ ]] || { echo "stack: error: MEDTUNE_STACK_REPLICAS must be 1..9 (got $REPLICAS)" >&2; exit 1; }
# Marks every process of this stack (read back from /proc/<pid>/environ): how `down` and `status`
# recognise our processes, so a developer's own service on the same port is never signalled.
STACK_ID="medtune-stack:$VAR_DIR"

say() { echo "stack: $*" >&2; }
die() {
  say "error: $*"
  exit 1
}

port_of() {
  if [[ $1 == *@* ]]; then # replica r of a service: 20 ports further per replica
    echo $(($(port_of "${1%@*}") + 20 * (${1#*@} - 1)))
    return
  fi
  case $1 in
    dataset) echo $((BASE_PORT)) ;;
    training) echo $((BASE_PORT + 1)) ;;
    tracking) echo $((BASE_PORT + 2)) ;;
    evaluation) echo $((BASE_PORT + 3)) ;;
    registry) echo $((BASE_PORT + 4)) ;;
    trainer) echo $((BASE_PORT + 10)) ;;
    dashboard) echo $((BASE_PORT + 19)) ;;
  esac
}
addr_of() { echo "127.0.0.1:$(port_of "$1")"; }
grpc_service_of() {
  local p=${1%@*}
  case $p in
    trainer) echo medtune.trainer.v1.TrainerService ;;
    *) echo "medtune.$p.v1.$(tr '[:lower:]' '[:upper:]' <<<"${p:0:1}")${p:1}Service" ;;
  esac
}
replica_parts() { # the extra replicas to run: <service>@2 .. <service>@REPLICAS
  local part r
  for part in "${PARTS[@]}"; do
    [[ $part == trainer || $part == dashboard ]] && continue
    for ((r = 2; r <= REPLICAS; r++)); do echo "$part@$r"; done
  done
}
upper() { tr '[:lower:]' '[:upper:]' <<<"$1"; }

alive() { # pid -> running and not a zombie
  local state
  state=$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null) || return 1
  [[ -n $state && $state != Z && $state != X ]]
}
is_ours() { # pid part -> a live process of this stack running that part
  alive "$1" || return 1
  local env
  env=$({ tr '\0' '\n' <"/proc/$1/environ"; } 2>/dev/null) || return 1
  grep -qxF "MEDTUNE_STACK_ID=$STACK_ID" <<<"$env" && grep -qxF "MEDTUNE_STACK_PART=$2" <<<"$env"
}
pid_of() { # part -> pid of our running process, from its pid file
  local pid
  pid=$(cat "$RUN_DIR/$1.pid" 2>/dev/null) || return 1
  [[ $pid =~ ^[0-9]+$ ]] && is_ours "$pid" "$1" && echo "$pid"
}
strays_of() { # part -> our processes of that part that no pid file names (one grep over /proc)
  local f p
  while read -r f; do
    p=${f#/proc/}
    p=${p%/environ}
    is_ours "$p" "$1" && [[ $p != "$(cat "$RUN_DIR/$1.pid" 2>/dev/null)" ]] && echo "$p"
  done < <(grep -lzxF "MEDTUNE_STACK_ID=$STACK_ID" /proc/[0-9]*/environ 2>/dev/null)
  return 0
}
healthy() { # part [wait seconds] -> SERVING
  [[ $1 == dashboard ]] && { node "$ROOT/apps/dashboard/scripts/health.mjs" "http://$(addr_of dashboard)/healthz" --wait "${2:-0}" >/dev/null 2>&1; return; }
  node "$ROOT/deploy/local/health.mjs" "$(addr_of "$1")" "$(grpc_service_of "$1")" --wait "${2:-0}" >/dev/null 2>&1
}
port_taken() { # port -> something listens on 127.0.0.1:port
  (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

install_missing() {
  [[ ${MEDTUNE_STACK_NO_INSTALL:-} == 1 ]] && return 0
  # Node packages, the Python venv, nats-server / FerretDB and the tokenizer's native addon;
  # each step is skipped when already in place.
  "$ROOT/tools/dev/bootstrap.sh" >&2
}

build_model() {
  if [[ -f $MODEL_DIR/config.json ]]; then return 0; fi
  say "building the tiny base model into $MODEL_DIR (once)"
  mkdir -p "$(dirname "$MODEL_DIR")"
  local tmp="$MODEL_DIR.tmp.$$"
  rm -rf "$tmp"
  "$PY" "$ROOT/python-services/trainer/scripts/make_tiny_model.py" --out "$tmp" >/dev/null
  mv "$tmp" "$MODEL_DIR"
}

# The environment of one part: what it listens on and where the others are.
part_env() {
  local part=${1%@*} self=$1
  echo "MEDTUNE_STACK_ID=$STACK_ID"
  echo "MEDTUNE_STACK_PART=$self"
  echo "MEDTUNE_NATS_URL=$NATS_URL"
  # With the stack's FerretDB credentials the URI is built in the part's subshell (mongo_credentials).
  [[ -n ${MEDTUNE_MONGO_SECRETS_DIR:-} ]] || echo "MEDTUNE_MONGODB_URI=$MONGODB_URI"
  case $part in
    trainer)
      if secure; then
        echo "MEDTUNE_TRAINER_JWT_PUBLIC_KEY_FILE=$PKI/jwt.pub"
        echo "MEDTUNE_TRAINER_TOKEN_FILE=$SECRETS/worker.token"
        echo "MEDTUNE_TRAINER_TLS_CERT=$PKI/worker.pem"
        echo "MEDTUNE_TRAINER_TLS_KEY=$PKI/worker.key"
        echo "MEDTUNE_TRAINER_TLS_CLIENT_AUTH=${MEDTUNE_STACK_MTLS:-0}"
      fi
      echo "MEDTUNE_TRAINER_GRPC_ADDR=$(addr_of trainer)"
      echo "MEDTUNE_TRAINER_TRAINING_ADDR=$(addr_of training)"
      echo "MEDTUNE_TRAINER_ARTIFACT_ROOT=$ARTIFACTS"
      echo "MEDTUNE_TRAINER_WORKER_ID=${MEDTUNE_TRAINER_WORKER_ID:-$(hostname)-cpu}"
      echo "PYTHONUNBUFFERED=1"
      ;;
    dashboard)
      echo "MEDTUNE_DASHBOARD_HTTP_ADDR=$(addr_of dashboard)"
      local s
      for s in dataset training tracking evaluation registry; do echo "MEDTUNE_DASHBOARD_$(upper "$s")_ADDR=$(addr_of "$s")"; done
      # Secure: TLS to the services (MEDTUNE_TLS_CA / _CLIENT_CERT / _CLIENT_KEY, exported by
      # access_setup) and its own signed token, by path.
      if secure; then echo "MEDTUNE_DASHBOARD_TOKEN_FILE=$SECRETS/dashboard.token"; fi
      ;;
    *)
      local P
      P=$(upper "$part")
      echo "MEDTUNE_${P}_GRPC_ADDR=$(addr_of "$self")"
      # A stable replica id: a restarted replica takes its own leases back at once.
      local r=1
      [[ $self == *@* ]] && r=${self#*@}
      echo "MEDTUNE_INSTANCE_ID=$part-$r"
      local other
      for other in dataset training tracking evaluation registry; do
        [[ $other == "$part" ]] || echo "MEDTUNE_${P}_$(upper "$other")_ADDR=$(addr_of "$other")"
      done
      echo "MEDTUNE_${P}_TRAINER_ADDR=$(addr_of trainer)"
      echo "MEDTUNE_${P}_ARTIFACT_ROOT=${MEDTUNE_STACK_ARTIFACT_ROOT:-file://$ARTIFACTS}"
      # A CPU worker with a tiny model: the automatic evaluations of new versions generate short
      # answers (examples/demo/pipeline.yaml asks the same, so the base model's result is reused).
      # GPU deployments keep the seed's 1200.
      if [[ $part == evaluation ]]; then echo "MEDTUNE_EVALUATION_AUTO_MAX_NEW_TOKENS=${MEDTUNE_EVALUATION_AUTO_MAX_NEW_TOKENS:-32}"; fi
      ;;
  esac
}

start_part() {
  local part=$1 pid cmd
  if pid=$(pid_of "$part"); then
    if healthy "$part" 5; then
      say "$part: running (pid $pid, $(addr_of "$part"))"
      return 0
    fi
    die "$part: pid $pid runs but does not answer on $(addr_of "$part"); see $LOG_DIR/$part.log, or restart: $0 down && $0 up"
  fi
  if port_taken "$(port_of "$part")"; then
    die "$part: port $(port_of "$part") is taken by a process this stack did not start; stop it, or run a second stack with MEDTUNE_STACK_BASE_PORT and MEDTUNE_VAR_DIR"
  fi
  case $part in
    trainer) cmd=("$PY" -m medtune_trainer) ;;
    dashboard) cmd=(node --enable-source-maps --import "$TSX_LOADER" "$ROOT/apps/dashboard/src/main.ts") ;;
    *)
      local main="$ROOT/apps/${part%@*}-service/src/main.ts"
      [[ -f $main ]] || die "$part: $main does not exist (yet); run a subset with MEDTUNE_STACK_PARTS"
      # One node process (tsx's loader, no tsx parent): signals and the pid file are exact.
      cmd=(node --enable-source-maps --import "$TSX_LOADER" "$main")
      # The dataset service's import keeps its heap flat with a small old space (its peak RSS
      # stays under 300 MB on a 500 MB file; without the cap, garbage piles up between major GCs).
      [[ ${part%@*} == dataset ]] && cmd=(node --enable-source-maps --max-old-space-size=256 --import "$TSX_LOADER" "$main")
      ;;
  esac
  local -a env_args
  mapfile -t env_args < <(part_env "$part")
  {
    echo
    echo "=== $(date -u +%FT%TZ) starting $part: ${cmd[*]}"
  } >>"$LOG_DIR/$part.log"
  # setsid: its own process group, so `down` can also reach anything it spawned.
  (cd "$ROOT" && nats_credentials "${part%@*}" && mongo_credentials && exec setsid env TSX_TSCONFIG_PATH="$ROOT/tsconfig.json" "${env_args[@]}" "${cmd[@]}" >>"$LOG_DIR/$part.log" 2>&1 </dev/null) &
  pid=$!
  echo "$pid" >"$RUN_DIR/$part.pid"
  local t0=$SECONDS
  until healthy "$part" 1; do
    if ! alive "$pid"; then
      say "$part exited during start; the end of $LOG_DIR/$part.log:"
      tail -n 25 "$LOG_DIR/$part.log" | sed 's/^/    /' >&2
      rm -f "$RUN_DIR/$part.pid"
      exit 1
    fi
    if ((SECONDS - t0 > READY_TIMEOUT_S)); then
      say "$part is not SERVING after ${READY_TIMEOUT_S}s; the end of $LOG_DIR/$part.log:"
      tail -n 25 "$LOG_DIR/$part.log" | sed 's/^/    /' >&2
      stop_part "$part"
      exit 1
    fi
  done
  say "$part: SERVING on $([[ $part == dashboard ]] && echo "http://$(addr_of "$part")/" || addr_of "$part") (pid $pid, $((SECONDS - t0))s)"
}

stop_part() { # part: SIGTERM, wait (the worker checkpoints a running job), then SIGKILL the group
  local part=$1 grace=20 pid p
  [[ $part == trainer ]] && grace=90
  local -a pids=()
  pid=$(pid_of "$part") && pids+=("$pid")
  while read -r p; do [[ -n $p ]] && pids+=("$p"); done < <(strays_of "$part")
  if ((${#pids[@]} == 0)); then
    rm -f "$RUN_DIR/$part.pid"
    return 0
  fi
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  local t0=$SECONDS
  for p in "${pids[@]}"; do
    while alive "$p" && ((SECONDS - t0 < grace)); do sleep 0.2; done
    if alive "$p"; then
      say "$part (pid $p) did not stop within ${grace}s; killing it"
      kill -KILL -- "-$p" 2>/dev/null || kill -KILL "$p" 2>/dev/null || true
    fi
    # Anything left in its process group (a child it spawned) goes too.
    kill -KILL -- "-$p" 2>/dev/null || true
  done
  rm -f "$RUN_DIR/$part.pid"
  say "$part: stopped ($((SECONDS - t0))s)"
}

infra_env() {
  eval "$("$ROOT/tools/infra/infra.sh" env)"
}

# The part's NATS role and password, exported in the part's subshell only: never on a command line,
# in part_env's output or in a log. The trainer is the `worker` role (it publishes no event).
nats_credentials() {
  [[ -n ${MEDTUNE_NATS_SECRETS_DIR:-} ]] || return 0
  local role=$1
  [[ $role == trainer ]] && role=worker
  [[ -f $MEDTUNE_NATS_SECRETS_DIR/$role.pass ]] || return 0
  export MEDTUNE_NATS_USER=$role
  MEDTUNE_NATS_PASSWORD=$(<"$MEDTUNE_NATS_SECRETS_DIR/$role.pass")
  export MEDTUNE_NATS_PASSWORD
}

# The FerretDB user's password in MEDTUNE_MONGODB_URI, exported in the part's subshell only (as
# nats_credentials): never on a command line, in part_env's output, a log or an event.
mongo_credentials() {
  [[ -n ${MEDTUNE_MONGO_SECRETS_DIR:-} ]] || return 0
  local pass rest=${MONGODB_URI#mongodb://}
  pass=$(<"$MEDTUNE_MONGO_SECRETS_DIR/medtune.pass")
  [[ $rest == */* ]] || rest="$rest/"
  MEDTUNE_MONGODB_URI="mongodb://medtune:$pass@${rest%%\?*}?authSource=admin&authMechanism=SCRAM-SHA-256"
  export MEDTUNE_MONGODB_URI
}

secure() { [[ -f $SECRETS/secure ]]; }

# Credentials the stack keeps (var/secrets, 0700; files 0600; never printed): the shared token it
# was started with, and in secure mode the PKI and the worker's and the CLI's tokens.
access_setup() {
  mkdir -p "$SECRETS" && chmod 700 "$SECRETS"
  local kept=$SECRETS/auth-token
  if [[ -n ${MEDTUNE_AUTH_TOKEN:-} ]]; then
    if [[ -f $kept && $(<"$kept") != "$MEDTUNE_AUTH_TOKEN" ]]; then
      die "this stack was started with another MEDTUNE_AUTH_TOKEN ($kept); unset it, or rotate: $0 down, remove $kept, $0 up"
    fi
    (umask 077 && printf '%s\n' "$MEDTUNE_AUTH_TOKEN" >"$kept")
  elif [[ -f $kept ]]; then
    MEDTUNE_AUTH_TOKEN=$(<"$kept")
    export MEDTUNE_AUTH_TOKEN
    say "access: every part uses the token this stack was started with ($kept)"
  fi
  case ${MEDTUNE_STACK_SECURE:-} in
    1) touch "$SECRETS/secure" ;;
    0) rm -f "$SECRETS/secure" ;;
  esac
  if secure; then
    "$ROOT/tools/dev/certs/make.sh" "$PKI" >/dev/null
    local t
    for t in worker cli dashboard; do
      # Re-minted when older than a day (they live 30 days).
      if [[ ! -s $SECRETS/$t.token || -n $(find "$SECRETS/$t.token" -mtime +1 2>/dev/null) ]]; then
        local role=worker sub="${MEDTUNE_TRAINER_WORKER_ID:-$(hostname)-cpu}"
        [[ $t == cli ]] && role=operator sub=${USER:-operator}
        # The dashboard reads with a user token; its actions carry the signed-in user's own.
        [[ $t == dashboard ]] && role=user sub=dashboard
        (umask 077 && "$ROOT/tools/dev/certs/token.sh" --role "$role" --sub "$sub" --ttl 30d --key "$PKI/jwt.key" >"$SECRETS/$t.token.tmp") && mv "$SECRETS/$t.token.tmp" "$SECRETS/$t.token"
      fi
    done
    export MEDTUNE_JWT_KEY_FILE=$PKI/jwt.key MEDTUNE_TLS_CERT=$PKI/service.pem MEDTUNE_TLS_KEY=$PKI/service.key MEDTUNE_TLS_CA=$PKI/ca.pem
    export MEDTUNE_TLS_CLIENT_AUTH=${MEDTUNE_STACK_MTLS:-0} MEDTUNE_TLS_CLIENT_CERT=$PKI/client.pem MEDTUNE_TLS_CLIENT_KEY=$PKI/client.key
    say "access: TLS$([[ ${MEDTUNE_STACK_MTLS:-0} == 1 ]] && echo ' (mutual)') and signed tokens (keys under $PKI)"
  fi
}

cmd_up() {
  install_missing
  mkdir -p "$RUN_DIR" "$LOG_DIR" "$ARTIFACTS"
  access_setup
  "$ROOT/tools/infra/infra.sh" up >&2
  infra_env
  if printf '%s\n' "${PARTS[@]}" | grep -qx trainer; then build_model; fi
  local part t0=$SECONDS
  for part in "${PARTS[@]}"; do start_part "$part"; done
  while read -r part; do [[ -n $part ]] && start_part "$part"; done < <(replica_parts)
  say "up in $((SECONDS - t0))s; tiny base model: $MODEL_DIR"
  if printf '%s\n' "${PARTS[@]}" | grep -qx dashboard; then say "dashboard: http://$(addr_of dashboard)/"; fi
  cat >&2 <<EOF
stack: next:
    apps/cli/bin/medtune status
    apps/cli/bin/medtune run examples/demo/pipeline.yaml
    $0 logs [part] [-f]      $0 down
EOF
  if ((BASE_PORT != 50051)); then say "the CLI needs: eval \"\$($0 env)\""; fi
}

cmd_down() {
  local i part f
  for f in "$RUN_DIR"/*@*.pid; do [[ -f $f ]] && stop_part "$(basename "$f" .pid)"; done
  for ((i = ${#ALL_PARTS[@]} - 1; i >= 0; i--)); do stop_part "${ALL_PARTS[i]}"; done
  if [[ ${1:-} != --keep-infra ]]; then "$ROOT/tools/infra/infra.sh" down >&2; fi
  local left=()
  for part in "${ALL_PARTS[@]}"; do
    while read -r i; do [[ -n $i ]] && left+=("$part:$i"); done < <(strays_of "$part")
  done
  ((${#left[@]} == 0)) || die "processes left behind: ${left[*]}"
  say "down: no process of this stack is left"
}

cmd_status() {
  local part pid state ok=0 f
  printf '%-11s %-17s %-8s %s\n' PART ADDRESS PID STATUS
  for part in "${ALL_PARTS[@]}"; do
    pid=$(pid_of "$part") || pid=-
    if healthy "$part" 0; then state=SERVING; else
      state=$([[ $pid == - ]] && echo stopped || echo "not serving")
      printf '%s\n' "${PARTS[@]}" | grep -qx "$part" && ok=1
    fi
    printf '%-11s %-17s %-8s %s\n' "$part" "$(addr_of "$part")" "$pid" "$state"
  done
  for f in "$RUN_DIR"/*@*.pid; do
    [[ -f $f ]] || continue
    part=$(basename "$f" .pid)
    pid=$(pid_of "$part") || pid=-
    if healthy "$part" 0; then state=SERVING; else state=$([[ $pid == - ]] && echo stopped || echo "not serving") && ok=1; fi
    printf '%-11s %-17s %-8s %s\n' "$part" "$(addr_of "$part")" "$pid" "$state"
  done
  "$ROOT/tools/infra/infra.sh" status || ok=1
  return $ok
}

cmd_logs() {
  local follow=0 part=""
  for a in "$@"; do
    case $a in
      -f | --follow) follow=1 ;;
      *) part=$a ;;
    esac
  done
  local files=()
  if [[ -n $part ]]; then
    [[ $part == nats || $part == mongo ]] || printf '%s\n' "${ALL_PARTS[@]}" | grep -qx "$part" || die "unknown part $part (one of: ${ALL_PARTS[*]} nats mongo)"
    files=("$LOG_DIR/$part.log")
  else
    for p in "${ALL_PARTS[@]}"; do [[ -f $LOG_DIR/$p.log ]] && files+=("$LOG_DIR/$p.log"); done
  fi
  ((${#files[@]})) || die "no logs under $LOG_DIR yet"
  if ((follow)); then exec tail -n 20 -F "${files[@]}"; else tail -n 40 "${files[@]}"; fi
}

cmd_env() {
  local s
  for s in dataset training tracking evaluation registry; do echo "export MEDTUNE_$(upper "$s")_ADDR=$(addr_of "$s")"; done
  echo "export MEDTUNE_DASHBOARD_URL=http://$(addr_of dashboard)/"
  if secure; then
    # Paths only: the token is read from its file when the output is eval'd, never printed.
    echo "export MEDTUNE_TLS_CA=$PKI/ca.pem MEDTUNE_TLS_CLIENT_CERT=$PKI/client.pem MEDTUNE_TLS_CLIENT_KEY=$PKI/client.key"
    echo "export MEDTUNE_AUTH_TOKEN=\"\$(cat $SECRETS/cli.token)\""
  fi
}

case ${1:-} in
  up) cmd_up ;;
  down) cmd_down "${2:-}" ;;
  status)
    if secure; then export MEDTUNE_TLS_CA=$PKI/ca.pem MEDTUNE_TLS_CLIENT_CERT=$PKI/client.pem MEDTUNE_TLS_CLIENT_KEY=$PKI/client.key; fi
    cmd_status
    ;;
  logs) shift && cmd_logs "$@" ;;
  env) cmd_env ;;
  *)
    sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//'
    exit 2
    ;;
esac
