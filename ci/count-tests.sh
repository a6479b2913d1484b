#!/usr/bin/env bash
# Prints "tests: N passed, N failed, N skipped" for cargo test output and a skip log.
#
#   ci/count-tests.sh SKIPS LOG...
#
# LOG: cargo test output (one or more runs). Its "test result: ok. P passed; F failed;
# I ignored; ..." lines are summed. SKIPS: lines "bague-test: skipped BINARY::TEST: reason"
# that bague-testkit appends to $BAGUE_SKIP_LOG when a test returns early because what it
# needs is absent (a model, a CPU feature); one line per test and process. libtest counts
# such a test as passed: here it counts as skipped, not passed (unless it then failed, which
# the log's "test TEST ... FAILED" line under that binary's "Running" line tells).
# Prints nothing when the logs hold no test result.
set -euo pipefail
skips=$1
shift
awk -v skips="$skips" '
    BEGIN {
        while ((getline line < skips) > 0) {
            if (line !~ /^bague-test: skipped /) continue
            split(line, w, " ")
            key = w[3]
            sub(/:$/, "", key)
            skipped_runs[++n_skip] = key
        }
    }
    # "     Running tests/model_real.rs (target/debug/deps/model_real-0123abcd...)"
    /^ +Running / {
        p = $NF
        gsub(/[()]/, "", p)
        k = split(p, parts, "/")
        bin = parts[k]
        sub(/-[0-9a-f]+$/, "", bin)
    }
    /^ +Doc-tests / { bin = "doctest" }
    /^test .* \.\.\. FAILED$/ { failed[bin "::" $2] = 1 }
    /^test result:/ {
        for (i = 1; i <= NF; i++) {
            if ($(i) ~ /^passed;?$/) p_sum += $(i-1)
            if ($(i) ~ /^failed;?$/) f_sum += $(i-1)
            if ($(i) ~ /^ignored;?$/) i_sum += $(i-1)
        }
        results++
    }
    END {
        if (!results) exit
        runtime = 0
        for (j = 1; j <= n_skip; j++) if (!(skipped_runs[j] in failed)) runtime++
        printf "tests: %d passed, %d failed, %d skipped\n", p_sum - runtime, f_sum, i_sum + runtime
    }' "$@"
