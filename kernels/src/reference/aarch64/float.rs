//! ggml's aarch64 float operations (NEON without FP16 vector arithmetic, i.e. the
//! `armv8-a` and `armv8.2-a+dotprod` builds):
//!
//! - softmax (`ggml_vec_soft_max_f32`): `ggml_v_expf` (the same lane function as x86, see
//!   `reference::expf`) over groups of 4, each group's sum `vaddvq_f32` added in f64, libm
//!   `expf` for the rest;
//! - SwiGLU (`ggml_vec_swiglu_f32`): `ggml_v_silu` over groups of 4, libm for the rest;
//! - `ggml_vec_dot_f16`: over whole groups of 16, four 4-lane FMA accumulators (element `i`
//!   into accumulator `(i / 4) % 4`, lane `i % 4`), reduced `(a0 + a2) + (a1 + a3)` then
//!   `vaddvq_f32`, in f64; the leftover products (rounded to f32) added in f64;
//! - tinyBLAS f16 × f32 (`tinyBLAS<4, float32x4_t, float32x4_t, ggml_fp16_t, float, float>`,
//!   what `ggml_mul_mat` of the f16 V cache by the f32 probabilities runs for several
//!   tokens): one 4-lane FMA accumulator (element `i` into lane `i % 4`), then `vaddvq_f32`.

use super::vaddv;
use crate::block::F16;
use crate::math::{expf, fma};
use crate::reference::expf::expf_ggml;

/// How many leading entries of a row of `n` live entries (masked up to `n_row`) the 4-lane
/// loop covers: `n` rounded up to 4, at most `n_row` rounded down to 4.
#[inline]
pub(crate) fn vec_len4(n: usize, n_row: usize) -> usize {
    n.next_multiple_of(4).min(n_row.max(n) & !3)
}

/// Softmax of `scale · x` over a row of `n_row` entries masked (`-inf`) past `x.len()`.
pub(crate) fn softmax_masked(x: &mut [f32], scale: f32, n_row: usize) {
    let n = x.len();
    let mut max = f32::NEG_INFINITY;
    for v in x.iter_mut() {
        *v *= scale;
        max = max.max(*v);
    }
    let nv = vec_len4(n, n_row);
    let mut sum = 0f64;
    let mut i = 0;
    while i < nv {
        let mut g = [0f32; 4];
        for (l, gl) in g.iter_mut().enumerate() {
            if i + l < n {
                *gl = expf_ggml(x[i + l] - max);
                x[i + l] = *gl;
            }
        }
        sum += vaddv(g) as f64;
        i += 4;
    }
    for v in x[nv.min(n)..].iter_mut() {
        *v = expf(*v - max);
        sum += *v as f64;
    }
    let inv = (1.0 / sum) as f32;
    for v in x.iter_mut() {
        *v *= inv;
    }
}

/// `out = silu(gate) * up`.
pub(crate) fn swiglu(gate: &[f32], up: &[f32], out: &mut [f32]) {
    let n = gate.len().min(up.len()).min(out.len());
    let nv = n & !3;
    for (i, ((o, &g), &u)) in out.iter_mut().zip(gate).zip(up).enumerate() {
        let s = if i < nv {
            g / (1.0 + expf_ggml(0.0 - g))
        } else {
            g / (1.0 + expf(-g))
        };
        *o = s * u;
    }
}

/// `Σ x·y` in the order of ggml's aarch64 `ggml_vec_dot_f16`.
pub(crate) fn vec_dot_f16(x: &[F16], y: &[F16]) -> f32 {
    let n = x.len().min(y.len());
    let np = n & !15;
    let mut acc = [[0f32; 4]; 4];
    for i in (0..np).step_by(16) {
        for (k, a) in acc.iter_mut().enumerate() {
            for (l, al) in a.iter_mut().enumerate() {
                let j = i + 4 * k + l;
                *al = fma(x[j].get(), y[j].get(), *al);
            }
        }
    }
    let r: [f32; 4] = core::array::from_fn(|l| (acc[0][l] + acc[2][l]) + (acc[1][l] + acc[3][l]));
    let mut sum = vaddv(r) as f64;
    for j in np..n {
        sum += (x[j].get() * y[j].get()) as f64;
    }
    sum as f32
}

/// `Σ w·x` (`w` f16, `x` f32) in tinyBLAS's aarch64 order.
pub(crate) fn tinyblas_f16_f32(w: &[F16], x: &[f32]) -> f32 {
    let n = w.len().min(x.len());
    let mut acc = [0f32; 4];
    for j in 0..n {
        acc[j % 4] = fma(w[j].get(), x[j], acc[j % 4]);
    }
    vaddv(acc)
}
