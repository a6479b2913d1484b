//! NEON Q4_K · Q8_K: 32-element sub-blocks with 6-bit scales and mins (Q5_K, the same layout
//! plus a fifth bit, reuses these helpers in `q5_k.rs`).
//!
//! Per super-block: for each 64-element chunk, two 32-element sub-blocks (low and high
//! nibbles) give exact dot products that are scaled by their 6-bit scale in i32 lanes; the
//! min term `Σ bsum · m` uses the activation's group sums. Both integer sums are exact; the
//! f32 term uses the reference's expression, super-block after super-block. `N` activation
//! rows at once share the decoded weights (see `q4`).

use super::util::*;
use crate::block::*;
use crate::math::fma;
use core::arch::aarch64::*;

/// The 8 six-bit scales and 8 mins of a Q4_K / Q5_K block (as `get_scale_min_k4`), with
/// word operations: sub-blocks 0..4 keep 6 bits in bytes 0..4 (scales) and 4..8 (mins);
/// sub-blocks 4..8 keep their low 4 bits in the nibbles of bytes 8..12 and their top 2 bits
/// in the top bits of bytes 0..4 (scales) and 4..8 (mins).
#[inline]
pub(super) fn scales_mins(q: &[u8; 12]) -> ([u8; 8], [u8; 8]) {
    let word = |k: usize| u32::from_le_bytes([q[k], q[k + 1], q[k + 2], q[k + 3]]);
    let (a, b, c) = (word(0), word(4), word(8));
    let sc_hi = (c & 0x0f0f_0f0f) | ((a >> 6) & 0x0303_0303) << 4;
    let m_hi = ((c >> 4) & 0x0f0f_0f0f) | ((b >> 6) & 0x0303_0303) << 4;
    let pack = |lo: u32, hi: u32| (lo as u64 | (hi as u64) << 32).to_le_bytes();
    (pack(a & 0x3f3f_3f3f, sc_hi), pack(b & 0x3f3f_3f3f, m_hi))
}

/// `Σ_g bsums[g] · m[g / 2]`, exact.
#[inline]
#[target_feature(enable = "neon")]
pub(super) fn mins_sum(y: &BlockQ8K, m: &[u8; 8]) -> i32 {
    let (b0, b1) = load_bsums(&y.bsums);
    // pairwise sums of groups (2s, 2s + 1) = sub-block s, in i32 (no overflow for any bytes)
    let (s0, s1) = (vpaddlq_s16(b0), vpaddlq_s16(b1));
    let m16 = vmovl_u8(load_u8_8(m));
    let m0 = vreinterpretq_s32_u32(vmovl_u16(vget_low_u16(m16)));
    let m1 = vreinterpretq_s32_u32(vmovl_high_u16(m16));
    vaddvq_s32(vmlaq_s32(vmulq_s32(s0, m0), s1, m1))
}

/// 8 bytes as a vector.
#[inline]
#[target_feature(enable = "neon")]
pub(super) fn load_u8_8(m: &[u8; 8]) -> uint8x8_t {
    vcreate_u8(u64::from_le_bytes(*m))
}

/// `Σ_s sc[s] Σ_{l in sub-block s} q_l a_l` for a super-block against `N` activation
/// blocks; the quants come per 64-element chunk `c` from `quants(c)` as (low sub-block
/// 0..16, 16..32, high sub-block 0..16, 16..32) and are decoded once for all rows.
#[inline]
#[target_feature(enable = "neon")]
pub(super) unsafe fn scaled_sums<D: DotI8, const N: usize>(
    sc: &[u8; 8],
    ys: [&BlockQ8K; N],
    quants: impl Fn(usize) -> [int8x16_t; 4],
) -> [i32; N] {
    let mut acc = [vdupq_n_s32(0); N];
    for c in 0..4 {
        let q = quants(c);
        for (acc, y) in acc.iter_mut().zip(ys) {
            let y = &y.qs[64 * c..64 * c + 64];
            let z = vdupq_n_s32(0);
            // SAFETY: the caller's contract (NEON, and the extension `D` needs); quants ≥ 0.
            let (lo, hi) = unsafe {
                (
                    D::dot_small(
                        D::dot_small(z, q[0], load_s8(&y[..16])),
                        q[1],
                        load_s8(&y[16..32]),
                    ),
                    D::dot_small(
                        D::dot_small(z, q[2], load_s8(&y[32..48])),
                        q[3],
                        load_s8(&y[48..]),
                    ),
                )
            };
            *acc = vmlaq_n_s32(*acc, lo, sc[2 * c] as i32);
            *acc = vmlaq_n_s32(*acc, hi, sc[2 * c + 1] as i32);
        }
    }
    acc.map(|v| vaddvq_s32(v))
}

