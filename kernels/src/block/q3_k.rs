//! Q3_K: 3-bit k-quant super-blocks of 256 = 16 groups of 16 with signed 6-bit scales,
//! activations Q8_K.

use super::{BlockFormat, BlockQ8K, QK_K, debug_check_len, f16_to_f32};
use crate::GgmlType;
use bytemuck::{Pod, Zeroable};

/// A Q3_K super-block: in group `g`, `x = d * (s[g] - 32) * (q - 4 * (1 - h))` with `q` the
/// low 2 bits (0..4) and `h` the high bit, so values are in -4..4.
///
/// Layout (110 bytes): `hmask` 32 bytes (bit `4h + j` of byte `l` is the high bit of element
/// `128h + 32j + l`), `qs` 64 bytes (low 2 bits, laid out as Q2_K), `scales` 12 bytes (16
/// six-bit scales: low 4 bits in the nibbles of bytes 0..8, top 2 bits in bytes 8..12),
/// `d` f16. 3.4375 bits per weight. Source: ggml `block_q3_K`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Pod, Zeroable)]
#[repr(C)]
pub struct BlockQ3K {
    /// High bits.
    pub hmask: [u8; QK_K / 8],
    /// Low 2 bits.
    pub qs: [u8; QK_K / 4],
    /// Packed 6-bit scales.
    pub scales: [u8; 12],
    /// Super-block scale, f16.
    pub d: [u8; 2],
}
const _: () = assert!(core::mem::size_of::<BlockQ3K>() == 110);
const _: () = assert!(core::mem::align_of::<BlockQ3K>() == 1);

impl BlockQ3K {
    /// `d` as f32.
    #[inline(always)]
    pub fn d(&self) -> f32 {
        f16_to_f32(self.d)
    }
    /// The 16 group scales, already minus 32 (-32..32).
    pub fn group_scales(&self) -> [i8; 16] {
        super::kquant::unpack_q3k_scales(&self.scales)
    }
    /// The 256 quants (-4..4) in element order.
    pub fn quants(&self) -> [i8; QK_K] {
        let mut q = [0i8; QK_K];
        for h in 0..2 {
            for j in 0..4 {
                for l in 0..32 {
                    let low = ((self.qs[32 * h + l] >> (2 * j)) & 3) as i8;
                    let hb = (self.hmask[l] >> (4 * h + j)) & 1;
                    q[128 * h + 32 * j + l] = low - if hb != 0 { 0 } else { 4 };
                }
            }
        }
        q
    }
}

impl BlockFormat for BlockQ3K {
    const TYPE: GgmlType = GgmlType::Q3_K;
    const BLOCK: usize = QK_K;
    type Act = BlockQ8K;

    fn dequantize(blocks: &[Self], out: &mut [f32]) {
        for (b, y) in blocks.iter().zip(out.chunks_exact_mut(QK_K)) {
            let d = b.d();
            let sc = b.group_scales();
            let q = b.quants();
            for g in 0..16 {
                let dl = d * sc[g] as f32;
                for l in 16 * g..16 * g + 16 {
                    y[l] = dl * q[l] as f32;
                }
            }
        }
    }

    fn vec_dot_ref(w: &[Self], a: &[BlockQ8K]) -> f32 {
        debug_check_len(w.len(), a.len());
        let mut sum = 0.0f32;
        for (x, y) in w.iter().zip(a) {
            let q = x.quants();
            let sc = x.group_scales();
            let mut sumi = 0i32;
            for g in 0..16 {
                let mut s = 0i32;
                for l in 16 * g..16 * g + 16 {
                    s += q[l] as i32 * y.qs[l] as i32;
                }
                sumi += sc[g] as i32 * s;
            }
            sum += x.d() * y.d() * sumi as f32;
        }
        sum
    }
}
