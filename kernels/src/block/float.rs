//! Float rows: F32, F16 and BF16 as one-element "blocks" so they share the
//! [`BlockFormat`] / [`ActivationFormat`] machinery. Each is a little-endian byte array of
//! alignment 1. ggml's `vec_dot_type` of each is itself (F16 weights dot F16 activations).
//!
//! Reference dot products follow ggml's scalar `ggml_vec_dot_f32/f16/bf16`: each product
//! in f32, accumulated in f64 (`ggml_float`), rounded to f32 at the end.
//! f32→f16 rounds to nearest even (F16C `vcvtps2ph` with imm 0, as ggml's CPU backend);
//! f32→bf16 rounds to nearest even, NaN kept quiet (ggml `ggml_compute_fp32_to_bf16`).

use super::{ActivationFormat, BlockFormat, debug_check_len, f16_to_f32, f32_to_f16};
use crate::GgmlType;
use bytemuck::{Pod, Zeroable};

/// One f32, little-endian. 32 bits per weight.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Pod, Zeroable)]
#[repr(transparent)]
pub struct F32(pub [u8; 4]);

/// One IEEE half, little-endian. 16 bits per weight.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Pod, Zeroable)]
#[repr(transparent)]
pub struct F16(pub [u8; 2]);

/// One bfloat16 (top half of an f32), little-endian. 16 bits per weight.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Pod, Zeroable)]
#[repr(transparent)]
pub struct BF16(pub [u8; 2]);

const _: () = assert!(core::mem::size_of::<F32>() == 4 && core::mem::align_of::<F32>() == 1);
const _: () = assert!(core::mem::size_of::<F16>() == 2 && core::mem::align_of::<F16>() == 1);
const _: () = assert!(core::mem::size_of::<BF16>() == 2 && core::mem::align_of::<BF16>() == 1);

impl F32 {
    /// The value.
    #[inline(always)]
    pub fn get(self) -> f32 {
        f32::from_le_bytes(self.0)
    }
}
impl F16 {
    /// The value as f32 (exact).
    #[inline(always)]
    pub fn get(self) -> f32 {
        f16_to_f32(self.0)
    }
}
impl BF16 {
    /// The value as f32 (exact).
    #[inline(always)]
    pub fn get(self) -> f32 {
        f32::from_bits((u16::from_le_bytes(self.0) as u32) << 16)
    }
    /// Round an f32 to bf16 as ggml does (nearest even; NaN stays NaN, quiet).
    #[inline(always)]
    pub fn from_f32(x: f32) -> Self {
        let u = x.to_bits();
        let h = if (u & 0x7fff_ffff) > 0x7f80_0000 {
            (u >> 16) | 64
        } else {
            (u.wrapping_add(0x7fff + ((u >> 16) & 1))) >> 16
        };
        BF16((h as u16).to_le_bytes())
    }
}

macro_rules! float_format {
    ($ty:ident, $gg:ident, $from:expr) => {
        impl BlockFormat for $ty {
            const TYPE: GgmlType = GgmlType::$gg;
            const BLOCK: usize = 1;
            type Act = $ty;
            fn dequantize(blocks: &[Self], out: &mut [f32]) {
                for (b, y) in blocks.iter().zip(out.iter_mut()) {
                    *y = b.get();
                }
            }
            fn vec_dot_ref(w: &[Self], a: &[Self]) -> f32 {
                debug_check_len(w.len(), a.len());
                let mut sum = 0.0f64;
                for (x, y) in w.iter().zip(a) {
                    sum += (x.get() * y.get()) as f64;
                }
                sum as f32
            }
        }
        impl ActivationFormat for $ty {
            const TYPE: GgmlType = GgmlType::$gg;
            const BLOCK: usize = 1;
            fn quantize(x: &[f32], out: &mut [Self]) {
                let from: fn(f32) -> $ty = $from;
                for (o, &v) in out.iter_mut().zip(x) {
                    *o = from(v);
                }
            }
        }
    };
}

float_format!(F32, F32, |v| F32(v.to_le_bytes()));
float_format!(F16, F16, |v| F16(f32_to_f16(v)));
float_format!(BF16, BF16, BF16::from_f32);

/// Convert f32 values to a little-endian f16 row (`out.len() == 2 * x.len()` bytes;
/// extra input or output is left alone). Scalar; see `Kernels::f32_to_f16_row` for SIMD.
pub fn f32_to_f16_row(x: &[f32], out: &mut [u8]) {
    for (o, &v) in out.chunks_exact_mut(2).zip(x) {
        o.copy_from_slice(&f32_to_f16(v));
    }
}

/// Convert a little-endian f16 row to f32 (`x.len() == 2 * out.len()` bytes). Scalar.
pub fn f16_to_f32_row(x: &[u8], out: &mut [f32]) {
    for (o, b) in out.iter_mut().zip(x.chunks_exact(2)) {
        *o = f16_to_f32([b[0], b[1]]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bf16_rounding() {
        assert_eq!(BF16::from_f32(1.0).get(), 1.0);
        // 1 + 2^-8 is half-way between bf16 1.0 and 1.0078125: ties to even → 1.0
        assert_eq!(BF16::from_f32(1.0 + 1.0 / 256.0).get(), 1.0);
        assert_eq!(BF16::from_f32(1.0 + 3.0 / 256.0).get(), 1.015625);
        assert!(BF16::from_f32(f32::NAN).get().is_nan());
        assert_eq!(BF16::from_f32(f32::INFINITY).get(), f32::INFINITY);
    }

    #[test]
    fn f16_dot_accumulates_in_f64() {
        let w: [F16; 3] = [
            F16(f32_to_f16(1.0)),
            F16(f32_to_f16(2.0)),
            F16(f32_to_f16(-4.0)),
        ];
        assert_eq!(F16::vec_dot_ref(&w, &w), 21.0);
    }
}
