//! NEON Q8_0 dot product and the Q8_0 / Q8_1 activation quantizers, in the order and with
//! the rounding of ggml's aarch64 build (`ggml-cpu/arch/arm/quants.c`; scalar model:
//! `crate::reference::aarch64::quant`).
//!
//! Quantizers: `amax` by a `vmaxq_f32` tree, `d = amax / 127`, `id = d != 0 ? 1 / d : 0`,
//! `vcvtnq_s32_f32(x · id)` (ties to even), stored as i8 (wrapping, as C's store does).

use super::order32;
use super::util::*;
use crate::block::*;
use crate::math::fma;
use core::arch::aarch64::*;

/// Q8_0 · Q8_0 in ggml's aarch64 order (`order32`): odd last block
/// `sum = fma(sumi, d_w · d_a, sum)`; exact for every quant (-128 included); for `N`
/// activation rows.
///
/// # Safety
/// The CPU must support NEON and, for `D = Sdot`, dotprod.
#[inline]
#[target_feature(enable = "neon")]
pub(super) unsafe fn vec_dot_q8_0<D: DotI8, const N: usize>(
    w: &[BlockQ8_0],
    a: [&[BlockQ8_0]; N],
) -> [f32; N] {
    let (w, a) = trim(w, a);
    let decode = |x: &BlockQ8_0| (load_s8(&x.qs[..16]), load_s8(&x.qs[16..]));
    // SAFETY: the caller's contract.
    let mut sum = unsafe {
        order32::pairs::<D, _, N>(false, w.len(), a, |i| {
            let (w0, w1) = decode(&w[i]);
            (w0, w1, f16(w[i].d))
        })
    };
    if w.len() % 2 == 1 {
        let i = w.len() - 1;
        let (w0, w1) = decode(&w[i]);
        for (s, a) in sum.iter_mut().zip(a) {
            // SAFETY: the caller's contract.
            let sumi = vaddvq_s32(unsafe { order32::lanes::<D>(false, w0, w1, &a[i].qs) });
            *s = fma(sumi as f32, f16(w[i].d) * f16(a[i].d), *s);
        }
    }
    sum
}

/// One block of 32: `d` and the eight i32 lane vectors of `vcvtnq_s32_f32(x · id)`.
#[inline]
#[target_feature(enable = "neon")]
fn q8_block(x: &[f32]) -> (f32, [int32x4_t; 8]) {
    let v: [float32x4_t; 8] = core::array::from_fn(|k| load_f32(&x[4 * k..]));
    let a = v.map(|v| vabsq_f32(v));
    let m = vmaxq_f32(
        vmaxq_f32(vmaxq_f32(a[0], a[1]), vmaxq_f32(a[2], a[3])),
        vmaxq_f32(vmaxq_f32(a[4], a[5]), vmaxq_f32(a[6], a[7])),
    );
    let amax = vmaxvq_f32(m);
    let d = amax / 127.0;
    let id = if d != 0.0 { 1.0 / d } else { 0.0 };
    (d, v.map(|v| vcvtnq_s32_f32(vmulq_n_f32(v, id))))
}

/// The low byte of each i32 lane (C's store of an `int32_t` to `int8_t`).
#[inline]
#[target_feature(enable = "neon")]
fn pack(q: &[int32x4_t]) -> int8x16_t {
    let a = vcombine_s16(vmovn_s32(q[0]), vmovn_s32(q[1]));
    let b = vcombine_s16(vmovn_s32(q[2]), vmovn_s32(q[3]));
    vcombine_s8(vmovn_s16(a), vmovn_s16(b))
}

/// Quantize activations to Q8_0 as ggml's aarch64 `quantize_row_q8_0`.
#[target_feature(enable = "neon")]
pub(super) fn quantize_q8_0(x: &[f32], out: &mut [BlockQ8_0]) {
    for (xb, y) in x.chunks_exact(32).zip(out.iter_mut()) {
        let (d, q) = q8_block(xb);
        y.d = f32_to_f16(d);
        store_s8(&mut y.qs[..16], pack(&q[..4]));
        store_s8(&mut y.qs[16..], pack(&q[4..]));
    }
}

/// Quantize activations to Q8_1 as ggml's aarch64 `quantize_row_q8_1`: `s = f16(d · Σ q)`
/// over the i32 values (`vaddvq_s32`).
#[target_feature(enable = "neon")]
pub(super) fn quantize_q8_1(x: &[f32], out: &mut [BlockQ8_1]) {
    for (xb, y) in x.chunks_exact(32).zip(out.iter_mut()) {
        let (d, q) = q8_block(xb);
        y.d = f32_to_f16(d);
        store_s8(&mut y.qs[..16], pack(&q[..4]));
        store_s8(&mut y.qs[16..], pack(&q[4..]));
        let s = q.iter().fold(vdupq_n_s32(0), |acc, &v| vaddq_s32(acc, v));
        y.s = f32_to_f16(d * vaddvq_s32(s) as f32);
    }
}
