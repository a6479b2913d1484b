//! Block formats: the structs ggml writes into GGUF files, their scalar reference
//! dequantizers and dot products, and the quantizers (activation and test-weight).
//!
//! Every struct is `#[repr(C)]`, alignment 1 (f16 fields are `[u8; 2]`, read with
//! [`half::f16::from_le_bytes`]), `bytemuck::Pod`, and byte-identical to ggml's `block_*`
//! of `ggml-common.h` (sizes asserted at compile time). So any `&[u8]` of a whole number of
//! blocks — an mmap at an odd offset, XIP flash, `include_bytes!` — is viewed in place with
//! [`bytemuck::cast_slice`] (or [`blocks`]) without copies and without UB.
//!
//! The scalar `vec_dot_ref` functions are the in-crate oracle: every SIMD implementation is
//! tested against them. They keep ggml's integer arithmetic exactly (per-block integer sums
//! of quant × activation products, then one f32 multiply-add per block / sub-block) and sum
//! blocks in order in f32; ggml's own scalar and SIMD versions differ from each other (and from
//! us) only in the order of those f32 additions.

pub mod float;
pub mod iq4_nl;
pub(crate) mod kquant;
pub mod q2_k;
pub mod q3_k;
pub mod q4_0;
pub mod q4_1;
pub mod q4_k;
pub mod q5_0;
pub mod q5_1;
pub mod q5_k;
pub mod q6_k;
pub mod q8_0;
pub mod q8_1;
pub mod q8_k;

pub use float::{BF16, F16, F32};
pub use iq4_nl::BlockIq4Nl;
pub use q2_k::BlockQ2K;
pub use q3_k::BlockQ3K;
pub use q4_0::BlockQ4_0;
pub use q4_1::BlockQ4_1;
pub use q4_k::BlockQ4K;
pub use q5_0::BlockQ5_0;
pub use q5_1::BlockQ5_1;
pub use q5_k::BlockQ5K;
pub use q6_k::BlockQ6K;
pub use q8_0::BlockQ8_0;
pub use q8_1::BlockQ8_1;
pub use q8_k::BlockQ8K;

use crate::GgmlType;
use bytemuck::{Pod, Zeroable};

/// Elements per k-quant super-block (ggml `QK_K`).
pub const QK_K: usize = 256;

/// A format that activations are quantized to before a dot product (ggml's `vec_dot_type`):
/// Q8_0, Q8_1, Q8_K, or a float row.
pub trait ActivationFormat: Pod + Zeroable {
    /// The ggml type.
    const TYPE: GgmlType;
    /// Elements per block.
    const BLOCK: usize;
    /// Quantize `x` (`out.len() * BLOCK` values) into `out`, byte-identical to what ggml's
    /// x86 CPU backend writes (see each format's module for the exact rule). Processes
    /// `min(x.len() / BLOCK, out.len())` blocks.
    fn quantize(x: &[f32], out: &mut [Self]);
}

/// A weight format: block layout, scalar dequantizer and scalar reference dot product.
pub trait BlockFormat: Pod + Zeroable {
    /// The ggml type.
    const TYPE: GgmlType;
    /// Elements per block.
    const BLOCK: usize;
    /// The activation format of its dot product (ggml's `vec_dot_type`).
    type Act: ActivationFormat;
    /// Dequantize `blocks` into `out` (`blocks.len() * BLOCK` floats). Processes
    /// `min(blocks.len(), out.len() / BLOCK)` blocks.
    fn dequantize(blocks: &[Self], out: &mut [f32]);
    /// Scalar reference dot product of a weight row with an activation row of the same
    /// element count (`w.len() * BLOCK == a.len() * Act::BLOCK`); extra blocks of the longer
    /// slice are ignored (debug builds assert equal lengths).
    fn vec_dot_ref(w: &[Self], a: &[Self::Act]) -> f32;
}

/// View `bytes` as blocks of `B` in place. `None` if the length is not a whole number of
/// blocks. Never fails for alignment: every block type has alignment 1.
pub fn blocks<B: Pod>(bytes: &[u8]) -> Option<&[B]> {
    bytemuck::try_cast_slice(bytes).ok()
}

/// Mutable version of [`blocks`].
pub fn blocks_mut<B: Pod>(bytes: &mut [u8]) -> Option<&mut [B]> {
    bytemuck::try_cast_slice_mut(bytes).ok()
}

/// Read a little-endian IEEE half as f32 (ggml `GGML_FP16_TO_FP32`; exact, NaN quieted as
/// F16C does). Integer-only on the common path (normal values: one shift and one add), so it
/// is fast on FPU-less or flush-to-zero targets and never touches f32 subnormals; bit-equal
/// to `half::f16::to_f32` for all 65536 inputs (tested).
#[inline(always)]
pub fn f16_to_f32(b: [u8; 2]) -> f32 {
    let h = u16::from_le_bytes(b) as u32;
    let sign = (h & 0x8000) << 16;
    let em = h & 0x7fff;
    let mag = if em >= 0x7c00 {
        if em == 0x7c00 {
            0x7f80_0000 // infinity
        } else {
            0x7fc0_0000 | ((em & 0x3ff) << 13) // NaN, quiet, payload kept
        }
    } else if em >= 0x0400 {
        (em << 13) + (112 << 23) // normal: rebias the exponent by 127 - 15
    } else {
        (em as f32 * (1.0 / 16_777_216.0)).to_bits() // zero / subnormal: m * 2^-24, exact
    };
    f32::from_bits(sign | mag)
}

/// Write f32 as a little-endian IEEE half, round to nearest even (ggml `GGML_FP32_TO_FP16`,
/// which is `_cvtss_sh(x, 0)` with F16C on x86 and the same rounding in software).
#[inline(always)]
pub fn f32_to_f16(x: f32) -> [u8; 2] {
    half::f16::from_f32(x).to_le_bytes()
}

/// Split the 4-bit nibbles of `qs` (16 bytes) into 32 values, low nibbles first: element
/// `j` is `qs[j] & 15`, element `j + 16` is `qs[j] >> 4` (the layout of Q4_0/Q4_1/Q5_x/IQ4_NL).
#[inline(always)]
pub(crate) fn unpack_nibbles_32(qs: &[u8; 16]) -> [u8; 32] {
    let mut out = [0u8; 32];
    for j in 0..16 {
        out[j] = qs[j] & 0x0f;
        out[j + 16] = qs[j] >> 4;
    }
    out
}

#[inline(always)]
pub(crate) fn debug_check_len(w: usize, a: usize) {
    debug_assert_eq!(w, a, "vec_dot: weight and activation rows differ in length");
}

#[cfg(test)]
mod tests {
    #[test]
    fn f16_to_f32_matches_half_for_every_input() {
        for h in 0..=u16::MAX {
            let want = half::f16::from_bits(h).to_f32().to_bits();
            assert_eq!(
                super::f16_to_f32(h.to_le_bytes()).to_bits(),
                want,
                "{h:#06x}"
            );
        }
    }
}
