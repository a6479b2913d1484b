//! NEON dot products of the 32-element 4-bit formats: Q4_0, Q4_1 and IQ4_NL.
//!
//! Per block: the 16 nibble bytes split into two vectors of 16 quants (elements 0..16 and
//! 16..32), two signed-byte dot products against the activations give the exact integer sum,
//! and the block's f32 term is added with the reference's expression, block after block.
//!
//! Each kernel takes `N` activation rows (prefill): a weight block is decoded once and used
//! for all of them, and each row keeps its own accumulator, so a row's result has the same
//! bits for every `N` (the single-row entry points are `N = 1`).

use super::util::*;
use crate::block::iq4_nl::KVALUES_IQ4NL;
use crate::block::*;
use core::arch::aarch64::*;

/// Exact `Σ w a` of one 32-element block given its weights as two vectors of signed bytes.
#[inline]
#[target_feature(enable = "neon")]
unsafe fn block_sum<D: DotI8>(w0: int8x16_t, w1: int8x16_t, a: &[i8; 32]) -> i32 {
    // SAFETY: the caller's contract (NEON, and the extension `D` needs); weights > -128.
    let p = unsafe {
        D::dot_small(
            D::dot_small(vdupq_n_s32(0), w0, load_s8(&a[..16])),
            w1,
            load_s8(&a[16..]),
        )
    };
    vaddvq_s32(p)
}

/// Q4_0 · Q8_0: `Σ d_w d_a Σ (q - 8) a`, for `N` activation rows.
///
/// # Safety
/// The CPU must support NEON and, for `D = Sdot`, dotprod.
#[inline]
#[target_feature(enable = "neon")]
pub(super) unsafe fn vec_dot_q4_0<D: DotI8, const N: usize>(
    w: &[BlockQ4_0],
    a: [&[BlockQ8_0]; N],
) -> [f32; N] {
    let (w, a) = trim(w, a);
    let eight = vdupq_n_s8(8);
    let mut sum = [0.0f32; N];
    for (i, x) in w.iter().enumerate() {
        let (lo, hi) = nibbles(load_u8(&x.qs));
        let (w0, w1) = (vsubq_s8(s8(lo), eight), vsubq_s8(s8(hi), eight));
        for (s, a) in sum.iter_mut().zip(a) {
            let y = &a[i];
            // SAFETY: the caller's contract.
            let sumi = unsafe { block_sum::<D>(w0, w1, &y.qs) };
            *s += sumi as f32 * (f16(x.d) * f16(y.d));
        }
    }
    sum
}

/// Q4_1 · Q8_1: `Σ d_w d_a Σ q a + m_w s_a`, for `N` activation rows.
///
/// # Safety
/// As [`vec_dot_q4_0`].
#[inline]
#[target_feature(enable = "neon")]
pub(super) unsafe fn vec_dot_q4_1<D: DotI8, const N: usize>(
    w: &[BlockQ4_1],
    a: [&[BlockQ8_1]; N],
) -> [f32; N] {
    let (w, a) = trim(w, a);
    let mut sum = [0.0f32; N];
    for (i, x) in w.iter().enumerate() {
        let (lo, hi) = nibbles(load_u8(&x.qs));
        for (s, a) in sum.iter_mut().zip(a) {
            let y = &a[i];
            // SAFETY: the caller's contract.
            let sumi = unsafe { block_sum::<D>(s8(lo), s8(hi), &y.qs) };
            *s += (f16(x.d) * f16(y.d)) * sumi as f32 + f16(x.m) * f16(y.s);
        }
    }
    sum
}

/// IQ4_NL · Q8_0: the nibbles index the codebook with one `tbl`; for `N` activation rows.
///
/// # Safety
/// As [`vec_dot_q4_0`].
#[inline]
#[target_feature(enable = "neon")]
pub(super) unsafe fn vec_dot_iq4_nl<D: DotI8, const N: usize>(
    w: &[BlockIq4Nl],
    a: [&[BlockQ8_0]; N],
) -> [f32; N] {
    let (w, a) = trim(w, a);
    let table = load_s8(&KVALUES_IQ4NL);
    let mut sum = [0.0f32; N];
    for (i, x) in w.iter().enumerate() {
        let (lo, hi) = nibbles(load_u8(&x.qs));
        let (w0, w1) = (vqtbl1q_s8(table, lo), vqtbl1q_s8(table, hi));
        for (s, a) in sum.iter_mut().zip(a) {
            let y = &a[i];
            // SAFETY: the caller's contract; codebook values are ≥ -127 (`dot_small` applies).
            let sumi = unsafe { block_sum::<D>(w0, w1, &y.qs) };
            *s += (f16(x.d) * f16(y.d)) * sumi as f32;
        }
    }
    sum
}
