//! ggml's aarch64 `vec_dot` loop of the 32-element formats (Q4_0, Q4_1, Q5_0, Q8_0;
//! `ggml-cpu/arch/arm/quants.c`), shared by their kernels here: blocks two at a time into two
//! 4-lane f32 accumulators (even and odd blocks), each block's four i32 lanes (the two
//! signed-byte dot products, spread over the lanes as the build's `ggml_vdotq_s32` spreads
//! them: [`Sdot`](super::util::Sdot) or [`Mull`](super::util::Mull)) converted, multiplied by
//! `d_w · d_a` and added (gcc does not fuse `vmlaq_n_f32`); the result is
//! `vaddvq(acc0) + vaddvq(acc1)`, and each format adds an odd last block in its scalar form.
//! The scalar model is `crate::reference::aarch64::quant`.

use super::util::*;
use core::arch::aarch64::*;

/// The activation side of one block: its 32 quants and its scale.
pub(super) trait Act32 {
    fn qs(&self) -> &[i8; 32];
    fn d(&self) -> f32;
}

impl Act32 for crate::block::BlockQ8_0 {
    #[inline(always)]
    fn qs(&self) -> &[i8; 32] {
        &self.qs
    }
    #[inline(always)]
    fn d(&self) -> f32 {
        f16_scalar(self.d)
    }
}

impl Act32 for crate::block::BlockQ8_1 {
    #[inline(always)]
    fn qs(&self) -> &[i8; 32] {
        &self.qs
    }
    #[inline(always)]
    fn d(&self) -> f32 {
        f16_scalar(self.d)
    }
}

/// `f16` without a target-feature requirement at the call site (the conversion is exact,
/// whichever instruction does it).
#[inline(always)]
fn f16_scalar(b: [u8; 2]) -> f32 {
    crate::block::f16_to_f32(b)
}

/// The i32 lanes of one block: `dot(dot(0, w0, a[..16]), w1, a[16..])`; `small`: the weights
/// are above -128 (every format but Q8_0).
///
/// # Safety
/// NEON, and the extension `D` needs.
#[inline]
#[target_feature(enable = "neon")]
pub(super) unsafe fn lanes<D: DotI8>(
    small: bool,
    w0: int8x16_t,
    w1: int8x16_t,
    a: &[i8; 32],
) -> int32x4_t {
    let (a0, a1) = (load_s8(&a[..16]), load_s8(&a[16..]));
    let z = vdupq_n_s32(0);
    // SAFETY: the caller's contract.
    unsafe {
        if small {
            D::dot_small(D::dot_small(z, w0, a0), w1, a1)
        } else {
            D::dot(D::dot(z, w0, a0), w1, a1)
        }
    }
}

/// The paired loop over the first `nb - nb % 2` blocks for `N` activation rows: `weights(i)`
/// decodes block `i` (two vectors of 16 signed quants, elements `0..16` and `16..32`, and
/// `d_w`). Returns each row's `vaddvq(acc0) + vaddvq(acc1)`.
///
/// # Safety
/// NEON, and the extension `D` needs.
#[inline]
#[target_feature(enable = "neon")]
pub(super) unsafe fn pairs<D: DotI8, A: Act32, const N: usize>(
    small: bool,
    nb: usize,
    a: [&[A]; N],
    weights: impl Fn(usize) -> (int8x16_t, int8x16_t, f32),
) -> [f32; N] {
    let z = vdupq_n_f32(0.0);
    let mut acc = [[z; 2]; N];
    let mut ib = 0;
    while ib + 1 < nb {
        for h in 0..2 {
            let (w0, w1, dw) = weights(ib + h);
            for (acc, a) in acc.iter_mut().zip(a) {
                let y = &a[ib + h];
                // SAFETY: the caller's contract.
                let p = unsafe { lanes::<D>(small, w0, w1, y.qs()) };
                let t = vmulq_n_f32(vcvtq_f32_s32(p), dw * y.d());
                acc[h] = vaddq_f32(acc[h], t);
            }
        }
        ib += 2;
    }
    acc.map(|a| vaddvq_f32(a[0]) + vaddvq_f32(a[1]))
}
