//! bague-kernels: GGUF block formats and the arithmetic over them (`no_std`).
//!
//! - [`block`]: the ggml block structs (byte-identical, alignment 1), scalar dequantizers,
//!   reference dot products, and quantizers (activation quantizers byte-identical to ggml's
//!   x86 CPU backend; `_ref` weight quantizers for test models).
//! - [`arch`]: instruction-set back ends ([`arch::Scalar`], `arch::x86_64::Avx2Fma`,
//!   `arch::x86_64::Avx512Vnni`, …).
//! - [`Kernels`]: the table chosen once (at model load) and passed by reference, and the
//!   only door to every kernel: quantized `vec_dot` / `matvec` / `matmul`, activation
//!   quantizers, and the float operations of the forward pass (softmax, SwiGLU, f16 dot
//!   products in ggml's two attention orders, RMS norm, add, axpy, f32 ⇄ f16 and Q8_0 rows).
//!   Every entry point checks its lengths and returns [`KernelError`] instead of panicking.
//! - `reference` (private): the scalar references of those float operations, in ggml's x86
//!   AVX2 order; they are the defaults of [`arch::Isa`], and every SIMD back end returns
//!   their bits exactly.
//!
//! Where each numeric choice comes from is stated in the module docs (ggml file and function).
//!
//! # Formats and implementations
//!
//! | weights | activations (`vec_dot_type`) | scalar reference | AVX2+FMA+F16C | 4-token prefill kernel (AVX2) | weight quantizer |
//! |---|---|---|---|---|---|
//! | Q4_0 | Q8_0 | ✓ | ✓ | ✓ | `q4_0::quantize_row_q4_0` (ggml `_ref`) |
//! | Q4_1 | Q8_1 | ✓ | ✓ | (4 × single) | `q4_1::quantize_row_q4_1` (ggml `_ref`) |
//! | Q5_0 | Q8_0 | ✓ | ✓ | ✓ | `q5_0::quantize_row_q5_0` (ggml `_ref`) |
//! | Q5_1 | Q8_1 | ✓ | ✓ | (4 × single) | `q5_1::quantize_row_q5_1` (ggml `_ref`) |
//! | Q8_0 | Q8_0 | ✓ | ✓ | ✓ | `q8_0::quantize_row_q8_0_ref` (ggml `_ref`) |
//! | IQ4_NL | Q8_0 | ✓ | ✓ | (4 × single) | — |
//! | Q2_K, Q3_K, Q5_K | Q8_K | ✓ | ✓ | (4 × single) | — |
//! | Q4_K | Q8_K | ✓ | ✓ | ✓ | `q4_k::quantize_row_q4_k` (ggml `_ref`, no imatrix) |
//! | Q6_K | Q8_K | ✓ | ✓ | ✓ | `q6_k::quantize_row_q6_k` (ggml `_ref`, no imatrix) |
//! | F16 | F16 | ✓ (f64 sum) | ✓ (F16C + FMA) | (4 × single) | f32→f16 RNE |
//! | F32 | F32 | ✓ (f64 sum) | ✓ (FMA) | (4 × single) | — |
//! | BF16 | BF16 | ✓ (f64 sum) | scalar | (4 × single) | f32→bf16 RNE |
//!
//! F16 weights: `block::F16::vec_dot_ref` is ggml's generic f64 sum; every back end (the scalar
//! one included) runs `ggml_vec_dot_f16`'s x86 order, the kernel attention uses
//! ([`F16DotOrder::VecDot`]), so F16 `vec_dot`s agree across back ends bit for bit.
//!
//! Activation quantizers (`Kernels::quantize_activation`): Q8_0 and Q8_1 reproduce the bytes
//! of ggml's **x86 AVX2** CPU path (`id = 127 / amax`, round half to even; see
//! [`block::q8_0`]), Q8_K those of `quantize_row_q8_K_ref` (which ggml's x86 path calls), on
//! every back end and every target — SIMD and scalar give identical bytes (tested).
//! The NEON back end lives in `arch/aarch64`, against the same references.
//!
//! On Cortex-M (`arch/arm`, 32-bit Arm builds only), two back ends accelerate the formats
//! the MCU models use — Q4_0 · Q8_0, Q4_1 · Q8_1 and Q8_0 · Q8_0 — and return the scalar
//! reference's bits exactly (every other kernel is the reference): `dsp` (DSP extension,
//! `SXTB16`/`SMLAD`: Cortex-M4F, M7, M33) and `mve` (Helium, `VMLADAV`: Cortex-M55, M85).
//! There is no CPUID on an MCU: the build's target and `-C target-cpu` decide (see
//! `arch::arm`), and `kernels/mcu-test` checks them under qemu (`ci/mcu.sh`).
//!
//! # Which back end
//!
//! [`Kernels::detect`] takes the best back end the CPU has: on x86-64, AVX-512 (F/BW/VL +
//! VNNI, name `avx512`) when present, else AVX2 + FMA + F16C (`avx2`), else scalar. The
//! AVX-512 back end costs no fidelity: its kernels only form the exact integer parts with
//! wider instructions (`vpdpbusd`, `vpdpwssd`, mask registers) and keep the AVX2 kernels'
//! f32 terms and order, so every result has the AVX2 bits, which are llama.cpp's x86 AVX2
//! bits (tested bit for bit, `tests/avx512.rs`; end to end by the model reference tests).
//! `BAGUE_KERNELS=avx2` (or `scalar`, `avx512`) forces a back end. On a Cortex-M build
//! (no `std`), `detect` takes `mve`, else `dsp`, else scalar, as compiled for. The AVX-512 back end is
//! compiled by Rust 1.89 and later (its intrinsics' release; `build.rs` sets
//! `cfg(bague_avx512)`); an older compiler builds the crate without it.
//!
//! # Tolerances
//!
//! Integer parts (quant × activation products and their per-block / per-sub-block sums,
//! scale × sum products of k-quants, the `bsums` corrections) are exact in every back end.
//! Back ends differ only in the order of f32 additions (lanes, FMA), so a SIMD `vec_dot`
//! must satisfy `|simd − ref| ≤ 2·10⁻⁵ · mag`, where `mag` is the sum of the absolute
//! values of the terms (`Σ|wᵢ·aᵢ|` over dequantized values, scale and min parts counted
//! separately; `tests/common/mod.rs`). When the reference is not finite (NaN / Inf scales),
//! the SIMD result is not finite either (NaN and Inf propagate as in ggml; nothing panics).
//! Within one back end, `vec_dot`, `matvec` and `matmul` (any row range, any token group)
//! return the same bits for the same row and activation.
//!
//! Preconditions the SIMD sign trick shares with ggml: activation quants (and Q8_0 weight
//! quants) in `-127..=127` — what every quantizer produces; `-128` may saturate (wrong
//! value, never UB). Q8_K `bsums` must be the sums of the quants (the quantizer's output).
//!
//! The float operations of the forward pass have no tolerance: every back end returns the
//! bits of the scalar reference (tested on random and edge inputs, `tests/float_ops.rs`).
#![cfg_attr(not(feature = "std"), no_std)]

pub mod arch;
pub mod block;
mod dispatch;
mod error;
pub(crate) mod math;
mod reference;
mod types;

pub use dispatch::{F16DotOrder, GgmlOrder, Kernels, MatvecOrder, UnknownKernels};
pub use error::KernelError;
pub use types::GgmlType;
