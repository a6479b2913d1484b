//! Q5_0: 5-bit symmetric blocks of 32 (`x = d * (q - 16)`), activations Q8_0.
//!
//! The weight quantizer is ggml's `quantize_row_q5_0_ref` (`d = max / -16`,
//! `q = min(31, (int8)(x / d + 16.5))`).

use super::{BlockFormat, BlockQ8_0, debug_check_len, f16_to_f32, f32_to_f16};
use crate::GgmlType;
use crate::math::c_f32_to_i8;
use bytemuck::{Pod, Zeroable};

/// A Q5_0 block: 32 weights `x[j] = d * (q[j] - 16)`, `q` in 0..32.
///
/// Layout (22 bytes): `d` f16 (2); `qh` u32 little-endian (4), bit `j` = high bit of element
/// `j`; `qs` 16 bytes of low nibbles (element `j` low nibble of byte `j`, element `j + 16`
/// high nibble). 5.5 bits per weight. Source: ggml `block_q5_0`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Pod, Zeroable)]
#[repr(C)]
pub struct BlockQ5_0 {
    /// Scale, f16.
    pub d: [u8; 2],
    /// Fifth bits, u32 little-endian.
    pub qh: [u8; 4],
    /// Low nibbles.
    pub qs: [u8; 16],
}
const _: () = assert!(core::mem::size_of::<BlockQ5_0>() == 22);
const _: () = assert!(core::mem::align_of::<BlockQ5_0>() == 1);

impl BlockQ5_0 {
    /// The scale as f32.
    #[inline(always)]
    pub fn d(&self) -> f32 {
        f16_to_f32(self.d)
    }
    /// The 32 unsigned 5-bit quants (0..32).
    #[inline(always)]
    pub fn quants(&self) -> [u8; 32] {
        unpack5(&self.qs, u32::from_le_bytes(self.qh))
    }
}

/// Combine low nibbles and the 32 fifth bits into 32 values in 0..32.
#[inline(always)]
pub(crate) fn unpack5(qs: &[u8; 16], qh: u32) -> [u8; 32] {
    let mut q = super::unpack_nibbles_32(qs);
    for (j, v) in q.iter_mut().enumerate() {
        *v |= (((qh >> j) & 1) as u8) << 4;
    }
    q
}

impl BlockFormat for BlockQ5_0 {
    const TYPE: GgmlType = GgmlType::Q5_0;
    const BLOCK: usize = 32;
    type Act = BlockQ8_0;

    fn dequantize(blocks: &[Self], out: &mut [f32]) {
        for (b, y) in blocks.iter().zip(out.chunks_exact_mut(32)) {
            let d = b.d();
            let q = b.quants();
            for j in 0..32 {
                y[j] = (q[j] as i32 - 16) as f32 * d;
            }
        }
    }

    fn vec_dot_ref(w: &[Self], a: &[BlockQ8_0]) -> f32 {
        debug_check_len(w.len(), a.len());
        let mut sum = 0.0f32;
        for (x, y) in w.iter().zip(a) {
            let q = x.quants();
            let mut sumi = 0i32;
            for j in 0..32 {
                sumi += (q[j] as i32 - 16) * y.qs[j] as i32;
            }
            sum += sumi as f32 * (x.d() * y.d());
        }
        sum
    }
}

/// ggml's `quantize_row_q5_0_ref` (module docs). `x`: `32 * out.len()` floats.
pub fn quantize_row_q5_0(x: &[f32], out: &mut [BlockQ5_0]) {
    for (xb, y) in x.chunks_exact(32).zip(out.iter_mut()) {
        let mut amax = 0.0f32;
        let mut max = 0.0f32;
        for &v in xb {
            if amax < v.abs() {
                amax = v.abs();
                max = v;
            }
        }
        let d = max / -16.0;
        let id = if d != 0.0 { 1.0 / d } else { 0.0 };
        y.d = f32_to_f16(d);
        let mut qh = 0u32;
        for j in 0..16 {
            let q0 = c_f32_to_i8(xb[j] * id + 16.5).min(31) as u8;
            let q1 = c_f32_to_i8(xb[j + 16] * id + 16.5).min(31) as u8;
            y.qs[j] = (q0 & 0x0f) | ((q1 & 0x0f) << 4);
            qh |= (((q0 & 0x10) >> 4) as u32) << j;
            qh |= (((q1 & 0x10) >> 4) as u32) << (j + 16);
        }
        y.qh = qh.to_le_bytes();
    }
}
