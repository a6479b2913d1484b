//! x86-64 back ends: AVX2 + FMA + F16C (Haswell and later, Zen and later), and AVX-512
//! F/BW/VL + VNNI on top of it ([`Avx512Vnni`], `avx512.rs`: the same bits).
//!
//! [`Avx2Fma`] is the capability token. Kernels live in one file per format family; each is
//! an `unsafe fn` with `#[target_feature(enable = "avx2,fma,f16c")]` whose only safety
//! condition is that the CPU has those features, which the token proves.
//!
//! Numerics: integer parts (quant × activation products, per-block / per-sub-block sums,
//! scale × sum products) are exact and equal the scalar reference; the f32 accumulation uses
//! FMA and 8 lanes, so the result differs from the reference only by f32 rounding of the
//! per-block terms (tests bound it; see `tests/common`).

// AVX-512: only with a compiler that has its intrinsics (Rust ≥ 1.89, see build.rs); the
// crate's MSRV is older, hence the lint allowance.
#[cfg(bague_avx512)]
#[allow(clippy::incompatible_msrv)]
mod avx512;
mod blocks32;
mod elementwise;
mod float;
mod gemm_q0;
mod gemm_q4_0r;
mod gemm_q4_k;
mod gemm_q6_k;
mod gemm_tile;
mod kquant;
mod q2_k;
mod q3_k;
mod q4;
mod q4_k;
mod q5;
mod q5_k;
mod q6_k;
mod q8;
mod util;
mod vexp;
#[cfg(bague_avx512)]
#[allow(clippy::incompatible_msrv)]
mod vnni_dot;
#[cfg(bague_avx512)]
#[allow(clippy::incompatible_msrv)]
mod vnni_gemm;

#[cfg(bague_avx512)]
pub use avx512::Avx512Vnni;

use super::Isa;
use crate::block::*;

/// Proof that the CPU supports AVX2, FMA and F16C. Only [`Avx2Fma::detect`] makes one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Avx2Fma {
    _private: (),
}

impl Avx2Fma {
    /// `Some` if this CPU has AVX2, FMA and F16C: checked at run time with `std`, from the
    /// compile-time target features without it.
    pub fn detect() -> Option<Self> {
        #[cfg(feature = "std")]
        let ok = std::is_x86_feature_detected!("avx2")
            && std::is_x86_feature_detected!("fma")
            && std::is_x86_feature_detected!("f16c");
        #[cfg(not(feature = "std"))]
        let ok = cfg!(all(
            target_feature = "avx2",
            target_feature = "fma",
            target_feature = "f16c"
        ));
        ok.then_some(Avx2Fma { _private: () })
    }
}

/// Forward each `Isa` method to its `#[target_feature]` kernel.
macro_rules! forward {
    ($($m:ident($($arg:ident: $ty:ty),*) $(-> $ret:ty)? => $f:path;)*) => {$(
        #[inline]
        fn $m(self, $($arg: $ty),*) $(-> $ret)? {
            // SAFETY: `self` exists only if the CPU has AVX2, FMA and F16C (see `detect`),
            // the only requirement of the `#[target_feature]` kernel.
            unsafe { $f($($arg),*) }
        }
    )*};
}

