//! Q4_0: 4-bit symmetric blocks of 32 (`x = d * (q - 8)`), activations Q8_0.
//!
//! The weight quantizer is ggml's `quantize_row_q4_0_ref`: `max` is the value of largest
//! magnitude, `d = max / -8`, `q = min(15, (int8)(x / d + 8.5))` (truncation of `+ 8.5`, so
//! the extreme value maps to 0 and the range is used asymmetrically, as ggml does).

use super::{BlockFormat, BlockQ8_0, debug_check_len, f16_to_f32, f32_to_f16};
use crate::GgmlType;
use crate::math::c_f32_to_i8;
use bytemuck::{Pod, Zeroable};

/// A Q4_0 block: 32 weights `x[j] = d * (q[j] - 8)`, `q` in 0..16.
///
/// Layout (18 bytes): `d` f16 (2); `qs` 16 bytes, byte `j` holds element `j` in its low
/// nibble and element `j + 16` in its high nibble. 4.5 bits per weight.
/// Source: ggml `block_q4_0`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Pod, Zeroable)]
#[repr(C)]
pub struct BlockQ4_0 {
    /// Scale, f16.
    pub d: [u8; 2],
    /// Nibbles.
    pub qs: [u8; 16],
}
const _: () = assert!(core::mem::size_of::<BlockQ4_0>() == 18);
const _: () = assert!(core::mem::align_of::<BlockQ4_0>() == 1);

impl BlockQ4_0 {
    /// The scale as f32.
    #[inline(always)]
    pub fn d(&self) -> f32 {
        f16_to_f32(self.d)
    }
}

impl BlockFormat for BlockQ4_0 {
    const TYPE: GgmlType = GgmlType::Q4_0;
    const BLOCK: usize = 32;
    type Act = BlockQ8_0;

    fn dequantize(blocks: &[Self], out: &mut [f32]) {
        for (b, y) in blocks.iter().zip(out.chunks_exact_mut(32)) {
            let d = b.d();
            for j in 0..16 {
                y[j] = ((b.qs[j] & 0x0f) as i32 - 8) as f32 * d;
                y[j + 16] = ((b.qs[j] >> 4) as i32 - 8) as f32 * d;
            }
        }
    }

    fn vec_dot_ref(w: &[Self], a: &[BlockQ8_0]) -> f32 {
        debug_check_len(w.len(), a.len());
        let mut sum = 0.0f32;
        for (x, y) in w.iter().zip(a) {
            let mut sumi = 0i32;
            for j in 0..16 {
                sumi += ((x.qs[j] & 0x0f) as i32 - 8) * y.qs[j] as i32;
                sumi += ((x.qs[j] >> 4) as i32 - 8) * y.qs[j + 16] as i32;
            }
            sum += sumi as f32 * (x.d() * y.d());
        }
        sum
    }
}

/// ggml's `quantize_row_q4_0_ref` (module docs). `x`: `32 * out.len()` floats.
pub fn quantize_row_q4_0(x: &[f32], out: &mut [BlockQ4_0]) {
    for (xb, y) in x.chunks_exact(32).zip(out.iter_mut()) {
        let mut amax = 0.0f32;
        let mut max = 0.0f32;
        for &v in xb {
            if amax < v.abs() {
                amax = v.abs();
                max = v;
            }
        }
        let d = max / -8.0;
        let id = if d != 0.0 { 1.0 / d } else { 0.0 };
        y.d = f32_to_f16(d);
        for j in 0..16 {
            let q0 = c_f32_to_i8(xb[j] * id + 8.5).min(15) as u8;
            let q1 = c_f32_to_i8(xb[j + 16] * id + 8.5).min(15) as u8;
            y.qs[j] = q0 | (q1 << 4);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_block() {
        // max = -8 → d = 1: x = q - 8 exactly for integers in -8..8.
        let mut x = [0f32; 32];
        for (j, v) in x.iter_mut().enumerate() {
            *v = (j % 16) as f32 - 8.0;
        }
        let mut b = [BlockQ4_0::zeroed()];
        quantize_row_q4_0(&x, &mut b);
        assert_eq!(b[0].d(), 1.0);
        assert_eq!(b[0].qs[0], 0x00);
        assert_eq!(b[0].qs[15], 0xff);
        let mut y = [0f32; 32];
        BlockQ4_0::dequantize(&b, &mut y);
        assert_eq!(x, y);
    }
}
