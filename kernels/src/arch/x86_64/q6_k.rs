//! AVX2 Q6_K · Q8_K (16-element groups, as Q2_K and Q3_K in their files).
//!
//! Quants are made unsigned for `maddubs` by adding 32; the offset's contribution
//! `32 * Σ_g scale_g * bsum_g` is removed once per super-block with one `madd` over the
//! activation group sums. Each 32-element `maddubs` result is weighted by its two group
//! scales with one `madd`.

use super::blocks32::{rows_ahead, rows_strided};
use super::kquant::*;
use super::q4::trim;
use super::util::*;
use crate::block::*;
use core::arch::x86_64::*;

/// Q6_K · Q8_K for `N` activation rows; the 6-bit quants are assembled once per half.
#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
fn vec_dot_q6_k_n<const N: usize>(w: &[BlockQ6K], a: [&[BlockQ8K]; N]) -> [f32; N] {
    let (w, a) = trim(w, a);
    let n = w.len();
    let m4 = _mm256_set1_epi8(0x0f);
    let m2 = _mm256_set1_epi8(0x30);
    let mut acc = [_mm256_setzero_ps(); N];
    for i in 0..n {
        let x = &w[i];
        let sc = load16(&x.scales);
        let mut sumi = [_mm256_setzero_si256(); N];
        for h in 0..2 {
            let ql0 = load32(&x.ql[64 * h..64 * h + 32]);
            let ql1 = load32(&x.ql[64 * h + 32..64 * h + 64]);
            let qh = load32(&x.qh[32 * h..32 * h + 32]);
            let q = [
                _mm256_or_si256(
                    _mm256_and_si256(ql0, m4),
                    _mm256_and_si256(_mm256_slli_epi16(qh, 4), m2),
                ),
                _mm256_or_si256(
                    _mm256_and_si256(ql1, m4),
                    _mm256_and_si256(_mm256_slli_epi16(qh, 2), m2),
                ),
                _mm256_or_si256(
                    _mm256_and_si256(_mm256_srli_epi16(ql0, 4), m4),
                    _mm256_and_si256(qh, m2),
                ),
                _mm256_or_si256(
                    _mm256_and_si256(_mm256_srli_epi16(ql1, 4), m4),
                    _mm256_and_si256(_mm256_srli_epi16(qh, 2), m2),
                ),
            ];
            for (k, &qk) in q.iter().enumerate() {
                let s = pair_scales_i8(sc, 4 * h + k);
                let o = 128 * h + 32 * k;
                for j in 0..N {
                    let p = _mm256_maddubs_epi16(qk, load32(&a[j][i].qs[o..o + 32]));
                    sumi[j] = _mm256_add_epi32(sumi[j], _mm256_madd_epi16(p, s));
                }
            }
        }
        let sc16 = _mm256_cvtepi8_epi16(sc);
        let dx = f16(x.d);
        for j in 0..N {
            let y = &a[j][i];
            let corr = scaled_bsums(&y.bsums, sc16);
            let s = _mm256_sub_epi32(sumi[j], _mm256_slli_epi32(corr, 5));
            acc[j] = _mm256_fmadd_ps(_mm256_set1_ps(dx * y.d()), _mm256_cvtepi32_ps(s), acc[j]);
        }
    }
    core::array::from_fn(|j| hsum_ps(acc[j]))
}

/// Group scales `2p`, `2p + 1` as the 16 i16 lanes of a `maddubs` result (the same vector as
/// [`pair_scales_i8`]) with one cross-lane dword permute, from `dup` = the scales as
/// duplicated i16 pairs (`unpacklo/hi_epi16(s16, s16)`, made once per super-block).
#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
pub(super) fn pair_scales_dup(dup: [__m256i; 2], p: usize) -> __m256i {
    let (g0, g1) = (2 * p, 2 * p + 1);
    // group g sits in dup[(g / 4) % 2], dword (g % 4) + 4 * (g / 8)
    let src = dup[(g0 / 4) % 2];
    let d0 = (g0 % 4 + 4 * (g0 / 8)) as i32;
    let d1 = (g1 % 4 + 4 * (g1 / 8)) as i32;
    _mm256_permutevar8x32_epi32(src, _mm256_setr_epi32(d0, d0, d0, d0, d1, d1, d1, d1))
}

