#!/usr/bin/env bash
# The C ABI for phones: `bague-capi` built as a staticlib (libbague_capi.a, shipped as
# libbague.a) for Android (aarch64-linux-android) and iOS (aarch64-apple-ios).
#
# A staticlib is an archive of object files: it needs neither the Android NDK nor Apple's
# linker, which cannot be had here; the app's own build links it. So this checks that the
# whole C ABI, the core, the kernels (NEON) and the phone board (sysfs topology and pinning
# on Android, sysctl on iOS) compile for both, and that the archive exports the C entry
# points. Installs its Rust targets itself. Usage: bash ci/mobile.sh
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-target}
targets=(aarch64-linux-android aarch64-apple-ios)
rustup target add "${targets[@]}"

for t in "${targets[@]}"; do
    echo "--- bague-capi staticlib for $t"
    # Only the staticlib: the crate's cdylib would need the platform's linker.
    cargo rustc -p bague-capi --lib --target "$t" --crate-type staticlib
    lib=$CARGO_TARGET_DIR/$t/debug/libbague_capi.a
    ls -l "$lib"
    for sym in bague_model_open_path bague_model_open_fd bague_session_new bague_generate bague_cancel; do
        if ! grep -a -q "$sym" "$lib"; then
            echo "ci/mobile.sh: $lib does not contain $sym" >&2
            exit 1
        fi
    done
    # The phone board is in it (its code paths differ per OS).
    if ! grep -a -q bague_board_phone "$lib"; then
        echo "ci/mobile.sh: $lib does not contain the phone board" >&2
        exit 1
    fi
done
echo "ci/mobile.sh: Android and iOS staticlibs built"
