#!/usr/bin/env bash
# The ring board under qemu: builds boards/ring for thumbv8m.main-none-eabihf with each
# model embedded, runs it on qemu-system-arm mps2-an505 (-icount shift=0), and compares its
# 32 greedy ids with the host's `bague run --temp 0`. Also checks that the plan refuses a
# model that does not fit (exit code 3) and that the arena's peak is within the plan and
# the plan at most 5 % above it.
# Needs: qemu-system-arm, the thumbv8m.main-none-eabihf target (.ci/run installs both).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
root=$PWD
host_target=${CARGO_TARGET_DIR:-$root/target}
fw_target=${RING_TARGET_DIR:-$host_target/ring}
prompt=${RING_PROMPT:-Once upon a time}
n_ctx=256
cargo build --release -p bague-cli
bague=$host_target/release/bague
elf=$fw_target/thumbv8m.main-none-eabihf/release/bague-board-ring
qemu=(qemu-system-arm -machine mps2-an505 -cpu cortex-m33 -nographic -icount shift=0
    -semihosting-config enable=on,target=native -kernel)

build() { # build MODEL
    (cd boards/ring && BAGUE_RING_MODEL=$1 BAGUE_RING_PROMPT=$prompt BAGUE_RING_CTX=$n_ctx \
        CARGO_TARGET_DIR=$fw_target cargo build --release)
}

failed=0
# Models that fit the ring today, and models that must be refused by the plan.
for m in smol-tiny-random-q4_0; do
    gguf=$root/testdata/models/$m.gguf
    echo "--- ring: $m"
    build "$gguf"
    log=$(mktemp)
    rc=0
    timeout 600 "${qemu[@]}" "$elf" >"$log" 2>&1 || rc=$?
    cat "$log"
    want=$("$bague" run -m "$gguf" -p "$prompt" --temp 0 -n 32 --ctx $n_ctx --json 2>/dev/null |
        python3 -c 'import json,sys; print(" ".join(map(str, json.load(sys.stdin)["output_ids"])))')
    got=$(sed -n 's/^output_ids: //p' "$log")
    if [[ $rc -ne 0 ]]; then
        echo "ring: $m: FAILED (exit $rc)"; failed=1
    elif [[ "$got" != "$want" ]]; then
        echo "ring: $m: FAILED: ids differ"; echo " host: $want"; echo " ring: $got"; failed=1
    else
        echo "ring: $m: same 32 ids as the host"
    fi
    # plan vs used: the run fails on one byte more (the arena's limit is the plan); the
    # plan must not be more than 5 % above the peak.
    read -r used plan < <(sed -n 's/^ring: arena: used \([0-9]*\) bytes at peak, plan \([0-9]*\) bytes.*/\1 \2/p' "$log")
    if [[ -z ${used:-} ]] || (( plan * 100 > used * 105 )) || (( used > plan )); then
        echo "ring: $m: FAILED: plan ${plan:-?} vs used ${used:-?} bytes"; failed=1
    else
        echo "ring: $m: plan $plan bytes, used $used bytes"
    fi
done
for m in r1-tiny-random-q4_0; do
    echo "--- ring: $m (must be refused by the plan)"
    build "$root/testdata/models/$m.gguf" || { echo "ring: $m: does not link (too big for the XIP window)"; continue; }
    rc=0
    timeout 60 "${qemu[@]}" "$elf" || rc=$?
    if [[ $rc -ne 3 ]]; then echo "ring: $m: FAILED: exit $rc, expected 3 (does not fit)"; failed=1; fi
done
exit $failed
