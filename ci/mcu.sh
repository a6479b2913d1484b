#!/usr/bin/env bash
# The Cortex-M kernels under qemu: builds kernels/mcu-test once per machine and runs it on
# qemu-system-arm with -icount shift=0 (one instruction per virtual nanosecond):
#   mps2-an386 (Cortex-M4,  thumbv7em-none-eabihf,     target-cpu=cortex-m4):  dsp
#   mps2-an505 (Cortex-M33, thumbv8m.main-none-eabihf, target-cpu=cortex-m33): dsp
#   mps3-an547 (Cortex-M55, thumbv8m.main-none-eabihf, target-cpu=cortex-m55): dsp and mve
# Each run checks that Kernels::detect() picks the expected back end and that every
# accelerated dot product (Q4_0, Q4_1, Q8_0) equals the scalar reference bit for bit on
# random rows (exit code via semihosting), then prints instructions per 32-element block
# and the ratio to the scalar kernel of the same build (printed, not asserted).
# Needs: qemu-system-arm and the two rustup targets (.ci/run installs them).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
root=$PWD
# One target dir per machine: their RUSTFLAGS differ, so a shared one would rebuild each time.
base=${MCU_TARGET_DIR:-${CARGO_TARGET_DIR:-$root/target}/mcu}

failed=0
tables=()
run() { # FEATURE TARGET TARGET_CPU QEMU_MACHINE QEMU_CPU
    local feature=$1 target=$2 cpu=$3 machine=$4 qcpu=$5
    local dir=$base/$feature
    echo "--- mcu: $machine ($qcpu; $target, target-cpu=$cpu)"
    (cd kernels/mcu-test && CARGO_TARGET_DIR=$dir RUSTFLAGS="-C target-cpu=$cpu" \
        cargo build --release --locked --features "$feature" --target "$target")
    local log rc=0
    log=$(mktemp)
    timeout 120 qemu-system-arm -machine "$machine" -cpu "$qcpu" -nographic -icount shift=0 \
        -semihosting-config enable=on,target=native \
        -kernel "$dir/$target/release/bague-mcu-test" >"$log" 2>&1 || rc=$?
    cat "$log"
    if [[ $rc -ne 0 ]]; then
        echo "mcu: $machine: FAILED (exit $rc)"
        failed=1
    fi
    mapfile -t -O "${#tables[@]}" tables < <(grep '^| Cortex' "$log" || true)
    rm -f "$log"
}

run an386 thumbv7em-none-eabihf cortex-m4 mps2-an386 cortex-m4
run an505 thumbv8m.main-none-eabihf cortex-m33 mps2-an505 cortex-m33
run an547 thumbv8m.main-none-eabihf cortex-m55 mps3-an547 cortex-m55

echo
echo "--- mcu: instructions per 32-element block (qemu -icount shift=0, SysTick)"
echo "| cpu | format | kernel | instructions / 32-element block | vs scalar |"
echo "|---|---|---|---|---|"
printf '%s\n' "${tables[@]}"
exit $failed
