//! AVX2 Q4_K · Q8_K and Q5_K · Q8_K.
//!
//! Per super-block: the 6-bit scales and mins unpack with word operations; the min term is
//! one `madd` of the activation group sums (`bsums`) with the mins; each 64-element chunk
//! loads 32 bytes of nibbles, splits them into two sub-blocks of 32 unsigned quants, and
//! `maddubs` + `madd` by the sub-block scale accumulate exact i32 sums.

use super::kquant::*;
use super::q4::trim;
use super::util::*;
use crate::block::kquant::unpack_k4_scales;
use crate::block::*;
use core::arch::x86_64::*;

/// Min term `Σ_s m_s Σ_{group in s} bsum` (8 i32 lanes) for the mins in bytes 8..16 of `u`.
#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
fn min_term(u: __m128i, y: &BlockQ8K) -> __m256i {
    // [m0, m0, m1, m1, …, m7, m7] as i16: each min against its two bsum groups.
    let mins = _mm256_cvtepu8_epi16(_mm_unpackhi_epi8(u, u));
    scaled_bsums(&y.bsums, mins)
}

/// Q4_K · Q8_K for `N` activation rows; the nibbles are split once per 64-element chunk.
/// Per super-block: `acc += d_w d_a · sumi`, then `acc -= dmin_w d_a · Σ m bsum`.
#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
fn vec_dot_q4_k_n<const N: usize>(w: &[BlockQ4K], a: [&[BlockQ8K]; N]) -> [f32; N] {
    let (w, a) = trim(w, a);
    let n = w.len();
    let mut acc = [_mm256_setzero_ps(); N];
    for i in 0..n {
        let x = &w[i];
        let u8s = unpack_k4_scales(&x.scales);
        let u = load16(&u8s);
        let mut sumi = [_mm256_setzero_si256(); N];
        for c in 0..4 {
            let (lo, hi) = split_nibbles(load32(&x.qs[32 * c..32 * c + 32]));
            let s0 = _mm256_set1_epi16(u8s[2 * c] as i16);
            let s1 = _mm256_set1_epi16(u8s[2 * c + 1] as i16);
            for j in 0..N {
                let y = &a[j][i];
                let p0 = _mm256_maddubs_epi16(lo, load32(&y.qs[64 * c..64 * c + 32]));
                let p1 = _mm256_maddubs_epi16(hi, load32(&y.qs[64 * c + 32..64 * c + 64]));
                let p = _mm256_add_epi32(_mm256_madd_epi16(p0, s0), _mm256_madd_epi16(p1, s1));
                sumi[j] = _mm256_add_epi32(sumi[j], p);
            }
        }
        let (dx, dmx) = (f16(x.d), f16(x.dmin));
        for j in 0..N {
            let y = &a[j][i];
            let dy = y.d();
            let m = _mm256_cvtepi32_ps(min_term(u, y));
            acc[j] = _mm256_fmadd_ps(_mm256_set1_ps(dx * dy), _mm256_cvtepi32_ps(sumi[j]), acc[j]);
            acc[j] = _mm256_fnmadd_ps(_mm256_set1_ps(dmx * dy), m, acc[j]);
        }
    }
    core::array::from_fn(|j| hsum_ps(acc[j]))
}

/// Q4_K · Q8_K.
#[target_feature(enable = "avx2,fma,f16c")]
pub(super) fn vec_dot_q4_k(w: &[BlockQ4K], a: &[BlockQ8K]) -> f32 {
    vec_dot_q4_k_n(w, [a])[0]
}

/// Q4_K · four Q8_K rows.
#[target_feature(enable = "avx2,fma,f16c")]
pub(super) fn vec_dot_q4_k_x4(w: &[BlockQ4K], a: [&[BlockQ8K]; 4]) -> [f32; 4] {
    vec_dot_q4_k_n(w, a)
}

/// Q5_K · Q8_K: as Q4_K with the fifth bit of sub-block `s` taken from bit `s` of `qh`.
#[target_feature(enable = "avx2,fma,f16c")]
pub(super) fn vec_dot_q5_k(w: &[BlockQ5K], a: &[BlockQ8K]) -> f32 {
    let mut acc = _mm256_setzero_ps();
    let mut acc_m = _mm256_setzero_ps();
    let one = _mm256_set1_epi8(1);
    for (x, y) in w.iter().zip(a) {
        let dy = y.d();
        let u8s = unpack_k4_scales(&x.scales);
        let u = load16(&u8s);
        let prod_m = min_term(u, y);
        let hbits = load32(&x.qh);
        let mut sumi = _mm256_setzero_si256();
        for c in 0..4 {
            let (lo, hi) = split_nibbles(load32(&x.qs[32 * c..32 * c + 32]));
            // bit 2c / 2c+1 of each qh byte → 16
            let (h0, h1) = match c {
                0 => (hbits, _mm256_srli_epi16(hbits, 1)),
                1 => (_mm256_srli_epi16(hbits, 2), _mm256_srli_epi16(hbits, 3)),
                2 => (_mm256_srli_epi16(hbits, 4), _mm256_srli_epi16(hbits, 5)),
                _ => (_mm256_srli_epi16(hbits, 6), _mm256_srli_epi16(hbits, 7)),
            };
            let lo = _mm256_or_si256(lo, _mm256_slli_epi16(_mm256_and_si256(h0, one), 4));
            let hi = _mm256_or_si256(hi, _mm256_slli_epi16(_mm256_and_si256(h1, one), 4));
            let p0 = _mm256_maddubs_epi16(lo, load32(&y.qs[64 * c..64 * c + 32]));
            let p1 = _mm256_maddubs_epi16(hi, load32(&y.qs[64 * c + 32..64 * c + 64]));
            let p0 = _mm256_madd_epi16(p0, _mm256_set1_epi16(u8s[2 * c] as i16));
            let p1 = _mm256_madd_epi16(p1, _mm256_set1_epi16(u8s[2 * c + 1] as i16));
            sumi = _mm256_add_epi32(sumi, _mm256_add_epi32(p0, p1));
        }
        let d = _mm256_set1_ps(f16(x.d) * dy);
        let dmin = _mm256_set1_ps(f16(x.dmin) * dy);
        acc = _mm256_fmadd_ps(d, _mm256_cvtepi32_ps(sumi), acc);
        acc_m = _mm256_fmadd_ps(dmin, _mm256_cvtepi32_ps(prod_m), acc_m);
    }
    hsum_ps(_mm256_sub_ps(acc, acc_m))
}
