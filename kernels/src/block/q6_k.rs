//! Q6_K: 6-bit k-quant super-blocks of 256 = 16 groups of 16 with signed 8-bit scales,
//! activations Q8_K.
//!
//! The weight quantizer is ggml's `quantize_row_q6_K_ref`: per group `make_qx_quants`
//! (weights `x²`), the 16 scales quantized to i8 against the largest magnitude
//! (`iscale = -128 / max_scale`), then the quants recomputed against the rounded scales.

use super::kquant::{GROUP_MAX_EPS, make_qx_quants_rmse1};
use super::{BlockFormat, BlockQ8K, QK_K, debug_check_len, f16_to_f32, f32_to_f16};
use crate::GgmlType;
use crate::math::nearest_int;
use bytemuck::{Pod, Zeroable};

/// A Q6_K super-block: in group `g`, `x = d * scales[g] * (q - 32)`, `q` in 0..64.
///
/// Layout (210 bytes): `ql` 128 bytes of low nibbles, `qh` 64 bytes of high 2-bit pairs,
/// `scales` 16 × i8, `d` f16. For each 128-element half `h`, with `l` in 0..32: element
/// `128h + l` is `ql[64h + l]` low nibble, `+32` is `ql[64h + 32 + l]` low, `+64` is
/// `ql[64h + l]` high, `+96` is `ql[64h + 32 + l]` high; their top 2 bits are bits 0-1, 2-3,
/// 4-5, 6-7 of `qh[32h + l]`. 6.5625 bits per weight. Source: ggml `block_q6_K`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Pod, Zeroable)]
#[repr(C)]
pub struct BlockQ6K {
    /// Low 4 bits.
    pub ql: [u8; QK_K / 2],
    /// High 2 bits.
    pub qh: [u8; QK_K / 4],
    /// Group scales.
    pub scales: [i8; QK_K / 16],
    /// Super-block scale, f16.
    pub d: [u8; 2],
}
const _: () = assert!(core::mem::size_of::<BlockQ6K>() == 210);
const _: () = assert!(core::mem::align_of::<BlockQ6K>() == 1);

impl BlockQ6K {
    /// `d` as f32.
    #[inline(always)]
    pub fn d(&self) -> f32 {
        f16_to_f32(self.d)
    }
    /// The 256 quants, already minus 32 (-32..32), in element order.
    pub fn quants(&self) -> [i8; QK_K] {
        let mut q = [0i8; QK_K];
        for h in 0..2 {
            for l in 0..32 {
                let ql0 = self.ql[64 * h + l];
                let ql1 = self.ql[64 * h + 32 + l];
                let qh = self.qh[32 * h + l];
                let e = 128 * h + l;
                q[e] = ((ql0 & 0x0f) | ((qh & 3) << 4)) as i8 - 32;
                q[e + 32] = ((ql1 & 0x0f) | (((qh >> 2) & 3) << 4)) as i8 - 32;
                q[e + 64] = ((ql0 >> 4) | (((qh >> 4) & 3) << 4)) as i8 - 32;
                q[e + 96] = ((ql1 >> 4) | (((qh >> 6) & 3) << 4)) as i8 - 32;
            }
        }
        q
    }
}

impl BlockFormat for BlockQ6K {
    const TYPE: GgmlType = GgmlType::Q6_K;
    const BLOCK: usize = QK_K;
    type Act = BlockQ8K;

    fn dequantize(blocks: &[Self], out: &mut [f32]) {
        for (b, y) in blocks.iter().zip(out.chunks_exact_mut(QK_K)) {
            let d = b.d();
            let q = b.quants();
            for g in 0..16 {
                let dl = d * b.scales[g] as f32;
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
            let mut sumi = 0i32;
            for g in 0..16 {
                let mut s = 0i32;
                for l in 16 * g..16 * g + 16 {
                    s += q[l] as i32 * y.qs[l] as i32;
                }
                sumi += x.scales[g] as i32 * s;
            }
            sum += x.d() * y.d() * sumi as f32;
        }
        sum
    }
}

/// ggml's `quantize_row_q6_K_ref` (module docs). `x`: `256 * out.len()` floats.
pub fn quantize_row_q6_k(x: &[f32], out: &mut [BlockQ6K]) {
    for (xb, y) in x.chunks_exact(QK_K).zip(out.iter_mut()) {
        let mut l = [0i8; QK_K];
        let mut scales = [0f32; 16];
        let mut max_scale = 0.0f32;
        let mut max_abs_scale = 0.0f32;
        for ib in 0..16 {
            let s = make_qx_quants_rmse1(
                32,
                &xb[16 * ib..16 * ib + 16],
                &mut l[16 * ib..16 * ib + 16],
            );
            scales[ib] = s;
            if s.abs() > max_abs_scale {
                max_abs_scale = s.abs();
                max_scale = s;
            }
        }
        if max_abs_scale < GROUP_MAX_EPS {
            *y = BlockQ6K::zeroed();
            continue;
        }
        let iscale = -128.0 / max_scale;
        y.d = f32_to_f16(1.0 / iscale);
        for ib in 0..16 {
            y.scales[ib] = nearest_int(iscale * scales[ib]).min(127) as i8;
        }
        for j in 0..16 {
            let d = f16_to_f32(y.d) * y.scales[j] as f32;
            if d == 0.0 {
                continue;
            }
            for ii in 0..16 {
                let q = nearest_int(xb[16 * j + ii] / d).clamp(-32, 31);
                l[16 * j + ii] = (q + 32) as i8;
            }
        }
        y.ql = [0; QK_K / 2];
        y.qh = [0; QK_K / 4];
        for h in 0..2 {
            let (j, ql, qh) = (128 * h, 64 * h, 32 * h);
            for i in 0..32 {
                let q1 = (l[j + i] & 0x0f) as u8;
                let q2 = (l[j + i + 32] & 0x0f) as u8;
                let q3 = (l[j + i + 64] & 0x0f) as u8;
                let q4 = (l[j + i + 96] & 0x0f) as u8;
                y.ql[ql + i] = q1 | (q3 << 4);
                y.ql[ql + i + 32] = q2 | (q4 << 4);
                y.qh[qh + i] = ((l[j + i] >> 4) as u8)
                    | (((l[j + i + 32] >> 4) as u8) << 2)
                    | (((l[j + i + 64] >> 4) as u8) << 4)
                    | (((l[j + i + 96] >> 4) as u8) << 6);
            }
        }
    }
}
