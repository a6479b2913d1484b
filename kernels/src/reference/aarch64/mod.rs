//! Scalar models of ggml's **aarch64** CPU backend (llama.cpp built with
//! `GGML_CPU_ARM_ARCH=armv8.2-a+dotprod`, or plain `armv8-a`, by gcc 12), the orders that the
//! NEON back ends reproduce lane for lane and that [`crate::arch::ScalarAarch64`] runs on
//! any host (so the aarch64 arithmetic can be checked without an Arm CPU).
//!
//! | file | what | ggml source (`ggml-cpu/`) |
//! |---|---|---|
//! | `quant.rs` | Q8_0 / Q8_1 / Q8_K activation quantizers; `vec_dot` of Q4_0, Q4_1, Q5_0, Q8_0 | `arch/arm/quants.c`, `ggml-quants.c`, `repack.cpp` |
//! | `kquant.rs` | `vec_dot` of Q4_K, Q6_K | `arch/arm/quants.c` |
//! | `repack.rs` | repacked gemv / gemm of Q4_0 (4x4), Q8_0 (4x4), Q4_K (8x4), Q6_K (8x4) | `arch/arm/repack.cpp` |
//! | `float.rs` | softmax, SwiGLU, `ggml_vec_dot_f16`, tinyBLAS f16 × f32 | `vec.cpp`, `llamafile/sgemm.cpp` |
//!
//! Compiler facts these models encode (read from the objects gcc 12 makes at `-O3`, whose
//! default is `-ffp-contract=fast`): `vmlaq_f32`, `vmlaq_n_f32`, `vmlsq_f32` are a multiply
//! then an add (not fused); `vfmaq_f32` is fused; a scalar `s += a * b` becomes one fused
//! multiply-add, `a * b + c * d` becomes `fma(a, b, c * d)`, `s -= a * b` becomes
//! `fma(-a, b, s)`; `vaddvq_f32(v)` is `(v0 + v1) + (v2 + v3)`.
//!
//! The signed-byte dot products spread their 16 products over four i32 lanes differently
//! with and without the dotprod extension ([`Lanes`]), and the f32 accumulators of the
//! 32-element formats are per lane, so the two builds' sums differ in the last bits.

pub(crate) mod float;
pub(crate) mod kquant;
pub(crate) mod quant;
pub(crate) mod repack;

/// How `ggml_vdotq_s32` spreads the 16 byte products of one vector over four i32 lanes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Lanes {
    /// `sdot` (dotprod): lane `i` holds products `4i..4i + 4`.
    Sdot,
    /// ggml's fallback (`vmull_s8` of each half, `vpaddlq_s16`): lane `i` holds products
    /// `2i, 2i + 1, 8 + 2i, 8 + 2i + 1`.
    Mull,
}

impl Lanes {
    /// The lane of byte product `k` (0..16).
    #[inline(always)]
    pub(crate) fn of(self, k: usize) -> usize {
        match self {
            Lanes::Sdot => k / 4,
            Lanes::Mull => (k % 8) / 2,
        }
    }
}

/// `vaddvq_f32`: `(v0 + v1) + (v2 + v3)`.
#[inline(always)]
pub(crate) fn vaddv(v: [f32; 4]) -> f32 {
    (v[0] + v[1]) + (v[2] + v[3])
}
