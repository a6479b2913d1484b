//! IQ4_NL: 4-bit non-linear blocks of 32 (`x = d * K[q]` with a fixed 16-entry codebook),
//! activations Q8_0.

use super::{BlockFormat, BlockQ8_0, debug_check_len, f16_to_f32};
use crate::GgmlType;
use bytemuck::{Pod, Zeroable};

/// The IQ4_NL codebook (ggml `kvalues_iq4nl`): the 16 levels a nibble selects.
pub const KVALUES_IQ4NL: [i8; 16] = [
    -127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113,
];

/// An IQ4_NL block: 32 weights `x[j] = d * KVALUES_IQ4NL[q[j]]`.
///
/// Layout (18 bytes): `d` f16 (2), `qs` 16 bytes (element `j` low nibble of byte `j`,
/// element `j + 16` high nibble). 4.5 bits per weight. Source: ggml `block_iq4_nl`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Pod, Zeroable)]
#[repr(C)]
pub struct BlockIq4Nl {
    /// Scale, f16.
    pub d: [u8; 2],
    /// Codebook indices, nibbles.
    pub qs: [u8; 16],
}
const _: () = assert!(core::mem::size_of::<BlockIq4Nl>() == 18);
const _: () = assert!(core::mem::align_of::<BlockIq4Nl>() == 1);

impl BlockIq4Nl {
    /// The scale as f32.
    #[inline(always)]
    pub fn d(&self) -> f32 {
        f16_to_f32(self.d)
    }
}

impl BlockFormat for BlockIq4Nl {
    const TYPE: GgmlType = GgmlType::IQ4_NL;
    const BLOCK: usize = 32;
    type Act = BlockQ8_0;

    fn dequantize(blocks: &[Self], out: &mut [f32]) {
        for (b, y) in blocks.iter().zip(out.chunks_exact_mut(32)) {
            let d = b.d();
            for j in 0..16 {
                y[j] = d * KVALUES_IQ4NL[(b.qs[j] & 0x0f) as usize] as f32;
                y[j + 16] = d * KVALUES_IQ4NL[(b.qs[j] >> 4) as usize] as f32;
            }
        }
    }

    fn vec_dot_ref(w: &[Self], a: &[BlockQ8_0]) -> f32 {
        debug_check_len(w.len(), a.len());
        let mut sum = 0.0f32;
        for (x, y) in w.iter().zip(a) {
            let mut sumi = 0i32;
            for j in 0..16 {
                sumi += KVALUES_IQ4NL[(x.qs[j] & 0x0f) as usize] as i32 * y.qs[j] as i32;
                sumi += KVALUES_IQ4NL[(x.qs[j] >> 4) as usize] as i32 * y.qs[j + 16] as i32;
            }
            sum += (x.d() * y.d()) * sumi as f32;
        }
        sum
    }
}
