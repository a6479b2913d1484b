//! NEON dot products of the 32-element 4-bit formats: Q4_0, Q4_1 and IQ4_NL.
//!
//! Per block: the 16 nibble bytes split into two vectors of 16 quants (elements 0..16 and
//! 16..32), two signed-byte dot products against the activations give the exact integer sum,
//! and the block's f32 term is added with the reference's expression, block after block.
//!
//! Each kernel takes `N` activation rows (prefill): a weight block is decoded once and used
//! for all of them, and each row keeps its own accumulator, so a row's result has the same
//! bits for every `N` (the single-row entry points are `N = 1`).

use super::order32;
use super::util::*;
use crate::block::iq4_nl::KVALUES_IQ4NL;
use crate::block::*;
use crate::math::fma;
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

/// Q4_0 · Q8_0 in ggml's aarch64 order (`order32`): odd last block
/// `sum = fma(sumi · d_w, d_a, sum)`; for `N` activation rows.
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
    let decode = |x: &BlockQ4_0| {
        let (lo, hi) = nibbles(load_u8(&x.qs));
        (vsubq_s8(s8(lo), eight), vsubq_s8(s8(hi), eight))
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
            *s = fma(sumi as f32 * f16(w[i].d), f16(a[i].d), *s);
        }
    }
    sum
}

/// Q4_1 · Q8_1 in ggml's aarch64 order (`order32`), the `m · s` terms summed apart two
/// blocks at a time (`summs += fma(m0, s0, m1 · s1)`) and added after the lanes; odd last
/// block `sum += fma(d_w · d_a, sumi, m · s)`; for `N` activation rows.
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
    let nb = w.len();
    let decode = |x: &BlockQ4_1| {
        let (lo, hi) = nibbles(load_u8(&x.qs));
        (s8(lo), s8(hi))
    };
    // SAFETY: the caller's contract.
    let body = unsafe {
        order32::pairs::<D, _, N>(true, nb - nb % 2, a, |i| {
            let (w0, w1) = decode(&w[i]);
            (w0, w1, f16(w[i].d))
        })
    };
    let mut sum = [0.0f32; N];
    for ((s, a), body) in sum.iter_mut().zip(a).zip(body) {
        let mut summs = 0.0f32;
        let mut ib = 0;
        while ib + 1 < nb {
            let t = f16(w[ib + 1].m) * f16(a[ib + 1].s);
            summs += fma(f16(w[ib].m), f16(a[ib].s), t);
            ib += 2;
        }
        *s = body + summs;
        if nb % 2 == 1 {
            let i = nb - 1;
            let (w0, w1) = decode(&w[i]);
            // SAFETY: the caller's contract.
            let sumi = vaddvq_s32(unsafe { order32::lanes::<D>(true, w0, w1, &a[i].qs) });
            let ms = f16(w[i].m) * f16(a[i].s);
            *s += fma(f16(w[i].d) * f16(a[i].d), sumi as f32, ms);
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
