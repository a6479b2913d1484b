//! AArch64 back end: NEON (every AArch64 core) and NEON + dotprod (`sdot`, Armv8.2+ cores
//! such as Cortex-A55/A76 and later, Apple M1 and later).
//!
//! Two capability tokens: [`Neon`] and [`NeonDot`]. Kernels live in one file per format
//! family and are generic over the signed-byte dot product (`util::DotI8`): `Mull` (widening
//! multiplies, baseline) or `Sdot` (dotprod, emitted with `asm!` since `vdotq_s32` is not yet
//! stable Rust). Each `Isa` method calls the kernel through a `#[target_feature]` wrapper whose
//! only safety condition, the CPU features, is proven by the token. Only little-endian targets
//! get the tokens (block fields are read as little-endian lanes).
//!
//! Numerics: integer parts (quant × activation products, per-block and per-sub-block sums,
//! scale × sum products) are exact, for any block bytes; the f32 terms are computed with the
//! reference's expression and added block after block in the reference's order, with no
//! fused multiply-add, so quantized dot products equal the scalar reference **bit for bit**.
//! The float operations of the forward pass (softmax with ggml's x86 vector `exp`, SwiGLU,
//! both f16 dot orders) follow the references' x86 order lane for lane, with `fmla` where x86
//! fuses, and equal them bit for bit; RMS norm, add, axpy and Q8_0 dequantization are the
//! references themselves (NEON is the AArch64 baseline, so the compiler already vectorizes
//! them). F32 dot products accumulate f64 lanes in another order (last-bit differences at
//! most). Activation quantizers and f16 conversions produce the scalar bytes exactly.

mod float;
mod kquant;
mod order32;
mod q2_k;
mod q3_k;
mod q4;
mod q4_k;
mod q5;
mod q5_k;
mod q6_k;
mod q8;
mod q8_k;
mod repack;
mod util;
mod vexp;

use super::Isa;
use crate::block::*;
use util::{Mull, Sdot};

/// Proof that the CPU supports NEON (Advanced SIMD). Only [`Neon::detect`] makes one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Neon {
    _private: (),
}

impl Neon {
    /// `Some` on a little-endian AArch64 CPU with NEON (all of them in practice): checked at
    /// run time with `std`, from the compile-time target features without it.
    pub fn detect() -> Option<Self> {
        #[cfg(feature = "std")]
        let ok = std::arch::is_aarch64_feature_detected!("neon");
        #[cfg(not(feature = "std"))]
        let ok = cfg!(target_feature = "neon");
        (ok && cfg!(target_endian = "little")).then_some(Neon { _private: () })
    }
}

/// Proof that the CPU supports NEON and the dotprod extension (`sdot`). Only
/// [`NeonDot::detect`] makes one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NeonDot {
    neon: Neon,
}

impl NeonDot {
    /// `Some` if [`Neon::detect`] succeeds and the CPU has dotprod: checked at run time with
    /// `std` (so a binary built for plain Armv8.0 uses `sdot` where it exists), from the
    /// compile-time target features (`-C target-feature=+dotprod`) without it.
    pub fn detect() -> Option<Self> {
        let neon = Neon::detect()?;
        #[cfg(feature = "std")]
        let ok = std::arch::is_aarch64_feature_detected!("dotprod");
        #[cfg(not(feature = "std"))]
        let ok = cfg!(target_feature = "dotprod");
        ok.then_some(NeonDot { neon })
    }

    /// The baseline NEON token (every dotprod CPU has NEON).
    pub fn neon(self) -> Neon {
        self.neon
    }
}

/// Forward quantized dot products to the generic kernels, instantiated with the dot product
/// `$D` inside a wrapper that enables `$feat`.
macro_rules! forward_dot {
    ($feat:tt, $D:ty; $($m:ident($w:ty, $a:ty) => $module:ident::$f:ident;)*) => {$(
        #[inline]
        fn $m(self, w: &[$w], a: &[$a]) -> f32 {
            #[target_feature(enable = $feat)]
            fn imp(w: &[$w], a: &[$a]) -> f32 {
                // SAFETY: this function's target features are those `$D` needs.
                let [r] = unsafe { $module::$f::<$D, 1>(w, [a]) };
                r
            }
            // SAFETY: `self` exists only if the CPU has the features of `imp` (see `detect`).
            unsafe { imp(w, a) }
        }
    )*};
}

