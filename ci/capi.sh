#!/usr/bin/env bash
# The C ABI (runtime/capi) as a C program sees it, on x86_64 and on aarch64 under qemu.
#
#   1. bague.h is current: cbindgen regenerates it and it must equal the committed one
#      (`ci/capi.sh --regen` rewrites it instead); it compiles as C99 with
#      -Wall -Wextra -Werror -pedantic and as C++.
#   2. Release libbague.a / libbague.so (fat LTO) for the host; the .so exports bague_*
#      only; the .a defines no ggml_ / llama_ / gguf_ / whisper_ symbol (Rust's own are
#      mangled).
#   3. examples/c/chat.c linked with `cc chat.c libbague.a -lpthread -ldl -lm` (and against
#      the .so) runs the tiny models of testdata/models:
#      - with BAGUE_KERNELS=scalar its greedy ids equal llama.cpp's (greedy.json), all of
#        them (the scalar kernels reproduce ggml's sums);
#      - with the detected kernels they equal `bague run --temp 0 --json` for the same
#        prompt (raw and --chat) when that command exists, else greedy.json up to the first
#        step whose top-2 margin is below 0.25;
#      - opening by fd or from a buffer gives the same ids.
#   4. The same for aarch64-unknown-linux-gnu: built with the cross linker, run under
#      qemu-aarch64 (-cpu max: NEON + dotprod); scalar ids equal greedy.json, detected
#      (NEON) ids equal it up to the first step whose margin is below 0.25.
#   5. Prints the stripped sizes of both libraries on both targets and the export list.
#
# Needs cbindgen 0.29.4 (installed if missing), gcc, g++, python3; for step 4 qemu-user,
# gcc-aarch64-linux-gnu, libc6-dev-arm64-cross (Debian) and the rustup target. Set
# BAGUE_CAPI_SKIP_CROSS=1 to skip step 4. Work files go to $CAPI_WORK (default a temp dir).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
root=$PWD

header=runtime/capi/include/bague.h
target_dir=${CARGO_TARGET_DIR:-$root/target}
work=${CAPI_WORK:-$(mktemp -d -t bague-capi.XXXXXX)}
mkdir -p "$work"
cross=aarch64-unknown-linux-gnu
sysroot=${AARCH64_SYSROOT:-/usr/aarch64-linux-gnu}
models=(r1-tiny-random-q4_0 smol-tiny-random-q4_0)

say() { echo "--- $*"; }
die() { echo "capi: FAILED: $*" >&2; exit 1; }

# --- 1. header ---------------------------------------------------------------------------
# The committed header was made by this version; another may format it differently.
cbindgen_version=0.29.4
if [[ "$(cbindgen --version 2>/dev/null)" != "cbindgen $cbindgen_version" ]]; then
    say "installing cbindgen $cbindgen_version (a few minutes)"
    cargo install --locked --force cbindgen --version "$cbindgen_version"
fi
cbindgen -q --config runtime/capi/cbindgen.toml --crate bague-capi --output "$work/bague.h"
if [[ "${1:-}" == --regen ]]; then
    cp "$work/bague.h" "$header"
    echo "wrote $header"
    exit 0
fi
if ! diff -u "$header" "$work/bague.h"; then
    die "$header is stale: run ci/capi.sh --regen and commit it"
fi
say "header current; compiling it as C99 and C++"
printf '#include "bague.h"\nint main(void) { return bague_version() == 0; }\n' >"$work/h.c"
gcc -std=c99 -Wall -Wextra -Werror -pedantic -I runtime/capi/include -c "$work/h.c" -o "$work/h.o"
g++ -x c++ -std=c++11 -Wall -Wextra -Werror -fsyntax-only -I runtime/capi/include "$work/h.c"

