//! AVX2 Q5_K · Q8_K: Q4_K's layout and arithmetic (see `q4_k.rs`) with the fifth bit of
//! sub-block `s` taken from bit `s` of `qh`.

use super::kquant::*;
use super::util::*;
use crate::block::kquant::unpack_k4_scales;
use crate::block::*;
use core::arch::x86_64::*;

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
