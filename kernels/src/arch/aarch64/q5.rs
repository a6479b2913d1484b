//! NEON dot products of the 32-element 5-bit formats: Q5_0 and Q5_1.
//!
//! The 32 fifth bits become two byte masks (`bit_masks32`), OR-ed as 16 into the nibbles;
//! then as Q4_0 / Q4_1: exact integer block sums, f32 terms added in the reference's order,
//! for `N` activation rows at once (see `q4`).

use super::order32;
use super::util::*;
use crate::block::*;
use crate::math::fma;
use core::arch::aarch64::*;

/// The 32 unsigned 5-bit quants of a block as two vectors (elements 0..16, 16..32).
#[inline]
#[target_feature(enable = "neon")]
fn quants5(qs: &[u8; 16], qh: [u8; 4]) -> (uint8x16_t, uint8x16_t) {
    let (lo, hi) = nibbles(load_u8(qs));
    let (m0, m1) = bit_masks32(u32::from_le_bytes(qh));
    let sixteen = vdupq_n_u8(16);
    (
        vorrq_u8(lo, vandq_u8(m0, sixteen)),
        vorrq_u8(hi, vandq_u8(m1, sixteen)),
    )
}

/// Exact `Σ w a` of one block.
#[inline]
#[target_feature(enable = "neon")]
unsafe fn block_sum<D: DotI8>(w0: int8x16_t, w1: int8x16_t, a: &[i8; 32]) -> i32 {
    // SAFETY: the caller's contract (NEON, and the extension `D` needs); quants are > -128.
    let p = unsafe {
        D::dot_small(
            D::dot_small(vdupq_n_s32(0), w0, load_s8(&a[..16])),
            w1,
            load_s8(&a[16..]),
        )
    };
    vaddvq_s32(p)
}

/// Q5_0 · Q8_0 in ggml's aarch64 order (`order32`): odd last block
/// `sum = fma(d_w · d_a, sumi, sum)`; for `N` activation rows.
///
/// # Safety
/// The CPU must support NEON and, for `D = Sdot`, dotprod.
#[inline]
#[target_feature(enable = "neon")]
pub(super) unsafe fn vec_dot_q5_0<D: DotI8, const N: usize>(
    w: &[BlockQ5_0],
    a: [&[BlockQ8_0]; N],
) -> [f32; N] {
    let (w, a) = trim(w, a);
    let sixteen = vdupq_n_s8(16);
    let decode = |x: &BlockQ5_0| {
        let (q0, q1) = quants5(&x.qs, x.qh);
        (vsubq_s8(s8(q0), sixteen), vsubq_s8(s8(q1), sixteen))
    };
    // SAFETY: the caller's contract.
    let mut sum = unsafe {
        order32::pairs::<D, _, N>(true, w.len(), a, |i| {
            let (w0, w1) = decode(&w[i]);
            (w0, w1, f16(w[i].d))
        })
    };
    if w.len() % 2 == 1 {
        let i = w.len() - 1;
        let (w0, w1) = decode(&w[i]);
        for (s, a) in sum.iter_mut().zip(a) {
            // SAFETY: the caller's contract.
            let sumi = vaddvq_s32(unsafe { order32::lanes::<D>(true, w0, w1, &a[i].qs) });
            *s = fma(f16(w[i].d) * f16(a[i].d), sumi as f32, *s);
        }
    }
    sum
}

/// Q5_1 · Q8_1: `Σ d_w d_a Σ q a + m_w s_a`, for `N` activation rows.
///
/// # Safety
/// As [`vec_dot_q5_0`].
#[inline]
#[target_feature(enable = "neon")]
pub(super) unsafe fn vec_dot_q5_1<D: DotI8, const N: usize>(
    w: &[BlockQ5_1],
    a: [&[BlockQ8_1]; N],
) -> [f32; N] {
    let (w, a) = trim(w, a);
    let mut sum = [0.0f32; N];
    for (i, x) in w.iter().enumerate() {
        let (q0, q1) = quants5(&x.qs, x.qh);
        for (s, a) in sum.iter_mut().zip(a) {
            let y = &a[i];
            // SAFETY: the caller's contract.
            let sumi = unsafe { block_sum::<D>(s8(q0), s8(q1), &y.qs) };
            *s += (f16(x.d) * f16(y.d)) * sumi as f32 + f16(x.m) * f16(y.s);
        }
    }
    sum
}
