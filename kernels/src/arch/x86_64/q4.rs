//! AVX2 dot products of the 32-element 4-bit formats: Q4_0, Q4_1 and IQ4_NL.
//!
//! Per block: the 16 nibble bytes expand to 32 bytes (`nibbles32`) and one `maddubs` +
//! `madd` gives eight exact i32 partial sums; the loop, scales and accumulation are
//! [`dot_blocks`]'s. Signed values (Q4_0's `q - 8`, IQ4_NL's codebook) use the sign trick:
//! `maddubs(|q|, sign(a, q))`.

use super::blocks32::{Blocks32, dot_blocks, f16x8, rows_each, rows_strided};
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

/// Q4_0 · Q8_0 for `R` weight rows and one activation row, in the order of ggml's AVX2
/// `ggml_vec_dot_q4_0_q8_0` for each row: one 8-lane accumulator, per block
/// `acc = fma(d_w d_a, lanes, acc)` (`d_w d_a` one f32 product, broadcast), then the lanes
/// summed as `hsum_float_8`. Lane `j` holds `Σ (q - 8) a` over elements `4j..4j+4`, computed
/// as `Σ q a - 8 Σ a` (unsigned nibbles straight into `maddubs`; `8 Σ a` once per block for
/// all rows): the same exact integers as ggml's sign trick for activations in -127..=127
/// (what the Q8_0 quantizer makes). Bit-identical to ggml (oracle test `vec_dot`).
#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
fn q4_0_rows<const R: usize>(w: [&[BlockQ4_0]; R], a: &[BlockQ8_0]) -> [f32; R] {
    let ones = _mm256_set1_epi16(1);
    let eight = _mm256_set1_epi8(8);
    rows_each(
        w,
        a,
        _mm256_setzero_ps(),
        |y: &BlockQ8_0| {
            let yq = load32(&y.qs);
            let c8 = _mm256_madd_epi16(_mm256_maddubs_epi16(eight, yq), ones);
            (f16_lut(y.d), yq, c8)
        },
        |x: &BlockQ4_0, (da, yq, c8), acc| {
            let p = _mm256_madd_epi16(_mm256_maddubs_epi16(nibbles32_fast(&x.qs), yq), ones);
            let p = _mm256_cvtepi32_ps(_mm256_sub_epi32(p, c8));
            _mm256_fmadd_ps(_mm256_set1_ps(f16_lut(x.d) * da), p, acc)
        },
    )
    .map(|acc| hsum_ps(acc))
}

/// Q4_0 · Q8_0 (ggml's order, see [`q4_0_rows`]).
#[target_feature(enable = "avx2,fma,f16c")]
pub(super) fn vec_dot_q4_0(w: &[BlockQ4_0], a: &[BlockQ8_0]) -> f32 {
    q4_0_rows([w], a)[0]
}

/// `out[r]` = row `r` of `w` (rows of `nb` blocks) · `a`; each row's bits equal
/// [`vec_dot_q4_0`]'s; four rows share each activation block ([`rows_strided`]).
#[target_feature(enable = "avx2,fma,f16c")]
pub(super) fn matvec_q4_0(w: &[BlockQ4_0], nb: usize, a: &[BlockQ8_0], out: &mut [f32]) {
    rows_strided::<4, _>(w, nb, out, |r| q4_0_rows(r, a));
}

/// Q4_0 · four Q8_0 rows.
#[target_feature(enable = "avx2,fma,f16c")]
pub(super) fn vec_dot_q4_0_x4(w: &[BlockQ4_0], a: [&[BlockQ8_0]; 4]) -> [f32; 4] {
    vec_dot_q4_0_n(w, a)
}

