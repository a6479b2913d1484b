#!/usr/bin/env bash
# bague-kernels on AArch64 under qemu-aarch64 (correctness only: emulated speed means nothing).
#
# Builds the kernels' tests once for aarch64-unknown-linux-gnu, then runs them on three
# emulated CPUs / settings:
#   1. -cpu max         NEON + dotprod: `neon+dotprod` is chosen, both NEON paths are tested;
#   2. -cpu cortex-a53  NEON without dotprod: `neon` is chosen, `neon+dotprod` is never
#                       offered (a stray `sdot` would die with SIGILL here);
#   3. -cpu max with BAGUE_KERNELS=neon: the override picks the baseline path.
# BAGUE_EXPECT_KERNELS tells tests/aarch64_neon.rs which back end detection must choose.
# Then whole models against llama.cpp's own aarch64 build (runtime/core/tests/model_aarch64.rs,
# references in testdata/reference-aarch64/, made by ci/aarch64-oracle.sh):
#   4. -cpu max         the tiny models, `neon+dotprod` against the dotprod build's logits
#                       and `neon` against the plain armv8-a build's, and SmolLM2 on
#                       `neon+dotprod` (its repacked Q8_0 output matrix);
#   5. -cpu cortex-a53  the tiny models on `neon` (the armv8-a build's numbers on a CPU
#                       without dotprod).
# SmolLM2 on the armv8-a build is checked on the host (the `tests` step runs the same test
# with the scalar models of the NEON arithmetic, which tests/aarch64_neon.rs ties to NEON);
# under qemu it would cost ~2 min more. AARCH64_MODEL_TESTS overrides the filters of 4
# (e.g. AARCH64_MODEL_TESTS=" " for every non-ignored model test).
# Then checks the no_std build for the same target (compile-time feature selection).
#
# Needs qemu-user, gcc-aarch64-linux-gnu, libc6-dev-arm64-cross (Debian) and the rustup
# target; `.ci/run` installs them.
set -euo pipefail
cd "$(dirname "$0")/.."

target=aarch64-unknown-linux-gnu
sysroot=${AARCH64_SYSROOT:-/usr/aarch64-linux-gnu}
for tool in qemu-aarch64 aarch64-linux-gnu-gcc; do
    command -v "$tool" >/dev/null || {
        echo "$tool missing: apt-get install qemu-user gcc-aarch64-linux-gnu libc6-dev-arm64-cross" >&2
        exit 1
    }
done
rustup target list --installed | grep -qx "$target" || rustup target add "$target"

export CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_LINKER=aarch64-linux-gnu-gcc
# Property tests keep their case counts (qemu runs the optimized test profile fast enough).

run() { # run CPU [ENV=VALUE...]: the kernels' tests on one emulated CPU
    local cpu=$1
    shift
    echo "--- qemu-aarch64 -cpu $cpu ${*:-}"
    env "$@" CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_RUNNER="qemu-aarch64 -cpu $cpu -L $sysroot" \
        cargo test --target "$target" -p bague-kernels
}

models() { # models CPU "FILTER..." [ENV=VALUE...]: the whole-model tests on one emulated CPU
    local cpu=$1 filters
    read -r -a filters <<<"$2"
    shift 2
    echo "--- qemu-aarch64 -cpu $cpu: model_aarch64 ${filters[*]} ${*:-}"
    env "$@" CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_RUNNER="qemu-aarch64 -cpu $cpu -L $sysroot" \
        cargo test --target "$target" -p bague --test model_aarch64 -- "${filters[@]}"
}

cargo test --target "$target" -p bague-kernels --no-run
cargo test --target "$target" -p bague --test model_aarch64 --no-run
run max BAGUE_EXPECT_KERNELS=neon+dotprod
run cortex-a53 BAGUE_EXPECT_KERNELS=neon
run max BAGUE_KERNELS=neon BAGUE_EXPECT_KERNELS=neon
models max "${AARCH64_MODEL_TESTS:-tiny smollm2_dotprod}" BAGUE_EXPECT_KERNELS=neon+dotprod
models cortex-a53 tiny_armv8

echo "--- no_std build for $target"
cargo build -p bague-kernels --no-default-features --target "$target"