# --- 2. host libraries and symbols ---------------------------------------------------------
# One rustc run for both libraries, without the rlib: the release profile's fat LTO then
# applies (with the rlib in the same run rustc keeps per-crate objects with bitcode, a
# 62 MB archive instead of 26 MB).
build_libs() { # build_libs [--target T]
    cargo rustc --release -p bague-capi --lib --crate-type staticlib,cdylib "$@"
}
say "cargo rustc --release -p bague-capi --crate-type staticlib,cdylib"
build_libs
host=$work/x86_64
mkdir -p "$host"
cp "$target_dir/release/libbague_capi.a" "$host/libbague.a"
cp "$target_dir/release/libbague_capi.so" "$host/libbague.so.0"
ln -sf libbague.so.0 "$host/libbague.so"

# check_symbols DIR NM: the .so exports bague_* only; the .a has no foreign C library names.
check_symbols() {
    local dir=$1 nm=$2 bad
    "$nm" -D --defined-only "$dir/libbague.so" | awk '{print $NF}' | sort >"$dir/exports.txt"
    bad=$(grep -v '^bague_' "$dir/exports.txt" || true)
    [[ -z "$bad" ]] || die "$dir/libbague.so exports non-bague symbols: $bad"
    [[ -s "$dir/exports.txt" ]] || die "$dir/libbague.so exports nothing"
    "$nm" --defined-only "$dir/libbague.a" 2>/dev/null | awk 'NF == 3 && $2 ~ /[A-Z]/ {print $3}' \
        | sort -u >"$dir/archive-globals.txt"
    bad=$(grep -E '^_?(ggml_|llama_|gguf_|whisper_)' "$dir/archive-globals.txt" || true)
    [[ -z "$bad" ]] || die "$dir/libbague.a defines C library symbols: $(echo "$bad" | head)"
    # What else is global in the archive: bague_*, mangled Rust (_ZN / _R), and a few
    # unmangled runtime names (rust_eh_personality, __rust_*, compiler builtins).
    grep -vE '^(bague_|_ZN|_R)' "$dir/archive-globals.txt" >"$dir/archive-other.txt" || true
    say "$dir: $(wc -l <"$dir/exports.txt") exports, all bague_*; archive: $(wc -l <"$dir/archive-globals.txt") global symbols, $(grep -c '^bague_' "$dir/archive-globals.txt") bague_*, $(wc -l <"$dir/archive-other.txt") unmangled non-bague (listed in archive-other.txt)"
}
check_symbols "$host" nm

# --- 3. the C example on the host ------------------------------------------------------------
say "linking examples/c/chat.c"
cc_flags=(-std=c99 -O2 -Wall -Wextra -Werror -I runtime/capi/include)
gcc "${cc_flags[@]}" examples/c/chat.c "$host/libbague.a" -lpthread -ldl -lm -o "$host/chat"
gcc "${cc_flags[@]}" examples/c/chat.c -L"$host" -lbague -Wl,-rpath,"$host" -lpthread -o "$host/chat-so"

# json FILE PY-EXPR: evaluates EXPR with `d` the parsed file.
json() { python3 -c "import json,sys; d=json.load(open(sys.argv[1])); print($2)" "$1"; }
# text FILE PY-EXPR: the string EXPR exactly (a trailing newline survives: `$(...)` would
# strip it, so a sentinel is appended, then removed).
text() {
    local t
    t=$(python3 -c "import json,sys; d=json.load(open(sys.argv[1])); sys.stdout.write($2 + 'x')" "$1")
    printf '%s' "${t%x}"
}
# ids_of LOG: the ids line chat --ids printed.
ids_of() { sed -n 's/^ids: *//p' "$1"; }
# prefix_ok GOT WANT MARGINS: GOT equals WANT before the first margin < 0.25.
prefix_ok() {
    python3 - "$1" "$2" "$3" <<'EOF'
import sys
got, want = sys.argv[1].split(), sys.argv[2].split()
margins = [float(x) for x in sys.argv[3].split()]
must = next((i for i, m in enumerate(margins) if m < 0.25), len(want))
agree = 0
while agree < min(len(got), len(want)) and got[agree] == want[agree]:
    agree += 1
print(f"{agree}/{len(want)} equal, {must} needed")
sys.exit(0 if agree >= must else 1)
EOF
}