/// Q6_K · Q8_K for `R` weight rows and one activation row, in the order of ggml's AVX2
/// `ggml_vec_dot_q6_K_q8_K` for each row: per super-block the exact 8-lane integer sums
/// (`maddubs` of `q + 32` by 32 activations, `madd` by the two group scales, minus `32 Σ
/// scale bsum` per lane pair), then `acc = fma(d_a d_w, sumi, acc)`, and finally
/// `hsum_float_8`. Bit-identical to ggml (oracle test `vec_dot`). `AHEAD`: super-blocks to
/// prefetch ahead ([`rows_ahead`]; 0 for none).
#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
fn q6_k_rows<const AHEAD: usize, const R: usize>(w: [&[BlockQ6K]; R], a: &[BlockQ8K]) -> [f32; R] {
    let m4 = _mm256_set1_epi8(0x0f);
    let m2 = _mm256_set1_epi8(0x30);
    rows_ahead::<AHEAD, R, _, _, _, _>(
        w,
        a,
        _mm256_setzero_ps(),
        |y: &BlockQ8K| (y, y.d()),
        |x: &BlockQ6K, (y, dy), acc| {
            let sc = load16(&x.scales);
            let sc16 = _mm256_cvtepi8_epi16(sc);
            let corr = scaled_bsums(&y.bsums, sc16);
            // dwords (s_g, s_g): groups 0..4 | 8..12 in `dup[0]`, 4..8 | 12..16 in `dup[1]`
            let dup = [
                _mm256_unpacklo_epi16(sc16, sc16),
                _mm256_unpackhi_epi16(sc16, sc16),
            ];
            let mut sumi = _mm256_setzero_si256();
            for h in 0..2 {
                let ql0 = load32(&x.ql[64 * h..64 * h + 32]);
                let ql1 = load32(&x.ql[64 * h + 32..64 * h + 64]);
                let qh = load32(&x.qh[32 * h..32 * h + 32]);
                let q = [
                    _mm256_or_si256(
                        _mm256_and_si256(ql0, m4),
                        _mm256_and_si256(_mm256_slli_epi16(qh, 4), m2),
                    ),
                    _mm256_or_si256(
                        _mm256_and_si256(ql1, m4),
                        _mm256_and_si256(_mm256_slli_epi16(qh, 2), m2),
                    ),
                    _mm256_or_si256(
                        _mm256_and_si256(_mm256_srli_epi16(ql0, 4), m4),
                        _mm256_and_si256(qh, m2),
                    ),
                    _mm256_or_si256(
                        _mm256_and_si256(_mm256_srli_epi16(ql1, 4), m4),
                        _mm256_and_si256(_mm256_srli_epi16(qh, 2), m2),
                    ),
                ];
                for (k, &qk) in q.iter().enumerate() {
                    let o = 128 * h + 32 * k;
                    let p = _mm256_maddubs_epi16(qk, load32(&y.qs[o..o + 32]));
                    let p = _mm256_madd_epi16(p, pair_scales_dup(dup, 4 * h + k));
                    sumi = _mm256_add_epi32(sumi, p);
                }
            }
            let s = _mm256_sub_epi32(sumi, _mm256_slli_epi32(corr, 5));
            _mm256_fmadd_ps(
                _mm256_set1_ps(dy * f16_lut(x.d)),
                _mm256_cvtepi32_ps(s),
                acc,
            )
        },
    )
    .map(|acc| hsum_ps(acc))
}

/// Q6_K · Q8_K (ggml's order, see [`q6_k_rows`]).
#[target_feature(enable = "avx2,fma,f16c")]
pub(super) fn vec_dot_q6_k(w: &[BlockQ6K], a: &[BlockQ8K]) -> f32 {
    q6_k_rows::<0, 1>([w], a)[0]
}

/// Super-blocks [`matvec_q6_k`] prefetches ahead in its row: 8 × 210 bytes. On 896x4864
/// (matvec_vs_ggml, one thread) one row at a time with this lookahead measured 1.10–1.14×
/// ggml's `vec_dot` (min of 300 calls, quiet machine), where two or four rows side by side
/// measured 0.86–0.98× with or without prefetching the next group, and pairs of rows half
/// the matrix apart (two long streams) 1.05–1.10×: the kernel waits on the weights more
/// than on arithmetic, and rows of a few KiB read side by side are short streams that the
/// hardware prefetcher keeps losing. Lookaheads of 2, 4 and 16 measured within noise of 8.
pub(super) const Q6_K_AHEAD: usize = 8;

/// `out[r]` = row `r` of `w` (rows of `nb` super-blocks) · `a`, one row at a time (see
/// [`Q6_K_AHEAD`]); each row's bits equal [`vec_dot_q6_k`]'s.
#[target_feature(enable = "avx2,fma,f16c")]
pub(super) fn matvec_q6_k(w: &[BlockQ6K], nb: usize, a: &[BlockQ8K], out: &mut [f32]) {
    rows_strided::<1, _>(w, nb, out, |r| q6_k_rows::<Q6_K_AHEAD, 1>(r, a));
}

/// Q6_K · four Q8_K rows.
#[target_feature(enable = "avx2,fma,f16c")]
pub(super) fn vec_dot_q6_k_x4(w: &[BlockQ6K], a: [&[BlockQ8K]; 4]) -> [f32; 4] {
    vec_dot_q6_k_n(w, a)
}
