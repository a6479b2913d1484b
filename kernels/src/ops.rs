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
//! - [`softmax`] / [`softmax_masked`]: `max`; `y = exp(x - max)` with ggml's x86 vector
//!   exponential ([`expf_ggml`], `ggml_v_expf`) over whole groups of 8, each group's sum
//!   reduced in f32 (`(l0+l4 + l2+l6) + (l1+l5 + l3+l7)`) then added in f64, the tail with
//!   libm `expf`; `y *= (f32)(1 / sum)` (ggml `soft_max_f32`, `ggml_vec_soft_max_f32`, AVX2).
//! - [`silu`], [`swiglu`]: `x / (1 + exp(0 - x))` with [`expf_ggml`] over whole groups of 8
//!   (ggml `ggml_v_silu`), libm `expf` for the tail (`ggml_silu_f32`); SwiGLU multiplies by
//!   `up` after (`ggml_vec_swiglu_f32`).
//! - [`dot_f16_ggml`], [`dot_f16_tinyblas`]: the two f16·f16 dot-product orders of ggml's
//!   attention on x86: `ggml_vec_dot_f16` (one token: 4 × 8 FMA lanes, reduced pairwise,
//!   leftovers in f64) and llamafile's tinyBLAS (several tokens: one 8-lane FMA accumulator,
//!   horizontal sum).
//!
//! These scalar functions are the references; [`VecOps`] runs them, or the AVX2 versions
//! (bit-identical, tested), with the instruction set chosen once.

use crate::block::F16;
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

/// Fused multiply-add with one rounding (exact, as the `vfmadd` instructions ggml uses).
#[inline(always)]
fn fma(a: f32, b: f32, c: f32) -> f32 {
    #[cfg(feature = "std")]
    {
        a.mul_add(b, c)
    }
    #[cfg(not(feature = "std"))]
    {
        libm::fmaf(a, b, c)
    }
}

/// Constants of ggml's vector `exp` (`ggml_v_expf`), as f32 bit patterns.
pub(crate) mod expc {
    /// `0x1.8p23`: adding it rounds to an integer.
    pub const R: f32 = f32::from_bits(0x4b40_0000);
    /// `log2(e)`.
    pub const LOG2E: f32 = f32::from_bits(0x3fb8_aa3b);
    /// `ln 2`, high part.
    pub const LN2_HI: f32 = f32::from_bits(0x3f31_7200);
    /// `ln 2`, low part.
    pub const LN2_LO: f32 = f32::from_bits(0x35bf_be8e);
    /// Polynomial coefficients, highest degree first.
    pub const C5: f32 = f32::from_bits(0x3c07_2010);
    /// Degree 4.
    pub const C4: f32 = f32::from_bits(0x3d2b_9f17);
    /// Degree 3.
    pub const C3: f32 = f32::from_bits(0x3e2a_af33);
    /// Degree 2.
    pub const C2: f32 = f32::from_bits(0x3eff_fedb);
    /// Degree 1.
    pub const C1: f32 = f32::from_bits(0x3f7f_fff6);
}

/// `exp(x)` exactly as one lane of ggml's AVX2 `ggml_v_expf` computes it (within ~1.5 ulp of
/// the true value; `-inf` gives 0, `+inf` gives `+inf`, overflow and underflow saturate as
/// ggml's). Source: ggml-cpu `vec.h` `ggml_v_expf` (the x86 build).
pub fn expf_ggml(x: f32) -> f32 {
    use expc::*;
    let z = fma(x, LOG2E, R);
    let n = z - R;
    let b = fma(-n, LN2_LO, fma(-n, LN2_HI, x));
    let e = z.to_bits() << 23;
    let k = f32::from_bits(e.wrapping_add(1.0f32.to_bits()));
    let u = b * b;
    let j = fma(fma(fma(C5, b, C4), u, fma(C3, b, C2)), u, C1 * b);
    // (NaN compares false here, as ggml's ordered compare.)
    let large = n.abs() > 126.0;
    if !large {
        return fma(j, k, k);
    }
    // Large |n|: scale in two steps so that 2^n does not overflow the exponent field.
    let g: u32 = if n <= 0.0 { 0x8200_0000 } else { 0 };
    let s1 = f32::from_bits(g.wrapping_add(0x7f00_0000));
    if n.abs() > 192.0 {
        return s1 * s1;
    }
    let s2 = f32::from_bits(e.wrapping_sub(g));
    fma(s2, j, s2) * s1
}

