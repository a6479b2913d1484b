//! f32 operations of the transformer block, with the numerics of ggml's CPU backend
//! (`ggml-cpu/ops.cpp`, `vec.h`, `vec.cpp`), scalar. Where we differ, it is said here.
//!
//! Length convention: element-wise functions process the common prefix of their slices
//! (debug builds assert equal lengths); nothing panics on a length mismatch.
//!
//! - [`rms_norm`]: sum of `x²` (each square in f32) accumulated in f64, `mean` rounded to
//!   f32, `scale = 1 / sqrtf(mean + eps)`, `y = x * scale` (ggml `rms_norm_f32`).
//!   [`rms_norm_mul`] is ggml's fused `rms_norm + mul`: `y = (x * scale) * w`, the same
//!   rounding as the two ops apart.
//! - RoPE ([`rope_norm`], [`rope_neox`]): ggml `rope_f32` without YaRN (`ext_factor = 0`,
//!   `attn_factor = 1`, no frequency factors): `theta_scale = powf(base, -2 / n_rot)`,
//!   `theta` starts at the position (as f32) and is multiplied by `theta_scale` per pair in
//!   f32; each pair uses `cosf(freq_scale * theta)`, `sinf(freq_scale * theta)`. Normal mode
//!   rotates adjacent pairs `(2i, 2i+1)`; NeoX pairs `(i, i + n_rot/2)`. Dimensions past
//!   `n_rot` are left unchanged.
//! - [`softmax`]: `max`, `y = expf(x - max)`, sum of `y` in f64, `y *= (f32)(1 / sum)`. ggml
//!   on x86 AVX2 evaluates `expf` with its own vector polynomial (`ggml_v_expf`, within a
//!   couple of ulp of libm); we call libm `expf`.
//! - [`silu`], [`swiglu`]: `x / (1 + expf(-x))` (ggml `ggml_silu_f32`); on AVX2 ggml uses a
//!   vector approximation (`ggml_v_silu`) — same caveat as softmax.

use crate::math::{cosf, expf, powf, sinf, sqrtf};

#[inline(always)]
fn debug_len(a: usize, b: usize) {
    debug_assert_eq!(a, b, "ops: slice lengths differ");
}

/// RMS norm: `out = x / sqrt(mean(x²) + eps)`. `x`, `out`: `[n]`.
/// Source: ggml `ggml_compute_forward_rms_norm_f32`.
pub fn rms_norm(x: &[f32], eps: f32, out: &mut [f32]) {
    debug_len(x.len(), out.len());
    let scale = rms_scale(x, eps);
    for (o, &v) in out.iter_mut().zip(x) {
        *o = v * scale;
    }
}

/// Fused RMS norm and weight: `out = (x * scale) * w`. `x`, `w`, `out`: `[n]`.
/// Source: ggml `rms_norm_f32` with `GGML_RMS_NORM_FUSE_OP_MUL`.
pub fn rms_norm_mul(x: &[f32], w: &[f32], eps: f32, out: &mut [f32]) {
    debug_len(x.len(), out.len());
    debug_len(x.len(), w.len());
    let scale = rms_scale(x, eps);
    for ((o, &v), &g) in out.iter_mut().zip(x).zip(w) {
        *o = v * scale * g;
    }
}

/// `1 / sqrtf(mean + eps)` with the sum of squares in f64.
fn rms_scale(x: &[f32], eps: f32) -> f32 {
    let mut sum = 0.0f64;
    for &v in x {
        sum += (v * v) as f64;
    }
    let mean = (sum / x.len() as f64) as f32;
    1.0 / sqrtf(mean + eps)
}

/// RoPE parameters (from the model file: `{arch}.rope.dimension_count`,
/// `.rope.freq_base`, `.rope.scaling.factor` → `freq_scale = 1 / factor`).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Rope {
    /// Rotated dimensions per head (even, ≤ head_dim).
    pub n_rot: usize,
    /// Base of the frequencies (10000 for Llama / R1-Distill-Qwen, 1e6 for Qwen2.5).
    pub freq_base: f32,
    /// Linear position scaling (1.0 = none).
    pub freq_scale: f32,
}

/// Apply `f(pair index, cos, sin)` for each of the `n_rot / 2` pairs at position `pos`.
#[inline(always)]
fn for_each_angle(pos: usize, p: &Rope, mut f: impl FnMut(usize, f32, f32)) {
    let n_rot = p.n_rot & !1;
    if n_rot == 0 {
        return;
    }
    let theta_scale = powf(p.freq_base, -2.0 / n_rot as f32);
    let mut theta = pos as f32;
    for i in 0..n_rot / 2 {
        let t = p.freq_scale * theta;
        f(i, cosf(t), sinf(t));
        theta *= theta_scale;
    }
}

/// RoPE, normal mode (Llama / SmolLM): rotate pairs `(2i, 2i+1)`, `i < n_rot / 2`, of every
/// head in `x` (`[n_head * head_dim]`, heads contiguous) by `pos * freq_scale * base^(-2i/n_rot)`.
/// A trailing partial head is left unchanged; `n_rot` is clamped to `head_dim`.
/// Source: ggml `rope_f32`, `GGML_ROPE_TYPE_NORMAL`.
pub fn rope_norm(x: &mut [f32], head_dim: usize, pos: usize, p: &Rope) {
    if head_dim == 0 {
        return;
    }
    let p = Rope {
        n_rot: p.n_rot.min(head_dim),
        ..*p
    };
    for_each_angle(pos, &p, |i, c, s| {
        for h in x.chunks_exact_mut(head_dim) {
            let (x0, x1) = (h[2 * i], h[2 * i + 1]);
            h[2 * i] = x0 * c - x1 * s;
            h[2 * i + 1] = x0 * s + x1 * c;
        }
    });
}