/// Add one super-block's term to each row's sum, as the reference writes it.
#[inline]
#[target_feature(enable = "neon")]
pub(super) fn add_terms<const N: usize>(
    sum: &mut [f32; N],
    (d, dmin): ([u8; 2], [u8; 2]),
    m: &[u8; 8],
    ys: [&BlockQ8K; N],
    sumi: [i32; N],
) {
    for ((s, y), sumi) in sum.iter_mut().zip(ys).zip(sumi) {
        let summ = mins_sum(y, m);
        let dy = f32::from_le_bytes(y.d);
        *s += f16(d) * dy * sumi as f32 - f16(dmin) * dy * summ as f32;
    }
}

/// Q4_K · Q8_K: `Σ d d_a Σ_s sc_s Σ q a - dmin d_a Σ_s m_s Σ a`, for `N` activation rows
/// (each weight block decoded once; a row's bits do not depend on `N`).
///
/// # Safety
/// The CPU must support NEON and, for `D = Sdot`, dotprod.
#[inline]
#[target_feature(enable = "neon")]
pub(super) unsafe fn vec_dot_q4_k<D: DotI8, const N: usize>(
    w: &[BlockQ4K],
    a: [&[BlockQ8K]; N],
) -> [f32; N] {
    let (w, a) = trim(w, a);
    let mut sum = [0.0f32; N];
    for (i, x) in w.iter().enumerate() {
        let (sc, m) = scales_mins(&x.scales);
        let quants = |c: usize| {
            let (l0, h0) = nibbles(load_u8(&x.qs[32 * c..]));
            let (l1, h1) = nibbles(load_u8(&x.qs[32 * c + 16..]));
            [s8(l0), s8(l1), s8(h0), s8(h1)]
        };
        let ys: [&BlockQ8K; N] = core::array::from_fn(|j| &a[j][i]);
        // SAFETY: the caller's contract.
        let sumi = unsafe { scaled_sums::<D, N>(&sc, ys, quants) };
        // ggml's aarch64 order: `sum -= dmin · Σmins` then `sum += d · Σscales`, each fused
        for ((s, y), sumi) in sum.iter_mut().zip(ys).zip(sumi) {
            let dy = f32::from_le_bytes(y.d);
            let summ = mins_sum(y, &m);
            *s = fma(-(summ as f32), dy * f16(x.dmin), *s);
            *s = fma(sumi as f32, dy * f16(x.d), *s);
        }
    }
    sum
}

/// For each pair of sub-blocks `2c, 2c + 1` (`c` in 0..4) of one super-block:
/// `sc[2c] · Σ q·a + sc[2c + 1] · Σ q·a` (exact), for `N` activation rows. `quants(c)` gives
/// the 64 quants of pair `c` as four vectors (elements `0..16`, `16..32`, `32..48`, `48..64`).
///
/// # Safety
/// NEON, and the extension `D` needs.
#[inline]
#[target_feature(enable = "neon")]
pub(super) unsafe fn pair_sums<D: DotI8, const N: usize>(
    sc: &[u8; 8],
    ys: [&BlockQ8K; N],
    quants: impl Fn(usize) -> [int8x16_t; 4],
) -> [[i32; 4]; N] {
    let mut out = [[0i32; 4]; N];
    for c in 0..4 {
        let q = quants(c);
        for (o, y) in out.iter_mut().zip(ys) {
            let y = &y.qs[64 * c..64 * c + 64];
            let z = vdupq_n_s32(0);
            // SAFETY: the caller's contract; quants are 0..16 (`dot_small` applies).
            let (lo, hi) = unsafe {
                (
                    D::dot_small(
                        D::dot_small(z, q[0], load_s8(&y[..16])),
                        q[1],
                        load_s8(&y[16..32]),
                    ),
                    D::dot_small(
                        D::dot_small(z, q[2], load_s8(&y[32..48])),
                        q[3],
                        load_s8(&y[48..]),
                    ),
                )
            };
            o[c] = sc[2 * c] as i32 * vaddvq_s32(lo) + sc[2 * c + 1] as i32 * vaddvq_s32(hi);
        }
    }
    out
}

/// The 64 quants of sub-block pair `c` of a Q4_K super-block (low nibbles: sub-block `2c`,
/// high: `2c + 1`).
#[inline]
#[target_feature(enable = "neon")]
pub(super) fn q4_k_quants(x: &BlockQ4K, c: usize) -> [int8x16_t; 4] {
    let (l0, h0) = nibbles(load_u8(&x.qs[32 * c..]));
    let (l1, h1) = nibbles(load_u8(&x.qs[32 * c + 16..]));
    [s8(l0), s8(l1), s8(h0), s8(h1)]
}
