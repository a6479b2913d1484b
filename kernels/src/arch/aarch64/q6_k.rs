//! NEON Q6_K · Q8_K (16-element groups, see `kquant`): the 6-bit quants minus 32 against
//! the activations, group by group. Integer sums are exact; the f32 term uses the reference's
//! expression. `N` activation rows at once share the decoded weights (see `q4`).

use super::kquant::*;
use super::util::*;
use crate::block::*;
use crate::math::fma;
use core::arch::aarch64::*;

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
    let mut sum = [0.0f32; N];
    for (i, x) in w.iter().enumerate() {
        let ys: [&BlockQ8K; N] = core::array::from_fn(|j| &a[j][i]);
        // SAFETY: the caller's contract.
        let isum = unsafe { isums::<D, N>(x, ys) };
        // ggml's aarch64 order: `sum = fma(d_w · d_a, isum, sum)`
        for ((s, y), isum) in sum.iter_mut().zip(ys).zip(isum) {
            *s = fma(f16(x.d) * f32::from_le_bytes(y.d), isum as f32, *s);
        }
    }
    sum
}

/// `Σ_g sc_g Σ q·a − 32 Σ_g sc_g bsum_g` of super-block `x` against `N` activation blocks
/// (`q` unsigned, 0..64), exact, with the activations' `bsums` as ggml's aarch64 code uses
/// them (equal to `Σ_g sc_g Σ (q − 32)·a` when they are the sums of the quants).
///
/// # Safety
/// NEON, and the extension `D` needs.
#[inline]
#[target_feature(enable = "neon")]
pub(super) unsafe fn isums<D: DotI8, const N: usize>(x: &BlockQ6K, ys: [&BlockQ8K; N]) -> [i32; N] {
    let (m4, m30) = (vdupq_n_u8(0x0f), vdupq_n_u8(0x30));
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
        let q6 = |nib: uint8x16_t, top: uint8x16_t| s8(vorrq_u8(nib, vandq_u8(top, m30)));
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
    let mut out = [0i32; N];
    for ((o, acc), y) in out.iter_mut().zip(acc).zip(ys) {
        let mins: i32 = (0..16).map(|g| x.scales[g] as i32 * y.bsum(g) as i32).sum();
        *o = vaddvq_s32(acc) - 32 * mins;
    }
    out
}

/// 8 signed bytes as a vector.
#[inline]
#[target_feature(enable = "neon")]
fn load_s8x8(s: &[i8]) -> int8x8_t {
    let b: [i8; 8] = core::array::from_fn(|k| s[k]);
    vcreate_s8(u64::from_le_bytes(b.map(|v| v as u8)))
}
