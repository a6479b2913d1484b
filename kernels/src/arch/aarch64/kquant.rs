//! Helpers shared by the NEON dot products of the k-quants with 16-element groups (Q2_K,
//! Q3_K, Q6_K): each group of 16 is one signed-byte dot product; four of them are reduced
//! pairwise into one vector of four group sums (`sums4`), multiplied by the four group scales
//! in i32 lanes.

use super::util::*;
use crate::block::*;
use core::arch::aarch64::*;

/// Add `Σ_g scale[g] Σ_{l in group g} q_l a_l` over 128-element half `h` to each row's
/// accumulator: `q[k]` holds group `k` (elements `16k..16k+16` of the half), `scales` the
/// half's 8 scales, `ys` the `N` activation blocks.
#[inline]
#[target_feature(enable = "neon")]
pub(super) unsafe fn half_sums<D: DotI8, const N: usize>(
    acc: &mut [int32x4_t; N],
    h: usize,
    q: &[int8x16_t; 8],
    scales: int8x8_t,
    ys: [&BlockQ8K; N],
) {
    let (s0, s1) = widen_i8x8(scales);
    let z = vdupq_n_s32(0);
    for (acc, y) in acc.iter_mut().zip(ys) {
        let a = &y.qs[128 * h..128 * h + 128];
        // SAFETY: the caller's contract (NEON, and the extension `D` needs); quants > -128.
        let p: [int32x4_t; 8] =
            core::array::from_fn(|k| unsafe { D::dot_small(z, q[k], load_s8(&a[16 * k..])) });
        *acc = vmlaq_s32(*acc, sums4(p[0], p[1], p[2], p[3]), s0);
        *acc = vmlaq_s32(*acc, sums4(p[4], p[5], p[6], p[7]), s1);
    }
}

/// `d d_a Σ` added to each row's sum (Q6_K, Q3_K), as the reference writes it.
#[inline]
#[target_feature(enable = "neon")]
pub(super) fn add_terms<const N: usize>(
    sum: &mut [f32; N],
    d: [u8; 2],
    ys: [&BlockQ8K; N],
    acc: [int32x4_t; N],
) {
    for ((s, y), acc) in sum.iter_mut().zip(ys).zip(acc) {
        *s += f16(d) * f32::from_le_bytes(y.d) * vaddvq_s32(acc) as f32;
    }
}

/// The 2-bit quants of one 128-element half as 8 groups of 16: group `2j + i` is bits
/// `2j..2j+2` of `qs[16i..16i+16]`.
#[inline]
#[target_feature(enable = "neon")]
pub(super) fn crumbs(qs: &[u8]) -> [uint8x16_t; 8] {
    let (q0, q1) = (load_u8(&qs[..16]), load_u8(&qs[16..32]));
    let three = vdupq_n_u8(3);
    core::array::from_fn(|g| {
        let v = if g % 2 == 0 { q0 } else { q1 };
        vandq_u8(vshlq_u8(v, vdupq_n_s8(-2 * (g / 2) as i8)), three)
    })
}