/// RoPE, NeoX mode (Qwen2 / R1-Distill-Qwen): rotate pairs `(i, i + n_rot/2)`; otherwise as
/// [`rope_norm`]. Source: ggml `rope_f32`, `GGML_ROPE_TYPE_NEOX`.
pub fn rope_neox(x: &mut [f32], head_dim: usize, pos: usize, p: &Rope) {
    if head_dim == 0 {
        return;
    }
    let p = Rope {
        n_rot: p.n_rot.min(head_dim),
        ..*p
    };
    let half = (p.n_rot & !1) / 2;
    for_each_angle(pos, &p, |i, c, s| {
        for h in x.chunks_exact_mut(head_dim) {
            let (x0, x1) = (h[i], h[i + half]);
            h[i] = x0 * c - x1 * s;
            h[i + half] = x0 * s + x1 * c;
        }
    });
}

/// Numerically stable softmax in place. `-inf` entries (masked) become 0; an all-`-inf`
/// row becomes NaN, as in ggml. Source: ggml `soft_max_f32`, `ggml_vec_soft_max_f32`.
pub fn softmax(x: &mut [f32]) {
    let mut max = f32::NEG_INFINITY;
    for &v in x.iter() {
        max = max.max(v);
    }
    let mut sum = 0.0f64;
    for v in x.iter_mut() {
        *v = expf(*v - max);
        sum += *v as f64;
    }
    let inv = (1.0 / sum) as f32;
    for v in x.iter_mut() {
        *v *= inv;
    }
}

/// SiLU in place: `x / (1 + expf(-x))`. Source: ggml `ggml_silu_f32`.
pub fn silu(x: &mut [f32]) {
    for v in x.iter_mut() {
        *v = silu1(*v);
    }
}

#[inline(always)]
fn silu1(v: f32) -> f32 {
    v / (1.0 + expf(-v))
}

/// SwiGLU: `out = silu(gate) * up`. All `[n]`. Source: ggml `ggml_vec_swiglu_f32`.
pub fn swiglu(gate: &[f32], up: &[f32], out: &mut [f32]) {
    debug_len(gate.len(), up.len());
    debug_len(gate.len(), out.len());
    for ((o, &g), &u) in out.iter_mut().zip(gate).zip(up) {
        *o = silu1(g) * u;
    }
}

/// `x += y` element-wise.
pub fn add(x: &mut [f32], y: &[f32]) {
    debug_len(x.len(), y.len());
    for (a, &b) in x.iter_mut().zip(y) {
        *a += b;
    }
}

/// `x *= y` element-wise.
pub fn mul(x: &mut [f32], y: &[f32]) {
    debug_len(x.len(), y.len());
    for (a, &b) in x.iter_mut().zip(y) {
        *a *= b;
    }
}

/// `x *= s`.
pub fn scale(x: &mut [f32], s: f32) {
    for a in x.iter_mut() {
        *a *= s;
    }
}

/// `y += a * x` (f32 multiply then add, no fused multiply-add; ggml `ggml_vec_mad_f32`'s
/// scalar form). Used to accumulate attention-weighted values.
pub fn axpy(y: &mut [f32], a: f32, x: &[f32]) {
    debug_len(x.len(), y.len());
    for (o, &v) in y.iter_mut().zip(x) {
        *o += v * a;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rms_norm_of_constant_row() {
        let x = [2.0f32; 8];
        let mut y = [0f32; 8];
        rms_norm(&x, 0.0, &mut y);
        assert_eq!(y, [1.0; 8]);
        rms_norm_mul(&x, &[3.0; 8], 0.0, &mut y);
        assert_eq!(y, [3.0; 8]);
    }

    #[test]
    fn rope_position_zero_is_identity_and_rotation_preserves_norm() {
        let p = Rope {
            n_rot: 8,
            freq_base: 10000.0,
            freq_scale: 1.0,
        };
        let x0: [f32; 16] = core::array::from_fn(|i| i as f32 - 7.5);
        let mut x = x0;
        rope_norm(&mut x, 8, 0, &p);
        assert_eq!(x, x0);
        rope_neox(&mut x, 8, 5, &p);
        // pair 0 of NeoX rotates (0, 4) by exactly 5 radians
        let (c, s) = (cosf(5.0), sinf(5.0));
        assert_eq!(x[0], x0[0] * c - x0[4] * s);
        let n0: f32 = x0.iter().map(|v| v * v).sum();
        let n1: f32 = x.iter().map(|v| v * v).sum();
        assert!((n0 - n1).abs() < 1e-3 * n0);
    }

    #[test]
    fn softmax_sums_to_one_and_masks() {
        let mut x = [1.0f32, 2.0, f32::NEG_INFINITY, 3.0];
        softmax(&mut x);
        assert_eq!(x[2], 0.0);
        assert!((x.iter().sum::<f32>() - 1.0).abs() < 1e-6);
        assert!(x[3] > x[1] && x[1] > x[0]);
    }

    #[test]
    fn swiglu_matches_silu_times_up() {
        let g = [-2.0f32, 0.0, 3.0];
        let u = [1.0f32, 5.0, 2.0];
        let mut o = [0f32; 3];
        swiglu(&g, &u, &mut o);
        let mut s = g;
        silu(&mut s);
        mul(&mut s, &u);
        assert_eq!(o, s);
        assert_eq!(o[1], 0.0);
    }
}
