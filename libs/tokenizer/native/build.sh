#!/usr/bin/env bash
# Builds the native engine of @medtune/tokenizer into native/build/medtune_tokenizer.node.
# Needs cargo (and crates.io, or a filled cargo cache). Without it the library falls back to its
# exact TypeScript engine. CI: run this before the tests (MEDTUNE_TOKENIZER_NATIVE=required makes
# the tests fail when the addon is missing instead of skipping its checks).
set -euo pipefail
cd "$(dirname "$0")"
cargo build --release --locked
case "$(uname -s)" in
  Darwin) lib=target/release/libmedtune_tokenizer.dylib ;;
  *) lib=target/release/libmedtune_tokenizer.so ;;
esac
mkdir -p build
# Copy to a temporary name then rename, so a running process never loads a half-written file.
cp "$lib" build/medtune_tokenizer.node.tmp
mv build/medtune_tokenizer.node.tmp build/medtune_tokenizer.node
echo "built $(pwd)/build/medtune_tokenizer.node"
