//! AVX2 dot products of the 32-element 4-bit formats: Q4_0, Q4_1 and IQ4_NL.
//!
//! Per block: the 16 nibble bytes expand to 32 bytes (`nibbles32`) and one `maddubs` +
//! `madd` gives eight exact i32 partial sums; the loop, scales and accumulation are
//! [`dot_blocks`]'s. Signed values (Q4_0's `q - 8`, IQ4_NL's codebook) use the sign trick:
//! `maddubs(|q|, sign(a, q))`.

use super::blocks32::{Blocks32, dot_blocks};
use super::util::*;
use crate::block::iq4_nl::KVALUES_IQ4NL;
use crate::block::*;
use core::arch::x86_64::*;

/// Cut a weight row and `N` activation rows to their common length, so the kernels'
/// indexing `w[i]`, `a[j][i]` for `i < w.len()` needs no bounds checks.
#[inline]
pub(super) fn trim<'a, W, A, const N: usize>(
    w: &'a [W],
    a: [&'a [A]; N],
) -> (&'a [W], [&'a [A]; N]) {
    let n = a.iter().fold(w.len(), |m, a| m.min(a.len()));
    (&w[..n], a.map(|s| &s[..n]))
}

/// Signed quants `q` of a block with `|q|` precomputed: the sign-trick dot with a row.
#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
pub(super) fn signed_dot((q, aq): (__m256i, __m256i), y: &[i8; 32]) -> __m256i {
    let sy = _mm256_sign_epi8(load32(y), q);
    _mm256_madd_epi16(_mm256_maddubs_epi16(aq, sy), _mm256_set1_epi16(1))
}

/// `(q, |q|)`.
#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
pub(super) fn with_abs(q: __m256i) -> (__m256i, __m256i) {
    (q, _mm256_sign_epi8(q, q))
}

/// Q4_0 · Q8_0 for `N` activation rows.
#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
fn vec_dot_q4_0_n<const N: usize>(w: &[BlockQ4_0], a: [&[BlockQ8_0]; N]) -> [f32; N] {
    let eight = _mm256_set1_epi8(8);
    dot_blocks(
        w,
        a,
        Blocks32 {
            wd: |x: &BlockQ4_0| x.d,
            ad: |y: &BlockQ8_0| y.d,
            decode: |x: &BlockQ4_0| with_abs(_mm256_sub_epi8(nibbles32(&x.qs), eight)),
            dot: |x, y: &BlockQ8_0| signed_dot(x, &y.qs),
        },
    )
}

/// Q4_0 · Q8_0. `(q - 8)` in -8..8 is a signed byte, so the sign trick (`dot_i8`) applies.
#[target_feature(enable = "avx2,fma,f16c")]
pub(super) fn vec_dot_q4_0(w: &[BlockQ4_0], a: &[BlockQ8_0]) -> f32 {
    let n = w.len().min(a.len());
    let (w, a) = (&w[..n], &a[..n]);
    let eight = _mm256_set1_epi8(8);
    let block = |x: &BlockQ4_0, y: &BlockQ8_0, acc: __m256| {
        let q = _mm256_sub_epi8(nibbles32(&x.qs), eight);
        let p = dot_i8(q, load32(&y.qs));
        _mm256_fmadd_ps(f16_mul_bcast(x.d, y.d), _mm256_cvtepi32_ps(p), acc)
    };
    let (mut acc0, mut acc1) = (_mm256_setzero_ps(), _mm256_setzero_ps());
    let mut i = 0;
    while i + 2 <= n {
        acc0 = block(&w[i], &a[i], acc0);
        acc1 = block(&w[i + 1], &a[i + 1], acc1);
        i += 2;
    }
    if i < n {
        acc0 = block(&w[i], &a[i], acc0);
    }
    hsum_ps(_mm256_add_ps(acc0, acc1))
}