/// Q4_1 · Q8_1 for `R` weight rows and one activation row, in the order of ggml's AVX2
/// `ggml_vec_dot_q4_1_q8_1`: `Σ d_w d_a Σ q a` in one 8-lane accumulator (`q` in 0..16 is
/// unsigned: `maddubs` directly), `Σ m_w s_a` in one f32 with a fused multiply-add per block
/// (ggml's C `summs += m * s`, contracted to `vfmadd231ss` by its compiler), then
/// `hsum_float_8(acc) + summs`. Bit-identical to ggml (oracle test `vec_dot`).
#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
fn q4_1_rows<const R: usize>(w: [&[BlockQ4_1]; R], a: &[BlockQ8_1]) -> [f32; R] {
    let ones = _mm256_set1_epi16(1);
    rows_each(
        w,
        a,
        (_mm256_setzero_ps(), _mm_setzero_ps()),
        |y: &BlockQ8_1| (f16_lut(y.d), _mm_set_ss(f16_lut(y.s)), load32(&y.qs)),
        |x: &BlockQ4_1, (da, sa, yq), (acc, summs)| {
            let summs = _mm_fmadd_ss(_mm_set_ss(f16_lut(x.m)), sa, summs);
            let p = _mm256_madd_epi16(_mm256_maddubs_epi16(nibbles32_fast(&x.qs), yq), ones);
            let d = _mm256_set1_ps(f16_lut(x.d) * da);
            (_mm256_fmadd_ps(d, _mm256_cvtepi32_ps(p), acc), summs)
        },
    )
    .map(|(acc, summs)| hsum_ps(acc) + _mm_cvtss_f32(summs))
}

/// Q4_1 · Q8_1 (ggml's order, see [`q4_1_rows`]).
#[target_feature(enable = "avx2,fma,f16c")]
pub(super) fn vec_dot_q4_1(w: &[BlockQ4_1], a: &[BlockQ8_1]) -> f32 {
    q4_1_rows([w], a)[0]
}

/// `out[r]` = row `r` of `w` (rows of `nb` blocks) · `a`; each row's bits equal
/// [`vec_dot_q4_1`]'s; four rows share each activation block ([`rows_strided`]).
#[target_feature(enable = "avx2,fma,f16c")]
pub(super) fn matvec_q4_1(w: &[BlockQ4_1], nb: usize, a: &[BlockQ8_1], out: &mut [f32]) {
    rows_strided::<4, _>(w, nb, out, |r| q4_1_rows(r, a));
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

/// Eight Q4_0 rows · one Q8_0 row in the order of ggml's AVX2 `ggml_gemv_q4_0_8x8_q8_0`
/// (what llama.cpp runs for one token on Q4_0 weights it repacked to 8 interleaved rows),
/// computed from the plain layout: per row `r` and block, the exact integer `I = Σ (q - 8) a`
/// over the whole block, then `acc_r = fma(I, d_r d_a, acc_r)`; no horizontal sum at the
/// end (lane `r` is row `r`, as in ggml).
#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
fn q4_0_gemv8(w: [&[BlockQ4_0]; 8], a: &[BlockQ8_0]) -> [f32; 8] {
    let n = w.iter().fold(a.len(), |m, w| m.min(w.len()));
    let a = &a[..n];
    let w = w.map(|w| &w[..n]);
    let eight = _mm256_set1_epi8(8);
    let mut acc = _mm256_setzero_ps();
    for i in 0..n {
        let y = &a[i];
        let yq = load32(&y.qs);
        // pairs of 8 a: the offset of `q - 8`, subtracted per i16 lane (|lane| ≤ 2032, so
        // every partial sum below, up to the block's 32 products, fits an i16)
        let off = _mm256_maddubs_epi16(eight, yq);
        let p: [__m256i; 8] = core::array::from_fn(|r| {
            let u = _mm256_maddubs_epi16(nibbles32_fast(&w[r][i].qs), yq);
            _mm256_sub_epi16(u, off)
        });
        let dw = f16x8(core::array::from_fn(|r| w[r][i].d));
        let d = _mm256_mul_ps(dw, _mm256_set1_ps(f16_lut(y.d)));
        let isum = _mm256_cvtepi16_epi32(hsum8_epi16(p));
        acc = _mm256_fmadd_ps(_mm256_cvtepi32_ps(isum), d, acc);
    }
    let mut out = [0f32; 8];
    store_ps(&mut out, acc);
    out
}

/// `out[r]` = row `r` of `w` (rows of `nb` blocks) · `a` in the order of ggml's repacked
/// `ggml_gemv_q4_0_8x8_q8_0` (see [`q4_0_gemv8`]), eight rows per pass ([`rows_strided`];
/// each row's bits do not depend on the others).
#[target_feature(enable = "avx2,fma,f16c")]
pub(super) fn gemv8_q4_0(w: &[BlockQ4_0], nb: usize, a: &[BlockQ8_0], out: &mut [f32]) {
    rows_strided::<8, _>(w, nb, out, |r| q4_0_gemv8(r, a));
}
