//! C ABI of the bague runtime: `libbague.a` / `libbague.so` and `include/bague.h`
//! (generated from this crate by cbindgen; `ci/capi.sh` checks it is current).
//!
//! # Conventions (repeated in the header)
//!
//! * **Handles** are opaque: `bague_model` (read-only after opening, shared freely) and
//!   `bague_session` (one conversation). `*_free(NULL)` is a no-op; freeing twice is
//!   undefined. A session keeps its model's data alive, so the model may be freed first.
//! * **Status**: every function that can fail returns `bague_status`; `BAGUE_OK` is 0.
//!   `bague_last_error()` gives the message of the calling thread's last failure.
//! * **Arguments**: NULL where a pointer is required, a length past the address space, an
//!   option out of range → `BAGUE_ERR_INVALID_ARGUMENT`; text that is not UTF-8 →
//!   `BAGUE_ERR_INVALID_UTF8`. Text goes in as pointer + length; text coming out is
//!   pointer + length with a NUL after it.
//! * **Buffers**: the caller owns output buffers; a short one gives
//!   `BAGUE_ERR_BUFFER_TOO_SMALL` with the result's length written, nothing else; a text
//!   length never counts the NUL after the text (allocate one byte more).
//! * **Panics** never cross the boundary: each entry point catches them and returns
//!   `BAGUE_ERR_INTERNAL` (a bug; please report it).
//! * **Threads**: functions taking `const bague_model *` are thread-safe; a session is
//!   used by one thread at a time (a concurrent or re-entrant call is refused with
//!   INVALID_ARGUMENT); `bague_cancel` is callable from any thread at any time.
//! * **Memory**: `bague_model_plan_memory` gives every byte a session will allocate before it
//!   does; weights are mapped (or the caller's), never copied.
//!
//! # Symbols
//!
//! The shared library exports the `bague_*` functions and nothing else (Rust's cdylib
//! export list). The static library also holds Rust's own symbols (mangled `_ZN…` /
//! `_R…` names of std and the dependencies, which cannot clash with C code) and no
//! ggml / llama.cpp code, so it links beside llama.cpp or whisper.cpp.

#![allow(non_camel_case_types)]

mod args;
pub mod car;
mod errors;
pub mod generate;
pub mod model;
pub mod session;
pub mod status;
pub mod text;

pub use car::{
    bague_car_command, bague_car_options, bague_car_options_default, bague_car_outcome,
    bague_car_result, bague_car_watchdog_fn,
};
pub use generate::{
    bague_generate, bague_generate_chat, bague_generate_params, bague_generate_params_default,
    bague_generate_result, bague_piece_fn, bague_piece_kind, bague_stop_reason, bague_str,
    bague_token_fn,
};
pub use model::{
    bague_model, bague_model_free, bague_model_get_info, bague_model_info, bague_model_open_buffer,
    bague_model_open_fd, bague_model_open_path, bague_model_options, bague_model_options_default,
};
pub use session::{
    bague_backend, bague_cancel, bague_kv_type, bague_memory_plan, bague_model_plan_memory,
    bague_session, bague_session_free, bague_session_new, bague_session_options,
    bague_session_options_default, bague_session_reset,
};
pub use status::{bague_last_error, bague_status, bague_status_name};
pub use text::{bague_chat_prompt, bague_detokenize, bague_message, bague_role, bague_tokenize};

/// The library's version, `"MAJOR.MINOR.PATCH"`, as a static NUL-terminated string.
/// Thread-safe; never free it.
#[unsafe(no_mangle)]
pub extern "C" fn bague_version() -> *const std::ffi::c_char {
    const V: &str = concat!(env!("CARGO_PKG_VERSION"), "\0");
    V.as_ptr().cast()
}
