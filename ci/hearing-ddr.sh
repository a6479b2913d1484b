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
root=$PWD
host_target=${CARGO_TARGET_DIR:-$root/target}
fw_target=${HEARING_TARGET_DIR:-$host_target/hearing}
prompt=${HEARING_PROMPT:-Once upon a time}
n_ctx=256
addr=0x70100000
gguf=${HEARING_DDR_MODEL:-${BAGUE_HOME:-$HOME/.cache/bague}/models/smollm2-135m-instruct-q4_1.gguf}
[[ -f $gguf ]] || { echo "hearing-ddr: $gguf is missing (bague pull smollm2-135m-instruct-q4_1)"; exit 1; }
cargo build --release -p bague-cli
bague=$host_target/release/bague
(cd boards/hearing && BAGUE_HEARING_MODEL=$gguf BAGUE_HEARING_DDR_ADDR=$addr \
    BAGUE_HEARING_PROMPT=$prompt BAGUE_HEARING_CTX=$n_ctx CARGO_TARGET_DIR=$fw_target \
    cargo build --release)
elf=$fw_target/thumbv8m.main-none-eabihf/release/bague-board-hearing
args=arg=fw
[[ ${HEARING_DDR_AUDIO:-0} == 1 ]] || args=$args,arg=noaudio
log=$(mktemp)
rc=0
qemu-system-arm -machine mps3-an547 -cpu cortex-m55 -nographic -icount shift=0 \
    -semihosting-config enable=on,target=native,$args \
    -device loader,file="$gguf",addr=$addr -kernel "$elf" | tee "$log" || rc=$?
want=$("$bague" run -m "$gguf" -p "$prompt" --temp 0 -n 32 --ctx $n_ctx --json 2>/dev/null |
    python3 -c 'import json,sys; print(" ".join(map(str, json.load(sys.stdin)["output_ids"])))')
got=$(sed -n 's/^output_ids: //p' "$log")
rm -f "$log"
if [[ $rc -ne 0 ]]; then
    echo "hearing-ddr: FAILED (exit $rc)"; exit 1
elif [[ "$got" != "$want" ]]; then
    echo "hearing-ddr: FAILED: ids differ"; echo " host:    $want"; echo " hearing: $got"; exit 1
fi
echo "hearing-ddr: same 32 ids as the host"
