#!/usr/bin/env bash
# The project's tests, as a fresh clone runs them:
#   1. pull the real models the tests read into the cache ($BAGUE_HOME, default
#      ~/.cache/bague) unless already there and verified (a second run costs a stat each);
#   2. run the workspace tests except the llama.cpp oracle's (`ci/oracle.sh` runs those: it
#      builds llama.cpp, ~10 min, with cmake and clang);
#   3. print one summary line, "tests: N passed, N failed, N skipped".
#
# Models are required: BAGUE_REQUIRE_MODELS=1 is exported, so a test whose model is absent
# (a failed pull) fails, naming the model and `bague pull ID` (bague-testkit's policy).
# BAGUE_OFFLINE=1 skips step 1 and makes such tests skip instead (BAGUE_REQUIRE_MODELS, if
# set, wins either way). A skipped test appends "bague-test: skipped <test>: <reason>" to
# $BAGUE_SKIP_LOG: "skipped" is cargo's ignored tests plus those lines, and "passed" does
# not count them. Extra arguments go to cargo test. Writes tests.log, tests.skips and
# tests.summary to $CI_LOG_DIR if set (else a temp dir); if the caller set BAGUE_SKIP_LOG,
# the skip lines are appended to that file too.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

offline=${BAGUE_OFFLINE:-0}
if [[ $offline == 1 ]]; then
    export BAGUE_REQUIRE_MODELS=${BAGUE_REQUIRE_MODELS:-0}
else
    export BAGUE_REQUIRE_MODELS=${BAGUE_REQUIRE_MODELS:-1}
fi

# Models the tests use (models/registry.toml ids); the tiny test models are in the repo.
models=(smollm2-135m-instruct-q4_1 qwen2.5-coder-0.5b-instruct-q4_k_m r1-distill-qwen-7b-head)
if [[ $offline != 1 ]]; then
    # The test profile: the same build `cargo test` then reuses for the CLI's own tests.
    # A failed pull does not stop the run: the tests that need the model say which it is.
    if ! cargo run --profile test -q -p bague-cli -- pull "${models[@]}"; then
        echo "ci/test.sh: pulling the test models failed; tests that need them will fail" \
            "(BAGUE_OFFLINE=1 skips them instead)" >&2
    fi
fi

logdir=${CI_LOG_DIR:-$(mktemp -d)}
mkdir -p "$logdir"
log=$logdir/tests.log
skips=$logdir/tests.skips
: >"$skips"
caller_skip_log=${BAGUE_SKIP_LOG:-}
export BAGUE_SKIP_LOG=$skips

echo "ci/test.sh: BAGUE_REQUIRE_MODELS=$BAGUE_REQUIRE_MODELS, models in ${BAGUE_HOME:-~/.cache/bague}/models"
set +e
cargo test --workspace --exclude bague-oracle "$@" 2>&1 | tee "$log"
rc=${PIPESTATUS[0]}
set -e

if [[ -s $skips ]]; then
    echo "skipped at run time:"
    sed 's/^bague-test: skipped /  /' "$skips"
    if [[ -n $caller_skip_log && $caller_skip_log != "$skips" ]]; then
        cat "$skips" >>"$caller_skip_log"
    fi
fi
summary=$(bash ci/count-tests.sh "$skips" "$log")
if [[ -z "$summary" ]]; then
    summary="tests: no test ran (cargo test exit code $rc)"
fi
echo "$summary" | tee "$logdir/tests.summary"
exit "$rc"
