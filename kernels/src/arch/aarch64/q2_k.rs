//! NEON Q2_K · Q8_K (16-element groups, see `kquant`): 2-bit quants, 4-bit scales and mins.
//! Integer sums are exact; the f32 terms use the reference's expression. `N` activation rows
//! at once share the decoded weights (see `q4`).

use super::kquant::*;
use super::util::*;
use crate::block::*;
use core::arch::aarch64::*;

/// `Σ_g bsums[g] · mins[g]` (mins as i16 lanes, groups 0..8 and 8..16), exact.
#[inline]
#[target_feature(enable = "neon")]
fn mins_sum16(y: &BlockQ8K, mins: int16x8_t, mins_hi: int16x8_t) -> i32 {
    let (b0, b1) = load_bsums(&y.bsums);
    let mm = vmlal_high_s16(vmull_s16(vget_low_s16(b0), vget_low_s16(mins)), b0, mins);
    let mm = vmlal_high_s16(
        vmlal_s16(mm, vget_low_s16(b1), vget_low_s16(mins_hi)),
        b1,
        mins_hi,
    );
    vaddvq_s32(mm)
}

/// Q2_K · Q8_K: `Σ d_a (d Σ_g sc_g Σ q a - dmin Σ_g m_g bsum_g)`, for `N` activation rows.
///
/// # Safety
/// The CPU must support NEON and, for `D = Sdot`, dotprod.
#[inline]
#[target_feature(enable = "neon")]
pub(super) unsafe fn vec_dot_q2_k<D: DotI8, const N: usize>(
    w: &[BlockQ2K],
    a: [&[BlockQ8K]; N],
) -> [f32; N] {
    let (w, a) = trim(w, a);
    let m4 = vdupq_n_u8(0x0f);
    let mut sum = [0.0f32; N];
    for (i, x) in w.iter().enumerate() {
        let ys: [&BlockQ8K; N] = core::array::from_fn(|j| &a[j][i]);
        let sc = load_u8(&x.scales);
        let scales = s8(vandq_u8(sc, m4));
        let mins = vreinterpretq_s16_u16(vmovl_u8(vget_low_u8(vshrq_n_u8::<4>(sc))));
        let mins_hi = vreinterpretq_s16_u16(vmovl_high_u8(vshrq_n_u8::<4>(sc)));
        let mut acc = [vdupq_n_s32(0); N];
        for h in 0..2 {
            let q = crumbs(&x.qs[32 * h..]).map(|v| s8(v));
            let s = if h == 0 {
                vget_low_s8(scales)
            } else {
                vget_high_s8(scales)
            };
            // SAFETY: the caller's contract.
            unsafe { half_sums::<D, N>(&mut acc, h, &q, s, ys) };
        }
        for ((s, y), acc) in sum.iter_mut().zip(ys).zip(acc) {
            let isum = vaddvq_s32(acc);
            let summs = mins_sum16(y, mins, mins_hi);
            let dy = f32::from_le_bytes(y.d);
            *s += dy * f16(x.d) * isum as f32 - dy * f16(x.dmin) * summs as f32;
        }
    }
    sum
}
