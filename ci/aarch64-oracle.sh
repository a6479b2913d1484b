#!/usr/bin/env bash
# llama.cpp's own aarch64 build, as the reference for bague's NEON path.
#
# Cross-builds the llama.cpp sources that the x86 oracle vendors (llama-cpp-sys-2 =0.1.161's
# crate) for aarch64 with CMake and aarch64-linux-gnu-gcc/g++, once per instruction set:
#   dotprod  GGML_CPU_ARM_ARCH=armv8.2-a+dotprod   (run under qemu-aarch64 -cpu max)
#   armv8    GGML_CPU_ARM_ARCH=armv8-a             (run under qemu-aarch64 -cpu cortex-a53)
#   i8mm     GGML_CPU_ARM_ARCH=armv8.6-a+dotprod+i8mm (run under qemu-aarch64 -cpu max)
# links ci/aarch64-ref/ref.c against each, and runs it under qemu on every reference prompt
# of the four runnable models: greedy ids for 32 steps and, for the first 15, a hash of the
# whole logit vector's bits with its top 20. ci/aarch64-ref/to_json.py writes them to
# testdata/reference-aarch64/<model>/<variant>.json (committed: CI only reads them).
#
# Usage: ci/aarch64-oracle.sh [build|refs|all] [VARIANT...]   (default: all dotprod armv8)
# Env: AARCH64_ORACLE_DIR (build trees; default ~/.cache/bague-aarch64-oracle), BAGUE_HOME
# (models), LLAMA_CPP_DIR (sources; default: the llama-cpp-sys-2 crate in cargo's registry),
# JOBS (parallel compiles, default 2). ccache is used when installed (CCACHE_DIR honoured).
# Time on 2 busy cores: ~25 min per variant for the build (a minute with a warm ccache),
# refs: see testdata/reference-aarch64/README.md.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
root=$PWD

