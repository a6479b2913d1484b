//! Q4_1: 4-bit blocks of 32 with scale and min (`x = d * q + m`), activations Q8_1.
//!
//! The weight quantizer is ggml's `quantize_row_q4_1_ref`: `d = (max - min) / 15`,
//! `m = min`, `q = min(15, (int8)((x - min) / d + 0.5))`.

use super::{BlockFormat, BlockQ8_1, debug_check_len, f16_to_f32, f32_to_f16};
use crate::GgmlType;
use crate::math::c_f32_to_i8;
use bytemuck::{Pod, Zeroable};

/// A Q4_1 block: 32 weights `x[j] = d * q[j] + m`, `q` in 0..16.
///
/// Layout (20 bytes): `d` f16 (2), `m` f16 (2), `qs` 16 bytes (element `j` low nibble of
/// byte `j`, element `j + 16` high nibble). 5 bits per weight. Source: ggml `block_q4_1`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Pod, Zeroable)]
#[repr(C)]
pub struct BlockQ4_1 {
    /// Scale, f16.
    pub d: [u8; 2],
    /// Min (offset), f16.
    pub m: [u8; 2],
    /// Nibbles.
    pub qs: [u8; 16],
}
const _: () = assert!(core::mem::size_of::<BlockQ4_1>() == 20);
const _: () = assert!(core::mem::align_of::<BlockQ4_1>() == 1);

impl BlockQ4_1 {
    /// The scale as f32.
    #[inline(always)]
    pub fn d(&self) -> f32 {
        f16_to_f32(self.d)
    }
    /// The min as f32.
    #[inline(always)]
    pub fn m(&self) -> f32 {
        f16_to_f32(self.m)
    }
}

impl BlockFormat for BlockQ4_1 {
    const TYPE: GgmlType = GgmlType::Q4_1;
    const BLOCK: usize = 32;
    type Act = BlockQ8_1;

    fn dequantize(blocks: &[Self], out: &mut [f32]) {
        for (b, y) in blocks.iter().zip(out.chunks_exact_mut(32)) {
            let (d, m) = (b.d(), b.m());
            for j in 0..16 {
                y[j] = (b.qs[j] & 0x0f) as f32 * d + m;
                y[j + 16] = (b.qs[j] >> 4) as f32 * d + m;
            }
        }
    }

    fn vec_dot_ref(w: &[Self], a: &[BlockQ8_1]) -> f32 {
        debug_check_len(w.len(), a.len());
        let mut sum = 0.0f32;
        for (x, y) in w.iter().zip(a) {
            let mut sumi = 0i32;
            for j in 0..16 {
                sumi += (x.qs[j] & 0x0f) as i32 * y.qs[j] as i32;
                sumi += (x.qs[j] >> 4) as i32 * y.qs[j + 16] as i32;
            }
            sum += (x.d() * y.d()) * sumi as f32 + x.m() * y.s();
        }
        sum
    }
}

/// ggml's `quantize_row_q4_1_ref` (module docs). `x`: `32 * out.len()` floats.
pub fn quantize_row_q4_1(x: &[f32], out: &mut [BlockQ4_1]) {
    for (xb, y) in x.chunks_exact(32).zip(out.iter_mut()) {
        let mut min = f32::MAX;
        let mut max = -f32::MAX;
        for &v in xb {
            if v < min {
                min = v;
            }
            if v > max {
                max = v;
            }
        }
        let d = (max - min) / 15.0;
        let id = if d != 0.0 { 1.0 / d } else { 0.0 };
        y.d = f32_to_f16(d);
        y.m = f32_to_f16(min);
        for j in 0..16 {
            let q0 = c_f32_to_i8((xb[j] - min) * id + 0.5).min(15) as u8;
            let q1 = c_f32_to_i8((xb[j + 16] - min) * id + 0.5).min(15) as u8;
            y.qs[j] = q0 | (q1 << 4);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_block() {
        // min = 1, max = 16 → d = 1, m = 1: x = q + 1.
        let mut x = [0f32; 32];
        for (j, v) in x.iter_mut().enumerate() {
            *v = (j % 16) as f32 + 1.0;
        }
        let mut b = [BlockQ4_1::zeroed()];
        quantize_row_q4_1(&x, &mut b);
        assert_eq!((b[0].d(), b[0].m()), (1.0, 1.0));
        assert_eq!(b[0].qs[3], 0x33);
        let mut y = [0f32; 32];
        BlockQ4_1::dequantize(&b, &mut y);
        assert_eq!(x, y);
    }
}