# bague run, if the CLI has it: greedy ids for the same prompt, the reference for step 3.
bague_run=()
if cargo build --release -q -p bague-cli 2>/dev/null && "$target_dir/release/bague" run --help >/dev/null 2>&1; then
    bague_run=("$target_dir/release/bague" run)
    say "comparing with bague run"
else
    say "bague run not available: comparing with greedy.json only"
fi

# run_host ARGS...: runs the host chat with --ids -q, prints the ids.
run_host() { "$host/chat" -q --ids -n 32 -c 512 -t 2 "$@" 2>"$work/log" >"$work/out" || { cat "$work/log"; die "chat $*"; }; ids_of "$work/log"; }

for id in "${models[@]}"; do
    model=testdata/models/$id.gguf
    ref=testdata/reference/$id/greedy.json
    n_cases=$(json "$ref" 'len(d["cases"])')
    for ((i = 0; i < n_cases; i++)); do
        kind=$(json "$ref" "d['cases'][$i]['kind']")
        name=$(json "$ref" "d['cases'][$i]['id']")
        want=$(json "$ref" "' '.join(map(str, d['cases'][$i]['output_ids']))")
        margins=$(json "$ref" "' '.join(map(str, d['cases'][$i]['top2_margins']))")
        if [[ $kind == raw ]]; then
            prompt=$(text "$ref" "d['cases'][$i]['prompt_text']"; printf x)
            prompt=${prompt%x}
            chat_flag=()
        else
            # A one-message chat case: the user's text through the template.
            n_msgs=$(json "$ref" "len(d['cases'][$i]['messages'])")
            [[ $n_msgs == 1 ]] || continue
            prompt=$(text "$ref" "d['cases'][$i]['messages'][0]['content']"; printf x)
            prompt=${prompt%x}
            chat_flag=(--chat)
        fi
        got_scalar=$(BAGUE_KERNELS=scalar run_host "${chat_flag[@]}" "$model" "$prompt")
        [[ "$got_scalar" == "$want" ]] || die "$id $name (scalar kernels): ids $got_scalar, llama.cpp $want"
        got=$(run_host "${chat_flag[@]}" "$model" "$prompt")
        verdict=$(prefix_ok "$got" "$want" "$margins") || die "$id $name: detected kernels diverge too early ($verdict): $got"
        echo "$id $name: scalar kernels = llama.cpp ($(wc -w <<<"$want") ids); detected kernels: $verdict"
        for how in --open-fd --open-buffer; do
            [[ "$(run_host "$how" "${chat_flag[@]}" "$model" "$prompt")" == "$got" ]] || die "$id $name: $how differs"
        done
        "$host/chat-so" -q --ids -n 32 -c 512 -t 2 "${chat_flag[@]}" "$model" "$prompt" 2>"$work/log" >/dev/null
        [[ "$(ids_of "$work/log")" == "$got" ]] || die "$id $name: the shared library differs"
        if ((${#bague_run[@]})); then
            cli=$("${bague_run[@]}" -m "$model" -p "$prompt" "${chat_flag[@]}" --temp 0 -n 32 --ctx 512 -t 2 --json \
                | python3 -c 'import json,sys; print(" ".join(map(str, json.load(sys.stdin)["output_ids"])))')
            [[ "$cli" == "$got" ]] || die "$id $name: bague run gives $cli, the C example $got"
            echo "$id $name: C example = bague run --temp 0"
        fi
        echo "$got" >"$work/$id-$name.ids"
    done
done

# --- 4. aarch64 under qemu ---------------------------------------------------------------------
if [[ "${BAGUE_CAPI_SKIP_CROSS:-0}" != 1 ]]; then
    for tool in qemu-aarch64 aarch64-linux-gnu-gcc; do
        command -v "$tool" >/dev/null || die "$tool missing: apt-get install qemu-user gcc-aarch64-linux-gnu libc6-dev-arm64-cross"
    done
    rustup target list --installed | grep -qx "$cross" || rustup target add "$cross"
    say "cargo rustc --release -p bague-capi --target $cross"
    CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_LINKER=aarch64-linux-gnu-gcc build_libs --target "$cross"
    arm=$work/aarch64
    mkdir -p "$arm"
    cp "$target_dir/$cross/release/libbague_capi.a" "$arm/libbague.a"
    cp "$target_dir/$cross/release/libbague_capi.so" "$arm/libbague.so.0"
    ln -sf libbague.so.0 "$arm/libbague.so"
    check_symbols "$arm" aarch64-linux-gnu-nm
    aarch64-linux-gnu-gcc "${cc_flags[@]}" examples/c/chat.c "$arm/libbague.a" -lpthread -ldl -lm -o "$arm/chat"
    qemu-aarch64 -cpu max -L "$sysroot" "$arm/chat" -n 4 testdata/models/${models[0]}.gguf "Hello" >/dev/null 2>"$work/log" \
        || { cat "$work/log"; die "qemu chat"; }
    say "aarch64: $(head -1 "$work/log")"
    run_arm() { qemu-aarch64 -cpu max -L "$sysroot" "$arm/chat" -q --ids -n 32 -c 512 -t 2 "$@" 2>"$work/log" >/dev/null || { cat "$work/log"; die "qemu chat $*"; }; ids_of "$work/log"; }
    for id in "${models[@]}"; do
        model=testdata/models/$id.gguf
        ref=testdata/reference/$id/greedy.json
        # Two raw cases per model keep the emulated run short.
        for i in 0 1; do
            name=$(json "$ref" "d['cases'][$i]['id']")
            prompt=$(text "$ref" "d['cases'][$i]['prompt_text']"; printf x)
            prompt=${prompt%x}
            want=$(json "$ref" "' '.join(map(str, d['cases'][$i]['output_ids']))")
            margins=$(json "$ref" "' '.join(map(str, d['cases'][$i]['top2_margins']))")
            got_scalar=$(BAGUE_KERNELS=scalar run_arm "$model" "$prompt")
            [[ "$got_scalar" == "$want" ]] || die "aarch64 $id $name (scalar): $got_scalar vs $want"
            got=$(run_arm "$model" "$prompt")
            verdict=$(prefix_ok "$got" "$want" "$margins") || die "aarch64 $id $name: diverges too early ($verdict): $got"
            echo "aarch64 $id $name: scalar kernels = llama.cpp; detected kernels: $verdict"
        done
    done
fi

# --- 5. sizes and exports ---------------------------------------------------------------------
size_of() { stat -c %s "$1"; }
report() { # report DIR STRIP
    local dir=$1 strip=$2
    "$strip" --strip-debug -o "$dir/libbague.stripped.a" "$dir/libbague.a"
    "$strip" --strip-all -o "$dir/libbague.stripped.so" "$dir/libbague.so.0"
    printf '%-8s libbague.a %9d B (stripped of debug info %9d B)   libbague.so %9d B (stripped %9d B)\n' \
        "$(basename "$dir")" "$(size_of "$dir/libbague.a")" "$(size_of "$dir/libbague.stripped.a")" \
        "$(size_of "$dir/libbague.so.0")" "$(size_of "$dir/libbague.stripped.so")"
}
say "sizes"
report "$host" strip
[[ -d "${arm:-}" ]] && report "$arm" aarch64-linux-gnu-strip
say "exports of libbague.so: $(tr '\n' ' ' <"$host/exports.txt")"
echo "capi: ok (work files in $work)"