/// As `forward_dot`, for the four-row (prefill) methods.
macro_rules! forward_dot_x4 {
    ($feat:tt, $D:ty; $($m:ident($w:ty, $a:ty) => $module:ident::$f:ident;)*) => {$(
        #[inline]
        fn $m(self, w: &[$w], a: [&[$a]; 4]) -> [f32; 4] {
            #[target_feature(enable = $feat)]
            fn imp(w: &[$w], a: [&[$a]; 4]) -> [f32; 4] {
                // SAFETY: this function's target features are those `$D` needs.
                unsafe { $module::$f::<$D, 4>(w, a) }
            }
            // SAFETY: `self` exists only if the CPU has the features of `imp` (see `detect`).
            unsafe { imp(w, a) }
        }
    )*};
}

/// Forward to NEON kernels that do not depend on the dot product flavour.
macro_rules! forward {
    ($($m:ident($($arg:ident: $ty:ty),*) $(-> $ret:ty)? => $f:path;)*) => {$(
        #[inline]
        fn $m(self, $($arg: $ty),*) $(-> $ret)? {
            // SAFETY: `self` exists only if the CPU has NEON (see `detect`), the only
            // requirement of the `#[target_feature]` kernel.
            unsafe { $f($($arg),*) }
        }
    )*};
}

