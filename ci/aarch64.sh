#!/usr/bin/env bash
# The AArch64 path under qemu-aarch64 (correctness only: emulated speed means nothing).
#
# Budget: under 10 minutes of wall time on a loaded 2-core runner once the build is cached
# (qemu runs the code ~20-50x slower than native, so whole models are chosen with care).
# What runs where, and why:
#
# Under qemu — the NEON code itself, built once for aarch64-unknown-linux-gnu:
#   1. -cpu max         bague-kernels' tests: both NEON back ends (`Kernels::available`),
#                       each tied bit for bit to the scalar model of its ggml order, and
#                       detection must choose `neon+dotprod`;
#   2. -cpu cortex-a53  the same tests without dotprod: `neon` is chosen, `neon+dotprod` is
#                       never offered (a stray `sdot` would die with SIGILL here);
#   3. -cpu max with BAGUE_KERNELS=neon: the override picks the baseline path (only
#                       tests/aarch64_neon.rs, which checks detection; the rest would repeat 2);
#   4. -cpu max         whole models against llama.cpp's own aarch64 build
#                       (runtime/core/tests/model_aarch64.rs, references in
#                       testdata/reference-aarch64/, made by ci/aarch64-oracle.sh), each logit
#                       step bit-identical and the greedy ids equal: both tiny models on
#                       `neon+dotprod` on every prompt (~50 s), and SmolLM2-135M on
#                       `neon+dotprod` on one prompt, `chat-translate` (~1 min: a real model's
#                       Q4_1 dots, repacked Q8_0 output, head_dim 64; its 42-token prefill
#                       takes the 4-token gemm groups, the gemv tail and the batch attention).
#                       All six SmolLM2 prompts take ~5 min under qemu, the whole budget;
#   5. -cpu cortex-a53  both tiny models on `neon` against the plain armv8-a build (~75 s).
#
# On the host — the scalar models of the same arithmetic (`Kernels::scalar_aarch64`, which
# 1-3 tie bit for bit to NEON, kernel by kernel):
#   - the `tests` step (ci/test.sh) runs model_aarch64 on every prompt of the tiny models and
#     SmolLM2, both builds;
#   6. here: Qwen2.5-Coder (repacked Q4_K/Q6_K, Q5_0, Q8_0, the fused Q8_K quantizer) on
#     every prompt against the dotprod build (~2.5 min on a loaded runner; under qemu it
#     would take ~10 min). Its armv8 references (another ~2 min) run where
#     BAGUE_AARCH64_MODELS names Qwen: `BAGUE_AARCH64_MODELS=qwen2.5-coder-0.5b-instruct-q4_k_m
#     cargo test --release -p bague --test model_aarch64 qwen`.
#
# Measured on a 2-core machine with the build cached, other work at load 18-120: 1-3 35 s,
# 4-5 110 s, 6 185 s; 329 s in all.
# Opt-in: BAGUE_AARCH64_MODELS=qwen2.5-coder-0.5b-instruct-q4_k_m also runs Qwen under
# qemu (-cpu max, `neon+dotprod`, ~10 min); AARCH64_SMOLLM2_CASES=all runs every SmolLM2
# prompt under qemu (or names the cases, comma-separated); AARCH64_MODEL_TESTS replaces the
# test filters of 4 (e.g. AARCH64_MODEL_TESTS=dotprod); AARCH64_SKIP_HOST=1 drops 6.
# Then checks the no_std build for the same target (compile-time feature selection).
# Each part's header shows the seconds since the start.
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

t0=$SECONDS
part() { # part TEXT: a header with the seconds since the start
    echo "--- [$((SECONDS - t0)) s] $*"
}

kernels() { # kernels CPU [CARGO TEST ARGS...] -- [ENV=VALUE...]: kernel tests on one CPU
    local cpu=$1 args=()
    shift
    while [[ $# -gt 0 && $1 != -- ]]; do
        args+=("$1")
        shift
    done
    shift || true
    part "qemu-aarch64 -cpu $cpu: bague-kernels ${args[*]} ${*:-}"
    env "$@" CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_RUNNER="qemu-aarch64 -cpu $cpu -L $sysroot" \
        cargo test --target "$target" -p bague-kernels "${args[@]}"
}

models() { # models CPU "FILTER..." [ENV=VALUE...]: the whole-model tests on one emulated CPU
    local cpu=$1 filters
    read -r -a filters <<<"$2"
    shift 2
    part "qemu-aarch64 -cpu $cpu: model_aarch64 ${filters[*]} ${*:-}"
    env "$@" CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_RUNNER="qemu-aarch64 -cpu $cpu -L $sysroot" \
        cargo test --target "$target" -p bague --test model_aarch64 -- "${filters[@]}"
}

smollm2_cases=${AARCH64_SMOLLM2_CASES:-chat-translate}
[[ $smollm2_cases == all ]] && smollm2_cases=
max_models="smol_tiny_dotprod r1_tiny_dotprod"
if [[ ${BAGUE_AARCH64_MODELS:-} == *qwen2.5-coder* ]]; then
    max_models+=" qwen25_coder_dotprod"
fi

part "build for $target"
cargo test --target "$target" -p bague-kernels --no-run
cargo test --target "$target" -p bague --test model_aarch64 --no-run
kernels max -- BAGUE_EXPECT_KERNELS=neon+dotprod
kernels cortex-a53 -- BAGUE_EXPECT_KERNELS=neon
kernels max --test aarch64_neon -- BAGUE_KERNELS=neon BAGUE_EXPECT_KERNELS=neon
if [[ -n ${AARCH64_MODEL_TESTS:-} ]]; then
    models max "$AARCH64_MODEL_TESTS" BAGUE_EXPECT_KERNELS=neon+dotprod
else
    models max "$max_models" BAGUE_EXPECT_KERNELS=neon+dotprod
    models max smollm2_dotprod BAGUE_EXPECT_KERNELS=neon+dotprod \
        ${smollm2_cases:+BAGUE_AARCH64_CASES=$smollm2_cases}
fi
models cortex-a53 "smol_tiny_armv8 r1_tiny_armv8"

if [[ ${AARCH64_SKIP_HOST:-0} != 1 ]]; then
    part "host, scalar models of the aarch64 order: Qwen2.5-Coder against the dotprod build"
    # --workspace as ci/test.sh builds it: the same features, so its build is reused
    BAGUE_AARCH64_MODELS=qwen2.5-coder-0.5b-instruct-q4_k_m \
        cargo test --workspace --exclude bague-oracle --test model_aarch64 -- \
        --exact qwen25_coder_dotprod
fi

part "no_std build for $target"
cargo build -p bague-kernels --no-default-features --target "$target"
part "done"
