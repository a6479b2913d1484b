//! AVX2 float rows: f32 and f16 dot products (FMA, 4 × 8 lanes, tail in f64 as ggml), the
//! f16 dot product in tinyBLAS's order, ggml's vector `exp` for softmax and SwiGLU, and
//! f32 ⇄ f16 row conversion with F16C (`vcvtps2ph` round-to-nearest-even, `vcvtph2ps`).

use super::util::*;
use crate::block::*;
use core::arch::x86_64::*;

#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
fn load_f16x8(p: &[F16]) -> __m256 {
    _mm256_cvtph_ps(load16(&p[..8]))
}

/// f16 · f16 in `ggml_vec_dot_f16`'s AVX2 order: four 8-lane FMA accumulators over whole
/// groups of 32, reduced `(a0 + a2) + (a1 + a3)`, then lanes `(l + l+4)` and two `hadd`s;
/// the leftovers (products rounded to f32) added in f64. Bit-identical to
/// [`crate::ops::dot_f16_ggml`].
#[target_feature(enable = "avx2,fma,f16c")]
pub(super) fn vec_dot_f16(w: &[F16], a: &[F16]) -> f32 {
    let n = w.len().min(a.len());
    let mut acc = [_mm256_setzero_ps(); 4];
    let mut i = 0;
    while i + 32 <= n {
        for (k, acc) in acc.iter_mut().enumerate() {
            let o = i + 8 * k;
            *acc = _mm256_fmadd_ps(load_f16x8(&w[o..]), load_f16x8(&a[o..]), *acc);
        }
        i += 32;
    }
    let v = _mm256_add_ps(_mm256_add_ps(acc[0], acc[2]), _mm256_add_ps(acc[1], acc[3]));
    let t0 = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    let t1 = _mm_hadd_ps(t0, t0);
    let mut sum = _mm_cvtss_f32(_mm_hadd_ps(t1, t1)) as f64;
    for j in i..n {
        sum += (f16(w[j].0) * f16(a[j].0)) as f64;
    }
    sum as f32
}

/// f16 · f16 in llamafile tinyBLAS's AVX2 order: one 8-lane FMA accumulator (a partial
/// last group zero-filled), horizontal sum. Bit-identical to [`crate::ops::dot_f16_tinyblas`].
#[target_feature(enable = "avx2,fma,f16c")]
pub(super) fn dot_f16_tinyblas(w: &[F16], a: &[F16]) -> f32 {
    let n = w.len().min(a.len());
    let mut acc = _mm256_setzero_ps();
    let mut i = 0;
    while i + 8 <= n {
        acc = _mm256_fmadd_ps(load_f16x8(&w[i..]), load_f16x8(&a[i..]), acc);
        i += 8;
    }
    if i < n {
        let (mut x, mut y) = ([F16([0; 2]); 8], [F16([0; 2]); 8]);
        x[..n - i].copy_from_slice(&w[i..n]);
        y[..n - i].copy_from_slice(&a[i..n]);
        acc = _mm256_fmadd_ps(load_f16x8(&x), load_f16x8(&y), acc);
    }
    hsum_ps(acc)
}

