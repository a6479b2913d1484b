//! NEON Q3_K · Q8_K (16-element groups, see `kquant`): signed 6-bit group scales, no min.
//! Integer sums are exact; the f32 term uses the reference's expression. `N` activation rows
//! at once share the decoded weights (see `q4`).

use super::kquant::*;
use super::util::*;
use crate::block::*;
use core::arch::aarch64::*;

/// The 16 six-bit group scales of a Q3_K block, minus 32 (as `BlockQ3K::group_scales`): low
/// 4 bits from the nibbles of bytes 0..8 (low nibbles: groups 0..8, high: 8..16), top 2 bits
/// from bits `2(g / 4)..` of byte `8 + g % 4`.
#[inline]
#[target_feature(enable = "neon")]
fn q3_scales(s: &[u8; 12]) -> int8x16_t {
    let b: [u8; 8] = core::array::from_fn(|k| s[k]);
    let b = vcreate_u8(u64::from_le_bytes(b));
    let low = vcombine_u8(vand_u8(b, vdup_n_u8(0x0f)), vshr_n_u8::<4>(b));
    let top = vreinterpretq_u8_u32(vdupq_n_u32(u32::from_le_bytes([s[8], s[9], s[10], s[11]])));
    let shift = vreinterpretq_s8_u8(bytes16([
        0, 0, 0, 0, 254, 254, 254, 254, 252, 252, 252, 252, 250, 250, 250, 250,
    ]));
    let top = vandq_u8(vshlq_u8(top, shift), vdupq_n_u8(3));
    vsubq_s8(s8(vorrq_u8(low, vshlq_n_u8::<4>(top))), vdupq_n_s8(32))
}

/// Q3_K · Q8_K: `Σ d d_a Σ_g s_g Σ q a` with `q = low 2 bits - (high bit ? 0 : 4)`, for `N`
/// activation rows.
///
/// # Safety
/// The CPU must support NEON and, for `D = Sdot`, dotprod.
#[inline]
#[target_feature(enable = "neon")]
pub(super) unsafe fn vec_dot_q3_k<D: DotI8, const N: usize>(
    w: &[BlockQ3K],
    a: [&[BlockQ8K]; N],
) -> [f32; N] {
    let (w, a) = trim(w, a);
    let four = vdupq_n_u8(4);
    let mut sum = [0.0f32; N];
    for (i, x) in w.iter().enumerate() {
        let ys: [&BlockQ8K; N] = core::array::from_fn(|j| &a[j][i]);
        let gs = q3_scales(&x.scales);
        let (m0, m1) = (load_u8(&x.hmask[..16]), load_u8(&x.hmask[16..]));
        let mut acc = [vdupq_n_s32(0); N];
        for h in 0..2 {
            let low = crumbs(&x.qs[32 * h..]);
            // group 2j + i: high bit 4h + j of hmask[16i..16i+16]
            let q: [int8x16_t; 8] = core::array::from_fn(|g| {
                let m = if g % 2 == 0 { m0 } else { m1 };
                let hb = vtstq_u8(m, vdupq_n_u8(1 << (4 * h + g / 2)));
                vsubq_s8(s8(low[g]), s8(vbicq_u8(four, hb)))
            });
            let s = if h == 0 {
                vget_low_s8(gs)
            } else {
                vget_high_s8(gs)
            };
            // SAFETY: the caller's contract.
            unsafe { half_sums::<D, N>(&mut acc, h, &q, s, ys) };
        }
        add_terms(&mut sum, x.d, ys, acc);
    }
    sum
}
