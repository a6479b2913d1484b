//! AVX2 dot products of the 32-element 5-bit formats: Q5_0 and Q5_1.
//!
//! The 32 fifth bits spread to bytes with one shuffle + compare (`bits_to_bytes`). For Q5_0
//! the signed value `q - 16` is the nibble OR-ed with 0xF0 where the fifth bit is clear
//! (two's complement), so no subtraction is needed.

use super::blocks32::{Blocks32, dot_blocks, rows_each, rows_strided};
use super::q4::{signed_dot, with_abs};
use super::util::*;
use crate::block::*;
use core::arch::x86_64::*;

/// Q5_0 · Q8_0 for `N` activation rows.
#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
fn vec_dot_q5_0_n<const N: usize>(w: &[BlockQ5_0], a: [&[BlockQ8_0]; N]) -> [f32; N] {
    let hi = _mm256_set1_epi8(0xF0u8 as i8);
    dot_blocks(
        w,
        a,
        Blocks32 {
            wd: |x: &BlockQ5_0| x.d,
            ad: |y: &BlockQ8_0| y.d,
            decode: |x: &BlockQ5_0| {
                let h = bits_to_bytes(u32::from_le_bytes(x.qh));
                with_abs(_mm256_or_si256(
                    nibbles32(&x.qs),
                    _mm256_andnot_si256(h, hi),
                ))
            },
            dot: |x, y: &BlockQ8_0| signed_dot(x, &y.qs),
        },
    )
}

/// Q5_0 · Q8_0 for `R` weight rows and one activation row, in the order of ggml's AVX2
/// `ggml_vec_dot_q5_0_q8_0` for each row: one 8-lane accumulator, per block
/// `acc = fma(d_w d_a, lanes, acc)`, then `hsum_float_8`. Lane `j` = `Σ (q - 16) a` over
/// elements `4j..4j+4`, computed as `Σ q a - 16 Σ a` with the unsigned 5-bit `q` straight into
/// `maddubs` (`16 Σ a` once per block for all rows): ggml's exact integers for activations in
/// -127..=127 (what the Q8_0 quantizer makes). Bit-identical to ggml.
#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
fn q5_0_rows<const R: usize>(w: [&[BlockQ5_0]; R], a: &[BlockQ8_0]) -> [f32; R] {
    let ones = _mm256_set1_epi16(1);
    let bit4 = _mm256_set1_epi8(0x10);
    rows_each(
        w,
        a,
        _mm256_setzero_ps(),
        |y: &BlockQ8_0| {
            let yq = load32(&y.qs);
            let c16 = _mm256_madd_epi16(_mm256_maddubs_epi16(bit4, yq), ones);
            (f16_lut(y.d), yq, c16)
        },
        |x: &BlockQ5_0, (da, yq, c16), acc| {
            let h = _mm256_and_si256(bits_to_bytes(u32::from_le_bytes(x.qh)), bit4);
            let q = _mm256_or_si256(nibbles32_fast(&x.qs), h);
            let p = _mm256_madd_epi16(_mm256_maddubs_epi16(q, yq), ones);
            let p = _mm256_cvtepi32_ps(_mm256_sub_epi32(p, c16));
            _mm256_fmadd_ps(_mm256_set1_ps(f16_lut(x.d) * da), p, acc)
        },
    )
    .map(|acc| hsum_ps(acc))
}

/// Q5_0 · Q8_0 (ggml's order, see [`q5_0_rows`]).
#[target_feature(enable = "avx2,fma,f16c")]
pub(super) fn vec_dot_q5_0(w: &[BlockQ5_0], a: &[BlockQ8_0]) -> f32 {
    q5_0_rows([w], a)[0]
}

/// `out[r]` = row `r` of `w` (rows of `nb` blocks) · `a`; each row's bits equal
/// [`vec_dot_q5_0`]'s; eight rows share each activation block ([`rows_strided`]).
#[target_feature(enable = "avx2,fma,f16c")]
pub(super) fn matvec_q5_0(w: &[BlockQ5_0], nb: usize, a: &[BlockQ8_0], out: &mut [f32]) {
    rows_strided::<8, _>(w, nb, out, |r| q5_0_rows(r, a));
}

/// Q5_0 · four Q8_0 rows.
#[target_feature(enable = "avx2,fma,f16c")]
pub(super) fn vec_dot_q5_0_x4(w: &[BlockQ5_0], a: [&[BlockQ8_0]; 4]) -> [f32; 4] {
    vec_dot_q5_0_n(w, a)
}

/// Q5_1 · Q8_1: unsigned `q` in 0..32, `maddubs` directly, plus `m_w s_a` per block.
#[target_feature(enable = "avx2,fma,f16c")]
pub(super) fn vec_dot_q5_1(w: &[BlockQ5_1], a: &[BlockQ8_1]) -> f32 {
    let n = w.len().min(a.len());
    let (w, a) = (&w[..n], &a[..n]);
    let bit4 = _mm256_set1_epi8(0x10);
    let block = |x: &BlockQ5_1, y: &BlockQ8_1, acc: __m256, accm: __m128| {
        let bits = u32::from_le_bytes([x.d[0], x.d[1], x.m[0], x.m[1]]) as u64
            | (u32::from_le_bytes([y.d[0], y.d[1], y.s[0], y.s[1]]) as u64) << 32;
        let v = f16x4(bits);
        let s = _mm_mul_ps(v, _mm_movehl_ps(v, v));
        let h = _mm256_and_si256(bits_to_bytes(u32::from_le_bytes(x.qh)), bit4);
        let q = _mm256_or_si256(nibbles32(&x.qs), h);
        let p = dot_u8(q, load32(&y.qs));
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
    hsum_ps(_mm256_add_ps(acc0, acc1)) + _mm_cvtss_f32(_mm_movehdup_ps(m))
}
