//! The AVX-512 back end: [`Avx512Vnni`], AVX-512 F/BW/VL with VNNI (`vpdpbusd`) on top of
//! AVX2 + FMA + F16C (Ice Lake, Sapphire Rapids, Zen 4 and later).
//!
//! **Bits**: every kernel returns exactly the bits of the AVX2 back end ([`Avx2Fma`]), which
//! are llama.cpp's x86 AVX2 bits. Only the integer parts of the dot products change
//! instruction (`vpdpbusd` instead of `maddubs` + `madd`, exact either way); the f32 terms
//! and the order they are added in are the AVX2 kernels' (tested bit for bit against the
//! AVX2 back end, `tests/avx512.rs`, and end to end by the model reference tests). So it is
//! the default where the CPU has it (no fidelity cost), and `BAGUE_KERNELS=avx2` still
//! selects the AVX2 kernels.
//!
//! What it accelerates: the batch (prefill) kernels of every path the AVX2 back end has
//! (tinyBLAS Q4_0/Q5_0/Q8_0, Q4_1, repacked Q4_0/Q4_K, tiled Q6_K: `vnni_gemm`) and the
//! one-token products of Q4_0, Q4_1, Q5_0, Q8_0, Q4_K and Q6_K (`vnni_dot`); everything
//! else (other formats, Q4_0's repacked decode order, the float operations) runs the AVX2
//! kernels.

use super::{Avx2Fma, Isa, vnni_dot, vnni_gemm};
use crate::block::*;

/// Proof that the CPU has AVX2, FMA, F16C and AVX-512 F, BW, VL and VNNI. Only
/// [`Avx512Vnni::detect`] makes one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Avx512Vnni {
    pub(super) avx2: Avx2Fma,
}

impl Avx512Vnni {
    /// `Some` if this CPU has AVX2, FMA, F16C and AVX-512 F/BW/VL/VNNI: checked at run time
    /// with `std`, from the compile-time target features without it.
    pub fn detect() -> Option<Self> {
        let avx2 = Avx2Fma::detect()?;
        #[cfg(feature = "std")]
        let ok = std::is_x86_feature_detected!("avx512f")
            && std::is_x86_feature_detected!("avx512bw")
            && std::is_x86_feature_detected!("avx512vl")
            && std::is_x86_feature_detected!("avx512vnni");
        #[cfg(not(feature = "std"))]
        let ok = cfg!(all(
            target_feature = "avx512f",
            target_feature = "avx512bw",
            target_feature = "avx512vl",
            target_feature = "avx512vnni"
        ));
        ok.then_some(Avx512Vnni { avx2 })
    }

    /// The AVX2 token this CPU also has.
    pub fn avx2(self) -> Avx2Fma {
        self.avx2
    }
}

/// Forward `Isa` methods to the AVX2 back end (same bits by definition).
macro_rules! via_avx2 {
    ($($m:ident($($arg:ident: $ty:ty),*) $(-> $ret:ty)?;)*) => {$(
        #[inline]
        fn $m(self, $($arg: $ty),*) $(-> $ret)? {
            self.avx2.$m($($arg),*)
        }
    )*};
}

/// Forward `Isa` methods to `#[target_feature]` kernels of this back end.
macro_rules! forward {
    ($($m:ident($($arg:ident: $ty:ty),*) $(-> $ret:ty)? => $f:path;)*) => {$(
        #[inline]
        fn $m(self, $($arg: $ty),*) $(-> $ret)? {
            // SAFETY: `self` exists only if the CPU has AVX2, FMA, F16C and AVX-512
            // F/BW/VL/VNNI (see `detect`), the kernel's target features.
            unsafe { $f($($arg),*) }
        }
    )*};
}