impl Isa for Avx2Fma {
    fn name(self) -> &'static str {
        "avx2"
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
        gemm_q0::gemm_bytes(
            self, wt, w, n_cols, rows, acts, n_tok, out, out_stride, batch,
        )
    }

    forward! {
        vec_dot_q4_0(w: &[BlockQ4_0], a: &[BlockQ8_0]) -> f32 => q4::vec_dot_q4_0;
        vec_dot_q4_1(w: &[BlockQ4_1], a: &[BlockQ8_1]) -> f32 => q4::vec_dot_q4_1;
        vec_dot_iq4_nl(w: &[BlockIq4Nl], a: &[BlockQ8_0]) -> f32 => q4::vec_dot_iq4_nl;
        vec_dot_q5_0(w: &[BlockQ5_0], a: &[BlockQ8_0]) -> f32 => q5::vec_dot_q5_0;
        vec_dot_q5_1(w: &[BlockQ5_1], a: &[BlockQ8_1]) -> f32 => q5::vec_dot_q5_1;
        vec_dot_q8_0(w: &[BlockQ8_0], a: &[BlockQ8_0]) -> f32 => q8::vec_dot_q8_0;
        vec_dot_q2_k(w: &[BlockQ2K], a: &[BlockQ8K]) -> f32 => q2_k::vec_dot_q2_k;
        vec_dot_q3_k(w: &[BlockQ3K], a: &[BlockQ8K]) -> f32 => q3_k::vec_dot_q3_k;
        vec_dot_q4_k(w: &[BlockQ4K], a: &[BlockQ8K]) -> f32 => q4_k::vec_dot_q4_k;
        vec_dot_q5_k(w: &[BlockQ5K], a: &[BlockQ8K]) -> f32 => q5_k::vec_dot_q5_k;
        vec_dot_q6_k(w: &[BlockQ6K], a: &[BlockQ8K]) -> f32 => q6_k::vec_dot_q6_k;
        vec_dot_q4_0_x4(w: &[BlockQ4_0], a: [&[BlockQ8_0]; 4]) -> [f32; 4] => q4::vec_dot_q4_0_x4;
        vec_dot_q5_0_x4(w: &[BlockQ5_0], a: [&[BlockQ8_0]; 4]) -> [f32; 4] => q5::vec_dot_q5_0_x4;
        vec_dot_q8_0_x4(w: &[BlockQ8_0], a: [&[BlockQ8_0]; 4]) -> [f32; 4] => q8::vec_dot_q8_0_x4;
        vec_dot_q4_k_x4(w: &[BlockQ4K], a: [&[BlockQ8K]; 4]) -> [f32; 4] => q4_k::vec_dot_q4_k_x4;
        vec_dot_q6_k_x4(w: &[BlockQ6K], a: [&[BlockQ8K]; 4]) -> [f32; 4] => q6_k::vec_dot_q6_k_x4;
        matvec_q4_0(w: &[BlockQ4_0], nb: usize, a: &[BlockQ8_0], out: &mut [f32]) => q4::matvec_q4_0;
        matvec_q4_1(w: &[BlockQ4_1], nb: usize, a: &[BlockQ8_1], out: &mut [f32]) => q4::matvec_q4_1;
        matvec_q5_0(w: &[BlockQ5_0], nb: usize, a: &[BlockQ8_0], out: &mut [f32]) => q5::matvec_q5_0;
        matvec_q8_0(w: &[BlockQ8_0], nb: usize, a: &[BlockQ8_0], out: &mut [f32]) => q8::matvec_q8_0;
        matvec_q4_k(w: &[BlockQ4K], nb: usize, a: &[BlockQ8K], out: &mut [f32]) => q4_k::matvec_q4_k;
        matvec_q6_k(w: &[BlockQ6K], nb: usize, a: &[BlockQ8K], out: &mut [f32]) => q6_k::matvec_q6_k;
        gemv8_q4_0(w: &[BlockQ4_0], nb: usize, a: &[BlockQ8_0], out: &mut [f32]) => q4::gemv8_q4_0;
        gemv8_q4_k(w: &[BlockQ4K], nb: usize, a: &[BlockQ8K], out: &mut [f32]) => q4_k::gemv8_q4_k;
        vec_dot_f32(w: &[F32], a: &[F32]) -> f32 => float::vec_dot_f32;
        vec_dot_f16(w: &[F16], a: &[F16]) -> f32 => float::vec_dot_f16;
        quantize_q8_0(x: &[f32], out: &mut [BlockQ8_0]) => q8::quantize_q8_0;
        quantize_q8_1(x: &[f32], out: &mut [BlockQ8_1]) => q8::quantize_q8_1;
        f32_to_f16(x: &[f32], out: &mut [F16]) => float::f32_to_f16;
        f16_to_f32(x: &[F16], out: &mut [f32]) => float::f16_to_f32;
        vec_dot_f16_tinyblas(w: &[F16], a: &[F16]) -> f32 => float::vec_dot_f16_tinyblas;
        softmax_masked(x: &mut [f32], scale: f32, n_row: usize) => vexp::softmax_masked;
        swiglu(gate: &[f32], up: &[f32], out: &mut [f32]) => vexp::swiglu;
        rms_norm(x: &[f32], weight: &[F32], eps: f32, out: &mut [f32]) => elementwise::rms_norm;
        add(x: &mut [f32], y: &[F32]) => elementwise::add;
        axpy(y: &mut [f32], a: f32, x: &[f32]) => elementwise::axpy;
        dequantize_q8_0(x: &[BlockQ8_0], out: &mut [f32]) => elementwise::dequantize_q8_0;
        weighted_sum_q8_0(y: &mut [f32], p: &[f32], rows: &[BlockQ8_0], stride: usize) => elementwise::weighted_sum_q8_0;
    }
}
