//! Q8_0: 8-bit symmetric blocks of 32. Used as weights (embeddings, some outputs) and as the
//! activation format of Q4_0, Q5_0, Q8_0 and IQ4_NL dot products.
//!
//! Two quantizers, because ggml has two and they can differ in the last bit:
//! - [`quantize_row_q8_0`] — activations: what ggml's CPU backend runs on x86 with AVX2
//!   (`quantize_row_q8_0` in `ggml-cpu/arch/x86/quants.c`): `amax` by a `maxps` tree,
//!   `id = 127 / amax` (not `1 / d`), round half to **even** (`_mm256_round_ps`), saturating
//!   packs. We produce these bytes on every platform, SIMD or scalar, so logits do not depend
//!   on the host. (ggml on Arm NEON uses `id = 1 / d` with ties-to-even, and ggml's generic C
//!   path `roundf` — half away from zero; both can differ from x86 in rare last-bit cases.)
//! - [`quantize_row_q8_0_ref`] — weights: ggml's `quantize_row_q8_0_ref` (`id = 1 / d`,
//!   `roundf`), the one `llama-quantize` uses to write model files.

use super::{ActivationFormat, BlockFormat, debug_check_len, f16_to_f32, f32_to_f16};
use crate::GgmlType;
pub(crate) use crate::math::cvtps_epi32;
use crate::math::{c_f32_to_i8, round_ties_even, roundf};
use bytemuck::{Pod, Zeroable};

/// A Q8_0 block: 32 weights `x[j] = d * qs[j]`.
///
/// Layout (34 bytes): `d` f16 scale (2), `qs` 32 × i8. 8.5 bits per weight.
/// Source: ggml `block_q8_0`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Pod, Zeroable)]
#[repr(C)]
pub struct BlockQ8_0 {
    /// Scale, f16 little-endian.
    pub d: [u8; 2],
    /// Quants, i8.
    pub qs: [i8; 32],
}
const _: () = assert!(core::mem::size_of::<BlockQ8_0>() == 34);
const _: () = assert!(core::mem::align_of::<BlockQ8_0>() == 1);

impl BlockQ8_0 {
    /// The scale as f32.
    #[inline(always)]
    pub fn d(&self) -> f32 {
        f16_to_f32(self.d)
    }
}

impl BlockFormat for BlockQ8_0 {
    const TYPE: GgmlType = GgmlType::Q8_0;
    const BLOCK: usize = 32;
    type Act = BlockQ8_0;

    fn dequantize(blocks: &[Self], out: &mut [f32]) {
        for (b, y) in blocks.iter().zip(out.chunks_exact_mut(32)) {
            let d = b.d();
            for j in 0..32 {
                y[j] = b.qs[j] as f32 * d;
            }
        }
    }

    fn vec_dot_ref(w: &[Self], a: &[BlockQ8_0]) -> f32 {
        debug_check_len(w.len(), a.len());
        let mut sum = 0.0f32;
        for (x, y) in w.iter().zip(a) {
            let mut sumi = 0i32;
            for j in 0..32 {
                sumi += x.qs[j] as i32 * y.qs[j] as i32;
            }
            sum += sumi as f32 * (x.d() * y.d());
        }
        sum
    }
}

impl ActivationFormat for BlockQ8_0 {
    const TYPE: GgmlType = GgmlType::Q8_0;
    const BLOCK: usize = 32;
    fn quantize(x: &[f32], out: &mut [Self]) {
        quantize_row_q8_0(x, out)
    }
}

/// x86 `maxps` semantics: `a > b ? a : b` (so a NaN in either operand yields `b`).
#[inline(always)]
pub(crate) fn maxps(a: f32, b: f32) -> f32 {
    if a > b { a } else { b }
}

/// `amax` of 32 values exactly as ggml's AVX2 reduction computes it (operand order and NaN
/// behaviour of `maxps` included).
#[inline(always)]
pub(crate) fn amax32_x86(x: &[f32]) -> f32 {
    let mut m = [0f32; 8];
    for k in 0..8 {
        let mut v = x[k].abs();
        v = maxps(v, x[8 + k].abs());
        v = maxps(v, x[16 + k].abs());
        v = maxps(v, x[24 + k].abs());
        m[k] = v;
    }
    // max4 = max(high half, low half)
    let h = [
        maxps(m[4], m[0]),
        maxps(m[5], m[1]),
        maxps(m[6], m[2]),
        maxps(m[7], m[3]),
    ];
    // max(max4, movehl(max4)) then max_ss with movehdup
    let l0 = maxps(h[0], h[2]);
    let l1 = maxps(h[1], h[3]);
    maxps(l0, l1)
}

/// The x86 scale rule shared by Q8_0 and Q8_1 activations: returns `(d, id)`.
#[inline(always)]
pub(crate) fn q8_scale_x86(amax: f32) -> (f32, f32) {
    let d = amax / 127.0;
    let id = if amax != 0.0 { 127.0 / amax } else { 0.0 };
    (d, id)
}

/// Quantize activations to Q8_0 exactly as ggml's x86 AVX2 CPU backend does (module docs).
/// `x`: `32 * out.len()` floats (extra input or output is left alone).
pub fn quantize_row_q8_0(x: &[f32], out: &mut [BlockQ8_0]) {
    for (xb, y) in x.chunks_exact(32).zip(out.iter_mut()) {
        let amax = amax32_x86(xb);
        let (d, id) = q8_scale_x86(amax);
        y.d = f32_to_f16(d);
        for j in 0..32 {
            let v = cvtps_epi32(round_ties_even(xb[j] * id));
            y.qs[j] = v.clamp(-128, 127) as i8;
        }
    }
}

/// ggml's `quantize_row_q8_0_ref` (weights): `amax` by `fmaxf`, `d = amax / 127`,
/// `id = 1 / d`, `qs = roundf(x * id)` (half away from zero).
pub fn quantize_row_q8_0_ref(x: &[f32], out: &mut [BlockQ8_0]) {
    for (xb, y) in x.chunks_exact(32).zip(out.iter_mut()) {
        let mut amax = 0.0f32;
        for &v in xb {
            amax = amax.max(v.abs());
        }
        let d = amax / 127.0;
        let id = if d != 0.0 { 1.0 / d } else { 0.0 };
        y.d = f32_to_f16(d);
        for j in 0..32 {
            y.qs[j] = c_f32_to_i8(roundf(xb[j] * id));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_block() {
        // amax = 127 → d = 1, id = 1; 2.5 rounds to 2 (even) on x86, 3 in the _ref quantizer.
        let mut x = [0f32; 32];
        x[0] = 127.0;
        x[1] = 2.5;
        x[2] = -3.5;
        x[3] = -127.0;
        let mut b = [BlockQ8_0::zeroed()];
        quantize_row_q8_0(&x, &mut b);
        assert_eq!(b[0].d(), 1.0);
        assert_eq!(&b[0].qs[..4], &[127, 2, -4, -127]);
        quantize_row_q8_0_ref(&x, &mut b);
        assert_eq!(&b[0].qs[..4], &[127, 3, -4, -127]);
        let mut y = [0f32; 32];
        BlockQ8_0::dequantize(&b, &mut y);
        assert_eq!(y[1], 3.0);
    }

    #[test]
    fn zero_block_has_zero_scale() {
        let mut b = [BlockQ8_0::zeroed()];
        b[0].qs[3] = 5;
        quantize_row_q8_0(&[0.0; 32], &mut b);
        assert_eq!(b[0], BlockQ8_0::zeroed());
    }
}
