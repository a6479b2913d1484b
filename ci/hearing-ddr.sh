#!/usr/bin/env bash
# SmolLM2-135M (98 MB) on the emulated Cortex-M55, read in place from the AN547's DDR — not
# part of CI (about 35 G instructions with the scalar kernels: many minutes under qemu).
# Builds boards/hearing with BAGUE_HEARING_DDR_ADDR (the model is not in the ELF; qemu's
# `-device loader` puts the file in DDR at that address), runs it with the semihosting
# argument `noaudio` (each decode pass in one call: the model's own instructions per
# token), and compares its 32 greedy ids with the host's `bague run --temp 0`. With
# HEARING_DDR_AUDIO=1 the audio task runs too (the deadline demo on a real model).
# Needs the model in $BAGUE_HOME (`bague pull smollm2-135m-instruct-q4_1`).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
addr=0x70100000
gguf=${HEARING_DDR_MODEL:-${BAGUE_HOME:-$HOME/.cache/bague}/models/smollm2-135m-instruct-q4_1.gguf}
[[ -f $gguf ]] || { echo "hearing-ddr: $gguf is missing (bague pull smollm2-135m-instruct-q4_1)"; exit 1; }
source ci/lib/mcu.sh hearing # prompt, n_ctx, bague, elf; fw_build, host_ids
fw_build "$gguf" BAGUE_HEARING_DDR_ADDR=$addr
args=arg=fw
[[ ${HEARING_DDR_AUDIO:-0} == 1 ]] || args=$args,arg=noaudio
log=$(mktemp)
rc=0
qemu-system-arm -machine mps3-an547 -cpu cortex-m55 -nographic -icount shift=0 \
    -semihosting-config enable=on,target=native,$args \
    -device loader,file="$gguf",addr=$addr -kernel "$elf" | tee "$log" || rc=$?
want=$(host_ids "$gguf")
got=$(sed -n 's/^output_ids: //p' "$log")
rm -f "$log"
if [[ $rc -ne 0 ]]; then
    echo "hearing-ddr: FAILED (exit $rc)"; exit 1
elif [[ "$got" != "$want" ]]; then
    echo "hearing-ddr: FAILED: ids differ"; echo " host:    $want"; echo " hearing: $got"; exit 1
fi
echo "hearing-ddr: same 32 ids as the host"
