//! AVX2 float rows: f32 and f16 dot products (FMA, 4 × 8 lanes, tail in f64 as ggml), the
//! f16 dot product in tinyBLAS's order, and f32 ⇄ f16 row conversion with F16C (`vcvtps2ph`
//! round-to-nearest-even, `vcvtph2ps`). Both f16 orders are bit-identical to their references
//! (`crate::reference::f16_dot`).

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
/// `reference::f16_dot::vec_dot`.
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
/// last group zero-filled), horizontal sum. Bit-identical to `reference::f16_dot::tinyblas`.
#[target_feature(enable = "avx2,fma,f16c")]
pub(super) fn vec_dot_f16_tinyblas(w: &[F16], a: &[F16]) -> f32 {
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
