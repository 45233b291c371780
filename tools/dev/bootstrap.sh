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

# SeaweedFS (the S3-compatible server of the Ray / s3:// tests) builds for minutes on 2 cores:
# start it first, in the background, so that it overlaps the other installs; waited for at the end.
mkdir -p var/log
tools/infra/s3-server.sh install >var/log/s3-server-build.log 2>&1 &
s3_build=$!

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  say "installing Node packages into node_modules/ (npm ci)"
  npm ci --no-audit --no-fund
else
  say "node_modules/ is up to date"
fi

tools/python/setup.sh
tools/infra/infra.sh install

# The dashboard's browser tests drive Debian's chromium (no browser download works here); a CJK
# font lets its screenshots show the demo's Chinese text. Skipped when both are present.
if ! command -v chromium >/dev/null 2>&1 || ! ls /usr/share/fonts/truetype/wqy/wqy-microhei.ttc >/dev/null 2>&1; then
  apt_sudo=()
  if [ "$(id -u)" != 0 ]; then apt_sudo=(sudo -n); fi
  say "installing chromium and fonts-wqy-microhei (Debian packages) for the dashboard's browser tests"
  DEBIAN_FRONTEND=noninteractive "${apt_sudo[@]}" apt-get install -y --no-install-recommends chromium fonts-wqy-microhei ||
    { "${apt_sudo[@]}" apt-get update && DEBIAN_FRONTEND=noninteractive "${apt_sudo[@]}" apt-get install -y --no-install-recommends chromium fonts-wqy-microhei; }
else
  say "chromium is installed ($(command -v chromium))"
fi

# openssl makes the local CA and certificates (tools/dev/certs/make.sh; the TLS specs run it).
if ! command -v openssl >/dev/null 2>&1; then
  apt_sudo=()
  if [ "$(id -u)" != 0 ]; then apt_sudo=(sudo -n); fi
  say "installing openssl (Debian package) for the TLS certificates"
  DEBIAN_FRONTEND=noninteractive "${apt_sudo[@]}" apt-get install -y --no-install-recommends openssl ||
    { "${apt_sudo[@]}" apt-get update && DEBIAN_FRONTEND=noninteractive "${apt_sudo[@]}" apt-get install -y --no-install-recommends openssl; }
fi

if [ -x libs/tokenizer/native/build.sh ]; then
  libs/tokenizer/native/build.sh
fi
if ! wait "$s3_build"; then
  cat var/log/s3-server-build.log >&2
  say "building SeaweedFS failed (see above)"
  exit 1
fi
say "SeaweedFS: $(tools/infra/s3-server.sh bin)"
say "done in $(( $(date +%s) - t0 )) s"
