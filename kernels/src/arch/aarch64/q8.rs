//! NEON Q8_0 dot product and the Q8_0 / Q8_1 activation quantizers.
//!
//! The quantizers compute, lane by lane, exactly what the scalar emulation of ggml's x86
//! AVX2 quantizer in `block::q8_0` computes: the same `maxps` tree for `amax` (operand order
//! and NaN behaviour included: `a > b ? a : b`), `id = 127 / amax`, round half to even
//! (`frintn`), out-of-range or NaN to `i32::MIN` as `cvtps2dq` does, saturating narrowing.
//! So their bytes equal the scalar ones (and ggml x86's) bit for bit; tests check it.

use super::util::*;
use crate::block::q8_0::{maxps, q8_scale_x86};
use crate::block::*;
use core::arch::aarch64::*;

/// Q8_0 · Q8_0: `Σ d_w d_a Σ q a`, exact for every quant (-128 included), for `N`
/// activation rows (see `q4`).
///
/// # Safety
/// The CPU must support NEON and, for `D = Sdot`, dotprod.
#[inline]
#[target_feature(enable = "neon")]
pub(super) unsafe fn vec_dot_q8_0<D: DotI8, const N: usize>(
    w: &[BlockQ8_0],
    a: [&[BlockQ8_0]; N],
) -> [f32; N] {
    let (w, a) = trim(w, a);
    let mut sum = [0.0f32; N];
    for (i, x) in w.iter().enumerate() {
        let (x0, x1) = (load_s8(&x.qs[..16]), load_s8(&x.qs[16..]));
        for (s, a) in sum.iter_mut().zip(a) {
            let y = &a[i];
            let (y0, y1) = (load_s8(&y.qs[..16]), load_s8(&y.qs[16..]));
            // SAFETY: the caller's contract (NEON, and the extension `D` needs).
            let p = unsafe { D::dot(D::dot(vdupq_n_s32(0), x0, y0), x1, y1) };
            *s += vaddvq_s32(p) as f32 * (f16(x.d) * f16(y.d));
        }
    }
    sum
}

/// x86 `maxps` lane by lane: `a > b ? a : b`.
#[inline]
#[target_feature(enable = "neon")]
fn maxps4(a: float32x4_t, b: float32x4_t) -> float32x4_t {
    vbslq_f32(vcgtq_f32(a, b), a, b)
}

/// One block of 32: `d` (f32, before rounding to f16) and the eight i32 lane vectors of
/// `cvtps2dq(round(x * id))`, in element order.
#[inline]
#[target_feature(enable = "neon")]
fn q8_block(x: &[f32]) -> (f32, [int32x4_t; 8]) {
    let v: [float32x4_t; 8] = core::array::from_fn(|k| load_f32(&x[4 * k..]));
    let a = v.map(|v| vabsq_f32(v));
    // m[k] = maxps(maxps(maxps(|x[k]|, |x[8+k]|), |x[16+k]|), |x[24+k]|), k in 0..4 and 4..8
    let m_lo = maxps4(maxps4(maxps4(a[0], a[2]), a[4]), a[6]);
    let m_hi = maxps4(maxps4(maxps4(a[1], a[3]), a[5]), a[7]);
    let h = maxps4(m_hi, m_lo);
    let (h0, h1) = (vgetq_lane_f32::<0>(h), vgetq_lane_f32::<1>(h));
    let (h2, h3) = (vgetq_lane_f32::<2>(h), vgetq_lane_f32::<3>(h));
    let amax = maxps(maxps(h0, h2), maxps(h1, h3));
    let (d, id) = q8_scale_x86(amax);
    let limit = vdupq_n_f32(2_147_483_648.0);
    let min = vdupq_n_s32(i32::MIN);
    let q = v.map(|v| {
        let r = vrndnq_f32(vmulq_n_f32(v, id));
        // cvtps2dq: NaN or |r| ≥ 2^31 gives i32::MIN (fcvtzs would saturate instead)
        vbslq_s32(vcaltq_f32(r, limit), vcvtq_s32_f32(r), min)
    });
    (d, q)
}

/// Narrow 4 × 4 i32 to 16 i8 with signed saturation.
#[inline]
#[target_feature(enable = "neon")]
fn pack(q: &[int32x4_t]) -> int8x16_t {
    let a = vcombine_s16(vqmovn_s32(q[0]), vqmovn_s32(q[1]));
    let b = vcombine_s16(vqmovn_s32(q[2]), vqmovn_s32(q[3]));
    vcombine_s8(vqmovn_s16(a), vqmovn_s16(b))
}

/// Quantize activations to Q8_0, bytes identical to `q8_0::quantize_row_q8_0`.
#[target_feature(enable = "neon")]
pub(super) fn quantize_q8_0(x: &[f32], out: &mut [BlockQ8_0]) {
    for (xb, y) in x.chunks_exact(32).zip(out.iter_mut()) {
        let (d, q) = q8_block(xb);
        y.d = f32_to_f16(d);
        store_s8(&mut y.qs[..16], pack(&q[..4]));
        store_s8(&mut y.qs[16..], pack(&q[4..]));
    }
}

/// Quantize activations to Q8_1, bytes identical to `q8_1::quantize_row_q8_1` (the sum is
/// taken over the 32-bit values before saturation, wrapping, as ggml x86 does).
#[target_feature(enable = "neon")]
pub(super) fn quantize_q8_1(x: &[f32], out: &mut [BlockQ8_1]) {
    for (xb, y) in x.chunks_exact(32).zip(out.iter_mut()) {
        let (d, q) = q8_block(xb);
        y.d = f32_to_f16(d);
        store_s8(&mut y.qs[..16], pack(&q[..4]));
        store_s8(&mut y.qs[16..], pack(&q[4..]));
        let s = q.iter().fold(vdupq_n_s32(0), |acc, &v| vaddq_s32(acc, v));
        y.s = f32_to_f16(d * vaddvq_s32(s) as f32);
    }
}