/// `(l0 + l4 + l2 + l6) + (l1 + l5 + l3 + l7)` in ggml's pairing: the horizontal sum of an
/// 8-lane f32 vector (`_mm256_extractf128_ps` + `movehl` + `movehdup`).
#[inline(always)]
pub(crate) fn hsum8(a: &[f32; 8]) -> f32 {
    let r = [a[4] + a[0], a[5] + a[1], a[6] + a[2], a[7] + a[3]];
    (r[0] + r[2]) + (r[1] + r[3])
}

/// Numerically stable softmax in place. `-inf` entries (masked) become 0; an all-`-inf`
/// row becomes NaN, as in ggml. Same as [`softmax_masked`] with `n_row = x.len()`.
/// Source: ggml `soft_max_f32`, `ggml_vec_soft_max_f32`.
pub fn softmax(x: &mut [f32]) {
    let n = x.len();
    softmax_masked(x, n);
}

/// ggml's softmax of a row of `n_row` entries whose entries at `x.len()..n_row` are masked
/// (`-inf`, so their probability is 0): writes the probabilities of the first `x.len()`.
/// The masked tail is never materialized, but it decides which entries ggml processes in
/// groups of 8 (`n_row` rounded down to 8) and which with libm `expf`, so the result equals
/// ggml's on the padded row bit for bit. `n_row < x.len()` is treated as `x.len()`.
/// Source: ggml `soft_max_f32` (llama.cpp pads the KV length to 256 with a `-inf` mask).
pub fn softmax_masked(x: &mut [f32], n_row: usize) {
    let mut max = f32::NEG_INFINITY;
    for &v in x.iter() {
        max = max.max(v);
    }
    let sum = exp_sum_ref(x, max, vec_len(x.len(), n_row));
    scale(x, (1.0 / sum) as f32);
}

/// How many leading entries of a row of `n` live entries (masked up to `n_row`) ggml's
/// vector loop covers: `n` rounded up to 8, at most `n_row` rounded down to 8.
#[inline]
pub(crate) fn vec_len(n: usize, n_row: usize) -> usize {
    n.next_multiple_of(8).min(n_row.max(n) & !7)
}

/// `x[i] = exp(x[i] - max)`, returns the sum in ggml's order: [`expf_ggml`] in groups of 8
/// for the first `nv` entries (entries past `x.len()` count as 0), libm `expf` after.
fn exp_sum_ref(x: &mut [f32], max: f32, nv: usize) -> f64 {
    let n = x.len();
    let mut sum = 0.0f64;
    let mut i = 0;
    while i < nv {
        let mut g = [0f32; 8];
        for (l, gl) in g.iter_mut().enumerate() {
            if i + l < n {
                *gl = expf_ggml(x[i + l] - max);
                x[i + l] = *gl;
            }
        }
        sum += hsum8(&g) as f64;
        i += 8;
    }
    for v in x[nv.min(n)..].iter_mut() {
        *v = expf(*v - max);
        sum += *v as f64;
    }
    sum
}

/// SiLU in place: `x / (1 + exp(0 - x))`, ggml's vector form in groups of 8 and libm
/// `expf` for the tail. Source: ggml `ggml_vec_silu_f32`, `ggml_v_silu`, `ggml_silu_f32`.
pub fn silu(x: &mut [f32]) {
    let nv = x.len() & !7;
    for v in x[..nv].iter_mut() {
        *v = silu_v(*v);
    }
    for v in x[nv..].iter_mut() {
        *v = silu1(*v);
    }
}

/// One lane of `ggml_v_silu`.
#[inline(always)]
pub(crate) fn silu_v(v: f32) -> f32 {
    v / (1.0 + expf_ggml(0.0 - v))
}

#[inline(always)]
fn silu1(v: f32) -> f32 {
    v / (1.0 + expf(-v))
}

/// SwiGLU: `out = silu(gate) * up`, in [`silu`]'s numerics. All `[n]`.
/// Source: ggml `ggml_vec_swiglu_f32`.
pub fn swiglu(gate: &[f32], up: &[f32], out: &mut [f32]) {
    debug_len(gate.len(), up.len());
    debug_len(gate.len(), out.len());
    let nv = gate.len().min(up.len()).min(out.len()) & !7;
    for (i, ((o, &g), &u)) in out.iter_mut().zip(gate).zip(up).enumerate() {
        *o = if i < nv { silu_v(g) } else { silu1(g) } * u;
    }
}