what=${1:-all}
shift || true
variants=("$@")
((${#variants[@]})) || variants=(dotprod armv8)

out=${AARCH64_ORACLE_DIR:-$HOME/.cache/bague-aarch64-oracle}
sysroot=${AARCH64_SYSROOT:-/usr/aarch64-linux-gnu}
jobs=${JOBS:-2}
if [[ -z ${LLAMA_CPP_DIR:-} ]]; then
    for d in "${CARGO_HOME:-$HOME/.cargo}"/registry/src/*/llama-cpp-sys-2-0.1.161/llama.cpp; do
        [[ -d $d ]] && LLAMA_CPP_DIR=$d
    done
fi
[[ -d ${LLAMA_CPP_DIR:-} ]] || {
    echo "llama.cpp sources not found: run 'cargo fetch' (llama-cpp-sys-2 =0.1.161) or set LLAMA_CPP_DIR" >&2
    exit 1
}
for tool in cmake qemu-aarch64 aarch64-linux-gnu-gcc aarch64-linux-gnu-g++; do
    command -v "$tool" >/dev/null || {
        echo "$tool missing: apt-get install cmake qemu-user gcc-aarch64-linux-gnu g++-aarch64-linux-gnu" >&2
        exit 1
    }
done

march() {
    case $1 in
    dotprod) echo armv8.2-a+dotprod ;;
    armv8) echo armv8-a ;;
    i8mm) echo armv8.6-a+dotprod+i8mm ;;
    *) echo "unknown variant $1 (dotprod, armv8, i8mm)" >&2; exit 2 ;;
    esac
}
cpu() { # the emulated CPU a variant runs on
    case $1 in armv8) echo cortex-a53 ;; *) echo max ;; esac
}

build() {
    local v=$1 b=$out/build-$1
    local launcher=()
    if command -v ccache >/dev/null; then
        launcher=(-DCMAKE_C_COMPILER_LAUNCHER=ccache -DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
        export CCACHE_BASEDIR=$LLAMA_CPP_DIR CCACHE_NOHASHDIR=1
    fi
    echo "--- llama.cpp for aarch64 ($v: -march=$(march "$v")) in $b"
    # Release (-O3), as the x86 reference build; no OpenMP (threads do not change the sums).
    cmake -S "$LLAMA_CPP_DIR" -B "$b" -DCMAKE_BUILD_TYPE=Release \
        -DCMAKE_SYSTEM_NAME=Linux -DCMAKE_SYSTEM_PROCESSOR=aarch64 \
        -DCMAKE_C_COMPILER=aarch64-linux-gnu-gcc -DCMAKE_CXX_COMPILER=aarch64-linux-gnu-g++ \
        "${launcher[@]}" \
        -DBUILD_SHARED_LIBS=OFF -DGGML_NATIVE=OFF -DGGML_CPU_ARM_ARCH="$(march "$v")" \
        -DGGML_OPENMP=OFF -DLLAMA_CURL=OFF -DLLAMA_OPENSSL=OFF -DLLAMA_BUILD_COMMON=OFF \
        -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_BUILD_TOOLS=OFF \
        -DLLAMA_BUILD_SERVER=OFF -DLLAMA_BUILD_APP=OFF >"$b.cmake.log" 2>&1 || { cat "$b.cmake.log"; exit 1; }
    grep -E "ARM|HAVE_" "$b.cmake.log" || true
    cmake --build "$b" --target llama -j "$jobs"
    local libs
    libs=$(find "$b" -name 'libllama.a' -o -name 'libggml*.a' | sort)
    # link order: llama, ggml, ggml-cpu, ggml-base
    aarch64-linux-gnu-g++ -O2 -I"$LLAMA_CPP_DIR/include" -I"$LLAMA_CPP_DIR/ggml/include" \
        -x c ci/aarch64-ref/ref.c -x none \
        "$b/src/libllama.a" "$b/ggml/src/libggml.a" "$b/ggml/src/libggml-cpu.a" \
        "$b/ggml/src/libggml-base.a" -lpthread -lm -o "$out/ref-$v"
    echo "built $out/ref-$v ($(echo "$libs" | wc -l) libraries)"
}

models=(smol-tiny-random-q4_0 r1-tiny-random-q4_0 smollm2-135m-instruct-q4_1 qwen2.5-coder-0.5b-instruct-q4_k_m)
model_path() {
    case $1 in
    *-tiny-random-*) echo "$root/testdata/models/$1.gguf" ;;
    *) echo "${BAGUE_HOME:-$HOME/.cache/bague}/models/$1.gguf" ;;
    esac
}

refs() {
    local v=$1 m
    [[ -x $out/ref-$v ]] || build "$v"
    for m in "${models[@]}"; do
        local f dst=$root/testdata/reference-aarch64/$m
        f=$(model_path "$m")
        [[ -f $f ]] || { echo "model $m missing ($f): bague pull $m" >&2; exit 1; }
        mkdir -p "$dst"
        echo "--- $m on $v (qemu-aarch64 -cpu $(cpu "$v"))"
        python3 ci/aarch64-ref/to_json.py prompts "$root/testdata/reference/$m/greedy.json" >"$out/$m.prompts"
        local t0=$SECONDS
        qemu-aarch64 -cpu "$(cpu "$v")" -L "$sysroot" "$out/ref-$v" "$f" <"$out/$m.prompts" >"$out/$m.$v.txt"
        python3 ci/aarch64-ref/to_json.py json "$m" "$v" "$(march "$v")" "$(cpu "$v")" \
            "$out/$m.$v.txt" >"$dst/$v.json"
        echo "    $((SECONDS - t0)) s -> testdata/reference-aarch64/$m/$v.json"
    done
}

mkdir -p "$out"
for v in "${variants[@]}"; do
    march "$v" >/dev/null
    case $what in
    build) build "$v" ;;
    refs) refs "$v" ;;
    all) build "$v"; refs "$v" ;;
    *) echo "usage: $0 [build|refs|all] [dotprod|armv8|i8mm...]" >&2; exit 2 ;;
    esac
done
