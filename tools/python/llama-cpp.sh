#!/usr/bin/env bash
# Builds llama.cpp's CPU runtime (libllama + ggml shared libraries; nothing else) from the sources
# vendored in the pinned llama-cpp-python sdist on PyPI (sha256 checked) and installs that sdist's
# Python binding (`llama_cpp`, ctypes over libllama) into the venv with those libraries, so the
# trainer can run its GGUF exports with the llama.cpp they were converted for.
#
# The build is cached in ~/.cache/medtune/llama.cpp/<key>/ (MEDTUNE_CACHE_DIR overrides
# ~/.cache/medtune); the key covers the sdist, these build flags, the compiler and the CPU's
# instruction set flags (the build is -march=native), so a machine builds it once and CI reuses it.
# Installs cmake with apt-get when it is missing.
#
# Usage: tools/python/llama-cpp.sh [venv]   (default python-services/.venv; setup.sh calls it)
#        tools/python/llama-cpp.sh --sdist [venv]   only fetch the verified sdist into the cache and
#        print its path (setup.sh takes llama.cpp's GGUF converter from it: one download, one pin)
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
sdist_only=0
if [ "${1:-}" = --sdist ]; then sdist_only=1; shift; fi
venv="${1:-$root/python-services/.venv}"
say() { printf 'llama-cpp: %s\n' "$*"; }

llama_pkg="llama-cpp-python==0.3.36"
llama_sdist="llama_cpp_python-0.3.36.tar.gz"
llama_sha256="832db0699007f1be95a7e41ef12e88926b02ba836461e36a36372db2760c1a2e"
cmake_flags=(
  -DCMAKE_BUILD_TYPE=Release -DBUILD_SHARED_LIBS=ON -DGGML_NATIVE=ON
  -DLLAMA_BUILD_COMMON=OFF -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_BUILD_TOOLS=OFF
  -DLLAMA_BUILD_SERVER=OFF -DLLAMA_CURL=OFF -DLLAMA_OPENSSL=OFF
  # The libraries find each other beside themselves once copied into the package.
  -DCMAKE_BUILD_WITH_INSTALL_RPATH=ON "-DCMAKE_INSTALL_RPATH=\$ORIGIN"
)
jobs="${MEDTUNE_LLAMA_CPP_JOBS:-2}"

cache="${MEDTUNE_CACHE_DIR:-$HOME/.cache/medtune}"
cpu="$(grep -m1 '^flags' /proc/cpuinfo 2>/dev/null || uname -m)"
key="$(printf '%s\n' "$llama_sha256" "${cmake_flags[*]}" "$(c++ --version 2>/dev/null | head -1)" "$cpu" | sha256sum | cut -c1-16)"
built="$cache/llama.cpp/0.3.36-$key"

# The pinned sdist in the cache, downloaded once and sha256-checked on every use.
sdist_dir="$cache/sdist"
fetch_sdist() {
  mkdir -p "$sdist_dir"
  if [ ! -f "$sdist_dir/$llama_sdist" ] || [ "$(sha256sum "$sdist_dir/$llama_sdist" | cut -d' ' -f1)" != "$llama_sha256" ]; then
    say "downloading the $llama_pkg sdist from PyPI" >&2
    "$venv/bin/python" -m pip --disable-pip-version-check download -q --no-deps --no-binary=:all: "$llama_pkg" -d "$sdist_dir" >&2
  fi
  local got
  got="$(sha256sum "$sdist_dir/$llama_sdist" | cut -d' ' -f1)"
  if [ "$got" != "$llama_sha256" ]; then
    echo "llama-cpp: $llama_sdist sha256 is $got, expected $llama_sha256; refusing to use it" >&2
    exit 1
  fi
}
if ((sdist_only)); then fetch_sdist; echo "$sdist_dir/$llama_sdist"; exit 0; fi

site="$("$venv/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')"
pkg="$site/llama_cpp"
if [ -f "$pkg/.medtune-build" ] && [ "$(cat "$pkg/.medtune-build")" = "$key" ] && [ -f "$built/lib/libllama.so" ]; then
  say "llama_cpp (llama.cpp runtime $key) is installed in $venv"
  exit 0
fi

if [ ! -f "$built/lib/libllama.so" ]; then
  if ! command -v cmake >/dev/null; then
    sudo=(); [ "$(id -u)" = 0 ] || sudo=(sudo)
    say "installing cmake (Debian package) with apt-get"
    DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y --no-install-recommends cmake >&2 \
      || { "${sudo[@]}" apt-get update >&2 && DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y --no-install-recommends cmake >&2; }
  fi
  fetch_sdist
  tmp="$(mktemp -d)"
  trap 'rm -rf "$tmp"' EXIT
  tar xzf "$sdist_dir/$llama_sdist" -C "$tmp"
  src="$tmp/${llama_sdist%.tar.gz}"
  t0=$(date +%s)
  say "building libllama + ggml (CPU, -j$jobs) from $llama_pkg's vendor/llama.cpp; a few minutes, once"
  cmake -S "$src/vendor/llama.cpp" -B "$tmp/build" -G "$(command -v ninja >/dev/null && echo Ninja || echo 'Unix Makefiles')" "${cmake_flags[@]}" >"$tmp/cmake.log" 2>&1 \
    || { tail -40 "$tmp/cmake.log" >&2; exit 1; }
  cmake --build "$tmp/build" --target llama -j "$jobs" >"$tmp/build.log" 2>&1 || { tail -40 "$tmp/build.log" >&2; exit 1; }
  mkdir -p "$tmp/out/lib"
  cp -P "$tmp/build/bin/"lib*.so* "$tmp/out/lib/"
  cp -r "$src/llama_cpp" "$tmp/out/python"
  cp "$src/LICENSE.md" "$tmp/out/" 2>/dev/null || cp "$src/vendor/llama.cpp/LICENSE" "$tmp/out/LICENSE"
  rm -rf "$built" && mkdir -p "$(dirname "$built")" && mv "$tmp/out" "$built"
  say "built in $(( $(date +%s) - t0 )) s into $built"
fi

rm -rf "$pkg"
cp -r "$built/python" "$pkg"
mkdir -p "$pkg/lib"
cp -P "$built/lib/"* "$pkg/lib/"
echo "$key" > "$pkg/.medtune-build"
"$venv/bin/python" -c 'import llama_cpp; print("llama-cpp: llama_cpp", llama_cpp.__version__, "loads", llama_cpp.llama_cpp._lib._name)'
