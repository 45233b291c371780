#!/usr/bin/env bash
# A local CA and the stack's TLS certificates (openssl, Debian's), for gRPC TLS / mTLS, and the
# key pair that signs caller tokens (JWT, ES256):
#
#   tools/dev/certs/make.sh [DIR] [--force]
#
# DIR defaults to $MEDTUNE_VAR_DIR/secrets/pki (var/secrets/pki). Made once; a second run keeps
# what exists (--force makes everything anew, which invalidates certificates already handed out).
#   ca.pem / ca.key            the CA (ECDSA P-256, 10 years); ca.key never leaves DIR
#   service.pem / service.key  the five services: server + client auth, SAN localhost, 127.0.0.1, ::1
#   worker.pem / worker.key    trainer workers: server + client auth, same SANs
#   client.pem / client.key    the medtune command and tests: client auth only (for mTLS)
#   jwt.key / jwt.pub          ES256 (P-256) key pair of signed tokens: services hold jwt.key (they
#                              sign service and per-job tokens), workers only jwt.pub
# Extra SANs (a host name the workers are dialled by): MEDTUNE_TLS_SANS="DNS:gpu1,IP:10.0.0.5".
# DIR is 0700 and every key 0600; nothing secret is printed.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)
DIR=""
FORCE=0
for a in "$@"; do
  case $a in
    --force) FORCE=1 ;;
    -h | --help) sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) DIR=$a ;;
  esac
done
DIR=${DIR:-${MEDTUNE_VAR_DIR:-$ROOT/var}/secrets/pki}
command -v openssl >/dev/null || { echo "certs: openssl is missing (apt-get install openssl)" >&2; exit 1; }
umask 077
mkdir -p "$DIR"
chmod 700 "$DIR"
if ((FORCE)); then rm -f "$DIR"/*.pem "$DIR"/*.key "$DIR"/*.pub "$DIR"/*.srl; fi

SANS="DNS:localhost,IP:127.0.0.1,IP:::1${MEDTUNE_TLS_SANS:+,$MEDTUNE_TLS_SANS}"

if [[ ! -f $DIR/ca.pem || ! -f $DIR/ca.key ]]; then
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$DIR/ca.key" -out "$DIR/ca.pem" \
    -days 3650 -subj "/CN=medtune local CA" \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
  rm -f "$DIR"/service.pem "$DIR"/worker.pem "$DIR"/client.pem # signed by a CA that is gone
fi

issue() { # name cn extendedKeyUsage [sans]
  local name=$1 cn=$2 eku=$3 sans=${4:-}
  [[ -f $DIR/$name.pem && -f $DIR/$name.key ]] && return 0
  local ext
  ext=$(mktemp)
  {
    echo "basicConstraints=critical,CA:FALSE"
    echo "keyUsage=critical,digitalSignature,keyEncipherment"
    echo "extendedKeyUsage=$eku"
    [[ -n $sans ]] && echo "subjectAltName=$sans"
  } >"$ext"
  openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$DIR/$name.key" -out "$DIR/$name.csr" -subj "/CN=$cn" 2>/dev/null
  openssl x509 -req -in "$DIR/$name.csr" -CA "$DIR/ca.pem" -CAkey "$DIR/ca.key" -CAcreateserial -days 825 -sha256 \
    -extfile "$ext" -out "$DIR/$name.pem" 2>/dev/null
  rm -f "$DIR/$name.csr" "$ext"
}
issue service medtune-service serverAuth,clientAuth "$SANS"
issue worker medtune-worker serverAuth,clientAuth "$SANS"
issue client medtune-client clientAuth
if [[ ! -f $DIR/jwt.key || ! -f $DIR/jwt.pub ]]; then
  openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$DIR/jwt.key" 2>/dev/null
  openssl pkey -in "$DIR/jwt.key" -pubout -out "$DIR/jwt.pub" 2>/dev/null
fi
chmod 600 "$DIR"/*
echo "$DIR"
