#!/usr/bin/env bash
# Differential tests against ggml / llama.cpp (bague-oracle links llama.cpp through
# llama-cpp-sys-2 =0.1.161, which builds it with CMake: ~15 min on 2 busy cores).
#
# - Target dir: $ORACLE_TARGET_DIR, else $CARGO_TARGET_DIR, else ./target. Keep it between runs.
# - One cargo configuration for everything (`--release -p bague-oracle` with its dev-deps):
#   llama-cpp-sys-2's build script hash depends on the features of build-time crates (syn…),
#   so `cargo build`, `cargo test --workspace` or the test profile would each build llama.cpp
#   again into a new OUT_DIR. tests, clippy and the bench below share one build.
# - When ccache is installed, CMake compiles through it (cache in $TARGET/ccache, paths made
#   relative to $TARGET), so such a rebuild takes a minute or two instead.
# - ggml instruction sets: GGML_NATIVE=OFF (forced by the build script) + ggml's defaults =
#   SSE4.2 AVX AVX2 BMI2 FMA F16C, no AVX-512: the reference machine's set. ggml_sanity.rs
#   asserts it.
#
# Usage: ci/oracle.sh [test|clippy|bench|build]   (default: test)
#   build: release `bague` and `bague-bench-vs` side by side in $TARGET/release, so that
#          `bague bench --vs-llama-cpp` finds its peer.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
export CARGO_TARGET_DIR="${ORACLE_TARGET_DIR:-${CARGO_TARGET_DIR:-$PWD/target}}"
if command -v ccache >/dev/null 2>&1; then
    export CMAKE_C_COMPILER_LAUNCHER=ccache CMAKE_CXX_COMPILER_LAUNCHER=ccache
    export CCACHE_DIR="${CCACHE_DIR:-$CARGO_TARGET_DIR/ccache}"
    export CCACHE_BASEDIR="$CARGO_TARGET_DIR" CCACHE_NOHASHDIR=1
fi
case "${1:-test}" in
  test)
    # tests/inspect_rows.rs runs the release `bague` binary of this target dir.
    cargo build --release -p bague-cli --bin bague
    cargo test --release -p bague-oracle -- --test-threads 1
    ;;
  clippy)
    cargo clippy --release -p bague-oracle --all-targets -- -D warnings
    ;;
  bench)
    cargo bench -p bague-oracle --bench matvec_vs_ggml
    cargo bench -p bague-oracle --bench tokenizer_vs_llama
    ;;
  build)
    cargo build --release -p bague-cli --bin bague
    cargo build --release -p bague-oracle --bin bague-bench-vs
    echo "built: $CARGO_TARGET_DIR/release/bague and $CARGO_TARGET_DIR/release/bague-bench-vs"
    ;;
  *)
    echo "usage: $0 [test|clippy|bench|build]" >&2
    exit 2
    ;;
esac
