#!/usr/bin/env bash
# A real local Ray cluster on loopback for tests and benchmarks: a head (no GPUs, runs the
# dashboard with the Jobs REST API) and N worker nodes, each declaring GPUs with --num-gpus (on a
# CPU machine Ray just counts them). Every port is picked free, so runs can overlap. Ray comes from
# the trainer venv (python-services/requirements.txt pins ray[default]).
#
#   tools/infra/ray-cluster.sh up DIR [WORKERS=2] [GPUS_PER_WORKER=1]
#        starts the cluster with its state under DIR; prints `RAY_DASHBOARD=http://127.0.0.1:PORT`
#        and `RAY_GCS=127.0.0.1:PORT`; waits until every worker node is alive in the cluster
#   tools/infra/ray-cluster.sh kill-node DIR K     SIGKILLs worker node K's raylet (a node lost)
#   tools/infra/ray-cluster.sh down DIR            stops every node of that cluster
#
# Environment of the nodes (and so of every job's entrypoint): the caller's, e.g. AWS_* for S3.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
VENV=${MEDTUNE_RAY_VENV:-$ROOT/python-services/.venv}
RAY=$VENV/bin/ray
PY=$VENV/bin/python
say() { echo "ray-cluster: $*" >&2; }
die() { say "error: $*"; exit 1; }

free_ports() { # n -> n free TCP ports on 127.0.0.1
  "$PY" - "$1" <<'EOF'
import socket, sys
socks = []
for _ in range(int(sys.argv[1])):
    s = socket.socket(); s.bind(("127.0.0.1", 0)); socks.append(s)
print(" ".join(str(s.getsockname()[1]) for s in socks))
EOF
}

node_ports() { # -> flags giving a node its own ports (several nodes share one host)
  local p
  read -r -a p <<<"$(free_ports 6)"
  echo "--node-manager-port=${p[0]} --object-manager-port=${p[1]} --dashboard-agent-listen-port=${p[2]} --dashboard-agent-grpc-port=${p[3]} --metrics-export-port=${p[4]} --runtime-env-agent-port=${p[5]}"
}

cmd_up() {
  local dir=${1:?DIR}; local workers=${2:-2} gpus=${3:-1}
  [[ -x $RAY ]] || die "$RAY is missing: run tools/python/setup.sh (it installs ray from requirements.txt)"
  mkdir -p "$dir"
  dir=$(cd "$dir" && pwd)
  local tmp=$dir/t p gcs dash client attempt
  export RAY_USAGE_STATS_ENABLED=0 RAY_DISABLE_DOCKER_CPU_WARNING=1
  # Ray must never retry a task of ours by itself; the entrypoint runs once per submission.
  export RAY_task_max_retries=0
  # Short: a killed node is noticed within a few seconds, not 30.
  export RAY_health_check_period_ms=1000 RAY_health_check_failure_threshold=3
  # The nodes' one-job trainers fork from warm servers (medtune_trainer/warm_start.py) kept under
  # the cluster's own directory, so `down` stops them with it.
  export MEDTUNE_TRAINER_WARM_DIR=${MEDTUNE_TRAINER_WARM_DIR:-$dir/warm}
  # On a loaded machine a dashboard module sometimes dies while starting ("Module MetricsHead
  # failed to start"): clean up and try again, on fresh ports.
  for attempt in 1 2 3; do
    read -r -a p <<<"$(free_ports 3)"
    gcs=${p[0]} dash=${p[1]} client=${p[2]}
    # shellcheck disable=SC2046
    "$RAY" start --head --node-ip-address=127.0.0.1 --port="$gcs" --dashboard-host=127.0.0.1 --dashboard-port="$dash" \
      --ray-client-server-port="$client" --include-dashboard=true --num-cpus=1 --num-gpus=0 --temp-dir="$tmp" \
      --min-worker-port=0 --max-worker-port=0 --disable-usage-stats $(node_ports) >"$dir/head.log" 2>&1 && break
    # What a failed start left running (GCS, dashboard) goes before the next try or the error.
    echo "127.0.0.1:$gcs" >"$dir/gcs"
    cmd_down "$dir" >/dev/null 2>&1 || true
    ((attempt < 3)) || die "the head did not start; $(tail -n 20 "$dir/head.log")"
    say "the head did not start (attempt $attempt): $(tail -n 1 "$dir/head.log"); retrying"
  done
  echo "127.0.0.1:$gcs" >"$dir/gcs"
  echo "http://127.0.0.1:$dash" >"$dir/dashboard"
  local k
  for ((k = 0; k < workers; k++)); do
    # Each worker node gets a custom resource naming it, so a test can tell where a job ran.
    # shellcheck disable=SC2046
    "$RAY" start --address="127.0.0.1:$gcs" --node-ip-address=127.0.0.1 --num-cpus=2 --num-gpus="$gpus" \
      --resources="{\"medtune_node_$k\": 1}" --min-worker-port=0 --max-worker-port=0 --disable-usage-stats $(node_ports) \
      >"$dir/worker-$k.log" 2>&1 || die "worker node $k did not start; $(tail -n 20 "$dir/worker-$k.log")"
    raylet_pid_of "$dir" "$k" >"$dir/worker-$k.raylet" || true
  done
  wait_nodes "$dir" $((workers + 1))
  echo "RAY_DASHBOARD=http://127.0.0.1:$dash"
  echo "RAY_GCS=127.0.0.1:$gcs"
}

