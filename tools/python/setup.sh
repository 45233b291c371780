#!/usr/bin/env bash
# Creates (or reuses) python-services/.venv: the trainer worker's environment, also used by
# tools/contracts/generate.sh. Installs the exact versions of python-services/requirements.txt,
# constrained by requirements.lock.txt, and puts python-services/contracts and the trainer's
# src/ on sys.path through a .pth file.
#
# Also fetches llama.cpp's converter (convert_hf_to_gguf.py and its matching gguf-py) from the
# llama-cpp-python sdist on PyPI, version pinned and sha256 checked, so GGUF export never
# downloads anything at run time; and (tools/python/llama-cpp.sh) llama.cpp's CPU runtime built
# from that sdist's vendored sources, cached in ~/.cache/medtune, so GGUF exports are run in tests.
#
# Skips everything when the venv already matches: the hash of the requirement files and of this
# script is stored in the venv. MEDTUNE_PYTHON_BIN picks the interpreter (default python3.11).
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
svc="$root/python-services"
venv="$svc/.venv"
py_bin="${MEDTUNE_PYTHON_BIN:-python3.11}"

# llama.cpp's converter, as shipped inside this registry package. Bump the ".2" to re-extract.
converter_layout=2
# The sdist, its pin and sha256 live in llama-cpp.sh (one download serves the converter and the runtime).
llama_sha256="$(sed -n 's/^llama_sha256="\(.*\)"$/\1/p' "$root/tools/python/llama-cpp.sh")"

want_hash="$(cat "$svc/requirements.txt" "$svc/requirements.lock.txt" "$0" "$root/tools/python/llama-cpp.sh" | sha256sum | cut -d' ' -f1)"
stamp="$venv/.medtune-requirements.sha256"
if [ -x "$venv/bin/python" ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want_hash" ]; then
  echo "setup: $venv is up to date (requirements hash ${want_hash:0:12}); nothing to install"
  exit 0
fi

start=$(date +%s)
if ! command -v "$py_bin" >/dev/null; then
  echo "setup: $py_bin not found; set MEDTUNE_PYTHON_BIN to a Python 3.11+ interpreter" >&2
  exit 1
fi
if [ ! -x "$venv/bin/python" ]; then
  echo "setup: creating $venv with $("$py_bin" --version)"
  "$py_bin" -m venv "$venv"
fi
pip=("$venv/bin/python" -m pip --disable-pip-version-check)
echo "setup: installing into $venv:"
grep -Ev '^\s*(#|$)' "$svc/requirements.txt" | sed 's/^/  /'
"${pip[@]}" install -q -r "$svc/requirements.txt" -c "$svc/requirements.lock.txt"

site="$("$venv/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')"
printf '%s\n%s\n' "$svc/contracts" "$svc/trainer/src" > "$site/medtune.pth"
echo "setup: $site/medtune.pth -> python-services/contracts, python-services/trainer/src"

share="$venv/share/llama.cpp"
if [ ! -f "$share/.sha256" ] || [ "$(cat "$share/.sha256")" != "$llama_sha256.$converter_layout" ]; then
  tmp="$(mktemp -d)"
  trap 'rm -rf "$tmp"' EXIT
  echo "setup: taking llama.cpp's GGUF converter from the pinned llama-cpp-python sdist"
  sdist="$("$root/tools/python/llama-cpp.sh" --sdist "$venv")"
  llama_sdist="$(basename "$sdist")"
  rm -rf "$share" && mkdir -p "$share"
  tar xzf "$sdist" -C "$tmp" \
    "${llama_sdist%.tar.gz}/vendor/llama.cpp/convert_hf_to_gguf.py" \
    "${llama_sdist%.tar.gz}/vendor/llama.cpp/conversion" \
    "${llama_sdist%.tar.gz}/vendor/llama.cpp/gguf-py" \
    "${llama_sdist%.tar.gz}/vendor/llama.cpp/LICENSE"
  cp -r "$tmp/${llama_sdist%.tar.gz}/vendor/llama.cpp/." "$share/"
  echo "$llama_sha256.$converter_layout" > "$share/.sha256"
  echo "setup: converter in $share (convert_hf_to_gguf.py, conversion/, gguf-py/)"
fi

# llama.cpp's CPU runtime (libllama built once from the same sdist, cached) and its Python binding.
"$root/tools/python/llama-cpp.sh" "$venv"

"$venv/bin/python" -c 'import torch, transformers, peft, trl, grpc, medtune.trainer.v1.trainer_pb2; print("setup: torch", torch.__version__, "transformers", transformers.__version__, "peft", peft.__version__, "trl", trl.__version__, "grpcio", grpc.__version__)'
echo "$want_hash" > "$stamp"
echo "setup: done in $(( $(date +%s) - start )) s ($(du -sh "$venv" | cut -f1) in $venv)"
