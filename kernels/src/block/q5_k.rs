//! Q5_K: 5-bit k-quant super-blocks of 256 = 8 sub-blocks of 32 with 6-bit scales and
//! mins (as Q4_K) plus one high bit per weight, activations Q8_K.

use super::kquant::{scale_min_k4, scales_mins_k4};
use super::{BlockFormat, BlockQ8K, QK_K, debug_check_len, f16_to_f32};
use crate::GgmlType;
use bytemuck::{Pod, Zeroable};

/// A Q5_K super-block: in sub-block `s`, `x = d * sc[s] * q - dmin * m[s]`, `q` in 0..32.
///
/// Layout (176 bytes): `d` f16, `dmin` f16, `scales` 12 bytes (as Q4_K), `qh` 32 bytes (bit
/// `s` of byte `l` is the high bit of element `32s + l`), `qs` 128 bytes of low nibbles (as
/// Q4_K). 5.5 bits per weight. Source: ggml `block_q5_K`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Pod, Zeroable)]
#[repr(C)]
pub struct BlockQ5K {
    /// Super-block scale of the scales, f16.
    pub d: [u8; 2],
    /// Super-block scale of the mins, f16.
    pub dmin: [u8; 2],
    /// Packed 6-bit scales and mins.
    pub scales: [u8; 12],
    /// High bits.
    pub qh: [u8; QK_K / 8],
    /// Low nibbles.
    pub qs: [u8; QK_K / 2],
}
const _: () = assert!(core::mem::size_of::<BlockQ5K>() == 176);
const _: () = assert!(core::mem::align_of::<BlockQ5K>() == 1);

impl BlockQ5K {
    /// `d` as f32.
    #[inline(always)]
    pub fn d(&self) -> f32 {
        f16_to_f32(self.d)
    }
    /// `dmin` as f32.
    #[inline(always)]
    pub fn dmin(&self) -> f32 {
        f16_to_f32(self.dmin)
    }
    /// The 256 quants (0..32) in element order.
    pub fn quants(&self) -> [u8; QK_K] {
        let mut q = [0u8; QK_K];
        for c in 0..4 {
            for l in 0..32 {
                let h0 = (self.qh[l] >> (2 * c)) & 1;
                let h1 = (self.qh[l] >> (2 * c + 1)) & 1;
                q[64 * c + l] = (self.qs[32 * c + l] & 0x0f) | (h0 << 4);
                q[64 * c + 32 + l] = (self.qs[32 * c + l] >> 4) | (h1 << 4);
            }
        }
        q
    }
}

impl BlockFormat for BlockQ5K {
    const TYPE: GgmlType = GgmlType::Q5_K;
    const BLOCK: usize = QK_K;
    type Act = BlockQ8K;

    fn dequantize(blocks: &[Self], out: &mut [f32]) {
        for (b, y) in blocks.iter().zip(out.chunks_exact_mut(QK_K)) {
            let (d, dmin) = (b.d(), b.dmin());
            let q = b.quants();
            for s in 0..8 {
                let (sc, m) = scale_min_k4(s, &b.scales);
                let (ds, ms) = (d * sc as f32, dmin * m as f32);
                for l in 0..32 {
                    y[32 * s + l] = ds * q[32 * s + l] as f32 - ms;
                }
            }
        }
    }

    fn vec_dot_ref(w: &[Self], a: &[BlockQ8K]) -> f32 {
        debug_check_len(w.len(), a.len());
        let mut sum = 0.0f32;
        for (x, y) in w.iter().zip(a) {
            let q = x.quants();
            let (sc, m) = scales_mins_k4(&x.scales);
            let mut sumi = 0i32;
            for s in 0..8 {
                let mut si = 0i32;
                for l in 32 * s..32 * s + 32 {
                    si += q[l] as i32 * y.qs[l] as i32;
                }
                sumi += sc[s] as i32 * si;
            }
            let mut summ = 0i32;
            for g in 0..16 {
                summ += y.bsum(g) as i32 * m[g / 2] as i32;
            }
            let dy = y.d();
            sum += x.d() * dy * sumi as f32 - x.dmin() * dy * summ as f32;
        }
        sum
    }
}
