//! NEON Q8_K activation quantizer: lane by lane the operations of
//! `reference::aarch64::quant::quantize_q8_k` (ggml's `quantize_row_q8_K_ref` and
//! `ggml_quantize_mat_q8_K_4x4` as gcc compiles them for aarch64), so the bytes are
//! identical (tested).
//!
//! `amax` ignores NaN (`fmaxnm` from 0, as the scalar `ax > amax` test does); the scale comes
//! from the first value of largest magnitude; quants use ggml's `nearest_int` bit trick
//! (`+ 1.5·2²³`, mantissa bits) fused with the product (`fmla`, as gcc contracts it), then
//! `min(127)` and truncation to a byte.

use super::util::*;
use crate::block::*;
use bytemuck::Zeroable;
use core::arch::aarch64::*;

/// Quantize activations to Q8_K, bytes identical to `reference::aarch64::quant::quantize_q8_k`.
#[target_feature(enable = "neon")]
pub(super) fn quantize_q8_k(x: &[f32], out: &mut [BlockQ8K]) {
    for (xb, y) in x.chunks_exact(QK_K).zip(out.iter_mut()) {
        let mut acc = [vdupq_n_f32(0.0); 4];
        for c in xb.chunks_exact(16) {
            for (k, a) in acc.iter_mut().enumerate() {
                *a = vmaxnmq_f32(*a, vabsq_f32(load_f32(&c[4 * k..])));
            }
        }
        let amax = vmaxnmvq_f32(vmaxnmq_f32(
            vmaxnmq_f32(acc[0], acc[1]),
            vmaxnmq_f32(acc[2], acc[3]),
        ));
        if amax == 0.0 {
            *y = BlockQ8K::zeroed();
            continue;
        }
        // the first value whose magnitude is `amax` (one exists: `amax` is one of them)
        let max = first_with_abs(xb, amax);
        let iscale = -127.0 / max;
        let magic = vdupq_n_f32(12_582_912.0);
        let mant = vdupq_n_s32(0x007f_ffff);
        let bias = vdupq_n_s32(0x0040_0000);
        let cap = vdupq_n_s32(127);
        for (g, (xg, qg)) in xb
            .chunks_exact(16)
            .zip(y.qs.chunks_exact_mut(16))
            .enumerate()
        {
            let q: [int32x4_t; 4] = core::array::from_fn(|k| {
                let t = vfmaq_n_f32(magic, load_f32(&xg[4 * k..]), iscale);
                let i = vsubq_s32(vandq_s32(vreinterpretq_s32_f32(t), mant), bias);
                vminq_s32(i, cap)
            });
            // `as i8`: keep the low byte (truncating narrows)
            let lo = vcombine_s16(vmovn_s32(q[0]), vmovn_s32(q[1]));
            let hi = vcombine_s16(vmovn_s32(q[2]), vmovn_s32(q[3]));
            let b = vcombine_s8(vmovn_s16(lo), vmovn_s16(hi));
            store_s8(qg, b);
            y.bsums[g] = vaddlvq_s8(b).to_le_bytes();
        }
        y.d = (1.0 / iscale).to_le_bytes();
    }
}

/// The first element of `x` with `|v| == amax` (`amax` as computed above: a magnitude
/// present in `x`), found 16 at a time.
#[inline]
#[target_feature(enable = "neon")]
fn first_with_abs(x: &[f32], amax: f32) -> f32 {
    let m = vdupq_n_f32(amax);
    for c in x.chunks_exact(16) {
        let mut hit = vdupq_n_u32(0);
        for k in 0..4 {
            hit = vorrq_u32(hit, vceqq_f32(vabsq_f32(load_f32(&c[4 * k..])), m));
        }
        if vmaxvq_u32(hit) != 0 {
            if let Some(&v) = c.iter().find(|v| v.abs() == amax) {
                return v;
            }
        }
    }
    amax
}
