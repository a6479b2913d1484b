//! Q8_K: the activation format of every k-quant dot product (256 values, f32 scale, and
//! the sum of each group of 16 quants so the k-quant `min` terms cost one multiply per group).
//!
//! [`quantize_row_q8_k`] is ggml's `quantize_row_q8_K_ref`, which is also what ggml's x86
//! CPU backend runs (`quantize_row_q8_K` forwards to it): `max` is the value of largest
//! magnitude (first one on ties, NaN ignored), `iscale = -127 / max`,
//! `q = min(127, nearest_int(iscale * x))` (ties to even), `d = 1 / iscale`.
//! One deliberate difference: for an all-zero block ggml leaves `bsums` unwritten (stale
//! memory, multiplied by `d = 0` later); we write zeros.

use super::{ActivationFormat, QK_K};
use crate::GgmlType;
use crate::math::nearest_int;
use bytemuck::{Pod, Zeroable};

/// A Q8_K block: 256 activations `x[j] = d * qs[j]`, `bsums[g] = Σ qs[16g..16g+16]`.
///
/// Layout (292 bytes): `d` f32 little-endian (4), `qs` 256 × i8, `bsums` 16 × i16 LE.
/// Source: ggml `block_q8_K`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Pod, Zeroable)]
#[repr(C)]
pub struct BlockQ8K {
    /// Scale, f32 little-endian.
    pub d: [u8; 4],
    /// Quants.
    pub qs: [i8; QK_K],
    /// Sums of groups of 16 quants, i16 little-endian.
    pub bsums: [[u8; 2]; QK_K / 16],
}
const _: () = assert!(core::mem::size_of::<BlockQ8K>() == 292);
const _: () = assert!(core::mem::align_of::<BlockQ8K>() == 1);

impl BlockQ8K {
    /// The scale.
    #[inline(always)]
    pub fn d(&self) -> f32 {
        f32::from_le_bytes(self.d)
    }
    /// Sum of quants `16g..16g+16`.
    #[inline(always)]
    pub fn bsum(&self, g: usize) -> i16 {
        i16::from_le_bytes(self.bsums[g])
    }

    /// Dequantize a row of Q8_K blocks (`x = d * q`).
    pub fn dequantize(blocks: &[Self], out: &mut [f32]) {
        for (b, y) in blocks.iter().zip(out.chunks_exact_mut(QK_K)) {
            let d = b.d();
            for j in 0..QK_K {
                y[j] = d * b.qs[j] as f32;
            }
        }
    }
}

impl ActivationFormat for BlockQ8K {
    const TYPE: GgmlType = GgmlType::Q8_K;
    const BLOCK: usize = QK_K;
    fn quantize(x: &[f32], out: &mut [Self]) {
        quantize_row_q8_k(x, out)
    }
}

/// Quantize activations to Q8_K exactly as ggml (module docs). `x`: `256 * out.len()` floats.
pub fn quantize_row_q8_k(x: &[f32], out: &mut [BlockQ8K]) {
    for (xb, y) in x.chunks_exact(QK_K).zip(out.iter_mut()) {
        let mut max = 0.0f32;
        let mut amax = 0.0f32;
        for &v in xb {
            let ax = v.abs();
            if ax > amax {
                amax = ax;
                max = v;
            }
        }
        if amax == 0.0 {
            *y = BlockQ8K::zeroed();
            continue;
        }
        let iscale = -127.0 / max;
        for j in 0..QK_K {
            let v = nearest_int(iscale * xb[j]);
            y.qs[j] = v.min(127) as i8;
        }
        for g in 0..QK_K / 16 {
            let mut s = 0i32;
            for &q in &y.qs[16 * g..16 * g + 16] {
                s += q as i32;
            }
            y.bsums[g] = (s as i16).to_le_bytes();
        }
        y.d = (1.0 / iscale).to_le_bytes();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_block() {
        let mut x = [0f32; QK_K];
        x[0] = -2.0; // the max-magnitude value is negative: iscale = 63.5
        x[1] = 1.0;
        let mut b = [BlockQ8K::zeroed()];
        quantize_row_q8_k(&x, &mut b);
        assert_eq!(b[0].qs[0], -127);
        assert_eq!(b[0].qs[1], 64); // 63.5 → 64 (even)
        assert_eq!(b[0].bsum(0), -63);
        assert_eq!(b[0].d(), 1.0 / 63.5);
    }
}