impl Isa for Avx512Vnni {
    fn name(self) -> &'static str {
        "avx512"
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
        vnni_gemm::gemm_bytes(
            self, wt, w, n_cols, rows, acts, n_tok, out, out_stride, batch,
        )
    }

    forward! {
        vec_dot_q4_0(w: &[BlockQ4_0], a: &[BlockQ8_0]) -> f32 => vnni_dot::vec_dot_q4_0;
        vec_dot_q4_1(w: &[BlockQ4_1], a: &[BlockQ8_1]) -> f32 => vnni_dot::vec_dot_q4_1;
        vec_dot_q5_0(w: &[BlockQ5_0], a: &[BlockQ8_0]) -> f32 => vnni_dot::vec_dot_q5_0;
        vec_dot_q8_0(w: &[BlockQ8_0], a: &[BlockQ8_0]) -> f32 => vnni_dot::vec_dot_q8_0;
        matvec_q4_0(w: &[BlockQ4_0], nb: usize, a: &[BlockQ8_0], out: &mut [f32]) => vnni_dot::matvec_q4_0;
        matvec_q4_1(w: &[BlockQ4_1], nb: usize, a: &[BlockQ8_1], out: &mut [f32]) => vnni_dot::matvec_q4_1;
        matvec_q5_0(w: &[BlockQ5_0], nb: usize, a: &[BlockQ8_0], out: &mut [f32]) => vnni_dot::matvec_q5_0;
        matvec_q8_0(w: &[BlockQ8_0], nb: usize, a: &[BlockQ8_0], out: &mut [f32]) => vnni_dot::matvec_q8_0;
        vec_dot_q4_k(w: &[BlockQ4K], a: &[BlockQ8K]) -> f32 => vnni_dot::vec_dot_q4_k;
        vec_dot_q6_k(w: &[BlockQ6K], a: &[BlockQ8K]) -> f32 => vnni_dot::vec_dot_q6_k;
        matvec_q4_k(w: &[BlockQ4K], nb: usize, a: &[BlockQ8K], out: &mut [f32]) => vnni_dot::matvec_q4_k;
        matvec_q6_k(w: &[BlockQ6K], nb: usize, a: &[BlockQ8K], out: &mut [f32]) => vnni_dot::matvec_q6_k;
        gemv8_q4_k(w: &[BlockQ4K], nb: usize, a: &[BlockQ8K], out: &mut [f32]) => vnni_dot::gemv8_q4_k;
    }

    via_avx2! {
        vec_dot_q5_1(w: &[BlockQ5_1], a: &[BlockQ8_1]) -> f32;
        vec_dot_iq4_nl(w: &[BlockIq4Nl], a: &[BlockQ8_0]) -> f32;
        vec_dot_q2_k(w: &[BlockQ2K], a: &[BlockQ8K]) -> f32;
        vec_dot_q3_k(w: &[BlockQ3K], a: &[BlockQ8K]) -> f32;
        vec_dot_q5_k(w: &[BlockQ5K], a: &[BlockQ8K]) -> f32;
        vec_dot_f32(w: &[F32], a: &[F32]) -> f32;
        vec_dot_f16(w: &[F16], a: &[F16]) -> f32;
        vec_dot_bf16(w: &[BF16], a: &[BF16]) -> f32;
        vec_dot_q4_0_x4(w: &[BlockQ4_0], a: [&[BlockQ8_0]; 4]) -> [f32; 4];
        vec_dot_q4_1_x4(w: &[BlockQ4_1], a: [&[BlockQ8_1]; 4]) -> [f32; 4];
        vec_dot_q5_0_x4(w: &[BlockQ5_0], a: [&[BlockQ8_0]; 4]) -> [f32; 4];
        vec_dot_q8_0_x4(w: &[BlockQ8_0], a: [&[BlockQ8_0]; 4]) -> [f32; 4];
        vec_dot_q4_k_x4(w: &[BlockQ4K], a: [&[BlockQ8K]; 4]) -> [f32; 4];
        vec_dot_q6_k_x4(w: &[BlockQ6K], a: [&[BlockQ8K]; 4]) -> [f32; 4];
        gemv8_q4_0(w: &[BlockQ4_0], nb: usize, a: &[BlockQ8_0], out: &mut [f32]);
        quantize_q8_0(x: &[f32], out: &mut [BlockQ8_0]);
        quantize_q8_1(x: &[f32], out: &mut [BlockQ8_1]);
        quantize_q8_k(x: &[f32], out: &mut [BlockQ8K]);
        f32_to_f16(x: &[f32], out: &mut [F16]);
        f16_to_f32(x: &[F16], out: &mut [f32]);
        vec_dot_f16_tinyblas(w: &[F16], a: &[F16]) -> f32;
        softmax_masked(x: &mut [f32], scale: f32, n_row: usize);
        swiglu(gate: &[f32], up: &[f32], out: &mut [f32]);
        rms_norm(x: &[f32], weight: &[F32], eps: f32, out: &mut [f32]);
        add(x: &mut [f32], y: &[F32]);
        axpy(y: &mut [f32], a: f32, x: &[f32]);
        dequantize_q8_0(x: &[BlockQ8_0], out: &mut [f32]);
        weighted_sum_q8_0(y: &mut [f32], p: &[f32], rows: &[BlockQ8_0], stride: usize);
    }
}