/// Q4_0 · four Q8_0 rows.
#[target_feature(enable = "avx2,fma,f16c")]
pub(super) fn vec_dot_q4_0_x4(w: &[BlockQ4_0], a: [&[BlockQ8_0]; 4]) -> [f32; 4] {
    vec_dot_q4_0_n(w, a)
}

/// Q4_1 · Q8_1: `Σ d_w d_a Σ q a + m_w s_a`. `q` in 0..16 is unsigned: `maddubs` directly.
#[target_feature(enable = "avx2,fma,f16c")]
pub(super) fn vec_dot_q4_1(w: &[BlockQ4_1], a: &[BlockQ8_1]) -> f32 {
    let n = w.len().min(a.len());
    let (w, a) = (&w[..n], &a[..n]);
    // Lanes [d_w, m_w, d_a, s_a] → [d_w d_a, m_w s_a] in lanes 0 and 1.
    let scales = |x: &BlockQ4_1, y: &BlockQ8_1| {
        let bits = u32::from_le_bytes([x.d[0], x.d[1], x.m[0], x.m[1]]) as u64
            | (u32::from_le_bytes([y.d[0], y.d[1], y.s[0], y.s[1]]) as u64) << 32;
        let v = f16x4(bits);
        _mm_mul_ps(v, _mm_movehl_ps(v, v))
    };
    let block = |x: &BlockQ4_1, y: &BlockQ8_1, acc: __m256, accm: __m128| {
        let s = scales(x, y);
        let p = dot_u8(nibbles32(&x.qs), load32(&y.qs));
        let acc = _mm256_fmadd_ps(_mm256_broadcastss_ps(s), _mm256_cvtepi32_ps(p), acc);
        (acc, _mm_add_ps(accm, s))
    };
    let (mut acc0, mut acc1) = (_mm256_setzero_ps(), _mm256_setzero_ps());
    let (mut m0, mut m1) = (_mm_setzero_ps(), _mm_setzero_ps());
    let mut i = 0;
    while i + 2 <= n {
        (acc0, m0) = block(&w[i], &a[i], acc0, m0);
        (acc1, m1) = block(&w[i + 1], &a[i + 1], acc1, m1);
        i += 2;
    }
    if i < n {
        (acc0, m0) = block(&w[i], &a[i], acc0, m0);
    }
    let m = _mm_add_ps(m0, m1);
    // lane 1 holds Σ m_w s_a
    hsum_ps(_mm256_add_ps(acc0, acc1)) + _mm_cvtss_f32(_mm_movehdup_ps(m))
}

/// IQ4_NL · Q8_0: nibbles index the codebook with one `pshufb`; values fit a signed byte.
#[target_feature(enable = "avx2,fma,f16c")]
pub(super) fn vec_dot_iq4_nl(w: &[BlockIq4Nl], a: &[BlockQ8_0]) -> f32 {
    let n = w.len().min(a.len());
    let (w, a) = (&w[..n], &a[..n]);
    let table = _mm256_broadcastsi128_si256(load16(&KVALUES_IQ4NL));
    let block = |x: &BlockIq4Nl, y: &BlockQ8_0, acc: __m256| {
        let q = _mm256_shuffle_epi8(table, nibbles32(&x.qs));
        let p = dot_i8(q, load32(&y.qs));
        _mm256_fmadd_ps(f16_mul_bcast(x.d, y.d), _mm256_cvtepi32_ps(p), acc)
    };
    let (mut acc0, mut acc1) = (_mm256_setzero_ps(), _mm256_setzero_ps());
    let mut i = 0;
    while i + 2 <= n {
        acc0 = block(&w[i], &a[i], acc0);
        acc1 = block(&w[i + 1], &a[i + 1], acc1);
        i += 2;
    }
    if i < n {
        acc0 = block(&w[i], &a[i], acc0);
    }
    hsum_ps(_mm256_add_ps(acc0, acc1))
}