/// ggml's AVX2 `ggml_v_expf`, 8 lanes. Bit-identical to [`crate::ops::expf_ggml`] per lane.
#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
fn v_expf(x: __m256) -> __m256 {
    use crate::ops::expc::*;
    let set = _mm256_set1_ps;
    let r = set(R);
    let z = _mm256_fmadd_ps(x, set(LOG2E), r);
    let n = _mm256_sub_ps(z, r);
    let b = _mm256_fnmadd_ps(n, set(LN2_LO), _mm256_fnmadd_ps(n, set(LN2_HI), x));
    let e = _mm256_slli_epi32::<23>(_mm256_castps_si256(z));
    let k = _mm256_castsi256_ps(_mm256_add_epi32(e, _mm256_castps_si256(set(1.0))));
    let abs_n = _mm256_andnot_ps(set(-0.0), n);
    let c = _mm256_cmp_ps::<_CMP_GT_OQ>(abs_n, set(126.0));
    let u = _mm256_mul_ps(b, b);
    let j = _mm256_fmadd_ps(
        _mm256_fmadd_ps(
            _mm256_fmadd_ps(set(C5), b, set(C4)),
            u,
            _mm256_fmadd_ps(set(C3), b, set(C2)),
        ),
        u,
        _mm256_mul_ps(set(C1), b),
    );
    if _mm256_movemask_ps(c) == 0 {
        return _mm256_fmadd_ps(j, k, k);
    }
    let g = _mm256_and_si256(
        _mm256_castps_si256(_mm256_cmp_ps::<_CMP_LE_OQ>(n, _mm256_setzero_ps())),
        _mm256_set1_epi32(0x8200_0000u32 as i32),
    );
    let s1 = _mm256_castsi256_ps(_mm256_add_epi32(g, _mm256_set1_epi32(0x7f00_0000)));
    let s2 = _mm256_castsi256_ps(_mm256_sub_epi32(e, g));
    let d = _mm256_cmp_ps::<_CMP_GT_OQ>(abs_n, set(192.0));
    _mm256_or_ps(
        _mm256_and_ps(d, _mm256_mul_ps(s1, s1)),
        _mm256_andnot_ps(
            d,
            _mm256_or_ps(
                _mm256_and_ps(c, _mm256_mul_ps(_mm256_fmadd_ps(s2, j, s2), s1)),
                _mm256_andnot_ps(c, _mm256_fmadd_ps(k, j, k)),
            ),
        ),
    )
}

/// ggml's softmax of a row of `n_row` entries whose entries past `x.len()` are `-inf`
/// (see [`crate::ops::softmax_masked`]), with the AVX2 exponential. Bit-identical to it.
#[target_feature(enable = "avx2,fma,f16c")]
fn softmax_masked(x: &mut [f32], n_row: usize) {
    let n = x.len();
    let mut max = f32::NEG_INFINITY;
    for &v in x.iter() {
        max = max.max(v);
    }
    let nv = crate::ops::vec_len(n, n_row);
    let vmax = _mm256_set1_ps(max);
    let mut sum = 0.0f64;
    let mut i = 0;
    while i < nv {
        if i + 8 <= n {
            let v = v_expf(_mm256_sub_ps(load_ps(&x[i..]), vmax));
            store_ps(&mut x[i..], v);
            sum += hsum_ps(v) as f64;
        } else {
            let mut t = [f32::NEG_INFINITY; 8];
            t[..n - i].copy_from_slice(&x[i..n]);
            let v = v_expf(_mm256_sub_ps(load_ps(&t), vmax));
            store_ps(&mut t, v);
            x[i..n].copy_from_slice(&t[..n - i]);
            sum += hsum_ps(v) as f64;
        }
        i += 8;
    }
    for v in x[nv.min(n)..].iter_mut() {
        *v = crate::math::expf(*v - max);
        sum += *v as f64;
    }
    let inv = _mm256_set1_ps((1.0 / sum) as f32);
    let mut i = 0;
    while i + 8 <= n {
        let v = _mm256_mul_ps(load_ps(&x[i..]), inv);
        store_ps(&mut x[i..], v);
        i += 8;
    }
    let inv = (1.0 / sum) as f32;
    for v in x[i..].iter_mut() {
        *v *= inv;
    }
}

/// SwiGLU `out = silu(gate) * up` with `ggml_v_silu` over groups of 8 and libm for the tail
/// (ggml `ggml_vec_swiglu_f32`). Bit-identical to [`crate::ops::swiglu`].
#[target_feature(enable = "avx2,fma,f16c")]
fn swiglu(gate: &[f32], up: &[f32], out: &mut [f32]) {
    let n = gate.len().min(up.len()).min(out.len());
    let one = _mm256_set1_ps(1.0);
    let mut i = 0;
    while i + 8 <= n {
        let x = load_ps(&gate[i..]);
        let e = v_expf(_mm256_sub_ps(_mm256_setzero_ps(), x));
        let s = _mm256_div_ps(x, _mm256_add_ps(one, e));
        store_ps(&mut out[i..], _mm256_mul_ps(s, load_ps(&up[i..])));
        i += 8;
    }
    for j in i..n {
        let g = gate[j];
        out[j] = g / (1.0 + crate::math::expf(-g)) * up[j];
    }
}

