//! Q2_K: 2-bit k-quant super-blocks of 256 = 16 groups of 16, each with a 4-bit scale and a
//! 4-bit min, activations Q8_K.

use super::{BlockFormat, BlockQ8K, QK_K, debug_check_len, f16_to_f32};
use crate::GgmlType;
use bytemuck::{Pod, Zeroable};

/// A Q2_K super-block: in group `g` (elements `16g..16g+16`)
/// `x = d * (scales[g] & 15) * q - dmin * (scales[g] >> 4)`, `q` in 0..4.
///
/// Layout (84 bytes): `scales` 16 bytes (scale low nibble, min high nibble), `qs` 64 bytes
/// (for each 128-element half `h`, bits `2j..2j+2` of byte `32h + l` hold element
/// `128h + 32j + l`), `d` f16, `dmin` f16. 2.625 bits per weight. Source: ggml `block_q2_K`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Pod, Zeroable)]
#[repr(C)]
pub struct BlockQ2K {
    /// 4-bit scales (low) and mins (high).
    pub scales: [u8; QK_K / 16],
    /// 2-bit quants.
    pub qs: [u8; QK_K / 4],
    /// Super-block scale of the scales, f16.
    pub d: [u8; 2],
    /// Super-block scale of the mins, f16.
    pub dmin: [u8; 2],
}
const _: () = assert!(core::mem::size_of::<BlockQ2K>() == 84);
const _: () = assert!(core::mem::align_of::<BlockQ2K>() == 1);

impl BlockQ2K {
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
    /// The 256 quants (0..4) in element order.
    pub fn quants(&self) -> [u8; QK_K] {
        let mut q = [0u8; QK_K];
        for h in 0..2 {
            for j in 0..4 {
                for l in 0..32 {
                    q[128 * h + 32 * j + l] = (self.qs[32 * h + l] >> (2 * j)) & 3;
                }
            }
        }
        q
    }
}

impl BlockFormat for BlockQ2K {
    const TYPE: GgmlType = GgmlType::Q2_K;
    const BLOCK: usize = QK_K;
    type Act = BlockQ8K;

    fn dequantize(blocks: &[Self], out: &mut [f32]) {
        for (b, y) in blocks.iter().zip(out.chunks_exact_mut(QK_K)) {
            let (d, dmin) = (b.d(), b.dmin());
            let q = b.quants();
            for g in 0..16 {
                let sc = b.scales[g];
                let (dl, ml) = (d * (sc & 0x0f) as f32, dmin * (sc >> 4) as f32);
                for l in 16 * g..16 * g + 16 {
                    y[l] = dl * q[l] as f32 - ml;
                }
            }
        }
    }

    fn vec_dot_ref(w: &[Self], a: &[BlockQ8K]) -> f32 {
        debug_check_len(w.len(), a.len());
        let mut sum = 0.0f32;
        for (x, y) in w.iter().zip(a) {
            let q = x.quants();
            let mut isum = 0i32;
            let mut summs = 0i32;
            for g in 0..16 {
                let mut s = 0i32;
                for l in 16 * g..16 * g + 16 {
                    s += q[l] as i32 * y.qs[l] as i32;
                }
                isum += (x.scales[g] & 0x0f) as i32 * s;
                summs += y.bsum(g) as i32 * (x.scales[g] >> 4) as i32;
            }
            let dy = y.d();
            sum += dy * x.d() * isum as f32 - dy * x.dmin() * summs as f32;
        }
        sum
    }
}
