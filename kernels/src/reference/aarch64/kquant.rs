//! ggml's aarch64 NEON `vec_dot` of the k-quants the reference models use (`arch/arm/
//! quants.c`, the `__ARM_NEON` branches; identical with and without dotprod, since the lanes
//! are summed in i32 first).
//!
//! - Q4_K: per super-block, `d = d_a · d_w`, `dmin = d_a · dmin_w`;
//!   `sum = fma(-Σmins, dmin, sum)` then `sum = fma(Σscales, d, sum)`, where
//!   `Σmins = Σ_j bsum32_j · m_j` and `Σscales = Σ_j sc_j · Σ q·a` over the 8 sub-blocks (i32).
//! - Q6_K: per super-block `sum = fma(d_w · d_a, isum − 32 · Σ_g sc_g · bsum16_g, sum)`,
//!   `isum = Σ_g sc_g · Σ q·a` with the unsigned quants (0..64).

use crate::block::*;
use crate::math::fma;

/// Sum of the Q8_K quants of sub-block `j` of 32 (two `bsums`).
#[inline(always)]
pub(crate) fn bsum32(y: &BlockQ8K, j: usize) -> i32 {
    y.bsum(2 * j) as i32 + y.bsum(2 * j + 1) as i32
}

/// The two i32 sums of a Q4_K super-block against `y`: `Σ_j sc_j Σ q·a` and
/// `Σ_j m_j bsum32_j`.
pub(crate) fn q4_k_sums(x: &BlockQ4K, y: &BlockQ8K) -> (i32, i32) {
    let (sc, m) = crate::block::kquant::scales_mins_k4(&x.scales);
    let q = x.quants();
    let mut s = 0i32;
    let mut mins = 0i32;
    for j in 0..8 {
        let mut dot = 0i32;
        for l in 0..32 {
            dot += q[32 * j + l] as i32 * y.qs[32 * j + l] as i32;
        }
        s += sc[j] as i32 * dot;
        mins += m[j] as i32 * bsum32(y, j);
    }
    (s, mins)
}

/// Q4_K · Q8_K.
pub(crate) fn vec_dot_q4_k(w: &[BlockQ4K], a: &[BlockQ8K]) -> f32 {
    let mut sum = 0f32;
    for (x, y) in w.iter().zip(a) {
        let d = y.d() * x.d();
        let dmin = y.d() * x.dmin();
        let (s, mins) = q4_k_sums(x, y);
        sum = fma(-(mins as f32), dmin, sum);
        sum = fma(s as f32, d, sum);
    }
    sum
}

/// `Σ_g sc_g Σ q·a − 32 Σ_g sc_g bsum16_g` of a Q6_K super-block (q unsigned, 0..64).
pub(crate) fn q6_k_isum(x: &BlockQ6K, y: &BlockQ8K) -> i32 {
    let q = x.quants();
    let mut isum = 0i32;
    let mut mins = 0i32;
    for g in 0..16 {
        let mut dot = 0i32;
        for l in 0..16 {
            dot += (q[16 * g + l] as i32 + 32) * y.qs[16 * g + l] as i32;
        }
        isum += x.scales[g] as i32 * dot;
        mins += x.scales[g] as i32 * y.bsum(g) as i32;
    }
    isum - 32 * mins
}

/// Q6_K · Q8_K.
pub(crate) fn vec_dot_q6_k(w: &[BlockQ6K], a: &[BlockQ8K]) -> f32 {
    let mut sum = 0f32;
    for (x, y) in w.iter().zip(a) {
        sum = fma(x.d() * y.d(), q6_k_isum(x, y) as f32, sum);
    }
    sum
}
