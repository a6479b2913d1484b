//! Dev-only oracle: ggml's own kernels (and llama.cpp's model API) through `llama-cpp-sys-2`,
//! for differential tests (our kernels vs ggml) and benchmarks (our runtime vs llama.cpp).
//!
//! Never a dependency of the runtime: it links a full llama.cpp (C/C++, built by CMake).
//!
//! # How llama.cpp is built
//!
//! `llama-cpp-sys-2` 0.1.161 with `default-features = false` (no `common`, no OpenMP, no GPU),
//! static libraries, gcc. CMake build type: `RelWithDebInfo` (`-O2 -g`) whenever the cargo
//! profile has debug info — our release profile has `line-tables-only`, so that is the case —
//! else `Release` (`-O3`, what the reference used); `LLAMA_LIB_PROFILE` overrides it. The
//! build script sets `GGML_NATIVE=OFF` unless rustc has `target-cpu=native`; with it OFF,
//! ggml's CMake turns on its default x86 instruction sets: SSE4.2, AVX, AVX2, BMI2, FMA, F16C,
//! and *not* AVX-512. That is the instruction set of the reference build (`-march=native` on
//! an AVX2 EPYC), so the oracle's SIMD paths are the ones that made `testdata/reference`, even
//! on AVX-512 hosts (the test `ggml_sanity` asserts it; the test `llama_reference` finds
//! tokens, greedy outputs and top-20 logits identical to the reference).
//! Any `GGML_*` environment variable is forwarded to CMake by the build script (e.g.
//! `GGML_AVX512=ON`); the defaults need none. [`cpu_features`] reports what was compiled in.
//!
//! llama-cpp-sys-2's build-script hash depends on the features of build-time crates, so
//! `cargo build`, `cargo test --release` and `cargo test --workspace` may each build llama.cpp
//! anew (~15 min on 2 cores): `ci/oracle.sh` uses one configuration and ccache.
//!
//! # API
//!
//! Kernels, by ggml type number (`u32`): [`dequantize_row`] (`to_float`), [`quantize_row_ref`]
//! (`from_float_ref`), [`quantize_row_cpu`] (the CPU backend's `from_float`, used for
//! activations), [`quantize_chunk`], [`vec_dot`] / [`matvec`] (CPU `vec_dot`, one thread),
//! [`vec_dot_type`], [`block_layout`], [`type_name`], [`cpu_features`]. Model API: [`llama`].

pub mod bench;
mod error;
pub mod llama;
mod quant;

pub use error::{Error, Result};
pub use quant::{
    block_layout, cpu_features, dequantize_row, matvec, quantize_chunk, quantize_row_cpu,
    quantize_row_ref, type_name, vec_dot, vec_dot_type,
};