/// f16·f16 dot product in the order of ggml's x86 `ggml_vec_dot_f16` (the one-token
/// attention path): over whole groups of 32, four 8-lane FMA accumulators (element `i`
/// into accumulator `(i / 8) % 4`, lane `i % 8`), reduced `(a0 + a2) + (a1 + a3)` then
/// `((l0+l4) + (l1+l5)) + ((l2+l6) + (l3+l7))`; the leftover products (each rounded to
/// f32) added in f64. Slices: the common length.
pub fn dot_f16_ggml(x: &[F16], y: &[F16]) -> f32 {
    let n = x.len().min(y.len());
    let np = n & !31;
    let mut acc = [[0f32; 8]; 4];
    for i in (0..np).step_by(32) {
        for (k, a) in acc.iter_mut().enumerate() {
            for (l, al) in a.iter_mut().enumerate() {
                let j = i + 8 * k + l;
                *al = fma(x[j].get(), y[j].get(), *al);
            }
        }
    }
    let mut s = [0f32; 8];
    for l in 0..8 {
        s[l] = (acc[0][l] + acc[2][l]) + (acc[1][l] + acc[3][l]);
    }
    let t = [s[0] + s[4], s[1] + s[5], s[2] + s[6], s[3] + s[7]];
    let mut sum = ((t[0] + t[1]) + (t[2] + t[3])) as f64;
    for j in np..n {
        sum += (x[j].get() * y[j].get()) as f64;
    }
    sum as f32
}

/// f16·f16 dot product in the order of llamafile's tinyBLAS on AVX2 (ggml's several-token
/// attention path, `tinyBLAS<8, __m256, __m256, ggml_fp16_t, ggml_fp16_t, float>`): one
/// 8-lane FMA accumulator (element `i` into lane `i % 8`; a partial last group is
/// zero-filled), then the horizontal sum of ggml's pairing (as `hsum8`). Slices: the common length.
pub fn dot_f16_tinyblas(x: &[F16], y: &[F16]) -> f32 {
    let n = x.len().min(y.len());
    let mut acc = [0f32; 8];
    for j in 0..n {
        acc[j % 8] = fma(x[j].get(), y[j].get(), acc[j % 8]);
    }
    hsum8(&acc)
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

/// The float operations of attention and SwiGLU with an instruction set chosen once (at model
/// load): the scalar references of this module, or their AVX2 versions (bit-identical).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct VecOps {
    #[cfg(target_arch = "x86_64")]
    avx2: Option<crate::arch::x86_64::Avx2Fma>,
}

impl VecOps {
    /// The scalar references (every target).
    pub const fn scalar() -> VecOps {
        VecOps {
            #[cfg(target_arch = "x86_64")]
            avx2: None,
        }
    }

    /// The instruction set of `k`: AVX2 when `k` is the AVX2 back end, scalar otherwise
    /// (the same numbers either way).
    pub fn for_kernels(k: &crate::Kernels) -> VecOps {
        #[cfg(target_arch = "x86_64")]
        if k.name() == "avx2" {
            return VecOps {
                avx2: crate::arch::x86_64::Avx2Fma::detect(),
            };
        }
        let _ = k;
        VecOps::scalar()
    }

    /// [`softmax_masked`].
    #[inline]
    pub fn softmax_masked(&self, x: &mut [f32], n_row: usize) {
        #[cfg(target_arch = "x86_64")]
        if let Some(t) = self.avx2 {
            return t.softmax_masked(x, n_row);
        }
        softmax_masked(x, n_row)
    }

    /// [`swiglu`].
    #[inline]
    pub fn swiglu(&self, gate: &[f32], up: &[f32], out: &mut [f32]) {
        #[cfg(target_arch = "x86_64")]
        if let Some(t) = self.avx2 {
            return t.swiglu(gate, up, out);
        }
        swiglu(gate, up, out)
    }

    /// [`dot_f16_ggml`].
    #[inline]
    pub fn dot_f16_ggml(&self, x: &[F16], y: &[F16]) -> f32 {
        #[cfg(target_arch = "x86_64")]
        if let Some(t) = self.avx2 {
            return t.dot_f16_ggml(x, y);
        }
        dot_f16_ggml(x, y)
    }