/// The float operations of attention and the feed-forward block, for [`crate::ops::VecOps`].
impl super::Avx2Fma {
    /// See [`crate::ops::softmax_masked`].
    pub(crate) fn softmax_masked(self, x: &mut [f32], n_row: usize) {
        // SAFETY: `self` proves AVX2, FMA and F16C, the kernel's only requirement.
        unsafe { softmax_masked(x, n_row) }
    }

    /// See [`crate::ops::swiglu`].
    pub(crate) fn swiglu(self, gate: &[f32], up: &[f32], out: &mut [f32]) {
        // SAFETY: as above.
        unsafe { swiglu(gate, up, out) }
    }

    /// See [`crate::ops::dot_f16_ggml`].
    pub(crate) fn dot_f16_ggml(self, x: &[F16], y: &[F16]) -> f32 {
        // SAFETY: as above.
        unsafe { vec_dot_f16(x, y) }
    }

    /// See [`crate::ops::dot_f16_tinyblas`].
    pub(crate) fn dot_f16_tinyblas(self, x: &[F16], y: &[F16]) -> f32 {
        // SAFETY: as above.
        unsafe { dot_f16_tinyblas(x, y) }
    }
}

#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
fn load_f32x8(p: &[F32]) -> __m256 {
    _mm256_castsi256_ps(load32(&p[..8]))
}

/// f32 · f32 (rows of alignment 1), as [`vec_dot_f16`].
#[target_feature(enable = "avx2,fma,f16c")]
pub(super) fn vec_dot_f32(w: &[F32], a: &[F32]) -> f32 {
    let n = w.len().min(a.len());
    let mut acc = [_mm256_setzero_ps(); 4];
    let mut i = 0;
    while i + 32 <= n {
        for (k, acc) in acc.iter_mut().enumerate() {
            let o = i + 8 * k;
            *acc = _mm256_fmadd_ps(load_f32x8(&w[o..]), load_f32x8(&a[o..]), *acc);
        }
        i += 32;
    }
    while i + 8 <= n {
        acc[0] = _mm256_fmadd_ps(load_f32x8(&w[i..]), load_f32x8(&a[i..]), acc[0]);
        i += 8;
    }
    let v = _mm256_add_ps(_mm256_add_ps(acc[0], acc[1]), _mm256_add_ps(acc[2], acc[3]));
    let mut sum = hsum_ps(v) as f64;
    for j in i..n {
        sum += (w[j].get() * a[j].get()) as f64;
    }
    sum as f32
}

/// f32 → f16, 8 at a time with F16C, tail with the same rounding.
#[target_feature(enable = "avx2,fma,f16c")]
pub(super) fn f32_to_f16(x: &[f32], out: &mut [F16]) {
    let n = x.len().min(out.len());
    let mut i = 0;
    while i + 8 <= n {
        let h = _mm256_cvtps_ph::<_MM_FROUND_TO_NEAREST_INT>(load_ps(&x[i..]));
        let dst: &mut [u8] = bytemuck::cast_slice_mut(&mut out[i..i + 8]);
        // SAFETY: `dst` is 16 writable bytes behind a unique reference; `storeu` is unaligned.
        unsafe { _mm_storeu_si128(dst.as_mut_ptr().cast(), h) };
        i += 8;
    }
    for j in i..n {
        out[j] = F16(crate::block::f32_to_f16(x[j]));
    }
}

/// f16 → f32, 8 at a time with F16C.
#[target_feature(enable = "avx2,fma,f16c")]
pub(super) fn f16_to_f32(x: &[F16], out: &mut [f32]) {
    let n = x.len().min(out.len());
    let mut i = 0;
    while i + 8 <= n {
        store_ps(&mut out[i..], load_f16x8(&x[i..]));
        i += 8;
    }
    for j in i..n {
        out[j] = f16(x[j].0);
    }
}