/// The `Isa` methods of both tokens: the dot products with `$D` under `$feat`, the rest
/// shared.
macro_rules! neon_isa {
    ($token:ty, $name:literal, $feat:tt, $D:ty, $dotprod:literal) => {
        impl Isa for $token {
            fn name(self) -> &'static str {
                $name
            }

            fn ggml_order(self) -> crate::GgmlOrder {
                crate::GgmlOrder::Aarch64 { dotprod: $dotprod }
            }

            fn gemv(
                self,
                wt: crate::GgmlType,
                w: &[u8],
                wrow: usize,
                n_rows: usize,
                act: &[u8],
                out: &mut [f32],
            ) -> bool {
                #[target_feature(enable = $feat)]
                fn imp(
                    wt: crate::GgmlType,
                    w: &[u8],
                    wrow: usize,
                    n_rows: usize,
                    act: &[u8],
                    out: &mut [f32],
                ) -> bool {
                    // SAFETY: this function's target features are those `$D` needs.
                    unsafe { repack::gemv::<$D>(wt, w, wrow, n_rows, act, out) }
                }
                // SAFETY: `self` exists only if the CPU has the features of `imp`.
                $dotprod && unsafe { imp(wt, w, wrow, n_rows, act, out) }
            }

            fn gemm(
                self,
                wt: crate::GgmlType,
                w: &[u8],
                n_cols: usize,
                rows: core::ops::Range<usize>,
                acts: &[u8],
                n_tok: usize,
                out: &mut [f32],
                out_stride: usize,
                batch: usize,
            ) -> bool {
                // tokens grouped by 4 from the share's first (a multiple of 4 in the batch):
                // the batch's own gemm/gemv split (see `ScalarAarch64::gemm`)
                let _ = batch;
                #[allow(clippy::too_many_arguments)]
                #[target_feature(enable = $feat)]
                fn imp(
                    wt: crate::GgmlType,
                    w: &[u8],
                    wrow: usize,
                    rows: core::ops::Range<usize>,
                    acts: &[u8],
                    arow: usize,
                    n_tok: usize,
                    out: &mut [f32],
                    out_stride: usize,
                ) -> bool {
                    // SAFETY: this function's target features are those `$D` needs.
                    unsafe {
                        repack::gemm::<$D>(wt, w, wrow, rows, acts, arow, n_tok, out, out_stride)
                    }
                }
                let wrow = wt.row_bytes(n_cols as u64).unwrap_or(0) as usize;
                let at = crate::Kernels::vec_dot_type(wt);
                let arow = at.row_bytes(n_cols as u64).unwrap_or(0) as usize;
                if !$dotprod {
                    return false;
                }
                // SAFETY: `self` exists only if the CPU has the features of `imp`.
                unsafe { imp(wt, w, wrow, rows, acts, arow, n_tok, out, out_stride) }
            }

            forward_dot! { $feat, $D;
                vec_dot_q4_0(BlockQ4_0, BlockQ8_0) => q4::vec_dot_q4_0;
                vec_dot_q4_1(BlockQ4_1, BlockQ8_1) => q4::vec_dot_q4_1;
                vec_dot_iq4_nl(BlockIq4Nl, BlockQ8_0) => q4::vec_dot_iq4_nl;
                vec_dot_q5_0(BlockQ5_0, BlockQ8_0) => q5::vec_dot_q5_0;
                vec_dot_q5_1(BlockQ5_1, BlockQ8_1) => q5::vec_dot_q5_1;
                vec_dot_q8_0(BlockQ8_0, BlockQ8_0) => q8::vec_dot_q8_0;
                vec_dot_q2_k(BlockQ2K, BlockQ8K) => q2_k::vec_dot_q2_k;
                vec_dot_q3_k(BlockQ3K, BlockQ8K) => q3_k::vec_dot_q3_k;
                vec_dot_q4_k(BlockQ4K, BlockQ8K) => q4_k::vec_dot_q4_k;
                vec_dot_q5_k(BlockQ5K, BlockQ8K) => q5_k::vec_dot_q5_k;
                vec_dot_q6_k(BlockQ6K, BlockQ8K) => q6_k::vec_dot_q6_k;
            }

            forward_dot_x4! { $feat, $D;
                vec_dot_q4_0_x4(BlockQ4_0, BlockQ8_0) => q4::vec_dot_q4_0;
                vec_dot_q4_1_x4(BlockQ4_1, BlockQ8_1) => q4::vec_dot_q4_1;
                vec_dot_q5_0_x4(BlockQ5_0, BlockQ8_0) => q5::vec_dot_q5_0;
                vec_dot_q8_0_x4(BlockQ8_0, BlockQ8_0) => q8::vec_dot_q8_0;
                vec_dot_q4_k_x4(BlockQ4K, BlockQ8K) => q4_k::vec_dot_q4_k;
                vec_dot_q6_k_x4(BlockQ6K, BlockQ8K) => q6_k::vec_dot_q6_k;
            }

            forward! {
                vec_dot_f32(w: &[F32], a: &[F32]) -> f32 => float::vec_dot_f32;
                vec_dot_f16(w: &[F16], a: &[F16]) -> f32 => float::vec_dot_f16;
                quantize_q8_0(x: &[f32], out: &mut [BlockQ8_0]) => q8::quantize_q8_0;
                quantize_q8_1(x: &[f32], out: &mut [BlockQ8_1]) => q8::quantize_q8_1;
                quantize_q8_k(x: &[f32], out: &mut [BlockQ8K]) => q8_k::quantize_q8_k;
                f32_to_f16(x: &[f32], out: &mut [F16]) => float::f32_to_f16;
                f16_to_f32(x: &[F16], out: &mut [f32]) => float::f16_to_f32;
                vec_dot_f16_tinyblas(w: &[F16], a: &[F16]) -> f32 => float::vec_dot_f16_tinyblas;
                vec_dot_f16_f32_tinyblas(w: &[F16], x: &[f32]) -> f32 => float::vec_dot_f16_f32_tinyblas;
                softmax_masked(x: &mut [f32], scale: f32, n_row: usize) => vexp::softmax_masked;
                swiglu(gate: &[f32], up: &[f32], out: &mut [f32]) => vexp::swiglu;
            }
        }
    };
}

neon_isa!(Neon, "neon", "neon", Mull, false);
neon_isa!(NeonDot, "neon+dotprod", "neon,dotprod", Sdot, true);
