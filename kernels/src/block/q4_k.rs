//! Q4_K: 4-bit k-quant super-blocks of 256 = 8 sub-blocks of 32, each with a 6-bit scale and
//! a 6-bit min, activations Q8_K.
//!
//! The weight quantizer is ggml's `quantize_row_q4_K_ref` (what `llama-quantize` runs without
//! an importance matrix): per sub-block `make_qkx2_quants` with weights `rms + |x|`, the
//! 8 scales and mins re-quantized to 6 bits against the largest, then the quants recomputed
//! against the rounded scales. Same f32 operations in the same order, so the same bytes.

use super::kquant::{make_qkx2_quants, scale_min_k4, scales_mins_k4};
use super::{BlockFormat, BlockQ8K, QK_K, debug_check_len, f16_to_f32, f32_to_f16};
use crate::GgmlType;
use crate::math::{nearest_int, sqrtf};
use bytemuck::{Pod, Zeroable};

/// A Q4_K super-block: 256 weights; in sub-block `s` (elements `32s..32s+32`)
/// `x = d * sc[s] * q - dmin * m[s]`, `q` in 0..16, `sc`, `m` in 0..64.
///
/// Layout (144 bytes): `d` f16 (2), `dmin` f16 (2), `scales` 12 bytes (8 six-bit scales and
/// 8 six-bit mins, packed as ggml `get_scale_min_k4` reads them), `qs` 128 bytes: for each
/// 64-element chunk `c`, bytes `32c..32c+32` hold sub-block `2c` in the low nibbles and
/// `2c + 1` in the high nibbles. 4.5 bits per weight. Source: ggml `block_q4_K`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Pod, Zeroable)]
#[repr(C)]
pub struct BlockQ4K {
    /// Super-block scale of the scales, f16.
    pub d: [u8; 2],
    /// Super-block scale of the mins, f16.
    pub dmin: [u8; 2],
    /// Packed 6-bit scales and mins.
    pub scales: [u8; 12],
    /// Nibbles.
    pub qs: [u8; QK_K / 2],
}
const _: () = assert!(core::mem::size_of::<BlockQ4K>() == 144);
const _: () = assert!(core::mem::align_of::<BlockQ4K>() == 1);

impl BlockQ4K {
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
    /// The 256 quants (0..16) in element order.
    pub fn quants(&self) -> [u8; QK_K] {
        let mut q = [0u8; QK_K];
        for c in 0..4 {
            for l in 0..32 {
                q[64 * c + l] = self.qs[32 * c + l] & 0x0f;
                q[64 * c + 32 + l] = self.qs[32 * c + l] >> 4;
            }
        }
        q
    }
}

impl BlockFormat for BlockQ4K {
    const TYPE: GgmlType = GgmlType::Q4_K;
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

/// ggml's `quantize_row_q4_K_ref` (module docs). `x`: `256 * out.len()` floats.
pub fn quantize_row_q4_k(x: &[f32], out: &mut [BlockQ4K]) {
    for (xb, y) in x.chunks_exact(QK_K).zip(out.iter_mut()) {
        let mut l = [0u8; QK_K];
        let mut l_aux = [0u8; 32];
        let mut weights = [0f32; 32];
        let mut mins = [0f32; 8];
        let mut scales = [0f32; 8];
        let mut max_scale = 0.0f32;
        let mut max_min = 0.0f32;
        for j in 0..8 {
            let xs = &xb[32 * j..32 * j + 32];
            let mut sum_x2 = 0.0f32;
            for &v in xs {
                sum_x2 += v * v;
            }
            let av_x = sqrtf(sum_x2 / 32.0);
            for (w, &v) in weights.iter_mut().zip(xs) {
                *w = av_x + v.abs();
            }
            let (s, m) = make_qkx2_quants(
                15,
                xs,
                &weights,
                &mut l[32 * j..32 * j + 32],
                &mut l_aux,
                -1.0,
                0.1,
                20,
                false,
            );
            scales[j] = s;
            mins[j] = m;
            if s > max_scale {
                max_scale = s;
            }
            if m > max_min {
                max_min = m;
            }
        }
        let inv_scale = if max_scale > 0.0 {
            63.0 / max_scale
        } else {
            0.0
        };
        let inv_min = if max_min > 0.0 { 63.0 / max_min } else { 0.0 };
        y.scales = [0; 12];
        for j in 0..8 {
            let ls = (nearest_int(inv_scale * scales[j]) as u8).min(63);
            let lm = (nearest_int(inv_min * mins[j]) as u8).min(63);
            if j < 4 {
                y.scales[j] = ls;
                y.scales[j + 4] = lm;
            } else {
                y.scales[j + 4] = (ls & 0x0f) | ((lm & 0x0f) << 4);
                y.scales[j - 4] |= (ls >> 4) << 6;
                y.scales[j] |= (lm >> 4) << 6;
            }
        }
        y.d = f32_to_f16(max_scale / 63.0);
        y.dmin = f32_to_f16(max_min / 63.0);
        for j in 0..8 {
            let (sc, m) = scale_min_k4(j, &y.scales);
            let d = f16_to_f32(y.d) * sc as f32;
            if d == 0.0 {
                continue;
            }
            let dm = f16_to_f32(y.dmin) * m as f32;
            for ii in 0..32 {
                let q = nearest_int((xb[32 * j + ii] + dm) / d);
                l[32 * j + ii] = q.clamp(0, 15) as u8;
            }
        }
        for c in 0..4 {
            for i in 0..32 {
                y.qs[32 * c + i] = l[64 * c + i] | (l[64 * c + i + 32] << 4);
            }
        }
    }
}
