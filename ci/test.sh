#!/usr/bin/env bash
# The project's tests, as a fresh clone runs them:
#   1. pull the real models the tests read into the cache ($BAGUE_HOME, default
#      ~/.cache/bague) unless already there and verified (a second run costs a stat each);
#   2. run the workspace tests except the llama.cpp oracle's (`ci/oracle.sh` runs those: it
#      builds llama.cpp, ~10 min, with cmake and clang);
#   3. print one summary line, "tests: N passed, N failed, N skipped" (skipped = ignored).
# Extra arguments go to cargo test. BAGUE_OFFLINE=1 skips step 1 (a test that needs an
# absent model then skips or fails, as that test decides). Writes $CI_LOG_DIR/tests.log if CI_LOG_DIR is set.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

# Models the tests use (models/registry.toml ids); the tiny test models are in the repo.
models=(smollm2-135m-instruct-q4_1 qwen2.5-coder-0.5b-instruct-q4_k_m r1-distill-qwen-7b-head)
if [[ "${BAGUE_OFFLINE:-0}" != 1 ]]; then
    # The test profile: the same build `cargo test` then reuses for the CLI's own tests.
    cargo run --profile test -q -p bague-cli -- pull "${models[@]}"
fi

log=${CI_LOG_DIR:-$(mktemp -d)}/tests.log
mkdir -p "$(dirname "$log")"
set +e
cargo test --workspace --exclude bague-oracle "$@" 2>&1 | tee "$log"
rc=${PIPESTATUS[0]}
set -e

# Sum cargo's "test result: ok. 12 passed; 0 failed; 1 ignored; ..." lines.
summary=$(awk '/^test result:/ {
        for (i = 1; i <= NF; i++) {
            if ($(i) ~ /^passed;?$/) p += $(i-1)
            if ($(i) ~ /^failed;?$/) f += $(i-1)
            if ($(i) ~ /^ignored;?$/) s += $(i-1)
        }
        n++
    }
    END { if (n) printf "tests: %d passed, %d failed, %d skipped\n", p, f, s }' "$log")
if [[ -z "$summary" ]]; then
    summary="tests: no test ran (cargo test exit code $rc)"
fi
echo "$summary" | tee "$(dirname "$log")/tests.summary"
exit "$rc"
