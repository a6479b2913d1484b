#!/usr/bin/env bash
# The GPU back end (kernels/gpu, crate bague-gpu), on a machine without a GPU:
#   1. naga: every WGSL module parses and validates; the Metal sources naga's msl-out makes
#      (wgpu's Metal binding map) equal the committed kernels/gpu/metal/*.metal
#      (`ci/gpu.sh --regen` rewrites them); the SPIR-V passes `spirv-val --target-env vulkan1.1`.
#   2. `cargo check -p bague-gpu` for aarch64-apple-ios and aarch64-apple-darwin (there is
#      no Apple linker here: checking is what we can do).
#   3. The kernel and whole-model tests (ignored by a plain `cargo test`: they need a device)
#      on llvmpipe, Mesa's conformant software Vulkan device (Debian mesa-vulkan-drivers):
#      BAGUE_GPU_ADAPTER=llvmpipe, BAGUE_REQUIRE_GPU=1 (no device fails), and
#      BAGUE_REQUIRE_MODELS=1 (a missing model file fails; ci/test.sh pulls them).
#   4. The wiring on llvmpipe: `bague run|perplexity|bench --backend gpu:llvmpipe` and
#      `bague inspect --gpu` (runtime/cli/tests/backend_cli.rs), and the C ABI built with its
#      `gpu` feature (runtime/capi/tests/abi_backend.rs); the same tests' device-free parts
#      run in ci/test.sh. Prints each step's time.
# Needs spirv-tools and mesa-vulkan-drivers (.ci/run installs them) and the rustup targets
# (added here). Extra arguments go to the test run of step 3 (e.g. a test name filter).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

say() { echo "--- $*"; }
# Mesa's window-system code warns on every device open without it.
export XDG_RUNTIME_DIR=${XDG_RUNTIME_DIR:-$(mktemp -d -t bague-gpu-xdg.XXXXXX)}
die() { echo "gpu: FAILED: $*" >&2; exit 1; }

if [[ "${1:-}" == --regen ]]; then
    BAGUE_GPU_REGEN=1 cargo test -p bague-gpu --test shaders
    exit 0
fi

# --- 1. naga validation, MSL currency, spirv-val -------------------------------------------
command -v spirv-val >/dev/null || die "spirv-val missing: apt-get install spirv-tools"
say "naga validation, committed MSL, spirv-val"
BAGUE_REQUIRE_SPIRV_VAL=1 cargo test -p bague-gpu --test shaders

# --- 2. Apple targets, check only ----------------------------------------------------------
for t in aarch64-apple-ios aarch64-apple-darwin; do
    rustup target list --installed | grep -qx "$t" || rustup target add "$t"
    say "cargo check -p bague-gpu --target $t"
    cargo check -q -p bague-gpu --target "$t"
done

# --- 3. kernels and models on llvmpipe -------------------------------------------------------
ls /usr/share/vulkan/icd.d/lvp_icd.*.json >/dev/null 2>&1 \
    || die "no llvmpipe Vulkan driver: apt-get install mesa-vulkan-drivers"
say "kernel and model tests on llvmpipe"
start=$SECONDS
BAGUE_GPU_ADAPTER=llvmpipe BAGUE_REQUIRE_GPU=1 BAGUE_REQUIRE_MODELS=1 \
    cargo test -p bague --features gpu --test gpu_kernels --test gpu_models --test gpu_errors "$@" -- --include-ignored --test-threads=1 --nocapture
say "llvmpipe tests took $((SECONDS - start)) s"

# --- 4. --backend, inspect --gpu and the C ABI's GPU option on llvmpipe ----------------------
say "CLI --backend and C ABI backend option on llvmpipe"
start=$SECONDS
export BAGUE_GPU_ADAPTER=llvmpipe BAGUE_REQUIRE_GPU=1
cargo test -p bague-cli --test backend_cli -- --include-ignored --test-threads=1
cargo test -p bague-capi --features gpu --test abi_backend -- --include-ignored
say "wiring tests took $((SECONDS - start)) s"
echo "gpu: ok"
