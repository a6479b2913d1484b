//! AVX2 Q2_K · Q8_K (16-element groups): the 2-bit quants are unsigned already; each
//! 32-element `maddubs` result is weighted by its two group scales with one `madd`, the mins
//! with one `madd` over the activation group sums.

use super::kquant::*;
use super::util::*;
use crate::block::*;
use core::arch::x86_64::*;

/// Q2_K · Q8_K: unsigned 2-bit quants, 4-bit scales (low nibbles) and mins (high nibbles).
#[target_feature(enable = "avx2,fma,f16c")]
pub(super) fn vec_dot_q2_k(w: &[BlockQ2K], a: &[BlockQ8K]) -> f32 {
    let mut acc = _mm256_setzero_ps();
    let mut acc_m = _mm256_setzero_ps();
    let m3 = _mm256_set1_epi8(3);
    let m4 = _mm_set1_epi8(0x0f);
    for (x, y) in w.iter().zip(a) {
        let raw = load16(&x.scales);
        let sc = _mm_and_si128(raw, m4);
        let mins = _mm_and_si128(_mm_srli_epi16(raw, 4), m4);
        let prod_m = scaled_bsums(&y.bsums, _mm256_cvtepu8_epi16(mins));
        let mut sumi = _mm256_setzero_si256();
        for h in 0..2 {
            let q = load32(&x.qs[32 * h..32 * h + 32]);
            for j in 0..4 {
                let q2 = _mm256_and_si256(srli16(q, 2 * j as i32), m3);
                let o = 128 * h + 32 * j;
                let p = _mm256_maddubs_epi16(q2, load32(&y.qs[o..o + 32]));
                sumi = _mm256_add_epi32(sumi, _mm256_madd_epi16(p, pair_scales_i8(sc, 4 * h + j)));
            }
        }
        let dy = y.d();
        acc = _mm256_fmadd_ps(
            _mm256_set1_ps(dy * f16_lut(x.d)),
            _mm256_cvtepi32_ps(sumi),
            acc,
        );
        acc_m = _mm256_fmadd_ps(
            _mm256_set1_ps(dy * f16(x.dmin)),
            _mm256_cvtepi32_ps(prod_m),
            acc_m,
        );
    }
    hsum_ps(_mm256_sub_ps(acc, acc_m))
}
