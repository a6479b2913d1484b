//! Q5_1: 5-bit blocks of 32 with scale and min (`x = d * q + m`), activations Q8_1.
//!
//! The weight quantizer is ggml's `quantize_row_q5_1_ref` (`d = (max - min) / 31`,
//! `q = (uint8)((x - min) / d + 0.5)`).

use super::q5_0::unpack5;
use super::{BlockFormat, BlockQ8_1, debug_check_len, f16_to_f32, f32_to_f16};
use crate::GgmlType;
use crate::math::c_f32_to_u8;
use bytemuck::{Pod, Zeroable};

/// A Q5_1 block: 32 weights `x[j] = d * q[j] + m`, `q` in 0..32.
///
/// Layout (24 bytes): `d` f16 (2), `m` f16 (2), `qh` u32 LE fifth bits (4), `qs` 16 bytes of
/// low nibbles (as Q5_0). 6 bits per weight. Source: ggml `block_q5_1`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Pod, Zeroable)]
#[repr(C)]
pub struct BlockQ5_1 {
    /// Scale, f16.
    pub d: [u8; 2],
    /// Min, f16.
    pub m: [u8; 2],
    /// Fifth bits, u32 little-endian.
    pub qh: [u8; 4],
    /// Low nibbles.
    pub qs: [u8; 16],
}
const _: () = assert!(core::mem::size_of::<BlockQ5_1>() == 24);
const _: () = assert!(core::mem::align_of::<BlockQ5_1>() == 1);

impl BlockQ5_1 {
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
    /// The 32 unsigned 5-bit quants (0..32).
    #[inline(always)]
    pub fn quants(&self) -> [u8; 32] {
        unpack5(&self.qs, u32::from_le_bytes(self.qh))
    }
}

impl BlockFormat for BlockQ5_1 {
    const TYPE: GgmlType = GgmlType::Q5_1;
    const BLOCK: usize = 32;
    type Act = BlockQ8_1;

    fn dequantize(blocks: &[Self], out: &mut [f32]) {
        for (b, y) in blocks.iter().zip(out.chunks_exact_mut(32)) {
            let (d, m) = (b.d(), b.m());
            let q = b.quants();
            for j in 0..32 {
                y[j] = q[j] as f32 * d + m;
            }
        }
    }

    fn vec_dot_ref(w: &[Self], a: &[BlockQ8_1]) -> f32 {
        debug_check_len(w.len(), a.len());
        let mut sum = 0.0f32;
        for (x, y) in w.iter().zip(a) {
            let q = x.quants();
            let mut sumi = 0i32;
            for j in 0..32 {
                sumi += q[j] as i32 * y.qs[j] as i32;
            }
            sum += (x.d() * y.d()) * sumi as f32 + x.m() * y.s();
        }
        sum
    }
}

/// ggml's `quantize_row_q5_1_ref` (module docs). `x`: `32 * out.len()` floats.
pub fn quantize_row_q5_1(x: &[f32], out: &mut [BlockQ5_1]) {
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
        let d = (max - min) / 31.0;
        let id = if d != 0.0 { 1.0 / d } else { 0.0 };
        y.d = f32_to_f16(d);
        y.m = f32_to_f16(min);
        let mut qh = 0u32;
        for j in 0..16 {
            let q0 = c_f32_to_u8((xb[j] - min) * id + 0.5);
            let q1 = c_f32_to_u8((xb[j + 16] - min) * id + 0.5);
            y.qs[j] = (q0 & 0x0f) | ((q1 & 0x0f) << 4);
            qh |= (((q0 & 0x10) >> 4) as u32) << j;
            qh |= (((q1 & 0x10) >> 4) as u32) << (j + 16);
        }
        y.qh = qh.to_le_bytes();
    }
}
