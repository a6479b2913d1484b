//! AVX2 Q3_K · Q8_K (16-element groups): quants are made unsigned for `maddubs` by adding 4
//! (`q + 4 = low2 + 4 * hbit` in 0..8); the offset's contribution `4 * Σ_g scale_g * bsum_g`
//! is removed once per super-block with one `madd` over the activation group sums.

use super::kquant::*;
use super::util::*;
use crate::block::kquant::unpack_q3k_scales;
use crate::block::*;
use core::arch::x86_64::*;

/// Q3_K · Q8_K: `q + 4 = low2 + 4 * hbit` in 0..8.
#[target_feature(enable = "avx2,fma,f16c")]
pub(super) fn vec_dot_q3_k(w: &[BlockQ3K], a: &[BlockQ8K]) -> f32 {
    let mut acc = _mm256_setzero_ps();
    let m3 = _mm256_set1_epi8(3);
    let m4 = _mm256_set1_epi8(4);
    for (x, y) in w.iter().zip(a) {
        let s8 = unpack_q3k_scales(&x.scales);
        let sc = load16(&s8);
        let corr = scaled_bsums(&y.bsums, _mm256_cvtepi8_epi16(sc));
        let hbits = load32(&x.hmask);
        let mut sumi = _mm256_setzero_si256();
        for h in 0..2 {
            let q = load32(&x.qs[32 * h..32 * h + 32]);
            for j in 0..4 {
                let s = 2 * j as i32;
                let t = (4 * h + j) as i32;
                let low = _mm256_and_si256(srli16(q, s), m3);
                // hbit t of each byte, moved to bit 2
                let hb = srli16(hbits, t);
                let hb = _mm256_and_si256(_mm256_slli_epi16(hb, 2), m4);
                let o = 128 * h + 32 * j;
                let p = _mm256_maddubs_epi16(_mm256_or_si256(low, hb), load32(&y.qs[o..o + 32]));
                sumi = _mm256_add_epi32(sumi, _mm256_madd_epi16(p, pair_scales_i8(sc, 4 * h + j)));
            }
        }
        sumi = _mm256_sub_epi32(sumi, _mm256_slli_epi32(corr, 2));
        let d = _mm256_set1_ps(f16(x.d) * y.d());
        acc = _mm256_fmadd_ps(d, _mm256_cvtepi32_ps(sumi), acc);
    }
    hsum_ps(acc)
}
