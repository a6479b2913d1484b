#!/usr/bin/env bash
# `--threads auto` against hand-picked counts on this machine: `bague run` on the same
# prompt (the first 600 bytes of testdata/reference/texts/kjv-genesis-1-11.txt), greedy,
# 64 generated tokens, interleaved (1, 2, auto, 1, 2, auto, …) so that load from other
# tenants hits every setting alike; prints each run and the median prefill (pp) and decode
# (tg) tokens/s per setting, with the load average before and after.
#
# Usage: bash boards/phone/scripts/threads-auto.sh [ROUNDS] [SETTINGS…]
#   (default 3 rounds of `1 2 auto`; needs target/release/bague or $BAGUE, and the model
#   smollm2-135m-instruct-q4_1 pulled, or $MODEL)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../../.."

rounds=${1:-3}
shift || true
settings=("$@")
((${#settings[@]})) || settings=(1 2 auto)
bague=${BAGUE:-${CARGO_TARGET_DIR:-target}/release/bague}
model=${MODEL:-smollm2-135m-instruct-q4_1}
prompt=$(head -c 600 testdata/reference/texts/kjv-genesis-1-11.txt)

echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
results=$(mktemp)
for r in $(seq "$rounds"); do
    for t in "${settings[@]}"; do
        json=$("$bague" run -m "$model" -p "$prompt" -n 64 --temp 0 --seed 1 -t "$t" --json 2>/dev/null)
        line=$(python3 -c 'import json,sys; j=json.loads(sys.stdin.read().strip().splitlines()[-1]); t=j["timings"]; print(j["n_threads"], t["n_prefill"], t["n_decode"], round(t["prefill_tok_s"],1), round(t["decode_tok_s"],1))' <<<"$json")
        echo "round $r -t $t: n_threads n_prefill n_decode pp_tok/s tg_tok/s = $line"
        echo "$t $line" >>"$results"
    done
done
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
python3 - "$results" <<'PY'
import statistics, sys
rows = [l.split() for l in open(sys.argv[1])]
order = []
for r in rows:
    if r[0] not in order:
        order.append(r[0])
print(f"{'-t':>6} {'threads':>7} {'pp tok/s (median)':>18} {'tg tok/s (median)':>18}")
for t in order:
    rs = [r for r in rows if r[0] == t]
    pp = statistics.median(float(r[4]) for r in rs)
    tg = statistics.median(float(r[5]) for r in rs)
    print(f"{t:>6} {rs[0][1]:>7} {pp:>18.1f} {tg:>18.1f}")
PY
rm -f "$results"
