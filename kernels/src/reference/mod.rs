//! Scalar references of the float operations of the forward pass: plain safe Rust with the
//! numerics of ggml's **x86 AVX2** CPU backend (the build whose logits bague reproduces), the
//! in-crate oracle that every SIMD back end must equal bit for bit (`tests/float_ops.rs`).
//! They are the defaults of the [`crate::arch::Isa`] methods, reached only through
//! [`crate::Kernels`]. The quantized formats' references live with their blocks
//! (`block::*::vec_dot_ref`, `dequantize`).
//!
//! | file | operation | ggml source |
//! |---|---|---|
//! | `expf.rs` | one lane of the vector `exp` | `ggml_v_expf` (x86) |
//! | `softmax.rs` | softmax of a scaled row with a `-inf` tail | `soft_max_f32`, `ggml_vec_soft_max_f32` |
//! | `silu.rs` | SwiGLU `silu(gate) * up` | `ggml_vec_swiglu_f32`, `ggml_v_silu` |
//! | `norm.rs` | RMS norm times its weight | `rms_norm_f32` then `mul` |
//! | `f16_dot.rs` | f16·f16 dot, `ggml_vec_dot_f16` and tinyBLAS orders | `vec.cpp`, llamafile `sgemm.cpp` |
//! | `elementwise.rs` | `x += y`, `y += a * x` | `ggml_vec_add_f32`, `ggml_vec_mad_f32` |
//!
//! Length convention: these process the common prefix of their slices; `Kernels` checks the
//! lengths first and returns an error on a mismatch. Nothing here imports a back end (the
//! back ends import the constants they share with a reference).

pub(crate) mod aarch64;
pub(crate) mod elementwise;
pub(crate) mod expf;
pub(crate) mod f16_dot;
pub(crate) mod norm;
pub(crate) mod silu;
pub(crate) mod softmax;

/// `(l0 + l4 + l2 + l6) + (l1 + l5 + l3 + l7)` in ggml's pairing: the horizontal sum of an
/// 8-lane f32 vector (`_mm256_extractf128_ps` + `movehl` + `movehdup`, ggml's `hsum_float_8`).
#[inline(always)]
pub(crate) fn hsum8(a: &[f32; 8]) -> f32 {
    let r = [a[4] + a[0], a[5] + a[1], a[6] + a[2], a[7] + a[3]];
    (r[0] + r[2]) + (r[1] + r[3])
}
