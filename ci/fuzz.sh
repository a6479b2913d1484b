#!/usr/bin/env bash
# Fuzz smoke: run each fuzz target for a while on its committed seed corpus.
#
#   ci/fuzz.sh [SECONDS] [TARGET...]
#
# SECONDS per target (default 25; FUZZ_SECONDS also works): the five targets take about
# two minutes of fuzzing on top of the build. TARGETs default to all of them:
#   gguf_parse     the GGUF reader on arbitrary bytes
#   tokenize       the tokenizer on the tiny models' vocabularies (text, specials, spans)
#   chat_template  the chat template renderer and its limits (template source + messages)
#   sampler        the sampler on arbitrary settings and logits (NaN, inf, huge values)
#   capi           the C ABI's entry points with arbitrary arguments, NULLs, short buffers
#
# FUZZ_SEED (default 1) fixes libFuzzer's random seed, so that CI replays the same
# mutations from the committed seeds every run (a run on a faster machine goes further
# down the same path); FUZZ_SEED=random explores from a new seed each run, as a soak does.
#
# Installs cargo-fuzz if missing. Uses a nightly toolchain with AddressSanitizer when one
# is installed, else the stable toolchain with RUSTC_BOOTSTRAP=1 and no sanitizer.
# New inputs go to a temporary corpus; the committed seeds in fuzz/corpus/TARGET are only
# read. A crash, a hang past -timeout or memory past -rss_limit_mb leaves its input in
# fuzz/artifacts/TARGET/ and fails the script (after the other targets ran).
set -euo pipefail

cd "$(dirname "$0")/.."
secs="${1:-${FUZZ_SECONDS:-25}}"
shift || true
if [ "$#" -gt 0 ]; then
    targets=("$@")
else
    targets=(gguf_parse tokenize chat_template sampler capi)
fi

if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "fuzz.sh: installing cargo-fuzz" >&2
    cargo install cargo-fuzz --locked
fi

if rustup toolchain list 2>/dev/null | grep -q '^nightly'; then
    toolchain=(+nightly)
    sanitizer=()
    echo "fuzz.sh: nightly toolchain, AddressSanitizer" >&2
else
    toolchain=()
    sanitizer=(--sanitizer none)
    export RUSTC_BOOTSTRAP=1
    echo "fuzz.sh: no nightly toolchain; stable with RUSTC_BOOTSTRAP=1, no sanitizer" >&2
fi

# One build of every target first, so that the timed runs only fuzz.
cargo "${toolchain[@]}" fuzz build -O "${sanitizer[@]}"

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
failed=()
summary=()
for target in "${targets[@]}"; do
    log="$work/$target.log"
    mkdir -p "$work/$target"
    # LeakSanitizer (with ASan) checks every target but chat_template: a template that
    # stores a minijinja namespace inside itself makes a reference cycle minijinja cannot
    # free. The library refuses such a template after that first render (runtime/core/src/
    # chat/jinja.rs, test a_namespace_stored_in_itself_is_refused_and_stays_refused), but the
    # harness loads a new template per input, so each such input leaks once by design.
    leaks=()
    asan=("ASAN_OPTIONS=${ASAN_OPTIONS:-}")
    seed=()
    if [ "${FUZZ_SEED:-1}" != random ]; then
        seed=(-seed="${FUZZ_SEED:-1}")
    fi
    if [ "$target" = chat_template ]; then
        # libFuzzer's per-input check, and LeakSanitizer's own at exit.
        leaks=(-detect_leaks=0)
        asan=("ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0")
    fi
    set +e
    env "${asan[@]}" cargo "${toolchain[@]}" fuzz run -O "${sanitizer[@]}" "$target" "$work/$target" \
        "fuzz/corpus/$target" -- \
        -rss_limit_mb=1024 -max_total_time="$secs" -timeout=10 -print_final_stats=1 \
        "${seed[@]}" "${leaks[@]}" >"$log" 2>&1
    status=$?
    set -e
    runs="$(sed -n 's/^Done \([0-9]*\) runs in \([0-9]*\) second.*/\1 \2/p' "$log" | tail -n1)"
    if [ -n "$runs" ]; then
        read -r n s <<<"$runs"
        summary+=("$target: $n executions in ${s}s ($((n / (s > 0 ? s : 1))) exec/s)")
    fi
    if [ "$status" -ne 0 ]; then
        # The panic message comes before the stack trace: show it, then the end.
        grep -m3 -A2 "panicked at" "$log" >&2 || true
        tail -n 60 "$log" >&2
        failed+=("$target")
    fi
done
for line in "${summary[@]}"; do
    echo "fuzz.sh: $line"
done
if [ "${#failed[@]}" -gt 0 ]; then
    echo "fuzz.sh: FAILED: ${failed[*]} (inputs in fuzz/artifacts/)" >&2
    exit 1
fi
