#!/usr/bin/env bash
# The hearing board under qemu: builds boards/hearing for thumbv8m.main-none-eabihf
# (target-cpu=cortex-m55) with the tiny model in its QSPI flash, runs it on qemu-system-arm
# mps3-an547 (-icount shift=0: 1 instruction = 1 ns of virtual time), and checks that
#  - its 32 greedy ids, generated with Stepper::step(budget) in the gaps of the 6 ms audio
#    task, equal the host's `bague run --temp 0`;
#  - no audio deadline was missed (the firmware exits 6 otherwise) and the worst step
#    overrun is at most one work unit in instructions;
#  - the deadline check can fail: the same firmware with each pass in one call (semihosting
#    argument `unbudgeted`) must miss deadlines and exit 6.
# Prints the deadline report. Needs: qemu-system-arm, the thumbv8m.main-none-eabihf target
# (.ci/run installs both). SmolLM2-135M from DDR: ci/hearing-ddr.sh (not in CI: minutes).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source ci/lib/mcu.sh hearing # root, prompt, n_ctx, bague, elf; fw_build, host_ids
qemu=(qemu-system-arm -machine mps3-an547 -cpu cortex-m55 -nographic -icount shift=0)
semi=enable=on,target=native

failed=0
for m in ${HEARING_MODELS:-smol-tiny-random-q4_0}; do
    gguf=$root/testdata/models/$m.gguf
    echo "--- hearing: $m"
    fw_build "$gguf"
    log=$(mktemp)
    rc=0
    timeout 300 "${qemu[@]}" -semihosting-config $semi -kernel "$elf" >"$log" 2>&1 || rc=$?
    cat "$log"
    want=$(host_ids "$gguf")
    got=$(sed -n 's/^output_ids: //p' "$log")
    if [[ $rc -ne 0 ]]; then
        echo "hearing: $m: FAILED (exit $rc; 6: missed audio deadlines)"; failed=1
    elif [[ "$got" != "$want" ]]; then
        echo "hearing: $m: FAILED: ids differ"; echo " host:    $want"; echo " hearing: $got"; failed=1
    else
        echo "hearing: $m: same 32 ids as the host, 0 missed deadlines"
    fi
    # worst overrun (instructions) against one work unit (instructions)
    read -r steps unit over < <(sed -n 's/^hearing: steps: \([0-9]*\) budgeted calls, \([0-9]*\) instructions per work unit, worst overrun past the budget \(-\?[0-9]*\) instructions.*/\1 \2 \3/p' "$log")
    if [[ -z ${unit:-} ]] || (( steps == 0 || over > unit )); then
        echo "hearing: $m: FAILED: worst step overrun ${over:-?} instructions, one unit ${unit:-?}"; failed=1
    else
        echo "hearing: $m: worst step overrun $over instructions <= one unit ($unit instructions)"
    fi
    # The negative check: unbudgeted passes land on the deadlines.
    rc=0
    timeout 300 "${qemu[@]}" -semihosting-config $semi,arg=fw,arg=unbudgeted -kernel "$elf" \
        >"$log" 2>&1 || rc=$?
    grep -E '^hearing: (audio|unbudgeted|FAILED)' "$log" || true
    if [[ $rc -ne 6 ]]; then
        echo "hearing: $m: FAILED: unbudgeted passes exit $rc, expected 6 (missed deadlines)"; failed=1
    else
        echo "hearing: $m: unbudgeted passes miss deadlines (exit 6), as they must"
    fi
    rm -f "$log"
done
exit $failed
