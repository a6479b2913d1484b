#!/usr/bin/env bash
# The ring board under qemu: builds boards/ring for thumbv8m.main-none-eabihf with each
# model embedded, runs it on qemu-system-arm mps2-an505 (-icount shift=0), and compares its
# 32 greedy ids with the host's `bague run --temp 0`. Also checks that the plan refuses a
# model that does not fit (exit code 3) and that the arena's peak is within the plan and
# the plan at most 5 % above it; that a RAM budget one byte under the plan is refused by
# the plan (exit 3); that an arena of exactly the peak runs; that arenas smaller than the
# run needs end with the out-of-memory exit (6), never a panic (101) or a HardFault (102);
# and that a corrupt GGUF in flash is exit 2.
# Needs: qemu-system-arm, the thumbv8m.main-none-eabihf target (.ci/run installs both).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source ci/lib/mcu.sh ring # root, prompt, n_ctx, bague, elf; fw_build, host_ids
qemu=(qemu-system-arm -machine mps2-an505 -cpu cortex-m33 -nographic -icount shift=0
    -semihosting-config enable=on,target=native -kernel)
# qemu with the firmware's test knobs on the semihosting command line (see main.rs `Args`).
qemu_args() { # qemu_args SECONDS ARG... (runs $elf under timeout)
    local secs=$1 cfg=enable=on,target=native,arg=ring a
    shift
    for a in "$@"; do cfg+=,arg=$a; done
    timeout "$secs" qemu-system-arm -machine mps2-an505 -cpu cortex-m33 -nographic \
        -icount shift=0 -semihosting-config "$cfg" -kernel "$elf"
}

failed=0
# Models that fit the ring today, and models that must be refused by the plan.
for m in smol-tiny-random-q4_0; do
    gguf=$root/testdata/models/$m.gguf
    echo "--- ring: $m"
    fw_build "$gguf"
    log=$(mktemp)
    rc=0
    timeout 600 "${qemu[@]}" "$elf" >"$log" 2>&1 || rc=$?
    cat "$log"
    want=$(host_ids "$gguf")
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
    [[ -n ${used:-} && -n ${plan:-} ]] || continue

    # The plan is a contract: one byte less budget is refused before anything is allocated.
    rc=0; out=$(qemu_args 120 budget=$((plan - 1)) 2>&1) || rc=$?
    if [[ $rc -ne 3 ]] || ! grep -q "does not fit: RAM over by 1 bytes" <<<"$out"; then
        echo "$out" | tail -3; echo "ring: $m: FAILED: budget plan-1: exit $rc, expected 3"; failed=1
    else
        echo "ring: $m: budget $((plan - 1)) (plan - 1) refused by the plan"
    fi
    # The peak is exact: an arena of exactly the peak runs to the end with the same ids.
    rc=0; out=$(qemu_args 600 arena=$used 2>&1) || rc=$?
    if [[ $rc -ne 0 ]] || [[ "$(sed -n 's/^output_ids: //p' <<<"$out")" != "$want" ]]; then
        echo "$out" | tail -3; echo "ring: $m: FAILED: arena = peak $used: exit $rc"; failed=1
    else
        echo "ring: $m: arena of exactly the peak ($used bytes) runs, same ids"
    fi
    # Arenas smaller than the run needs: an error value all the way up (exit 6), at every
    # stage (tokenizer load, model load, prompt, session, generator, generation).
    index=$(sed -n 's/^ring: plan .* + index \([0-9]*\) = .*/\1/p' "$log")
    sizes=()
    for i in $(seq 0 47); do sizes+=($((index + (used - index) * i / 48))); done
    sizes+=($((used - 64)) $((used - 8)) $((used - 1)))
    for k in "${sizes[@]}"; do
        rc=0; out=$(qemu_args 600 arena=$k 2>&1) || rc=$?
        if [[ $rc -ne 6 ]]; then
            echo "$out" | tail -3; echo "ring: $m: FAILED: arena $k bytes: exit $rc, expected 6 (out of memory)"; failed=1
        else
            echo "ring: $m: arena $k bytes: $(grep -m1 '^ring: error' <<<"$out") (exit 6)"
        fi
    done
    rm -f "$log"
done

# A corrupt GGUF in flash (the tensor count made huge) is an error code, never a fault.
bad=$(mktemp --suffix=.gguf)
cp "$root/testdata/models/smol-tiny-random-q4_0.gguf" "$bad"
printf '\xff\xff\xff\xff\xff\xff\xff\x7f' | dd of="$bad" bs=1 seek=8 conv=notrunc status=none
echo "--- ring: corrupt GGUF (n_tensors = 2^63-1)"
fw_build "$bad"
rc=0; timeout 60 "${qemu[@]}" "$elf" || rc=$?
if [[ $rc -ne 2 ]]; then echo "ring: corrupt GGUF: FAILED: exit $rc, expected 2"; failed=1; fi
# A file cut inside its tensor data (a good header): also exit 2, before anything is loaded.
head -c 3000000 "$root/testdata/models/smol-tiny-random-q4_0.gguf" >"$bad"
echo "--- ring: truncated GGUF (3000000 of 5153344 bytes)"
fw_build "$bad"
rc=0; timeout 60 "${qemu[@]}" "$elf" || rc=$?
rm -f "$bad"
if [[ $rc -ne 2 ]]; then echo "ring: truncated GGUF: FAILED: exit $rc, expected 2"; failed=1; fi
for m in r1-tiny-random-q4_0; do
    echo "--- ring: $m (must be refused by the plan)"
    fw_build "$root/testdata/models/$m.gguf" || { echo "ring: $m: does not link (too big for the XIP window)"; continue; }
    rc=0
    timeout 60 "${qemu[@]}" "$elf" || rc=$?
    if [[ $rc -ne 3 ]]; then echo "ring: $m: FAILED: exit $rc, expected 3 (does not fit)"; failed=1; fi
done
exit $failed
