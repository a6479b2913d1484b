//! NEON dot products of the k-quants with 16-element groups: Q6_K, Q3_K (signed scales, no
//! min) and Q2_K (4-bit scales and mins).
//!
//! Each group of 16 is one signed-byte dot product; four of them are reduced pairwise into
//! one vector of four group sums (`sums4`), multiplied by the four group scales in i32 lanes.
//! Integer sums are exact; the f32 term uses the reference's expression. `N` activation rows
//! at once share the decoded weights (see `q4`).

use super::util::*;
use crate::block::*;
use core::arch::aarch64::*;

/// Add `Σ_g scale[g] Σ_{l in group g} q_l a_l` over 128-element half `h` to each row's
/// accumulator: `q[k]` holds group `k` (elements `16k..16k+16` of the half), `scales` the
/// half's 8 scales, `ys` the `N` activation blocks.
#[inline]
#[target_feature(enable = "neon")]
unsafe fn half_sums<D: DotI8, const N: usize>(
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
fn add_terms<const N: usize>(
    sum: &mut [f32; N],
    d: [u8; 2],
    ys: [&BlockQ8K; N],
    acc: [int32x4_t; N],
) {
    for ((s, y), acc) in sum.iter_mut().zip(ys).zip(acc) {
        *s += f16(d) * f32::from_le_bytes(y.d) * vaddvq_s32(acc) as f32;
    }
}

/// Q6_K · Q8_K: `Σ d d_a Σ_g scale_g Σ (q - 32) a`, for `N` activation rows.
///
/// # Safety
/// The CPU must support NEON and, for `D = Sdot`, dotprod.
#[inline]
#[target_feature(enable = "neon")]
pub(super) unsafe fn vec_dot_q6_k<D: DotI8, const N: usize>(
    w: &[BlockQ6K],
    a: [&[BlockQ8K]; N],
) -> [f32; N] {
    let (w, a) = trim(w, a);
    let (m4, m30) = (vdupq_n_u8(0x0f), vdupq_n_u8(0x30));
    let bias = vdupq_n_s8(32);
    let mut sum = [0.0f32; N];
    for (i, x) in w.iter().enumerate() {
        let ys: [&BlockQ8K; N] = core::array::from_fn(|j| &a[j][i]);
        let mut acc = [vdupq_n_s32(0); N];
        for h in 0..2 {
            let ql = &x.ql[64 * h..64 * h + 64];
            let l: [uint8x16_t; 4] = core::array::from_fn(|k| load_u8(&ql[16 * k..]));
            let (h0, h1) = (load_u8(&x.qh[32 * h..]), load_u8(&x.qh[32 * h + 16..]));
            // top 2 bits of the four 32-element runs, already shifted to bits 4-5
            let t0 = [
                vshlq_n_u8::<4>(h0),
                vshlq_n_u8::<2>(h0),
                h0,
                vshrq_n_u8::<2>(h0),
            ];
            let t1 = [
                vshlq_n_u8::<4>(h1),
                vshlq_n_u8::<2>(h1),
                h1,
                vshrq_n_u8::<2>(h1),
            ];
            let q6 = |nib: uint8x16_t, top: uint8x16_t| {
                vsubq_s8(s8(vorrq_u8(nib, vandq_u8(top, m30))), bias)
            };
            let q = [
                q6(vandq_u8(l[0], m4), t0[0]),
                q6(vandq_u8(l[1], m4), t1[0]),
                q6(vandq_u8(l[2], m4), t0[1]),
                q6(vandq_u8(l[3], m4), t1[1]),
                q6(vshrq_n_u8::<4>(l[0]), t0[2]),
                q6(vshrq_n_u8::<4>(l[1]), t1[2]),
                q6(vshrq_n_u8::<4>(l[2]), t0[3]),
                q6(vshrq_n_u8::<4>(l[3]), t1[3]),
            ];
            let scales = load_s8x8(&x.scales[8 * h..8 * h + 8]);
            // SAFETY: the caller's contract.
            unsafe { half_sums::<D, N>(&mut acc, h, &q, scales, ys) };
        }
        add_terms(&mut sum, x.d, ys, acc);
    }
    sum
}

/// 8 signed bytes as a vector.
#[inline]
#[target_feature(enable = "neon")]
fn load_s8x8(s: &[i8]) -> int8x8_t {
    let b: [i8; 8] = core::array::from_fn(|k| s[k]);
    vcreate_s8(u64::from_le_bytes(b.map(|v| v as u8)))
}

/// The 2-bit quants of one 128-element half as 8 groups of 16: group `2j + i` is bits
/// `2j..2j+2` of `qs[16i..16i+16]`.
#[inline]
#[target_feature(enable = "neon")]
fn crumbs(qs: &[u8]) -> [uint8x16_t; 8] {
    let (q0, q1) = (load_u8(&qs[..16]), load_u8(&qs[16..32]));
    let three = vdupq_n_u8(3);
    core::array::from_fn(|g| {
        let v = if g % 2 == 0 { q0 } else { q1 };
        vandq_u8(vshlq_u8(v, vdupq_n_s8(-2 * (g / 2) as i8)), three)
    })
}

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
/// As [`vec_dot_q6_k`].
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
/// As [`vec_dot_q6_k`].
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
