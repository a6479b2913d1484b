# What the firmware scripts (ci/ring.sh, ci/hearing.sh, ci/hearing-ddr.sh) share; sourced
# from the repository root as `source ci/lib/mcu.sh BOARD` (ring, hearing). Builds the host
# CLI (the reference for the ids) and sets:
#   root         the repository root
#   host_target  $CARGO_TARGET_DIR, else $root/target
#   fw_target    the firmware's target dir: $RING_TARGET_DIR / $HEARING_TARGET_DIR, else
#                $host_target/BOARD (its own: the firmware's flags differ from the host's)
#   prompt       $RING_PROMPT / $HEARING_PROMPT, else "Once upon a time"
#   n_ctx        the context length the firmware and the host run with (256)
#   bague        the host CLI
#   elf          the firmware boards/BOARD builds
# and defines fw_build and host_ids (below).
board=$1
BOARD=${board^^}
root=$PWD
host_target=${CARGO_TARGET_DIR:-$root/target}
fw_target_var=${BOARD}_TARGET_DIR
prompt_var=${BOARD}_PROMPT
fw_target=${!fw_target_var:-$host_target/$board}
prompt=${!prompt_var:-Once upon a time}
n_ctx=256
cargo build --release -p bague-cli
bague=$host_target/release/bague
elf=$fw_target/thumbv8m.main-none-eabihf/release/bague-board-$board

# fw_build GGUF [VAR=VALUE...]: builds boards/$board with GGUF, $prompt and $n_ctx compiled
# in (BAGUE_<BOARD>_MODEL, _PROMPT, _CTX; see the board's build.rs), and the extra
# variables given.
fw_build() {
    (cd "boards/$board" && env "BAGUE_${BOARD}_MODEL=$1" "BAGUE_${BOARD}_PROMPT=$prompt" \
        "BAGUE_${BOARD}_CTX=$n_ctx" "${@:2}" CARGO_TARGET_DIR="$fw_target" cargo build --release)
}

# host_ids GGUF: the host's 32 greedy ids (`bague run --temp 0`) for $prompt, space-separated
# as the firmware prints them after `output_ids: `.
host_ids() {
    "$bague" run -m "$1" -p "$prompt" --temp 0 -n 32 --ctx $n_ctx --json 2>/dev/null |
        python3 -c 'import json,sys; print(" ".join(map(str, json.load(sys.stdin)["output_ids"])))'
}
