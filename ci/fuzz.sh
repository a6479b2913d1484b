#!/usr/bin/env bash
# Fuzz smoke: run the GGUF parser fuzz target for a while on the committed seed corpus.
#
#   ci/fuzz.sh [SECONDS]        (default 60; FUZZ_SECONDS also works)
#
# Installs cargo-fuzz if missing. Uses a nightly toolchain with AddressSanitizer when one
# is installed, else the stable toolchain with RUSTC_BOOTSTRAP=1 and no sanitizer (the
# reader has no unsafe code, so ASan mostly adds leak and overflow checks of the harness).
# New inputs go to a temporary corpus; the committed seeds in fuzz/corpus/gguf_parse are
# only read. A crash leaves its input in fuzz/artifacts/gguf_parse/ and fails the script.
set -euo pipefail

cd "$(dirname "$0")/.."
secs="${1:-${FUZZ_SECONDS:-60}}"
target=gguf_parse

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

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
log="$work/fuzz.log"

set +e
cargo "${toolchain[@]}" fuzz run "${sanitizer[@]}" "$target" "$work" "fuzz/corpus/$target" -- \
    -rss_limit_mb=512 -max_total_time="$secs" -timeout=10 -print_final_stats=1 2>&1 | tee "$log"
status="${PIPESTATUS[0]}"
set -e

runs="$(sed -n 's/^Done \([0-9]*\) runs in \([0-9]*\) second.*/\1 \2/p' "$log" | tail -n1)"
if [ -n "$runs" ]; then
    read -r n s <<<"$runs"
    echo "fuzz.sh: $target: $n executions in ${s}s ($((n / (s > 0 ? s : 1))) exec/s)"
fi
exit "$status"