    /// [`dot_f16_tinyblas`].
    #[inline]
    pub fn dot_f16_tinyblas(&self, x: &[F16], y: &[F16]) -> f32 {
        #[cfg(target_arch = "x86_64")]
        if let Some(t) = self.avx2 {
            return t.dot_f16_tinyblas(x, y);
        }
        dot_f16_tinyblas(x, y)
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

    /// A small deterministic generator (xorshift) for test data.
    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> f32 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            ((self.0 >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
        }
    }

    fn f16s(v: &[f32]) -> alloc_free::Vec16 {
        let mut out = alloc_free::Vec16::default();
        for &x in v {
            out.push(F16(crate::block::f32_to_f16(x)));
        }
        out
    }

    mod alloc_free {
        use crate::block::F16;
        /// A fixed-capacity f16 buffer (the crate has no `alloc`).
        pub struct Vec16 {
            pub b: [F16; 1024],
            pub n: usize,
        }
        impl Default for Vec16 {
            fn default() -> Self {
                Vec16 {
                    b: [F16([0; 2]); 1024],
                    n: 0,
                }
            }
        }
        impl Vec16 {
            pub fn push(&mut self, x: F16) {
                self.b[self.n] = x;
                self.n += 1;
            }
            pub fn s(&self) -> &[F16] {
                &self.b[..self.n]
            }
        }
    }

    #[test]
    fn expf_ggml_is_close_to_libm_and_saturates_as_ggml() {
        let mut x = -110.0f32;
        while x < 88.0 {
            let (a, b) = (expf_ggml(x), expf(x));
            assert!(
                (a - b).abs() <= 4.0 * f32::EPSILON * b + 1e-44,
                "{x}: {a} vs {b}"
            );
            x += 0.0173;
        }
        assert_eq!(expf_ggml(0.0), 1.0);
        assert_eq!(expf_ggml(f32::NEG_INFINITY), 0.0);
        assert_eq!(expf_ggml(-200.0), 0.0);
        assert_eq!(expf_ggml(f32::INFINITY), f32::INFINITY);
        assert!(expf_ggml(f32::NAN).is_nan());
    }

    #[test]
    fn softmax_masked_equals_the_padded_row() {
        let mut r = Rng(7);
        for n in 1..80 {
            for pad in [0, 1, 5, 8, 13, 200] {
                let n_row = n + pad;
                let mut full = [f32::NEG_INFINITY; 300];
                for v in full[..n].iter_mut() {
                    *v = 8.0 * r.next();
                }
                let mut x = [0f32; 300];
                x[..n].copy_from_slice(&full[..n]);
                softmax_masked(&mut x[..n], n_row);
                softmax(&mut full[..n_row]);
                for i in 0..n {
                    assert_eq!(
                        x[i].to_bits(),
                        full[i].to_bits(),
                        "n {n} n_row {n_row} i {i}"
                    );
                }
                assert!(full[n..n_row].iter().all(|&p| p == 0.0));
            }
        }
    }

    #[test]
    fn simd_vec_ops_are_bit_identical_to_the_references() {
        let ops = [
            VecOps::scalar(),
            VecOps::for_kernels(&crate::Kernels::detect()),
        ];
        let mut r = Rng(11);
        let mut a = [0f32; 600];
        let mut b = [0f32; 600];
        for n in (0..600).step_by(7).chain([8, 16, 32, 64, 256, 512]) {
            let sc = [1.0f32, 12.0, 150.0][n % 3];
            for i in 0..n {
                a[i] = sc * r.next();
                b[i] = r.next();
            }
            let outs = ops.map(|o| {
                let mut x = [0f32; 600];
                x[..n].copy_from_slice(&a[..n]);
                o.softmax_masked(&mut x[..n], n + (n % 11));
                let mut y = [0f32; 600];
                o.swiglu(&a[..n], &b[..n], &mut y[..n]);
                let m = n.min(1024);
                let (fa, fb) = (f16s(&a[..m]), f16s(&b[..m]));
                let d = (
                    o.dot_f16_ggml(fa.s(), fb.s()),
                    o.dot_f16_tinyblas(fa.s(), fb.s()),
                );
                (x, y, d)
            });
            let (x0, y0, d0) = &outs[0];
            let (x1, y1, d1) = &outs[1];
            for i in 0..n {
                assert_eq!(x0[i].to_bits(), x1[i].to_bits(), "softmax n {n} i {i}");
                assert_eq!(y0[i].to_bits(), y1[i].to_bits(), "swiglu n {n} i {i}");
            }
            assert_eq!(d0.0.to_bits(), d1.0.to_bits(), "dot_f16_ggml n {n}");
            assert_eq!(d0.1.to_bits(), d1.1.to_bits(), "dot_f16_tinyblas n {n}");
            // both orders are the same sum up to f32 rounding
            let exact: f64 = (0..n)
                .map(|i| {
                    let (p, q) = (f16s(&a[i..i + 1]), f16s(&b[i..i + 1]));
                    p.s()[0].get() as f64 * q.s()[0].get() as f64
                })
                .sum();
            let mag: f64 = (0..n).map(|i| (a[i] * b[i]).abs() as f64).sum::<f64>() + 1e-3;
            assert!((d0.0 as f64 - exact).abs() <= 1e-5 * mag, "n {n}");
            assert!((d0.1 as f64 - exact).abs() <= 1e-5 * mag, "n {n}");
        }
    }
}