raylet_pid_of() { # dir k -> pid of worker node k's raylet (the newest raylet with its resource)
  local p
  for p in $(pgrep -f "raylet.*medtune_node_$2" || true); do
    tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null | grep -q -- "$1/t" && { echo "$p"; return 0; }
  done
  # The session dir is a symlink target under the temp dir; fall back to the resource only.
  pgrep -nf "raylet.*medtune_node_$2"
}

wait_nodes() { # dir n -> waits until n nodes are alive (the dashboard answers first)
  local url deadline=$((SECONDS + 120)) n
  url=$(cat "$1/dashboard")
  while ((SECONDS < deadline)); do
    n=$(curl -fsS "$url/nodes?view=summary" 2>/dev/null | "$PY" -c 'import json,sys
d=json.load(sys.stdin)["data"]["summary"]
print(sum(1 for x in d if x.get("raylet",{}).get("state")=="ALIVE"))' 2>/dev/null || echo 0)
    ((n >= $2)) && return 0
    sleep 1
  done
  die "only $n of $2 Ray nodes alive after 120 s"
}

cmd_kill_node() {
  local dir=${1:?DIR} k=${2:?K} pid
  pid=$(cat "$dir/worker-$k.raylet" 2>/dev/null || true)
  [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null || pid=$(raylet_pid_of "$dir" "$k") || die "no raylet for node $k"
  kill -KILL "$pid"
  say "killed the raylet of worker node $k (pid $pid)"
}

cmd_down() {
  local dir=${1:?DIR} gcs p
  gcs=$(cat "$dir/gcs" 2>/dev/null || true)
  # `ray stop` stops every Ray process of this user on the host, other clusters' too: instead,
  # stop the processes whose command line names this cluster's GCS address or temp dir.
  for p in $(pgrep -f -- "${gcs:-__none__}|$dir/t" || true); do
    [[ $p == "$$" ]] && continue
    kill -TERM "$p" 2>/dev/null || true
  done
  sleep 2
  for p in $(pgrep -f -- "${gcs:-__none__}|$dir/t" || true); do
    [[ $p == "$$" ]] && continue
    kill -KILL "$p" 2>/dev/null || true
  done
  # The warm servers its jobs started (warm_start.py writes each one's pid in its lock file).
  local lock
  for lock in "$dir"/warm/medtune-warm-*/*.lock; do
    [[ -f $lock ]] || continue
    p=$(head -n 1 "$lock" 2>/dev/null || true)
    [[ $p =~ ^[0-9]+$ ]] && tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null | grep -q "medtune_trainer.warm_start serve" && kill -TERM "$p" 2>/dev/null || true
  done
  say "stopped the cluster of $dir"
}

case ${1:-} in
  up) shift; cmd_up "$@" ;;
  kill-node) shift; cmd_kill_node "$@" ;;
  down) shift; cmd_down "$@" ;;
  *) sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2 ;;
esac
