//! NEON Q5_K · Q8_K: Q4_K's sub-blocks, scales and mins (helpers in `q4_k`) with a fifth
//! bit per weight. Integer sums are exact; the f32 terms use the reference's expression.

use super::q4_k::*;
use super::util::*;
use crate::block::*;
use core::arch::aarch64::*;

/// Q5_K · Q8_K: as Q4_K with a fifth bit per weight (bit `2c` / `2c + 1` of `qh[l]` for the
/// low / high sub-block of chunk `c`).
///
/// # Safety
/// The CPU must support NEON and, for `D = Sdot`, dotprod.
#[inline]
#[target_feature(enable = "neon")]
pub(super) unsafe fn vec_dot_q5_k<D: DotI8, const N: usize>(
    w: &[BlockQ5K],
    a: [&[BlockQ8K]; N],
) -> [f32; N] {
    let (w, a) = trim(w, a);
    let sixteen = vdupq_n_u8(16);
    let mut sum = [0.0f32; N];
    for (i, x) in w.iter().enumerate() {
        let (sc, m) = scales_mins(&x.scales);
        let (qh0, qh1) = (load_u8(&x.qh[..16]), load_u8(&x.qh[16..]));
        let quants = |c: usize| {
            let (l0, h0) = nibbles(load_u8(&x.qs[32 * c..]));
            let (l1, h1) = nibbles(load_u8(&x.qs[32 * c + 16..]));
            let (bl, bh) = (vdupq_n_u8(1 << (2 * c)), vdupq_n_u8(2 << (2 * c)));
            let fifth = |qh, bit| vandq_u8(vtstq_u8(qh, bit), sixteen);
            [
                s8(vorrq_u8(l0, fifth(qh0, bl))),
                s8(vorrq_u8(l1, fifth(qh1, bl))),
                s8(vorrq_u8(h0, fifth(qh0, bh))),
                s8(vorrq_u8(h1, fifth(qh1, bh))),
            ]
        };
        let ys: [&BlockQ8K; N] = core::array::from_fn(|j| &a[j][i]);
        // SAFETY: the caller's contract.
        let sumi = unsafe { scaled_sums::<D, N>(&sc, ys, quants) };
        add_terms(&mut sum, (x.d, x.dmin), &m, ys, sumi);
    }
    sum
}
