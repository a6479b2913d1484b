//! The arithmetic of ggml's repacked aarch64 kernels, per output (weight row, token): what
//! llama.cpp runs on a dotprod CPU for the matrices it moves to its `CPU_REPACK` buffer
//! (`ggml_repack_get_optimal_repack_type`): Q4_0 and Q8_0 with a multiple of 4 rows (4x4
//! interleave), Q4_K and Q6_K with a multiple of 8 rows (8x4). The interleaving changes
//! where bytes live, not the sums, so these models take ordinary blocks. Every output is one
//! f32 chain over the row's blocks, starting at 0:
//!
//! - Q4_0 (gemv and gemm): `acc = fma(isum, d_w · d_a, acc)`.
//! - Q8_0 gemv: `acc = fma(isum, d_w · d_a, acc)`; gemm (groups of 4 tokens, `vmlaq_f32`):
//!   `acc = acc + (d_w · d_a) · isum`, not fused.
//! - Q4_K (gemv and gemm): per super-block, for each pair of sub-blocks `2s, 2s + 1`:
//!   `acc = fma(d_w · d_a, sc·dot + sc·dot, acc)`; then `acc = acc − Σmins · (dmin_w · d_a)`,
//!   not fused.
//! - Q6_K gemv: `acc = fma(isum, d_w · d_a, acc)` (the source's `vmulq_f32` + `vaddq_f32`,
//!   contracted by gcc to one `fmla`); gemm: `acc = acc + isum · (d_w · d_a)`, not fused
//!   (`fmul` + `fadd` in the objects of llama.cpp's dotprod build).
//!
//! A batch of tokens goes through gemm in groups of 4 from the first, the rest through gemv
//! (ggml-cpu `repack.cpp`, `forward_mul_mat`).

use super::kquant::{bsum32, q6_k_isum};
use crate::block::*;
use crate::math::fma;

fn isum32(w: &[i32; 32], a: &[i8; 32]) -> i32 {
    w.iter().zip(a).map(|(&w, &a)| w * a as i32).sum()
}

/// Q4_0 row · Q8_0 activations (gemv and gemm).
pub(crate) fn q4_0(w: &[BlockQ4_0], a: &[BlockQ8_0]) -> f32 {
    let mut acc = 0f32;
    for (x, y) in w.iter().zip(a) {
        let q = unpack_nibbles_32(&x.qs);
        let w: [i32; 32] = core::array::from_fn(|i| q[i] as i32 - 8);
        acc = fma(isum32(&w, &y.qs) as f32, x.d() * y.d(), acc);
    }
    acc
}

/// Q8_0 row · Q8_0 activations: `gemm` selects the 4-token kernel's unfused form.
pub(crate) fn q8_0(w: &[BlockQ8_0], a: &[BlockQ8_0], gemm: bool) -> f32 {
    let mut acc = 0f32;
    for (x, y) in w.iter().zip(a) {
        let w: [i32; 32] = core::array::from_fn(|i| x.qs[i] as i32);
        let s = isum32(&w, &y.qs) as f32;
        let d = x.d() * y.d();
        acc = if gemm { acc + d * s } else { fma(s, d, acc) };
    }
    acc
}

/// Q4_K row · Q8_K activations (gemv and gemm).
pub(crate) fn q4_k(w: &[BlockQ4K], a: &[BlockQ8K]) -> f32 {
    let mut acc = 0f32;
    for (x, y) in w.iter().zip(a) {
        let (sc, m) = crate::block::kquant::scales_mins_k4(&x.scales);
        let q = x.quants();
        let dot = |j: usize| -> i32 {
            (0..32)
                .map(|l| q[32 * j + l] as i32 * y.qs[32 * j + l] as i32)
                .sum()
        };
        let scale = x.d() * y.d();
        let mut mins = 0i32;
        for s in 0..4 {
            let (j0, j1) = (2 * s, 2 * s + 1);
            let isum = sc[j0] as i32 * dot(j0) + sc[j1] as i32 * dot(j1);
            acc = fma(scale, isum as f32, acc);
            mins += bsum32(y, j0) * m[j0] as i32 + bsum32(y, j1) * m[j1] as i32;
        }
        acc -= mins as f32 * (x.dmin() * y.d());
    }
    acc
}

/// Q6_K row · Q8_K activations: `gemm` selects the 4-token kernel's unfused form.
pub(crate) fn q6_k(w: &[BlockQ6K], a: &[BlockQ8K], gemm: bool) -> f32 {
    let mut acc = 0f32;
    for (x, y) in w.iter().zip(a) {
        let s = q6_k_isum(x, y) as f32;
        let d = x.d() * y.d();
        acc = if gemm { acc + s * d } else { fma(s, d, acc) };
    }
    acc
}
