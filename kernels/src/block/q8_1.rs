//! Q8_1: Q8_0 plus the block's scaled sum, the activation format of Q4_1 and Q5_1 (their
//! min term needs `Σ a`). Activation-only: ggml has no Q8_1 weights.
//!
//! [`quantize_row_q8_1`] produces the bytes of ggml's x86 AVX2 `quantize_row_q8_1`: the same
//! quants as [`super::q8_0::quantize_row_q8_0`] (`id = 127 / amax`, ties to even) and
//! `s = f16(d * Σ q)` with the sum taken over the rounded 32-bit integers before packing.

use super::q8_0::{amax32_x86, cvtps_epi32, q8_scale_x86};
use super::{ActivationFormat, f16_to_f32, f32_to_f16};
use crate::GgmlType;
use crate::math::round_ties_even;
use bytemuck::{Pod, Zeroable};

/// A Q8_1 block: 32 activations `x[j] = d * qs[j]`, and `s = d * Σ qs[j]`.
///
/// Layout (36 bytes): `d` f16 (2), `s` f16 (2), `qs` 32 × i8. 9 bits per value.
/// Source: ggml `block_q8_1`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Pod, Zeroable)]
#[repr(C)]
pub struct BlockQ8_1 {
    /// Scale, f16.
    pub d: [u8; 2],
    /// `d * Σ qs`, f16.
    pub s: [u8; 2],
    /// Quants.
    pub qs: [i8; 32],
}
const _: () = assert!(core::mem::size_of::<BlockQ8_1>() == 36);
const _: () = assert!(core::mem::align_of::<BlockQ8_1>() == 1);

impl BlockQ8_1 {
    /// The scale as f32.
    #[inline(always)]
    pub fn d(&self) -> f32 {
        f16_to_f32(self.d)
    }
    /// `d * Σ qs` as f32.
    #[inline(always)]
    pub fn s(&self) -> f32 {
        f16_to_f32(self.s)
    }

    /// Dequantize a row of Q8_1 blocks (`x = d * q`).
    pub fn dequantize(blocks: &[Self], out: &mut [f32]) {
        for (b, y) in blocks.iter().zip(out.chunks_exact_mut(32)) {
            let d = b.d();
            for j in 0..32 {
                y[j] = b.qs[j] as f32 * d;
            }
        }
    }
}

impl ActivationFormat for BlockQ8_1 {
    const TYPE: GgmlType = GgmlType::Q8_1;
    const BLOCK: usize = 32;
    fn quantize(x: &[f32], out: &mut [Self]) {
        quantize_row_q8_1(x, out)
    }
}

/// Quantize activations to Q8_1 exactly as ggml's x86 AVX2 CPU backend (module docs).
pub fn quantize_row_q8_1(x: &[f32], out: &mut [BlockQ8_1]) {
    for (xb, y) in x.chunks_exact(32).zip(out.iter_mut()) {
        let amax = amax32_x86(xb);
        let (d, id) = q8_scale_x86(amax);
        y.d = f32_to_f16(d);
        let mut sum = 0i32;
        for j in 0..32 {
            let v = cvtps_epi32(round_ties_even(xb[j] * id));
            sum = sum.wrapping_add(v);
            y.qs[j] = v.clamp(-128, 127) as i8;
        }
        y.s = f32_to_f16(d * sum as f32);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sum_is_scaled() {
        let mut x = [0f32; 32];
        x[0] = 127.0;
        x[5] = -27.0;
        x[31] = 0.5; // ties to even: 0
        let mut b = [BlockQ8_1::zeroed()];
        quantize_row_q8_1(&x, &mut b);
        assert_eq!(b[0].d(), 1.0);
        assert_eq!(b[0].s(), 100.0);
        assert_eq!(b[0].qs[31], 0);
    }
}
